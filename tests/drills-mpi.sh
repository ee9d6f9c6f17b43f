#!/bin/sh
# drills-mpi.sh: failure drills of `skrull run` as processes under mpirun
# and as threads (--comm loop).  Each drill must end within a bounded time
# (every mpirun runs under timeout) with a message naming the rank at
# fault:
#  - a rank killed (SIGKILL) while it iterates a long plan: mpirun names it
#    and ends the job;
#  - a rank stopped (SIGSTOP) while it iterates: the others time out in
#    their collective after --timeout, say so and abort the job;
#  - a rank given another plan: the ranks compare the plans' digests
#    before any work, and every rank refuses, naming it;
#  - a rank whose plan file, or trace file, is missing: every rank refuses
#    before any work, the rank at fault naming the file, the others it;
#  - with --comm loop (one process), a missing plan or trace file is
#    refused with exit 1, naming the file.
# The drills of the communicator and the executor themselves are in
# comm-mpi.sh and exec-mpi.sh; run-mpi.sh has a plan for another world
# size, another trace and a memory budget refused on every rank.  Skipped
# without MPI unless SKRULL_REQUIRE_MPI=1 (the loop drills run anyway).
. "${top_srcdir:-.}/tests/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-drills.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work" || exit 99

MODEL='--hidden 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --vocab 97'
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout 120"
export SKRULL MODEL

# Two short plans of different traces and a long one (25 iterations of a
# second or so each on a CPU), all DP 2 x CP 1.
"$SKRULL" trace synth -n 16 --seed 11 --max 2000 lognormal:300:0.5 -o a.txt &&
"$SKRULL" trace synth -n 16 --seed 12 --max 2000 lognormal:300:0.5 -o b.txt &&
"$SKRULL" trace synth -n 400 --seed 5 --max 2000 lognormal:300:0.5 -o long.txt
tap_check $? "traces"
for p in a b long; do
	"$SKRULL" plan --trace $p.txt --nodes 1 --gpus-per-node 2 --dp 2 \
	    --cp 1 --batch 8 --bucket 4096 -o $p.json >/dev/null || exit 99
done

# The loop drills need no MPI.
"$SKRULL" run --comm loop --plan missing.json $MODEL >out 2>err
st=$?
[ $st -eq 1 ] && grep -q 'missing.json' err
ok=$?
[ $ok -ne 0 ] && tap_diag <err
tap_check $ok "loop: a missing plan file is refused (exit $st)"
"$SKRULL" run --comm loop --plan a.json --trace missing.txt $MODEL >out 2>err
st=$?
[ $st -eq 1 ] && grep -q 'missing.txt' err && [ ! -s out ]
ok=$?
[ $ok -ne 0 ] && tap_diag <err
tap_check $ok "loop: a missing trace file is refused before any work (exit $st)"

tap_need_mpi "failure drills over MPI"
tap_mpi_no_leak_check
MPIRUN='mpirun --oversubscribe'
[ "$(id -u)" -eq 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"

# signal SIG TIMEOUT: run the long plan on 2 ranks (each wrapped in a
# shell that records its pid in pid.RANK before it becomes skrull), send
# SIG to rank 1 once it has iterated for a while, and leave in $st the
# exit status and in $took the seconds from the signal to the end.
signal() {
	rm -f pid.0 pid.1
	$limit $MPIRUN -np 2 sh -c 'echo $$ >pid.$OMPI_COMM_WORLD_RANK; exec \
	    "$SKRULL" run --plan long.json $MODEL --timeout '"$2" >out 2>&1 &
	job=$!
	n=0
	while [ ! -s pid.1 ] && [ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	# Setup takes well under a second; the plan's iterations 20 s more.
	sleep 3
	start=$(date +%s)
	kill -"$1" "$(cat pid.1)"
	wait $job
	st=$?
	took=$(($(date +%s) - start))
}

signal KILL 5
# mpirun passes the signal on (128 + 9); timeout's own status is 124.
[ $st -ne 0 ] && [ $st -ne 124 ] && [ $took -le 20 ] &&
    grep -q 'process rank 1 .*signal 9' out
ok=$?
[ $ok -ne 0 ] && tap_diag <out
tap_check $ok "a rank killed mid-run ends the job within seconds, named (exit $st after $took s)"

signal STOP 3
# The waiting rank's collective times out after 3 s and it aborts the job.
[ $st -ne 0 ] && [ $st -ne 124 ] && [ $took -le 20 ] &&
    grep -q '^skrull: rank 0: .*not done after 3 s.*a peer has failed or is stuck' out
ok=$?
[ $ok -ne 0 ] && tap_diag <out
tap_check $ok "a rank stopped mid-run: the other times out and aborts (exit $st after $took s)"

# refused NAME PATTERN1 PATTERN0 ARGS1: rank 0 runs a.json, rank 1 runs
# with ARGS1; the job exits 1 within seconds, before any iteration, rank
# 1's message matching PATTERN1 and rank 0's PATTERN0.
refused() {
	name=$1 p1=$2 p0=$3
	shift 3
	start=$(date +%s)
	$limit $MPIRUN -np 1 "$SKRULL" run --plan a.json $MODEL : \
	    -np 1 "$SKRULL" run $MODEL "$@" >out 2>&1
	st=$?
	took=$(($(date +%s) - start))
	[ $st -eq 1 ] && [ $took -le 30 ] && ! grep -q '^iterations' out &&
	    grep -q "^skrull: rank 1: $p1" out && grep -q "^skrull: rank 0: $p0" out
	ok=$?
	[ $ok -ne 0 ] && tap_diag <out
	tap_check $ok "$name is refused on both ranks, naming rank 1 (exit $st after $took s)"
}
refused "another plan on rank 1" \
    'the plan b.json (digest [0-9a-f]*) differs from rank 0.s' \
    'rank 1 has a plan other than rank 0.s' --plan b.json
refused "a missing plan file on rank 1" 'missing.json: cannot open' \
    'the plan could not be loaded on rank 1' --plan missing.json
refused "a missing trace file on rank 1" 'missing.txt: cannot open' \
    'the plan could not be loaded on rank 1' --plan a.json --trace missing.txt

# The same plan in another file (a copy) is the same plan: it runs.
cp a.json copy.json
$limit $MPIRUN -np 1 "$SKRULL" run --plan a.json $MODEL : \
    -np 1 "$SKRULL" run --plan copy.json $MODEL >out 2>&1
st=$?
[ $st -ne 0 ] && tap_diag <out
tap_check $st "the same plan under another name runs"
tap_done
