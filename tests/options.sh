#!/bin/sh
# options.sh: each command's options agree in three places: the option
# table the program parses (SKRULL_LIST_OPTIONS, cli_options_hook), its
# -h text and its man page.  For every command:
#   - every option in the table appears in -h, and every option -h names
#     is in the table (an -h that offers what the command refuses fails);
#   - every option in the table is documented in skrull-CMD(1), or in a
#     page it refers to for a group (skrull-plan(1), skrull-show(1),
#     skrull-trace(1)) as `Fl -name`; and every option the page lists as
#     an item (`.It Fl -name`) is in the table.
# --help, which every command takes, is left to skrull(1).
# "--[no-]name" in -h and "Fl - Ns Oo Cm no- Oc Ns Cm name" in a page
# stand for --name and --no-name.
. "${top_srcdir:-.}/tests/tap.sh"

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# man_fl PAGE: the long options a page names, one a line.
man_fl() {
	sed -n 's/Fl - Ns Oo Cm no- Oc Ns Cm \([a-z0-9-]*\)/Fl -\1 Fl -no-\1/g
	    /Fl -[a-z]/p' "$1" | grep -o 'Fl -[a-z0-9][a-z0-9-]*' |
	    sed 's/^Fl -//' | sort -u
}

# man_items PAGE: the long options a page lists as items.
man_items() {
	sed -n 's/Fl - Ns Oo Cm no- Oc Ns Cm \([a-z0-9-]*\)/Fl -\1 , Fl -no-\1/g
	    /^\.It Fl/p' "$1" | grep -o 'Fl -[a-z0-9][a-z0-9-]*' |
	    sed 's/^Fl -//' | sort -u
}

# refs PAGE: the pages of option groups (plan, show, trace) PAGE refers
# to, directly or through one another (compare -> plan -> show).
refs() {
	seen=
	todo=$1
	while [ -n "$todo" ]; do
		set -- $todo
		todo=
		for p; do
			for ref in plan show trace; do
				case " $seen " in *" $ref "*) continue ;; esac
				if grep -q "^\.Xr skrull-$ref 1" "$p"; then
					seen="$seen $ref"
					todo="$todo $top_srcdir/man/skrull-$ref.1"
				fi
			done
		done
	done
	echo $seen
}

for cmd in "trace stats" show plan sim compare tune "report diff" run \
    calibrate; do
	name=${cmd%% *}
	page="$top_srcdir/man/skrull-$name.1"
	# shellcheck disable=SC2086
	# --help is every command's, documented once in skrull(1)
	SKRULL_LIST_OPTIONS=1 "$SKRULL" $cmd 2>/dev/null | grep -vx help |
	    sort -u >"$tmp/table"
	test -s "$tmp/table"
	tap_check $? "$name: the option table is listed"
	# shellcheck disable=SC2086
	"$SKRULL" $cmd -h 2>/dev/null |
	    sed 's/--\[no-\]\([a-z0-9-]*\)/--\1 --no-\1/g' |
	    grep -o -- '--[a-z0-9][a-z0-9-]*' | sed 's/^--//' | sort -u \
	    >"$tmp/help"
	comm -23 "$tmp/table" "$tmp/help" >"$tmp/d1"
	[ -s "$tmp/d1" ] && sed 's/^/not in -h: --/' "$tmp/d1" | tap_diag
	[ ! -s "$tmp/d1" ]
	tap_check $? "$name: -h names every option of the table"
	comm -13 "$tmp/table" "$tmp/help" >"$tmp/d2"
	[ -s "$tmp/d2" ] && sed 's/^/in -h, not accepted: --/' "$tmp/d2" | tap_diag
	[ ! -s "$tmp/d2" ]
	tap_check $? "$name: -h names no option the command lacks"
	man_fl "$page" >"$tmp/man"
	for ref in $(refs "$page"); do
		man_fl "$top_srcdir/man/skrull-$ref.1" >>"$tmp/man"
	done
	sort -u "$tmp/man" -o "$tmp/man"
	comm -23 "$tmp/table" "$tmp/man" >"$tmp/d3"
	[ -s "$tmp/d3" ] && sed 's/^/not in the man page: --/' "$tmp/d3" | tap_diag
	[ ! -s "$tmp/d3" ]
	tap_check $? "$name: skrull-$name(1) documents every option"
	man_items "$page" | comm -23 - "$tmp/table" >"$tmp/d4"
	[ -s "$tmp/d4" ] && sed 's/^/an item of the page, not accepted: --/' \
	    "$tmp/d4" | tap_diag
	[ ! -s "$tmp/d4" ]
	tap_check $? "$name: skrull-$name(1) lists no option the command lacks"
done
tap_done
