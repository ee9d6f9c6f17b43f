#!/bin/sh
# run-mpi.sh: `skrull run` end to end under mpirun.  One global batch of the
# etalon trace planned by skrull at DP 2 x CP 2 and by deepspeed at DP 1 x
# CP 1 gives the same losses (the scheduling only regroups samples); the
# report written by -o is read back by `skrull report diff`; a plan for
# another world size, a plan checked against another trace and a run beyond
# its memory budget are refused on every rank.  Skipped
# without MPI unless SKRULL_REQUIRE_MPI=1, as tune-mpi.sh.
. "${top_srcdir:-.}/tests/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-run-mpi.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

tap_need_mpi "skrull run over MPI"
tap_mpi_no_leak_check
root=
[ "$(id -u)" = 0 ] && root=--allow-run-as-root
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout 300"
MODEL='--hidden 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --vocab 97'

cd "$work" || exit 99
# 16 samples, one global batch for both layouts; lengths divided by 4 (46 to
# 1685 tokens) so that a sanitizer build runs them in well under the limit.
"$SKRULL" trace sample -n 16 --seed 11 "$top_srcdir/traces/etalon_sharegpt_8k.csv.gz" -o t0.txt
awk '{ v = int($1 / 4); print (v < 2 ? 2 : v) }' t0.txt >t.txt
"$SKRULL" plan --trace t.txt --nodes 1 --gpus-per-node 4 --dp 2 --cp 2 --batch 8 \
    --bucket 1024 -o p22.json >/dev/null 2>&1
tap_check $? "plan at DP 2 x CP 2"
"$SKRULL" plan --trace t.txt --policy deepspeed --nodes 1 --gpus-per-node 1 \
    --dp 1 --cp 1 --batch 16 --bucket 4096 -o p11.json >/dev/null 2>&1
tap_check $? "plan at DP 1 x CP 1"

$limit mpirun $root --oversubscribe -np 4 "$SKRULL" run --plan p22.json $MODEL \
    -o r22.json >o22 2>&1
st=$?
[ $st -ne 0 ] && tap_diag <o22
tap_check $st "skrull run on 4 ranks"
$limit mpirun $root --oversubscribe -np 1 "$SKRULL" run --plan p11.json $MODEL \
    -o r11.json >o11 2>&1
st=$?
[ $st -ne 0 ] && tap_diag <o11
tap_check $st "skrull run on 1 rank"

# Losses agree to 1e-5 relative.
l22=$(sed -n 's/^loss *//p' o22)
l11=$(sed -n 's/^loss *//p' o11)
echo "$l22 $l11" | awk '{ d = $1 - $2; if (d < 0) d = -d; exit !(NF == 2 && d <= 1e-5 * ($2 < 0 ? -$2 : $2)) }'
st=$?
[ $st -ne 0 ] && echo "losses: 2x2 $l22, 1x1 $l11" | tap_diag
tap_check $st "the loss does not depend on the plan ($l22 and $l11)"

"$SKRULL" report diff r11.json r22.json >diff 2>&1
st=$?
[ $st -ne 0 ] && tap_diag <diff
tap_check $st "skrull report diff reads both reports"

$limit mpirun $root --oversubscribe -np 2 "$SKRULL" run --plan p22.json $MODEL \
    >bad 2>&1
st=$?
n=$(grep -c 'rank [01]' bad)
[ $st -ne 0 ] && [ "$n" -ge 1 ]
st2=$?
[ $st2 -ne 0 ] && tap_diag <bad
tap_check $st2 "a plan for 4 ranks on 2 is refused (exit $st)"

# refused NAME PATTERN ARGS...: the run exits nonzero and the message
# matching PATTERN comes from every one of the 4 ranks.
refused() {
	name=$1 pattern=$2
	shift 2
	$limit mpirun $root --oversubscribe -np 4 "$SKRULL" run --plan p22.json \
	    $MODEL "$@" >bad 2>&1
	st=$?
	n=$(grep -c "$pattern" bad)
	[ $st -ne 0 ] && [ "$n" -eq 4 ]
	st2=$?
	[ $st2 -ne 0 ] && tap_diag <bad
	tap_check $st2 "$name is refused on every rank (exit $st)"
}
refused "a plan checked against another trace" "the trace given has" \
    --trace "$top_srcdir/traces/etalon_sharegpt_8k.csv.gz"
refused "a run beyond the memory budget" "but may use" --memory 0.001
tap_done
