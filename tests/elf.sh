#!/bin/sh
# elf.sh: no build product is tracked: no file under version control is an
# ELF object, library or executable.  Skipped outside a git checkout (a
# release tarball has no history to hold).
. "${top_srcdir:-.}/tests/tap.sh"

cd "$top_srcdir" || exit 99
if ! command -v git >/dev/null 2>&1 || ! git rev-parse --git-dir >/dev/null 2>&1; then
	tap_skip "no tracked ELF file" "not a git checkout"
	tap_done
fi
found=$(git ls-files -z | xargs -0 sh -c '
	for f; do
		[ -f "$f" ] && [ "$(head -c 4 "$f" | od -An -c | tr -d " ")" = "177ELF" ] &&
		    echo "$f"
	done; exit 0' sh)
[ -n "$found" ] && echo "$found" | tap_diag
[ -z "$found" ]
tap_check $? "no tracked ELF file"
tap_done
