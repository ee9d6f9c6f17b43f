#!/bin/sh
# bad.sh: the catalogue of malformed and hostile inputs (tests/bad/README.md).
# Each case tests/bad/NAME.cmd is run as tests/golden.sh runs its cases, in a
# fresh temporary directory holding links to traces/ and tests/, with the
# built skrull first in PATH; but its lines before the last prepare the
# directory (they must succeed; exit 77 skips the case) and only its last
# line is the command under test.  Expected: the exit status NAME.rc (1, or 2
# for usage), stderr NAME.err exactly (after the sed script NAME.sed, when
# present, masks what differs between machines), its first line starting
# "skrull: ", an empty stdout, and the directory exactly as the preparation
# left it: no output file, no temporary (afile's PATH.XXXXXX), no existing
# file changed.  SKRULL_BLESS=1 rewrites every NAME.err from what skrull
# printed (read them before committing).
. "${top_srcdir:-.}/tests/tap.sh"

bindir=$(cd "$(dirname "$SKRULL")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-bad.XXXXXX") || exit 99
trap 'chmod -R u+rwx "$work" 2>/dev/null; rm -rf "$work"' EXIT INT TERM

# Every entry under the case's directory (not the links) with its type,
# size and checksum.
snapshot() {
	(cd "$1" && find . -path ./tests -prune -o -path ./traces -prune -o \
	    -print | LC_ALL=C sort | while IFS= read -r f; do
		if [ -f "$f" ] && [ ! -L "$f" ]; then
			echo "$f $(cksum <"$f" 2>/dev/null)"
		else
			echo "$f $(ls -ld "$f" | cut -c1)"
		fi
	done)
}

for cmd in "$top_srcdir"/tests/bad/*.cmd; do
	name=$(basename "$cmd" .cmd)
	base=${cmd%.cmd}
	dir="$work/$name"
	mkdir "$dir"
	ln -s "$top_srcdir/traces" "$dir/traces"
	ln -s "$top_srcdir/tests" "$dir/tests"
	n=$(wc -l <"$cmd")
	head -n $((n - 1)) "$cmd" >"$work/$name.prep"
	tail -n 1 "$cmd" >"$work/$name.run"
	(cd "$dir" && PATH="$bindir:$PATH" sh -e "$work/$name.prep" \
	    >"$work/$name.prepout" 2>&1)
	rc=$?
	if [ "$rc" -eq 77 ]; then
		tap_skip "$name: $(cat "$work/$name.run")" \
		    "$(tail -n 1 "$work/$name.prepout")"
		continue
	fi
	if [ "$rc" -ne 0 ]; then
		tap_diag <"$work/$name.prepout"
		tap_check 1 "$name: preparation failed"
		continue
	fi
	snapshot "$dir" >"$work/$name.before"
	(cd "$dir" && PATH="$bindir:$PATH" sh "$work/$name.run" \
	    >"$work/$name.stdout" 2>"$work/$name.stderr")
	rc=$?
	snapshot "$dir" >"$work/$name.after"
	if [ -f "$base.sed" ]; then
		sed -f "$base.sed" "$work/$name.stderr" >"$work/$name.masked"
		mv "$work/$name.masked" "$work/$name.stderr"
	fi
	if [ "${SKRULL_BLESS:-0}" = 1 ]; then
		cp "$work/$name.stderr" "$base.err"
	fi
	ok=0
	want=$(cat "$base.rc")
	if [ "$rc" -ne "$want" ] || { [ "$want" -ne 1 ] && [ "$want" -ne 2 ]; }
	then
		echo "exit status $rc, expected $want (1 or 2)" | tap_diag
		ok=1
	fi
	diff -u "$base.err" "$work/$name.stderr" | tap_diag
	cmp -s "$base.err" "$work/$name.stderr" || ok=1
	case $(head -n 1 "$work/$name.stderr") in
	"skrull: "*) ;;
	*) echo "stderr does not start with 'skrull: '" | tap_diag; ok=1 ;;
	esac
	if [ -s "$work/$name.stdout" ]; then
		echo "unexpected stdout:" | tap_diag
		tap_diag <"$work/$name.stdout"
		ok=1
	fi
	if ! cmp -s "$work/$name.before" "$work/$name.after"; then
		echo "the directory changed (left-over or altered files):" |
		    tap_diag
		diff "$work/$name.before" "$work/$name.after" | tap_diag
		ok=1
	fi
	tap_check $ok "$name: $(cat "$work/$name.run")"
done
tap_done
