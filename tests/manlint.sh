#!/bin/sh
# manlint.sh: every man page passes `mandoc -Tlint` with no message at all.
. "${top_srcdir:-.}/tests/tap.sh"

for page in "$top_srcdir"/man/*.[1-9]; do
	if [ "${MANDOC:-no}" = no ]; then
		tap_check 1 "$(basename "$page"): mandoc not installed"
		continue
	fi
	out=$("$MANDOC" -Tlint -W warning "$page" 2>&1)
	st=$?
	[ -n "$out" ] && echo "$out" | tap_diag
	[ $st -eq 0 ] && [ -z "$out" ]
	tap_check $? "mandoc -Tlint $(basename "$page")"
done
tap_done
