#!/bin/sh
# calibrate.sh: `skrull calibrate` on the CPU end to end.  A quick
# calibration of a small model writes a profile that validates (show
# cluster reads it), that sim --profile uses, whose fitted GEMM asymptote
# lies between a third of the median and 3x the best GEMM rate measured (a
# sanity bound: a fit gone astray breaks it), and whose --json output is the
# profile.  Under mpirun -np 2 (when MPI is built) the collectives are
# measured too: a table of group 2 whose latencies never fall with size.
. "${top_srcdir:-.}/tests/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-calibrate.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work" || exit 99

cat >tiny.json <<'END'
{ "name": "tiny", "layers": 2, "hidden": 64, "heads": 2, "kv_heads": 1,
  "head_dim": 32, "ffn": 128, "vocab": 97 }
END
"$SKRULL" calibrate --quick --model tiny.json --max-len 256 -o prof.json \
    >out.txt 2>err.txt
tap_check $? "calibrate --quick writes a profile"
grep -q '^gemm      P ' out.txt && grep -q '^profile        prof.json' out.txt
tap_check $? "the text output has the fits and names the profile"
"$SKRULL" show cluster --profile prof.json >show.txt 2>&1 &&
    grep -q 'cpu (profile)' show.txt
tap_check $? "the profile validates and applies (show cluster --profile)"
"$SKRULL" sim --trace "$top_srcdir/tests/data/cli/good.txt" --model tiny.json \
    --nodes 1 --gpus-per-node 1 --dp 1 --cp 1 --batch 4 --bucket 8K \
    --drop-overlong --profile prof.json >sim.txt 2>&1 &&
    grep -q '^plan .*cpu (profile)' sim.txt
tap_check $? "sim --profile runs with the profile"

# fits.gemm.P against the best work / seconds of the gemm measurements
awk '
/"fits":/ { infits = 1 }
infits && /"gemm":/ { ingemm = 1 }
ingemm && /"P":/ { gsub(/[",]/, ""); P = $2; ingemm = 0; infits = 0 }
/"kind":/ { kind = $2 }
kind ~ /gemm/ && /"work":/ { gsub(/,/, ""); w = $2 }
kind ~ /gemm/ && /"seconds":/ { gsub(/,/, ""); r[++n] = w / $2; if (w / $2 > best) best = w / $2 }
END {
	# the median rate: one lucky (or one starved) point on a loaded
	# machine must not decide
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
	med = n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
	printf "# fitted %g FLOP/s, measured median %g, best %g FLOP/s\n", P, med, best
	exit !(P > 0 && med > 0 && P < 3 * best && P > med / 3)
}' prof.json
tap_check $? "the fitted GEMM asymptote lies between a third of the median and 3x the best GEMM rate"

# run --profile: every iteration run is simulated beside its measured time,
# and each error is (simulated - measured) / measured of the two printed.
"$SKRULL" plan --trace "$top_srcdir/tests/data/cli/good.txt" --model tiny.json \
    --nodes 1 --gpus-per-node 2 --dp 1 --cp 2 --batch 4 --bucket 8K \
    --drop-overlong -o plan.json >/dev/null 2>&1 &&
    "$SKRULL" run --plan plan.json --iters 0:2 --profile prof.json --json \
    >run.json 2>err.txt
tap_check $? "run --profile --json"
awk '
/"prediction":/ { inpred = 1 }
inpred && /"measured":/ { gsub(/,/, ""); m = $2 }
inpred && /"simulated":/ { gsub(/,/, ""); s = $2 }
inpred && /"error":/ { gsub(/,/, ""); e = $2; n++
	d = e - (s - m) / m; if (d < 0) d = -d
	if (!(m > 0 && s > 0) || d > 1e-9) bad = 1 }
END { printf "# %d iterations predicted\n", n; exit !(n == 2 && !bad) }' run.json
tap_check $? "run --profile: both iterations, errors of the times printed"

"$SKRULL" calibrate --quick --model tiny.json --max-len 256 -o j.json --json \
    >j.txt 2>err.txt && grep -q '"format":[[:space:]]*"skrull-profile"' j.txt && [ -s j.json ]
tap_check $? "calibrate --json prints the profile and writes it"

"$SKRULL" calibrate --quick --backend tpu -o x.json >/dev/null 2>err.txt
[ $? -eq 2 ] && grep -q "unknown backend 'tpu'" err.txt && [ ! -e x.json ]
tap_check $? "an unknown backend is a usage error"

tap_need_mpi "calibrate over MPI"
tap_mpi_no_leak_check
root=
[ "$(id -u)" = 0 ] && root=--allow-run-as-root
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout 300"
$limit mpirun $root --oversubscribe -np 2 "$SKRULL" calibrate --quick \
    --model tiny.json --max-len 256 -o mpi.json >mpi.txt 2>&1
tap_check $? "mpirun -np 2 skrull calibrate"
grep -q 'busbw' mpi.txt && grep -q '"group":	2' mpi.json &&
    "$SKRULL" show cluster --profile mpi.json --nodes 1 --gpus-per-node 2 \
    >/dev/null 2>&1
tap_check $? "the profile has a collective table of group 2 that validates"
tap_done
