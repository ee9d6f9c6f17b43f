#!/bin/sh
# plan.sh: planning speed.  (1) `skrull plan` on the whole bundled 1M-sample
# Wikipedia trace with each policy at the paper's layout (Qwen2.5-0.5B,
# DP 4, CP 8, batch 64, BucketSize 26000: 3,907 global batches), RUNS runs
# pinned to one core, median of the planning time the command reports;
# (2) the per-global-batch latency distribution of each policy
# (bench/plan_latency).
# Usage: bench/plan.sh [RUNS]   (from a built tree, after make bench/plan_latency)
set -eu
runs=${1:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
skrull=${SKRULL:-$top/skrull}
trace=$top/traces/wikipedia.txt.gz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() {
	sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for policy in skrull skrull-cp skrull-paper dacp deepspeed sorted rr wlb flexsp hdp; do
	i=0
	while [ $i -lt "$runs" ]; do
		taskset -c 0 "$skrull" plan --trace "$trace" --policy "$policy" \
		    --bucket 26000 --drop-overlong --json |
		    sed -n 's/.*"planning_seconds":[[:space:]]*\([0-9.e-]*\).*/\1/p'
		i=$((i + 1))
	done >"$tmp/t"
	printf 'skrull plan --policy %-12s median planning %.3f s over %s runs\n' \
	    "$policy" "$(median <"$tmp/t")" "$runs"
done
for policy in skrull skrull-cp skrull-paper dacp deepspeed sorted rr wlb flexsp hdp; do
	taskset -c 0 "$top/bench/plan_latency" "$trace" "$policy" 4 8 64 26000
done
