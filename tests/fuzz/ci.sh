#!/bin/sh
# ci.sh: build every fuzz target and run each for FUZZ_SECONDS (default 30)
# on a copy of the committed corpus, as CI does (see README.md).  Nothing in
# the source tree is written: binaries, working corpora and logs go to a
# temporary directory (kept, and named, when a target fails).  Ends with
# one line "N passed, N failed" (one test per target); exits 1 on a failure.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-30}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/skrull-fuzz-ci.XXXXXX") || exit 1
# the targets: one list, tests/fuzz/targets, for build, run and CI
all=$(cat "$top/tests/fuzz/targets")

if ! FUZZ_BIN=$tmp/bin "$top/tests/fuzz/build.sh" >"$tmp/build.log" 2>&1; then
	cat "$tmp/build.log"
	echo "fuzz: build failed (log in $tmp)"
	echo "0 passed, 1 failed"
	exit 1
fi
FUZZ_BIN=$tmp/bin FUZZ_WORK=$tmp/work "$top/bench/fuzz.sh" "$secs" $all
passed=0
failed=0
for t in $all; do
	set -- $(cat "$tmp/work/$t/sum" 2>/dev/null || echo "$t - - - - - - 1")
	if [ "$8" = 0 ]; then
		echo "ok - fuzz $t: $3 executions, cov $5, ft $6"
		passed=$((passed + 1))
	else
		echo "not ok - fuzz $t: see $tmp/work/$t/log and crashes/"
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ] && rm -rf "$tmp"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
