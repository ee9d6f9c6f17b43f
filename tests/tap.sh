# tap.sh: TAP output for the shell tests (sourced).  Automake's tap-driver
# reads the plan and the result lines; everything else is a comment.
tap_n=0
tap_failed=0

# ok COND_STATUS NAME: report one test point from an exit status.
tap_check() {
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

tap_skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

tap_done() {
	echo "1..$tap_n"
	exit 0
}

# Diagnostics as TAP comments.
tap_diag() {
	sed 's/^/# /'
}

: "${top_srcdir:=.}"
: "${SKRULL:=$(pwd)/skrull}"

# tap_need_mpi WHAT [PROGRAM]: go on only when skrull was built with MPI,
# mpirun exists and PROGRAM (a test program, if named) was built; else end
# the test here: a skip of WHAT, or a failure when SKRULL_REQUIRE_MPI=1 (a
# machine meant to test MPI must have it).
tap_need_mpi() {
	tap_missing=
	if "$SKRULL" --version | grep -q '^mpi not built$'; then
		tap_missing="MPI not built"
	elif ! command -v mpirun >/dev/null 2>&1; then
		tap_missing="mpirun not found"
	elif [ -n "${2:-}" ] && [ ! -x "$2" ]; then
		tap_missing="$2 not built"
	fi
	if [ -n "$tap_missing" ]; then
		if [ "${SKRULL_REQUIRE_MPI:-0}" = 1 ]; then
			tap_check 1 "$tap_missing"
		else
			tap_skip "$1" "$tap_missing"
		fi
		tap_done
	fi
}

# Open MPI keeps some of its own allocations to the end: leak checking of a
# sanitizer build would fail every rank at exit.
tap_mpi_no_leak_check() {
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	export ASAN_OPTIONS
}
