#!/bin/sh
# manlint.sh: every man page passes `mandoc -Tlint` with no message at all,
# and renders under groff's mdoc package (what man-db runs) with no warning:
# the two formatters differ (groff 1.22's mdoc once lost a reference with
# nine authors and the rest of the page), so each page is checked by both.
. "${top_srcdir:-.}/tests/tap.sh"

txt=$(mktemp) || exit 1
trap 'rm -f "$txt"' EXIT

for page in "$top_srcdir"/man/*.[1-9]; do
	name=$(basename "$page")
	if [ "${MANDOC:-no}" = no ]; then
		tap_check 1 "$name: mandoc not installed"
	else
		out=$("$MANDOC" -Tlint -W warning "$page" 2>&1)
		st=$?
		[ -n "$out" ] && echo "$out" | tap_diag
		[ $st -eq 0 ] && [ -z "$out" ]
		tap_check $? "mandoc -Tlint $name"
	fi
	if [ "${GROFF:-no}" = no ]; then
		tap_check 1 "$name: groff not installed"
		continue
	fi
	# -ww: every warning; the rendered text must end with the page's
	# footer line (the date), so a page cut short is caught too.
	out=$("$GROFF" -mandoc -Tutf8 -ww "$page" 2>&1 >"$txt")
	st=$?
	[ -n "$out" ] && echo "$out" | tap_diag
	date=$(sed -n 's/^\.Dd //p' "$page")
	last=$(sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g' "$txt" | grep -v '^ *$' | tail -n 1)
	[ $st -eq 0 ] && [ -z "$out" ] && case $last in *"$date"*) true ;; *) false ;; esac
	tap_check $? "groff -mandoc $name"
done
tap_done
