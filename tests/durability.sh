#!/bin/sh
# durability.sh: the crash drill of "whole or not at all" (skrull(7),
# RELIABILITY).  A crash cannot be staged here, so the order of the system
# calls that makes it safe is checked instead, under strace: for each
# output, its data written to the temporary (DEST.XXXXXX, created with
# O_EXCL), then fsync of the temporary (by its descriptor or afile's
# duplicate of it), no write after; the temporary renamed over the
# destination; then the destination's directory opened and fsynced.  With
# that order a crash at any point leaves the old file or the new one,
# whole: the new data is on the disk before its name is, and the name is
# on the disk before skrull says it is done.  The outputs: a plan, a .npy
# trace, a gzip trace (zlib closes the descriptor first), a timeline, and
# a plan written through a symbolic link into another directory (the
# rename there, that directory fsynced).  Skipped without a strace that
# may trace here, failed then when SKRULL_REQUIRE_STRACE=1 (CI).
. "${top_srcdir:-.}/tests/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-durability.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work" || exit 99

why=
if ! command -v strace >/dev/null 2>&1; then
	why="strace not found"
elif ! strace -f -qq -o /dev/null -e trace=fsync true 2>/dev/null; then
	why="strace cannot trace here (ptrace refused)"
fi
if [ -n "$why" ]; then
	if [ "${SKRULL_REQUIRE_STRACE:-0}" = 1 ]; then
		tap_check 1 "durability drill: $why"
	else
		tap_skip "durability drill" "$why"
	fi
	tap_done
fi

"$SKRULL" trace synth -n 4000 --seed 5 --min 16 --max 60000 \
    lognormal:3000:1 -o t.txt &&
"$SKRULL" plan --trace t.txt --bucket 65536 -o p.json >/dev/null &&
mkdir sub && echo old >sub/target.json && ln -s sub/target.json link.json
tap_check $? "inputs"

# order LOG TMPBASE DEST DIR: check LOG (strace's) for the sequence above,
# the temporary named TMPBASE.XXXXXX renamed to DEST, DIR fsynced after;
# prints what is wrong.
order() {
	sed 's/^[0-9][0-9]* *//' "$1" | awk -v base="$2" -v dest="$3" \
	    -v dir="$4" '
	function fd(s) { sub(/^[a-z0-9]*\(/, "", s); sub(/,.*/, "", s);
		sub(/\).*/, "", s); return s + 0 }
	function ret(s) { sub(/.*= /, "", s); sub(/ .*/, "", s); return s + 0 }
	# a new temporary of dest (the trial one of the check before the work
	# comes first and is dropped): its descriptor, nothing else yet
	/^openat\(/ && index($0, "\"" base ".") && /O_CREAT/ && /O_EXCL/ {
		n = split($0, q, "\""); tmp = q[2]
		delete live; live[ret($0)] = 1
		writes = synced = renamed = dirfd = dirsynced = 0; bad = ""
		next
	}
	tmp == "" { next }
	/^fcntl\(/ && /F_DUPFD/ && (fd($0) in live) && !renamed {
		live[ret($0)] = 1; next
	}
	/^write\(/ && (fd($0) in live) && !renamed {
		if (synced) bad = bad " write-after-fsync"
		writes++; next
	}
	/^fsync\(/ && (fd($0) in live) && !renamed && / = 0/ {
		if (writes == 0) bad = bad " fsync-before-any-write"
		synced = 1; next
	}
	/^close\(/ && (fd($0) in live) && !renamed {
		delete live[fd($0)]; next
	}
	/^rename(at2?)?\(/ && index($0, "\"" tmp "\"") {
		if (!index($0, "\"" dest "\"")) bad = bad " renamed-elsewhere"
		if (!synced) bad = bad " rename-before-fsync"
		renamed = 1; next
	}
	renamed && /^openat\(/ && /O_DIRECTORY/ && index($0, "\"" dir "\"") {
		dirfd = ret($0); next
	}
	renamed && dirfd > 0 && /^fsync\(/ && fd($0) == dirfd && / = 0/ {
		dirsynced = 1; next
	}
	END {
		if (tmp == "") { print "no temporary of " base " created"; exit 1 }
		if (writes == 0) bad = bad " no-write"
		if (!synced) bad = bad " no-fsync"
		if (!renamed) bad = bad " no-rename"
		if (!dirsynced) bad = bad " no-directory-fsync"
		if (bad != "") { print tmp ":" bad; exit 1 }
		printf "%s: %d writes, fsync, rename to %s, fsync of %s\n", tmp,
		    writes, dest, dir
	}'
}

# LeakSanitizer cannot run under ptrace: a sanitizer build's check at
# exit would fail every traced command.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS

calls=openat,write,fsync,fdatasync,rename,renameat,renameat2,close,fcntl

# drill NAME TMPBASE DEST DIR CMD...: run the skrull command line CMD under
# strace and check its order.
drill() {
	name=$1 base=$2 dest=$3 dir=$4
	shift 4
	strace -f -qq -o log -e trace="$calls" "$SKRULL" "$@" >out 2>err
	st=$?
	order log "$base" "$dest" "$dir" >why
	r=$?
	[ $st -ne 0 ] && { tap_diag <err; r=1; }
	tap_diag <why
	[ $r -ne 0 ] && grep -e "$base" -e fsync -e rename log | tap_diag
	tap_check $r "$name: write, fsync, rename, fsync of the directory"
}

drill "plan -o" p2.json p2.json . plan --trace t.txt --bucket 65536 \
    -o p2.json
drill "trace convert -o .npy" out.npy out.npy . trace convert t.txt -o out.npy
drill "trace convert -o .gz" out.txt.gz out.txt.gz . trace convert t.txt \
    -o out.txt.gz
drill "sim --timeline" tl.json tl.json . sim --plan p.json --threads 1 \
    --timeline tl.json
target=$(pwd)/sub/target.json
drill "plan -o through a symbolic link" "$target" "$target" "$(pwd)/sub" \
    plan --trace t.txt --bucket 65536 -o link.json
[ -L link.json ] && [ -s sub/target.json ] && ! grep -q old sub/target.json
tap_check $? "the link stays, its target written"
tap_done
