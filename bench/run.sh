#!/bin/sh
# run.sh: `skrull run` on the CPU backend at DP 2 x CP 2 (4 MPI ranks on the
# build machine's cores, oversubscribed), the same 64 samples of the Mooncake
# trace (input + output tokens, divided by 16 to suit a CPU) planned by
# deepspeed (packed) and by skrull; a small model (hidden 128, 2 layers,
# 4 heads, 2 KV heads, ffn 256, vocab 1024); 4 iterations each, RUNS times;
# prints the median iteration time and the time split the run reports.
# These are CPU numbers, not GPU predictions: they show the executor runs
# real plans and how the schedule changes its work and communication.
# Usage: bench/run.sh [RUNS]   (from a built tree with MPI)
set -eu
runs=${1:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
skrull=${SKRULL:-$top/skrull}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=
[ "$(id -u)" = 0 ] && root=--allow-run-as-root
cd "$tmp"
"$skrull" trace sample -n 64 --seed 3 --field input_length+output_length \
    "$top/traces/mooncake_conversation.jsonl.gz" -o full.txt
awk '{ v = int($1 / 16); print (v < 1 ? 1 : v) }' full.txt >t.txt
for policy in deepspeed skrull; do
	"$skrull" plan --trace t.txt --policy "$policy" --nodes 1 --gpus-per-node 4 \
	    --dp 2 --cp 2 --batch 16 --bucket 4096 -o "$policy.json" >/dev/null
	i=0
	while [ $i -lt "$runs" ]; do
		mpirun $root --oversubscribe -np 4 "$skrull" run --plan "$policy.json" \
		    --hidden 128 --layers 2 --heads 4 --kv-heads 2 --ffn 256 \
		    --vocab 1024 --json >r.json
		sed -n 's/^[[:space:]]*"mean":[[:space:]]*\([0-9.e-]*\),*/\1/p' r.json | head -n 1
		i=$((i + 1))
	done >times
	sort -g times | awk -v p="$policy" '{ v[NR] = $1 } END {
		printf "%-9s median iteration %.3f s over %d runs\n", p,
		    (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, NR }'
	grep -E '"(busy_frac|comm_frac|wait_frac)"' r.json | tr -d '\t,' | tr '\n' ' '
	echo
done
