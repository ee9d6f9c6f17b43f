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
# Measured at 10^8 on this project's 2-core, 24 GB build machine, shared
# with other jobs (load 8 to 15), Linux 6.18:
#   command                         seconds  max RSS
#   trace synth -o big.npy             48.4  0.40 GB  (4 B a sample)
#   trace stats big.npy                 8.4  1.20 GB  (12 B a sample)
#   plan --trace big.npy               22.2  2.46 GB  (25 B a sample)
#   plan --trace big.npy -o big.json   37.5  2.46 GB  (a 2.65 GB file)
#     before the streamed writer: 7.2 GB, then "out of memory rendering
#     JSON" (cJSON prints at most 2 GiB)
#   plan --check big.json              0.0   refused: "needs about 49.3
#     GiB for 110356886 samples, 23.5 GiB available" (the cJSON tree, ~19
#     bytes per byte of text; 422 MB for a 22.5 MB plan of 10^6 samples)
#   sim --trace big.npy --iters 0:2000 23.5  2.46 GB  (planning ~20 s,
#     then ~1.7 ms an iteration on 2 threads)
#   sim --trace big.npy (390,625 iterations): stopped after 512 s under
#     load, 2.40 GB; ~11 min on 2 idle cores by the rate above
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
	# A failure adds a line before the figures.
	tail -n 1 time.txt >last.txt
	read -r s kb rc <last.txt
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
