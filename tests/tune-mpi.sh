#!/bin/sh
# tune-mpi.sh: `skrull tune` split over two MPI ranks writes the same best
# job file, byte for byte, as one process.  Skipped when skrull was built
# without MPI or mpirun is missing, unless SKRULL_REQUIRE_MPI=1 (then a
# failure: a machine meant to test MPI must have it).
. "${top_srcdir:-.}/tests/tap.sh"

TUNE='tune --trace traces/etalon_sharegpt_8k.csv.gz --nodes 1 --gpus-per-node 4 --global-batch 32 --max-batches 16 --seed 7 -o best.json'
MPIRUN='mpirun --allow-run-as-root --oversubscribe -np 2'

bindir=$(cd "$(dirname "$SKRULL")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-tune-mpi.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

tap_need_mpi "tune over MPI"

# A hung rank must not hang the test suite.
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout 900"

for d in one mpi; do
	mkdir "$work/$d"
	ln -s "$top_srcdir/traces" "$work/$d/traces"
	ln -s "$top_srcdir/tests" "$work/$d/tests"
done
# run NAME [LAUNCHER...]: skrull $TUNE in $work/NAME; its output becomes
# TAP comments when it fails.
run() {
	name=$1
	shift
	(cd "$work/$name" && $limit "$@" "$bindir/skrull" $TUNE) \
	    >"$work/$name.out" 2>&1
	rc=$?
	[ $rc -ne 0 ] && tap_diag <"$work/$name.out"
	return $rc
}
run one
tap_check $? "tune in one process"
# Open MPI keeps some of its own allocations to the end: leak checking of
# a sanitizer build would fail every rank at exit.
(export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    run mpi $MPIRUN)
tap_check $? "tune over 2 MPI ranks"
cmp "$work/one/best.json" "$work/mpi/best.json" 2>&1 | tap_diag
cmp -s "$work/one/best.json" "$work/mpi/best.json"
tap_check $? "the best job files are identical"
tap_done
