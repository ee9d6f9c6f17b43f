#!/bin/sh
# build.sh: build the libFuzzer targets of tests/fuzz (see README.md).
#
#   tests/fuzz/build.sh [TARGET...]
#
# Compiles the core library sources (src/core) and each target
# tests/fuzz/fuzz_TARGET.c with clang, -fsanitize=fuzzer,address,undefined,
# into $FUZZ_BIN (default tests/fuzz/bin, git-ignored): FUZZ_BIN/fuzz_TARGET.
# Objects are rebuilt only when a source or header is newer.  CC (default
# clang) and CFLAGS (appended) may be set.  Run from anywhere.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${FUZZ_BIN:-$top/tests/fuzz/bin}
cc=${CC:-clang}
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
-fno-sanitize-recover=undefined -std=gnu11 -pthread -Wall -Wextra \
-Werror ${CFLAGS:-}"
deps=$(pkg-config --cflags gsl libcjson zlib)
libs=$(pkg-config --libs gsl libcjson zlib)
# the targets: one list, tests/fuzz/targets, for build, run and CI
all=$(cat "$top/tests/fuzz/targets")

[ $# -gt 0 ] || set -- $all
mkdir -p "$bin/obj"

# A header change rebuilds everything: the headers are few and small.
newest=$(ls -t "$top"/src/core/*.h "$top"/tests/fuzz/*.h | head -n 1)
objs=
for src in "$top"/src/core/*.c; do
	obj=$bin/obj/$(basename "$src" .c).o
	objs="$objs $obj"
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest" -nt "$obj" ]; then
		echo "$cc -c $src"
		# shellcheck disable=SC2086
		$cc $flags $deps -I"$top/src/core" -c "$src" -o "$obj" &
	fi
done
wait
for t; do
	src=$top/tests/fuzz/fuzz_$t.c
	[ -f "$src" ] || { echo "build.sh: no target $t" >&2; exit 2; }
	out=$bin/fuzz_$t
	echo "$cc -o $out"
	# shellcheck disable=SC2086
	$cc $flags -D_GNU_SOURCE $deps -I"$top/src/core" "$src" $objs $libs -lm -o "$out"
done
