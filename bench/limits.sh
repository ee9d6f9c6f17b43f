#!/bin/sh
# limits.sh: time and peak memory (max RSS, /usr/bin/time) of the commands
# that hold one entry per sample, on a synthetic trace of N lengths
# (default 10^8, a 400 MB .npy), with the default job (Qwen2.5-0.5B, 32
# H100s, DP 4 x CP 8): trace synth, trace stats, plan (summary only, and
# with -o), plan --check of that plan, and sim --trace over the first
# SIM_ITERS iterations (default 2000; SIM_ITERS=0 simulates them all).
# Prints one line per command: samples, seconds, max RSS, exit status.
# Usage: bench/limits.sh [N [DIR]]   (from a built tree; DIR holds the
# files, default a temporary directory, removed at the end; needs about
# 3 GB of disk at 10^8)
#
# Measured at 10^8 on 2 cores shared with other jobs (24 GB, Linux 6.18):
#   command                      seconds   max RSS
#   trace synth -o big.npy            27    0.39 GB   (4 B a sample)
#   trace stats big.npy              6.9    1.18 GB   (12 B a sample)
#   plan --trace big.npy              ~100   2.4 GB   (24 B a sample)
#   plan --trace big.npy -o (JSON text 2.3 GB, streamed)
#                                    ~110   2.4 GB;  before the streamed
#                                    writer: 7.2 GB and then "out of memory
#                                    rendering JSON" (cJSON's 2 GiB limit)
#   plan --check big.json            refused at once: needs ~45 GiB
#                                    (the JSON tree, ~400 B a sample)
#   sim --trace big.npy (all 390,625 iterations)
#                                    > 512 s (stopped), 2.4 GB; about 7 ms
#                                    an iteration on one core: ~45 min
# See the report of this measurement in the commit that added it for
# the figures of the run at hand; rerun to measure another machine.
set -u
n=${1:-100000000}
dir=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
skrull=${SKRULL:-$top/skrull}
iters=${SIM_ITERS:-2000}
if [ -z "$dir" ]; then
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' EXIT
fi
cd "$dir" || exit 1

# m NAME CMD...: run CMD, print NAME, samples, seconds, max RSS.
m() {
	name=$1
	shift
	/usr/bin/time -f "%e %M %x" -o time.txt "$@" >out.txt 2>err.txt
	read -r s kb rc <time.txt
	printf '%-34s %11s %9s s %8.2f GB  exit %s\n' "$name" "$n" "$s" \
	    "$(echo "$kb" | awk '{ print $1 * 1024 / 1e9 }')" "$rc"
	[ "$rc" = 0 ] || sed 's/^/    /' err.txt
}

printf '%-34s %11s %11s %11s\n' command samples seconds "max RSS"
m "trace synth -o big.npy" "$skrull" trace synth -n "$n" --seed 3 \
    --max 32768 lognormal:600:1.2 -o big.npy
m "trace stats big.npy" "$skrull" trace stats big.npy
m "plan --trace big.npy" "$skrull" plan --trace big.npy
m "plan --trace big.npy -o big.json" "$skrull" plan --trace big.npy \
    -o big.json
ls -l big.json 2>/dev/null | awk '{ printf "    big.json: %.2f GB\n", $5 / 1e9 }'
m "plan --check big.json" "$skrull" plan --check big.json
if [ "$iters" -gt 0 ]; then
	m "sim --trace big.npy --iters 0:$iters" "$skrull" sim --trace \
	    big.npy --iters 0:"$iters"
else
	m "sim --trace big.npy" "$skrull" sim --trace big.npy
fi
