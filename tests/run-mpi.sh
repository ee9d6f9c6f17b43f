#!/bin/sh
# run-mpi.sh: `skrull run` end to end under mpirun.  One global batch of the
# etalon trace planned by skrull at DP 2 x CP 2 and by deepspeed at DP 1 x
# CP 1 gives the same losses (the scheduling only regroups samples); the
# report written by -o is read back by `skrull report diff`; so does a plan
# written here by hand (skrull-plan(5) version 2: a micro-batch spanning
# both DP ranks with shard groups of all 4 ranks and of a CP pair, and
# groups of 2 in each rank's own), over MPI and as threads; a plan for
# another world size (and one whose shard group needs 4 ranks, on 2: the
# group named on each rank, exit status 1), a plan checked against another
# trace and a run beyond its memory budget are refused on every rank.  Skipped
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

# The hand-written plan, on the same samples 8 times shorter (a second
# 1 x 1 reference, so that the runs stay quick): p22's job at BucketSize
# 8192 and one iteration of every sample, i by i mod 8: 0 and 4 sharded
# over all 4 ranks of DP rank 0's spanning micro-batch, 3 and 7 over its
# ranks 2 and 3 (DP rank 1's GPUs), 6 whole on its rank 2; 1 over DP rank
# 0's own pair, 5 whole on its rank 1; 2 over DP rank 1's pair.
awk '{ v = int($1 / 8); print (v < 2 ? 2 : v) }' t.txt >ts.txt
"$SKRULL" plan --trace ts.txt --nodes 1 --gpus-per-node 4 --dp 2 --cp 2 --batch 8 \
    --bucket 8192 -o pb.json >/dev/null 2>&1 &&
"$SKRULL" plan --trace ts.txt --policy deepspeed --nodes 1 --gpus-per-node 1 \
    --dp 1 --cp 1 --batch 16 --bucket 8192 -o ps11.json >/dev/null 2>&1
tap_check $? "plans of the shorter samples at DP 2 x CP 2 and DP 1 x CP 1"
iters=$(awk '
function add(list, what) { return list (list == "" ? "" : ",") what }
{
	i = NR - 1
	e = "[" i "," $1
	if (i % 8 == 5)
		d0 = add(d0, e ",1]")
	else if (i % 8 == 6)
		sp = add(sp, e ",2]")
	else if (i % 4 == 0)
		sp = add(sp, e ",0,4]")
	else if (i % 4 == 3)
		sp = add(sp, e ",2,2]")
	else if (i % 4 == 1)
		d0 = add(d0, e ",0,2]")
	else
		d1 = add(d1, e ",0,2]")
	b = add(b, i)
}
END {
	printf "\"iterations\":[{\"batch\":[%s],\"ranks\":[{\"micro_batches\":" \
	    "[{\"span\":2,\"samples\":[%s]},[%s]]},{\"micro_batches\":[[%s]]}]}]",
	    b, sp, d0, d1
}' ts.txt)
awk -v it="$iters" '{ i = index($0, "\"iterations\":"); print substr($0, 1, i - 1) it "}" }' \
    pb.json >pg.json
"$SKRULL" plan --check pg.json >check 2>&1
st=$?
[ $st -ne 0 ] && tap_diag <check
tap_check $st "a hand-written plan with a spanning micro-batch and shard groups of 2 and 4 is valid"
"$SKRULL" run --plan ps11.json $MODEL >os11 2>&1
ls11=$(sed -n 's/^loss *//p' os11)

# same NAME OUT: OUT's loss is os11's to 1e-5 relative.
same() {
	l=$(sed -n 's/^loss *//p' "$2")
	echo "$l $ls11" | awk '{ d = $1 - $2; if (d < 0) d = -d; exit !(NF == 2 && d <= 1e-5 * ($2 < 0 ? -$2 : $2)) }'
	st=$?
	[ $st -ne 0 ] && tap_diag <"$2"
	tap_check $st "$1: the loss is the 1 x 1 plan's ($l and $ls11)"
}
$limit mpirun $root --oversubscribe -np 4 "$SKRULL" run --plan pg.json $MODEL \
    >og 2>&1
same "the hand-written plan on 4 ranks over MPI" og
$limit "$SKRULL" run --plan pg.json $MODEL >ot 2>&1
same "the hand-written plan on 4 threads over the loopback" ot
$limit mpirun $root --oversubscribe -np 2 "$SKRULL" run --plan pg.json $MODEL \
    >bad 2>&1
st=$?
n=$(grep -c 'rank [01]: .*shard group \[0, 4) is GPUs 0..3, but the world has 2 ranks' bad)
[ $st -eq 1 ] && [ "$n" -eq 2 ]
st2=$?
[ $st2 -ne 0 ] && tap_diag <bad
tap_check $st2 "its shard group of 4 on 2 ranks is refused, named on each (exit $st)"

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
