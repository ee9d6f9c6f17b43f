#!/bin/sh
# sim.sh: simulator speed.  Plans the whole bundled Wikipedia trace at the
# default job (Qwen2.5-0.5B, 4 x 8 H100, DP 4, CP 8, batch 64, BucketSize
# auto; 3,907 iterations) with deepspeed and with skrull, then simulates
# every iteration at full operation-level detail with THREADS threads
# (default: all CPUs) and with one, RUNS times each; prints the median wall
# time and the events per second the command reports.
# Usage: bench/sim.sh [RUNS] [THREADS]   (from a built tree)
set -eu
runs=${1:-3}
threads=${2:-$(nproc)}
top=$(cd "$(dirname "$0")/.." && pwd)
skrull=${SKRULL:-$top/skrull}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() {
	sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for policy in deepspeed skrull; do
	"$skrull" plan --trace "$top/traces/wikipedia.txt.gz" --policy "$policy" \
	    --drop-overlong -o "$tmp/$policy.json" >/dev/null
	for t in "$threads" 1; do
		i=0
		while [ $i -lt "$runs" ]; do
			"$skrull" sim --plan "$tmp/$policy.json" --threads "$t" |
			    sed -n 's/^simulation *\([0-9.]*\) s wall, \([0-9.e+]*\) events, \([0-9.e+]*\) events.*/\1 \2 \3/p'
			i=$((i + 1))
		done >"$tmp/runs"
		printf '%-9s threads %-2s median %6.2f s for the epoch, %s events, %s events/s\n' \
		    "$policy" "$t" "$(cut -d' ' -f1 "$tmp/runs" | median)" \
		    "$(head -n 1 "$tmp/runs" | cut -d' ' -f2)" \
		    "$(cut -d' ' -f3 "$tmp/runs" | median)"
	done
done
