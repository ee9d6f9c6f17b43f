#!/bin/sh
# bench/groups.sh: shard groups of any size and spans across DP ranks, on
# the default job (Qwen2.5-0.5B, 4 x 8 H100, DP 4 x CP 8, batch 64,
# BucketSize from memory) and the bundled Wikipedia trace, iterations 0 to
# 99, overlong samples dropped.  Prints per policy the mean iteration, the
# mean bound (skrull(7): a sample may spread over every GPU, so no plan of
# these global batches can be faster), mean / bound, and the iteration that
# holds the trace's 179,044-token sample (index 17918); then that
# iteration's speed-up of skrull over skrull-cp (sharding within the CP
# group only).  The simulator is deterministic: one run is the measurement.
#   usage: bench/groups.sh [SKRULL] [POLICIES]
set -eu
skrull=${1:-./skrull}
policies=${2:-deepspeed,skrull-paper,skrull-cp,skrull}
trace=traces/wikipedia.txt.gz
long=17918
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$skrull" plan --trace "$trace" --policy skrull-cp --drop-overlong \
    -o "$tmp/p.json" >/dev/null
it=$(jq --argjson s "$long" '[.iterations | to_entries[] |
    select(.value.batch | index($s)) | .key][0]' "$tmp/p.json")
"$skrull" compare --trace "$trace" --drop-overlong --iters 0:100 \
    --policies "$policies" --json >"$tmp/c.json"
printf '%-14s %9s %9s %8s %14s\n' policy "mean ms" "bound ms" "x bound" \
    "iter $it ms"
jq -r --argjson it "$it" '.policies[] | [.policy, .summary.mean * 1e3,
    .summary.bound * 1e3, .summary.bound_ratio,
    (.iterations[] | select(.index == $it) | .time * 1e3)] | @tsv' \
    "$tmp/c.json" |
while IFS='	' read -r p m b x l; do
	printf '%-14s %9.2f %9.2f %8.3f %14.2f\n' "$p" "$m" "$b" "$x" "$l"
done
jq -r --argjson it "$it" '[.policies[] | select(.policy == "skrull-cp" or
    .policy == "skrull") | {(.policy): (.iterations[] |
    select(.index == $it) | .time)}] | add |
    if .["skrull-cp"] and .skrull then
    "iteration \($it) (the 179,044-token sample): skrull \(.["skrull-cp"] /
    .skrull | . * 100 | round / 100)x faster than skrull-cp" else empty end' \
    "$tmp/c.json"
