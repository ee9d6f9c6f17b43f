#!/bin/sh
# determinism.sh: the same inputs and seed give byte-identical output from
# every command that writes some, across runs, --threads and MPI splits
# (skrull(1), Determinism).  Each command runs twice (or with --threads 1
# and 2, or in one process and over 2 MPI ranks) and the outputs are
# compared with cmp.  What is measured is left out, and only that:
#  - plan --json: planning_seconds (the planner's wall time);
#  - run: the report's times (iterations[].time, iterations[].gpus[].busy,
#    .comm, .wait; summary.mean, p50, p95, p99, total, tokens_per_s, mfu,
#    ideal_ratio, busy_frac, comm_frac, wait_frac): wall-clock
#    measurements.  The losses, tokens, FLOPs and peak memory must match;
#  - calibrate: every number (seconds measured, and what is fitted to
#    them); the keys, and each measured point's kind, shape, work and x
#    must match.
# The run and calibrate points need jq; the MPI point needs MPI (skips).
. "${top_srcdir:-.}/tests/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-determinism.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work" || exit 99
T="$top_srcdir/traces/etalon_sharegpt_8k.csv.gz"
JOB='--nodes 1 --gpus-per-node 8 --dp 2 --cp 4'

# same NAME A B: A and B are identical files, and not empty.
same() {
	cmp "$2" "$3" 2>&1 | tap_diag
	[ -s "$2" ] && cmp -s "$2" "$3"
	tap_check $? "$1"
}

# twice NAME FILE CMD...: CMD (which writes FILE, or "-": its stdout) run
# in two directories, 1 and 2, gives identical files.
twice() {
	name=$1 file=$2
	shift 2
	for d in 1 2; do
		mkdir -p $d
		(cd $d && if [ "$file" = - ]; then "$@" >stdout; else "$@" \
		    >/dev/null; fi) || echo "$name: exit $? in run $d" | tap_diag
	done
	[ "$file" = - ] && file=stdout
	same "$name" 1/"$file" 2/"$file"
	rm -rf 1 2
}

S=$SKRULL
twice "trace synth (.npy)" a.npy $S trace synth -n 5000 --seed 9 \
    60%=lognormal:900:1.1 40%=cdf:100:0.5,2000:0.9,max:8000 -o a.npy
twice "trace synth (text)" a.txt $S trace synth -n 5000 --seed 9 \
    lognormal:900:1.1 -o a.txt
twice "trace sample --shuffle" s.txt $S trace sample -n 256 --seed 4 \
    --shuffle "$T" -o s.txt
$S trace sample -n 256 --seed 4 "$T" -o s.txt || exit 99
twice "trace convert" s.csv $S trace convert ../s.txt -o s.csv
twice "trace stats --json" - $S trace stats --json ../s.txt

twice "plan -o" p.json $S plan --trace ../s.txt $JOB -o p.json
$S plan --trace s.txt $JOB --json | sed '/"planning_seconds"/d' >pj1
$S plan --trace s.txt $JOB --json | sed '/"planning_seconds"/d' >pj2
same "plan --json but planning_seconds" pj1 pj2
$S plan --trace s.txt $JOB -o p.json >/dev/null || exit 99

for n in 1 2; do
	$S sim --plan p.json --threads $n --json --timeline tl$n.json \
	    --timeline-iters 0:2 >sim$n.json || echo "sim: exit $?" | tap_diag
done
same "sim --json, 1 and 2 threads" sim1.json sim2.json
same "sim --timeline, 1 and 2 threads" tl1.json tl2.json
$S sim --trace s.txt $JOB --threads 2 --json >sim3.json
same "sim --trace and sim --plan" sim1.json sim3.json
$S sim --plan p.json --threads 2 --per-gpu --json >g1.json
$S sim --plan p.json --threads 2 --per-gpu --json >g2.json
same "sim --per-gpu --json, twice" g1.json g2.json

