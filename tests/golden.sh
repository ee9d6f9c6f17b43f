#!/bin/sh
# golden.sh: command-line golden tests.  Each case tests/golden/NAME.cmd is a
# shell command line run in a fresh temporary directory that holds links to
# the source tree's traces/ and tests/ (so man-page EXAMPLES run verbatim),
# with the built skrull first in PATH.  Expected: NAME.out (stdout, exact),
# NAME.err (stderr, exact; when absent stderr must be empty) and NAME.rc
# (exit status; 0 when absent).  NAME.sed, when present, is a sed script
# applied to stdout before the comparison, to mask what varies from run to
# run (timings).
. "${top_srcdir:-.}/tests/tap.sh"

bindir=$(cd "$(dirname "$SKRULL")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-golden.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

for cmd in "$top_srcdir"/tests/golden/*.cmd; do
	name=$(basename "$cmd" .cmd)
	base=${cmd%.cmd}
	dir="$work/$name"
	mkdir "$dir"
	ln -s "$top_srcdir/traces" "$dir/traces"
	ln -s "$top_srcdir/tests" "$dir/tests"
	(cd "$dir" && PATH="$bindir:$PATH" sh -c "$(cat "$cmd")" \
	    >"$work/$name.stdout" 2>"$work/$name.stderr")
	rc=$?
	if [ -f "$base.sed" ]; then
		sed -f "$base.sed" "$work/$name.stdout" >"$work/$name.masked"
		mv "$work/$name.masked" "$work/$name.stdout"
	fi
	want=0
	[ -f "$base.rc" ] && want=$(cat "$base.rc")
	ok=0
	if [ "$rc" -ne "$want" ]; then
		echo "exit status $rc, expected $want" | tap_diag
		ok=1
	fi
	if [ -f "$base.out" ]; then
		diff -u "$base.out" "$work/$name.stdout" | tap_diag
		cmp -s "$base.out" "$work/$name.stdout" || ok=1
	elif [ -s "$work/$name.stdout" ]; then
		echo "unexpected stdout" | tap_diag; ok=1
	fi
	if [ -f "$base.err" ]; then
		diff -u "$base.err" "$work/$name.stderr" | tap_diag
		cmp -s "$base.err" "$work/$name.stderr" || ok=1
	elif [ -s "$work/$name.stderr" ]; then
		tap_diag <"$work/$name.stderr"; ok=1
	fi
	tap_check $ok "$name: $(head -n 1 "$cmd")"
done
tap_done
