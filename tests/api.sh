#!/bin/sh
# api.sh: libskrull as a program outside the tree sees it.  `make install
# DESTDIR=...` into a scratch directory; then libskrull(3)'s example
# program, taken from the page, compiled with `pkg-config --cflags --libs
# skrull` against the installed header and shared library (and once
# statically, with --static's private libraries) and run; its plan file
# must be the one `skrull plan` writes for a trace of the same lengths, its
# walk what jq reads off that file, its mean the one `skrull sim` prints.
# And the shared library exports exactly the header's functions (nm -D),
# which src/api/skrull.map lists, under the soname libskrull.so.MAJOR.
. "${top_srcdir:-.}/tests/tap.sh"

for tool in pkg-config nm readelf jq "${CC:-cc}"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		tap_check 1 "$tool is installed"
		tap_done
	fi
done
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
builddir=${abs_top_builddir:-$(pwd)}

# MAKEFLAGS cleared: this make is no job of the make running the tests.
MAKEFLAGS= MFLAGS= ${MAKE:-make} -C "$builddir" install DESTDIR="$tmp/root" \
    >"$tmp/install.log" 2>&1
st=$?
[ $st -ne 0 ] && tail -n 20 "$tmp/install.log" | tap_diag
tap_check $st "make install DESTDIR=..."
pc=$(find "$tmp/root" -name skrull.pc | head -n 1)
hdr=$(find "$tmp/root" -name skrull.h | head -n 1)
[ -n "$pc" ] && [ -n "$hdr" ]
tap_check $? "skrull.pc and skrull.h are installed"
[ -n "$pc" ] && [ -n "$hdr" ] || tap_done
libdir=$(dirname "$(dirname "$pc")")
# The sysroot puts the scratch directory before the .pc's paths.
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR="$tmp/root"
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

major=$(sed -n 's/^#define SKRULL_VERSION_MAJOR \([0-9]*\)$/\1/p' "$hdr")
so=$(readelf -d "$libdir/libskrull.so" 2>/dev/null |
    sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ -n "$major" ] && [ "$so" = "libskrull.so.$major" ] &&
    [ -f "$libdir/libskrull.a" ] && [ -L "$libdir/libskrull.so.$major" ]
tap_check $? "libskrull.so ($so), its soname link and libskrull.a are installed"

# The header's functions: declarations, not comments.
grep -v '^ \*\|^/\*' "$hdr" | grep -o '[ *]skrull_[a-z_]*(' | tr -d '(* ' |
    sort -u >"$tmp/header"
nm -D --defined-only "$libdir/libskrull.so" | awk '$2 == "T" {print $3}' |
    sed 's/@.*//' | sort -u >"$tmp/nm"
sed -n 's/^	\(skrull_[a-z_]*\);$/\1/p' "$top_srcdir/src/api/skrull.map" |
    sort -u >"$tmp/map"
nm -D --defined-only "$libdir/libskrull.so" | awk '$2 != "T" && $2 != "A"' \
    >"$tmp/other"
diff "$tmp/header" "$tmp/nm" | tap_diag
diff "$tmp/header" "$tmp/map" | tap_diag
tap_diag <"$tmp/other"
[ "$(wc -l <"$tmp/header")" -gt 30 ] && cmp -s "$tmp/header" "$tmp/nm" &&
    cmp -s "$tmp/header" "$tmp/map" && [ ! -s "$tmp/other" ]
tap_check $? "the library exports the header's $(wc -l <"$tmp/header") functions and nothing else"

# The example, as libskrull(3) prints it.
awk '/^\.Sh /{ex = ($2 == "EXAMPLES")} ex && /^\.Bd -literal$/{p = 1; next}
    p && /^\.Ed/{exit} p' "$top_srcdir/man/libskrull.3" |
    sed 's/\\e/\\/g' >"$tmp/example.c"
grep -q 'skrull_plan_batch' "$tmp/example.c"
tap_check $? "libskrull(3) has an example program"
cflags=$(pkg-config --cflags skrull)
case $cflags in *"$tmp/root"*) st=0 ;; *) st=1 ;; esac
tap_check $st "pkg-config --cflags skrull points into the installation ($cflags)"
# shellcheck disable=SC2086
${CC:-cc} $SK_SAN $cflags -o "$tmp/example" "$tmp/example.c" \
    $(pkg-config --libs skrull) 2>"$tmp/cc.err"