for n in 1 2; do
	$S compare --trace s.txt $JOB --iters 0:4 --threads $n --json >c$n.json
done
same "compare --json, 1 and 2 threads" c1.json c2.json

$S plan --trace s.txt --policy deepspeed $JOB -o d.json >/dev/null &&
    $S sim --plan d.json --json >simd.json || exit 99
twice "report diff" - $S report diff ../sim1.json ../simd.json
twice "report diff --json" - $S report diff --json ../sim1.json ../simd.json

# tune DIR THREADS [LAUNCHER...]: the search in DIR, the best job in
# DIR/best.json and the ranking in DIR/out.json.
TUNE="tune --trace ../s.txt --nodes 1 --gpus-per-node 4 --global-batch 32 --max-batches 4 --seed 7 -o best.json --json"
tune() {
	dir=$1 n=$2
	shift 2
	mkdir -p "$dir"
	(cd "$dir" && "$@" "$S" $TUNE --threads "$n" >out.json) ||
	    echo "tune $dir: exit $?" | tap_diag
}
tune t1 1
tune t2 2
same "tune -o, 1 and 2 threads" t1/best.json t2/best.json
same "tune --json, 1 and 2 threads" t1/out.json t2/out.json

if ! command -v jq >/dev/null 2>&1; then
	tap_skip "run and calibrate" "jq not found"
else
	MODEL='--hidden 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --vocab 97'
	$S trace synth -n 16 --seed 11 --max 2000 lognormal:300:0.5 -o r.txt &&
	$S plan --trace r.txt --nodes 1 --gpus-per-node 4 --dp 2 --cp 2 \
	    --batch 4 --bucket 2048 -o rp.json >/dev/null || exit 99
	TIMES='del(.iterations[].time, .iterations[].gpus[].busy,
	    .iterations[].gpus[].comm, .iterations[].gpus[].wait,
	    .summary.mean, .summary.p50, .summary.p95, .summary.p99,
	    .summary.total, .summary.tokens_per_s, .summary.mfu,
	    .summary.ideal_ratio, .summary.bound_ratio, .summary.busy_frac,
	    .summary.comm_frac,
	    .summary.wait_frac)'
	for n in 1 2; do
		$S run --comm loop --plan rp.json $MODEL -o run$n.json >/dev/null ||
		    echo "run: exit $?" | tap_diag
		jq -S "$TIMES" run$n.json >runx$n.json
	done
	# The filter leaves something to compare: the losses at least.
	[ "$(jq '.losses | length' runx1.json)" = 2 ]
	tap_check $? "run's report keeps its 2 losses"
	same "run -o (loop) but the measured times" runx1.json runx2.json

	cat >tiny.json <<'END'
{ "name": "tiny", "layers": 2, "hidden": 64, "heads": 2, "kv_heads": 1,
  "head_dim": 32, "ffn": 128, "vocab": 97 }
END
	SHAPE='{ keys: [paths(scalars) | map(tostring) | join(".")],
	    points: [.measurements[] | del(.seconds)] }'
	for n in 1 2; do
		$S calibrate --quick --model tiny.json --max-len 256 \
		    -o cal$n.json >/dev/null 2>&1 || echo "calibrate: exit $?" |
		    tap_diag
		jq -S "$SHAPE" cal$n.json >calx$n.json
	done
	[ "$(jq '.points | length' calx1.json)" -gt 10 ]
	tap_check $? "calibrate measures more than 10 points"
	same "calibrate -o: the structure and the points measured" calx1.json \
	    calx2.json
fi

tap_need_mpi "tune over MPI"
tap_mpi_no_leak_check
MPIRUN='mpirun --oversubscribe -np 2'
[ "$(id -u)" -eq 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout 120"
tune t3 1 $limit $MPIRUN
same "tune -o, 1 process and 2 MPI ranks" t1/best.json t3/best.json
same "tune --json, 1 process and 2 MPI ranks" t1/out.json t3/out.json
tap_done
