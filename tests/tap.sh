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
