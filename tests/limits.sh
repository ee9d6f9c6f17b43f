#!/bin/sh
# limits.sh: requests that cannot fit in memory are refused up front with
# an estimate (src/core/mem.h), not killed half-way: each command runs
# under `ulimit -d` (RLIMIT_DATA, which counts malloc's heap and
# anonymous mappings but not the code of shared libraries) and must fail
# at once with "needs about X GiB for N samples, Y GiB available
# (RLIMIT_DATA, ulimit -d)".  The big files are sparse: nothing of them is
# read.  The figures are worked out in the comments.  Skipped where
# skrull cannot start under a data limit of 800 MB.
. "${top_srcdir:-.}/tests/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-limits.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work" || exit 99

# The limit: twice the least data-segment limit (ulimit -d, RLIMIT_DATA;
# KB) that skrull starts under (a CUDA build maps large libraries).
lim=
for kb in 25000 50000 100000 200000 400000 800000; do
	if (ulimit -d $kb && "$SKRULL" --version) >/dev/null 2>&1; then
		lim=$((2 * kb))
		break
	fi
done
if [ -z "$lim" ]; then
	tap_skip "memory limits" "skrull does not start under ulimit -d 800000"
	tap_done
fi
# gib BYTES: as the messages print it.
gib() {
	awk -v b="$1" 'BEGIN { g = b / 1073741824; printf(g < 10 ? "%.2f" : "%.1f", g) }'
}
have="$(gib $((lim * 1024))) GiB available (RLIMIT_DATA, ulimit -d)"

# under KB CMD...: CMD under a data-segment limit of KB x 1 KB; its
# stdout in out, stderr in err, status in $st, the seconds it took in
# $took.
under() {
	kb=$1
	shift
	start=$(date +%s)
	(ulimit -d "$kb" && exec "$@") >out 2>err
	st=$?
	took=$(($(date +%s) - start))
}

# check NAME MESSAGE: the command failed with exit 1 within 10 s, its
# message exactly MESSAGE.
check() {
	echo "$2" >want
	[ $st -eq 1 ] && [ $took -le 10 ] && cmp -s want err
	ok=$?
	if [ $ok -ne 0 ]; then
		echo "exit $st after $took s; expected and got:" | tap_diag
		cat want err | tap_diag
	fi
	tap_check $ok "$1"
}

# A .npy header declaring 3 x 10^9 uint32 values (12 GB) and no data: 128
# bytes of header (magic, version 1.0, length 118, the dictionary padded
# with spaces and a newline), then a hole.
hdr="{'descr': '<u4', 'fortran_order': False, 'shape': (3000000000,), }"
{
	printf '\223NUMPY\001\000\166\000%s' "$hdr"
	printf '%*s\n' $((117 - ${#hdr})) ''
} >big.npy
truncate -s $((128 + 12000000000)) big.npy || exit 99
# 3e9 x 4 B = 11.18 GiB.
under $lim "$SKRULL" trace stats big.npy
check "a .npy header of 3e9 values is refused before reading" \
    "skrull: big.npy: needs about 11.2 GiB for 3000000000 samples, $have"

# A plan file of 1 GiB (a hole: nothing is parsed): 20 bytes of memory per
# byte of text is 20 GiB, for 2^30 / 24 = 44739242 samples at most.
truncate -s 1073741824 huge.json || exit 99
under $lim "$SKRULL" plan --check huge.json
check "a plan file of 1 GiB is refused before parsing" \
    "skrull: huge.json: reading this plan: needs about 20.0 GiB for 44739242 samples, $have"

# n samples whose trace (4 n bytes, a quarter of the limit) fits and whose
# planning (32 n bytes, twice the limit) does not; each length 0x01010101
# (the check comes before the lengths are looked at).
n=$((lim * 1024 / 16))
{
	hdr="{'descr': '<u4', 'fortran_order': False, 'shape': ($n,), }"
	printf '\223NUMPY\001\000\166\000%s' "$hdr"
	printf '%*s\n' $((117 - ${#hdr})) ''
	head -c $((4 * n)) /dev/zero | tr '\0' '\1'
} >n.npy
under $lim "$SKRULL" plan --trace n.npy
check "planning $n samples is refused after reading them" \
    "skrull: plan: needs about $(gib $((32 * n))) GiB for $n samples, $have"
# Synthesising or sampling 5 n samples: 20 n bytes of lengths, 1.25 times
# the limit (n is the limit over 16 bytes): refused before drawing.
m=$((5 * n))
under $lim "$SKRULL" trace synth -n $m -o s.npy lognormal:1000:0.5
check "synthesising $m samples is refused before drawing" \
    "skrull: synthesis: needs about $(gib $((4 * m))) GiB for $m samples, $have"
[ ! -e s.npy ]
tap_check $? "nothing is written"
under $lim "$SKRULL" trace sample -n $m --replace -o s.npy n.npy
check "sampling $m of them is refused before drawing" \
    "skrull: n.npy: sampling: needs about $(gib $((4 * m))) GiB for $m samples, $have"
# Their statistics need 12 n bytes, three quarters of the limit: with
# skrull's own (at most half the limit), they fit in twice the limit.
under $((2 * lim)) "$SKRULL" trace stats n.npy
[ $st -eq 0 ] && grep -q "^samples  *$n\\b" out
ok=$?
[ $ok -eq 0 ] || tap_diag <err
tap_check $ok "their statistics fit"
tap_done
