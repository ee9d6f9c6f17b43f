#!/bin/sh
# knobs.sh: the policy options of `skrull plan -h` (printed from the knob
# table) and the list in skrull-plan(1) name the same knobs.
. "${top_srcdir:-.}/tests/tap.sh"

help=$("$SKRULL" plan -h | sed -n '/^policy options/,/^$/p' |
    sed -n 's/^  --\(\[no-\]\)\{0,1\}\([a-z-]*\).*/\2/p' | sort)
man=$(sed -n '/^The policy options/,/^\.El/p' "$top_srcdir/man/skrull-plan.1" |
    sed -n 's/^\.It Fl -\(.*\)/\1/p' |
    sed 's/ Ns Oo Cm no- Oc Ns Cm //; s/ .*//' | sort)
[ -n "$help" ]
tap_check $? "skrull plan -h lists policy options"
for k in $help; do
	echo "$man" | grep -qx -- "$k"
	tap_check $? "skrull-plan(1) documents --$k"
done
for k in $man; do
	echo "$help" | grep -qx -- "$k"
	tap_check $? "skrull plan -h has --$k"
done
tap_done
