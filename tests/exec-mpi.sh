#!/bin/sh
# exec-mpi.sh: the executor (src/exec/exec.c) under MPI, one DP x CP layout
# per mpirun (1x1, 1x2, 2x2, 1x4, and oversubscribed 2x4, 1x6, 2x3, 4x2):
# tests/exec/test_exec_mpi's own TAP points, passed on one by one with the
# layout in front (every plan's loss, gradient and weights against the 1 x 1
# reference: the policies' plans, and the hand-built ones of
# tests/exec/xplans.c with shard groups of 2, 3, 4, 6 and 8 ranks and
# micro-batches spanning DP ranks), then the failure drill (at 2 x 2 the last rank never runs the
# plan; the others time out in comm_wait after 2 s, report it and abort the
# job).  Skipped when skrull was built without MPI or mpirun is missing,
# unless SKRULL_REQUIRE_MPI=1 (then a failure: a machine meant to test MPI
# must have it).
. "${top_srcdir:-.}/tests/tap.sh"

: "${TEST_EXEC_MPI:=$(pwd)/tests/exec/test_exec_mpi}"
MPIRUN='mpirun --oversubscribe'
# Open MPI refuses to run as root without being told.
[ "$(id -u)" -eq 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-exec-mpi.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

tap_need_mpi "executor over MPI" "$TEST_EXEC_MPI"
tap_mpi_no_leak_check

# A hung rank must not hang the test suite.
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout 300"

for layout in 1x1 1x2 2x2 1x4 2x4 1x6 2x3 4x2; do
	dp=${layout%x*}
	cp=${layout#*x}
	$limit $MPIRUN -np $((dp * cp)) "$TEST_EXEC_MPI" --dp "$dp" --cp "$cp" \
	    >"$work/out" 2>"$work/err"
	rc=$?
	plan=
	seen=0
	while IFS= read -r line; do
		case $line in
		"ok "*)
			seen=$((seen + 1))
			tap_check 0 "$layout: ${line#ok * - }"
			;;
		"not ok "*)
			seen=$((seen + 1))
			tap_check 1 "$layout: ${line#not ok * - }"
			;;
		1..*)
			plan=${line#1..}
			;;
		*)
			echo "# $line"
			;;
		esac
	done <"$work/out"
	[ $rc -eq 0 ] && [ -n "$plan" ] && [ "$plan" -eq "$seen" ]
	ok=$?
	[ $ok -ne 0 ] && tap_diag <"$work/err"
	got="exit $rc, $seen of ${plan:-no} planned points"
	tap_check $ok "$layout: test_exec_mpi ran to its end ($got)"
done

# The drill ends through MPI_Abort with status 3 within a few seconds:
# not 0 (nobody finished), not timeout's 124 or 137 (nobody hung).
start=$(date +%s)
$limit $MPIRUN -np 4 "$TEST_EXEC_MPI" --dp 2 --cp 2 --drill-abort \
    >/dev/null 2>"$work/drill"
rc=$?
took=$(($(date +%s) - start))
[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] && [ $took -le 40 ]
ok=$?
[ $ok -ne 0 ] && tap_diag <"$work/drill"
tap_check $ok "failure drill: the job aborts (exit $rc after $took s)"
n=$(grep -c 'test_exec_mpi: rank [0-2]: .* not done after' "$work/drill")
[ "$n" -ge 1 ]
ok=$?
[ $ok -ne 0 ] && tap_diag <"$work/drill"
tap_check $ok "failure drill: the waiting ranks report the timeout ($n)"
tap_done
