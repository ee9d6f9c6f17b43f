#!/bin/sh
# tune.sh: wall time of the full `skrull tune` search for the default job
# (bundled Wikipedia trace, Qwen2.5-0.5B, 4 x 8 H100, global batch 256,
# policies deepspeed and skrull: 18 candidates, BucketSize by Brent), with
# THREADS threads (default: all CPUs), RUNS times; prints each and the median.
# Wikipedia holds one 1,823,777-token document no layout of 32 GPUs can
# hold (the largest, CP 32 x BucketSize 29,340, is 938,880 tokens), so the
# default search refuses every candidate; the bench allows what that one
# sample costs, 0.2% of the tokens (--max-dropped 0.2), and says so.
# Usage: bench/tune.sh [RUNS] [THREADS]   (from a built tree)
set -eu
runs=${1:-3}
threads=${2:-$(nproc)}
top=$(cd "$(dirname "$0")/.." && pwd)
skrull=${SKRULL:-$top/skrull}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$top"
i=0
while [ $i -lt "$runs" ]; do
	s=$(date +%s.%N)
	"$skrull" tune --threads "$threads" --max-dropped 0.2 \
	    -o "$tmp/best.json" >"$tmp/out"
	e=$(date +%s.%N)
	echo "$s $e" | awk '{ printf "%.2f\n", $2 - $1 }'
	i=$((i + 1))
done >"$tmp/times"
sort -g "$tmp/times" | awk -v t="$threads" '{ v[NR] = $1 } END {
	printf "skrull tune (default job, --max-dropped 0.2), %d threads: runs", t
	for (i = 1; i <= NR; i++) printf " %s", v[i]
	printf " s; median %s s\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
grep '^best:' "$tmp/out"
