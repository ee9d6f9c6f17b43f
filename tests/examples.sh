#!/bin/sh
# examples.sh: every command in a man page's EXAMPLES section (.Dl lines) is
# also a golden test: some tests/golden/*.cmd holds it verbatim.
. "${top_srcdir:-.}/tests/tap.sh"

for page in "$top_srcdir"/man/*.[1-9]; do
	awk '/^\.Sh /{ex = ($2 == "EXAMPLES")} ex && /^\.Dl /{sub(/^\.Dl /, ""); print}' \
	    "$page" >"${TMPDIR:-/tmp}/skrull-ex.$$"
	while IFS= read -r line; do
		found=1
		for cmd in "$top_srcdir"/tests/golden/*.cmd; do
			if [ "$(cat "$cmd")" = "$line" ]; then
				found=0
				break
			fi
		done
		tap_check $found "$(basename "$page") example: $line"
	done <"${TMPDIR:-/tmp}/skrull-ex.$$"
	rm -f "${TMPDIR:-/tmp}/skrull-ex.$$"
done
tap_done
