#!/bin/sh
# regen.sh: the synthesised stand-ins in traces/ regenerate byte-identically
# from the commands recorded in traces/synth.cmds.
. "${top_srcdir:-.}/tests/tap.sh"

bindir=$(cd "$(dirname "$SKRULL")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-regen.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

grep -v '^#' "$top_srcdir/traces/synth.cmds" | while IFS= read -r line; do
	[ -z "$line" ] && continue
	out=$(echo "$line" | sed -n 's/.* -o \([^ ]*\).*/\1/p')
	(cd "$work" && PATH="$bindir:$PATH" sh -c "$line") 2>&1 | tap_diag
	gzip -dc "$top_srcdir/traces/$(basename "$out").gz" | cmp -s - "$work/$out"
	tap_check $? "regenerate $(basename "$out")"
done >"$work/tap"
cat "$work/tap"
tap_n=$(grep -c '^\(not \)\{0,1\}ok ' "$work/tap")
tap_done
