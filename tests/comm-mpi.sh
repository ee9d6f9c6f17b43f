#!/bin/sh
# comm-mpi.sh: the MPI communicator (src/exec/comm_mpi.c) under 4 MPI
# ranks: tests/exec/test_comm_mpi's own TAP points, passed on one by one,
# then the failure drill (a rank that never joins an all-reduce makes the
# others time out in comm_wait after 2 s, report it and abort the job).
# Skipped when skrull was built without MPI or mpirun is missing, unless
# SKRULL_REQUIRE_MPI=1 (then a failure: a machine meant to test MPI must
# have it).
. "${top_srcdir:-.}/tests/tap.sh"

: "${TEST_COMM_MPI:=$(pwd)/tests/exec/test_comm_mpi}"
MPIRUN='mpirun --oversubscribe -np 4'
# Open MPI refuses to run as root without being told.
[ "$(id -u)" -eq 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-comm-mpi.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

tap_need_mpi "communicator over MPI" "$TEST_COMM_MPI"
tap_mpi_no_leak_check

# A hung rank must not hang the test suite.
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout 120"

$limit $MPIRUN "$TEST_COMM_MPI" >"$work/out" 2>"$work/err"
rc=$?
plan=
seen=0
while IFS= read -r line; do
	case $line in
	"ok "*)
		seen=$((seen + 1))
		tap_check 0 "${line#ok * - }"
		;;
	"not ok "*)
		seen=$((seen + 1))
		tap_check 1 "${line#not ok * - }"
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
tap_check $ok "test_comm_mpi ran to its end ($got)"

# The drill ends through MPI_Abort with status 3 within a few seconds:
# not 0 (nobody finished), not timeout's 124 or 137 (nobody hung).
start=$(date +%s)
$limit $MPIRUN "$TEST_COMM_MPI" --drill-abort >/dev/null 2>"$work/drill"
rc=$?
took=$(($(date +%s) - start))
[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] && [ $took -le 30 ]
ok=$?
[ $ok -ne 0 ] && tap_diag <"$work/drill"
tap_check $ok "failure drill: the job aborts (exit $rc after $took s)"
re='iallreduce: rank [0-2] of 4 in world (world rank [0-2]): 4 elements'
n=$(grep -c "$re not done after" "$work/drill")
# The first rank to abort may take the others down before they print (seen
# under load in CI), so at least one waiting rank must name the timeout.
[ "$n" -ge 1 ]
ok=$?
[ $ok -ne 0 ] && tap_diag <"$work/drill"
tap_check $ok "failure drill: a waiting rank reports the timeout"
tap_done