st=$?
tap_diag <"$tmp/cc.err"
tap_check $st "the example compiles and links against the installed libskrull.so"
readelf -d "$tmp/example" 2>/dev/null | grep -q "NEEDED.*\[libskrull.so.$major\]"
tap_check $? "the example loads libskrull.so.$major"
# The static link: libskrull.a and the private libraries of --static.
# shellcheck disable=SC2086
${CC:-cc} $SK_SAN $cflags -o "$tmp/example-static" "$tmp/example.c" \
    $(pkg-config --libs-only-L skrull) -Wl,-Bstatic -lskrull -Wl,-Bdynamic \
    $(pkg-config --static --libs-only-l skrull | sed 's/-lskrull//') \
    -pthread 2>"$tmp/cc.err"
st=$?
tap_diag <"$tmp/cc.err"
tap_check $st "the example links statically against libskrull.a with pkg-config --static"
! readelf -d "$tmp/example-static" 2>/dev/null | grep -q 'NEEDED.*libskrull'
tap_check $? "the static example needs no libskrull.so"

mkdir "$tmp/work" && cd "$tmp/work" || exit 99
LD_LIBRARY_PATH="$libdir" "$tmp/example" api.json >out 2>err
st=$?
tap_diag <err
tap_check $st "the example runs"
"$tmp/example-static" static.json >out.static 2>err
st=$?
tap_diag <err
cmp -s out out.static && cmp -s api.json static.json
tap_check $? "the static example prints and writes the same"

# The same batch through the command: the lengths of the example's array.
printf '%s\n' 3071 517 24000 845 2260 19001 133 6400 >batch.txt
grep -q '3071, 517, 24000, 845, 2260, 19001, 133, 6400' "$tmp/example.c"
tap_check $? "the example plans the lengths of batch.txt"
"$SKRULL" plan --trace batch.txt --model qwen2.5-7b --cluster h100 \
    --nodes 1 --gpus-per-node 8 --dp 2 --cp 4 --batch 4 --quiet \
    -o cli.json >/dev/null 2>err
st=$?
tap_diag <err
cmp api.json cli.json 2>&1 | tap_diag
[ $st -eq 0 ] && cmp -s api.json cli.json
tap_check $? "the example's plan is the plan skrull plan writes, byte for byte"

# The walk, read off the command's plan by jq: each DP rank's micro-batches
# in order (this plan has no span), each sample [index, length, place] or
# [index, length, first, size]; place -1 is the whole CP group.
cp=$(jq '.job.cp' cli.json)
jq -r --argjson cp "$cp" '.iterations[0].ranks | to_entries[] | .key as $d |
    .value.micro_batches | to_entries[] | .key as $i |
    if (.value | type) != "array" then error("a span") else . end |
    .value[] |
    "dp \($d) mb \($i) span 1: sample \(.[0]), \(.[1]) tokens, " +
    (if length == 4 then "sharded from \(.[2]) size \(.[3])"
     elif .[2] == -1 then "sharded from 0 size \($cp)"
     else "whole on \(.[2]) size 1" end)' cli.json >walk 2>err
st=$?
tap_diag <err
mean=$("$SKRULL" sim --plan cli.json --json 2>/dev/null | jq '.summary.mean')
awk -v m="$mean" 'BEGIN {printf "iterations 1, mean %.6f s, ooms 0\n", m}' \
    >>walk
diff walk out | tap_diag
[ $st -eq 0 ] && [ "$(wc -l <walk)" -eq 9 ] && cmp -s walk out
tap_check $? "the example's walk and mean are the command's plan and sim"

# Uninstalled, nothing of the library is left.
MAKEFLAGS= MFLAGS= ${MAKE:-make} -C "$builddir" uninstall DESTDIR="$tmp/root" \
    >"$tmp/uninstall.log" 2>&1
left=$(find "$tmp/root" -name 'libskrull*' -o -name skrull.pc -o -name skrull.h)
[ -n "$left" ] && echo "$left" | tap_diag
[ -z "$left" ]
tap_check $? "make uninstall removes the library, header and skrull.pc"
tap_done
