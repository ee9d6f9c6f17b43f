#!/bin/sh
# valgrind.sh: memcheck (full leak check, every error fatal) over one whole
# trace -> plan -> sim -> report path of the built skrull, for .ci/run (the
# unit tests run under valgrind through make check's LOG_COMPILER there).
# Prints Automake-style "PASS: ..." / "FAIL: ..." lines and exits nonzero
# on a failure.  Usage: tests/valgrind.sh   (from a built tree)
set -u
top=$(pwd)
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-origins=yes"
work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-valgrind.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
st=0
step() {
	name=$1
	shift
	if (cd "$work" && $vg "$@") >"$work/stdout" 2>"$work/out"; then
		echo "PASS: valgrind $name"
	else
		echo "FAIL: valgrind $name"
		cat "$work/stdout" "$work/out" | sed 's/^/# /' | head -n 40
		st=1
	fi
}
step "trace synth" "$top/skrull" trace synth -n 2000 --seed 5 --min 64 \
    --max 32768 lognormal:2048:1.3 -o t.npy
step "trace stats" "$top/skrull" trace stats --json t.npy
step "plan skrull" "$top/skrull" plan --trace t.npy --bucket 16384 \
    --drop-overlong -o p.json
step "plan --check" "$top/skrull" plan --check p.json --trace t.npy
step "sim" "$top/skrull" sim --plan p.json --iters 0:3 --threads 2 \
    --timeline tl.json --json
cp "$work/stdout" "$work/r.json"
step "compare" "$top/skrull" compare --trace t.npy --bucket 16384 \
    --drop-overlong --iters 0:2 --threads 2
step "report diff" "$top/skrull" report diff r.json r.json
exit $st
