#!/bin/sh
# limits.sh: requests that cannot fit in memory are refused up front with
# an estimate (src/core/mem.h), not killed half-way: each command runs
# under `ulimit -v` (RLIMIT_AS) and must fail at once with "needs about X
# GiB for N samples, Y GiB available (RLIMIT_AS, ulimit -v)".  The big
# files are sparse: nothing of them is read.  The figures are computed by
# hand below.  Skipped where `ulimit -v` cannot be set or skrull cannot
# start under it (a sanitizer build reserves terabytes of address space).
. "${top_srcdir:-.}/tests/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-limits.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work" || exit 99

if ! (ulimit -v 50000 && "$SKRULL" --version) >/dev/null 2>&1; then
	tap_skip "memory limits" "skrull does not start under ulimit -v 50000"
	tap_done
fi

# under KB CMD...: CMD under a 1 KB x KB address-space limit; its stderr
# in err, its status in $st, the seconds it took in $took.
under() {
	kb=$1
	shift
	start=$(date +%s)
	(ulimit -v "$kb" && exec "$@") >out 2>err
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
# 3e9 x 4 B = 11.18 GiB; 200000 KB = 0.19 GiB.
under 200000 "$SKRULL" trace stats big.npy
check "a .npy header of 3e9 values is refused before reading" \
    "skrull: big.npy: needs about 11.2 GiB for 3000000000 samples, 0.19 GiB available (RLIMIT_AS, ulimit -v)"

# A plan file of 1 GiB (a hole: nothing is parsed): 20 bytes of memory per
# byte of text is 20 GiB, for 2^30 / 24 = 44739242 samples at most.
truncate -s 1073741824 huge.json || exit 99
under 200000 "$SKRULL" plan --check huge.json
check "a plan file of 1 GiB is refused before parsing" \
    "skrull: huge.json: reading this plan: needs about 20.0 GiB for 44739242 samples, 0.19 GiB available (RLIMIT_AS, ulimit -v)"

# 2 x 10^6 samples: the trace (8 MB) fits in 50000 KB (0.05 GiB), planning
# them (32 B each, 0.06 GiB) does not; 200000 KB is enough.
"$SKRULL" trace synth -n 2000000 --seed 2 --max 4000 lognormal:300:0.5 \
    -o two.npy || exit 99
under 50000 "$SKRULL" plan --trace two.npy
check "planning 2e6 samples in 50 MB is refused after reading them" \
    "skrull: plan: needs about 0.06 GiB for 2000000 samples, 0.05 GiB available (RLIMIT_AS, ulimit -v)"
under 200000 "$SKRULL" plan --trace two.npy -o two.json
[ $st -eq 0 ] || tap_diag <err
tap_check $st "planning them in 200 MB works"
under 50000 "$SKRULL" trace stats two.npy
[ $st -eq 0 ] || tap_diag <err
tap_check $st "their statistics (12 B a sample) fit in 50 MB"
tap_done
