#!/bin/sh
# outputs.sh: what skrull does with what it finds at an output's path
# (skrull(7), RELIABILITY), the cases that succeed; those refused are in
# tests/bad/ (out-*).  A symbolic link written through (the link stays);
# an existing file's mode kept, and its owner as root; a hard link to the
# old file keeping the old content; /dev/stdout as a pipe and /dev/null
# written in place; a FIFO with a reader; -o /dev/stdout to a regular
# file; a name whose temporary must be cut to fit; --to writing a .jsonl
# name on purpose.
. "${top_srcdir:-.}/tests/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-outputs.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work" || exit 99

printf '347\n10919\n2112\n' >t.txt
"$SKRULL" trace convert t.txt -o want.txt
tap_check $? "a plain copy"

# nothing but the files named: no temporary left anywhere here
only() {
	[ "$(find . -name '*.??????' | wc -l)" -eq 0 ]
}

mkdir sub && echo old >sub/target.txt && ln -s sub/target.txt link.txt &&
"$SKRULL" trace convert t.txt -o link.txt && [ -L link.txt ] &&
cmp -s sub/target.txt want.txt && only
tap_check $? "a symbolic link is written through, the link stays"

echo old >mode.txt && chmod 600 mode.txt &&
"$SKRULL" trace convert t.txt -o mode.txt &&
[ "$(stat -c %a mode.txt)" = 600 ] && cmp -s mode.txt want.txt
tap_check $? "an existing file's mode (0600) is kept"

if [ "$(id -u)" = 0 ] && chown 65534:65534 mode.txt 2>/dev/null; then
	"$SKRULL" trace convert t.txt -o mode.txt &&
	[ "$(stat -c %u:%g mode.txt)" = 65534:65534 ]
	tap_check $? "as root, an existing file's owner is kept"
else
	tap_skip "an existing file's owner is kept" "not root"
fi

echo old >a.txt && ln a.txt b.txt &&
"$SKRULL" trace convert t.txt -o a.txt &&
cmp -s a.txt want.txt && [ "$(cat b.txt)" = old ]
tap_check $? "a hard link to the old file keeps the old content"

"$SKRULL" trace convert t.txt -o /dev/stdout | cmp -s - want.txt
tap_check $? "-o /dev/stdout, a pipe, is written in place"

"$SKRULL" trace convert t.txt -o /dev/stdout >stdout.txt &&
cmp -s stdout.txt want.txt && only
tap_check $? "-o /dev/stdout, a regular file, is written through"

"$SKRULL" plan --trace t.txt -o /dev/null >/dev/null && [ -c /dev/null ]
tap_check $? "-o /dev/null is written in place, /dev/null stays a device"

# this shell the reader (read-write, so that its open does not wait); the
# trace fits the pipe's buffer
mkfifo fifo && exec 3<>fifo &&
"$SKRULL" trace convert t.txt -o fifo &&
head -c "$(wc -c <want.txt)" <&3 >from-fifo && cmp -s from-fifo want.txt &&
[ -p fifo ]
tap_check $? "a FIFO with a reader is written in place"
exec 3>&-

long=$(printf '%0251d' 0).txt
"$SKRULL" trace convert t.txt -o "$long" && cmp -s "$long" want.txt && only
tap_check $? "a 255-byte name: its temporary's name cut to fit"

"$SKRULL" trace convert --to plain t.txt -o on-purpose.jsonl &&
cmp -s on-purpose.jsonl want.txt
tap_check $? "--to plain writes a .jsonl name on purpose"
tap_done
