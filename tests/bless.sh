#!/bin/sh
# bless.sh: (re)write the expected output of golden cases from the built
# skrull, for a developer who has checked that the new output is right.
# Usage: tests/bless.sh NAME...   (from the top of a built tree)
# It runs tests/golden/NAME.cmd as tests/golden.sh does and writes NAME.out
# and NAME.err (removing empty ones); NAME.rc is left alone and a different
# exit status is reported.
set -u
top=$(pwd)
for name in "$@"; do
	base=$top/tests/golden/$name
	dir=$(mktemp -d)
	ln -s "$top/traces" "$dir/traces"
	ln -s "$top/tests" "$dir/tests"
	(cd "$dir" && PATH="$top:$PATH" sh -c "$(cat "$base.cmd")" >"$dir.out" 2>"$base.err")
	rc=$?
	if [ -f "$base.sed" ]; then
		sed -f "$base.sed" "$dir.out" >"$base.out"
	else
		cp "$dir.out" "$base.out"
	fi
	want=0
	[ -f "$base.rc" ] && want=$(cat "$base.rc")
	[ "$rc" -ne "$want" ] && echo "bless: $name: exit status $rc, NAME.rc says $want"
	[ -s "$base.out" ] || rm -f "$base.out"
	[ -s "$base.err" ] || rm -f "$base.err"
	rm -rf "$dir" "$dir.out"
done
