#!/bin/sh
# predict.sh: how well the simulator, calibrated on this machine, predicts
# `skrull run` on it.  `skrull calibrate` measures the CPU backend on the
# run's model shape (hidden 128, 2 layers, 4 heads, 2 KV heads, ffn 256,
# vocab 1024) into a profile; the same 64 Mooncake samples as bench/run.sh
# (input + output tokens / 16) are planned by deepspeed and skrull at
# DP 1 x CP 2 (two rank threads, one per core of the build machine: more
# would time-share the cores, which the simulator does not model); each
# plan runs ITERS iterations with --profile.  Prints per policy the mean
# measured and simulated iteration time, the mean |relative error|, and the
# skrull / deepspeed ratio measured and simulated.
# Usage: bench/predict.sh [ITERS]   (from a built tree)
set -eu
iters=${1:-6}
top=$(cd "$(dirname "$0")/.." && pwd)
skrull=${SKRULL:-$top/skrull}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
cat >m.json <<'END'
{ "name": "bench", "layers": 2, "hidden": 128, "heads": 4, "kv_heads": 2,
  "head_dim": 32, "ffn": 256, "vocab": 1024, "tied": false }
END
"$skrull" calibrate --model m.json --max-len 4096 -o prof.json >cal.txt
grep -E '^(gemm|attn) ' cal.txt
"$skrull" trace sample -n 64 --seed 3 --field input_length+output_length \
    "$top/traces/mooncake_conversation.jsonl.gz" -o full.txt
awk '{ v = int($1 / 16); print (v < 1 ? 1 : v) }' full.txt >t.txt
for policy in deepspeed skrull; do
	"$skrull" plan --trace t.txt --policy "$policy" --model m.json \
	    --nodes 1 --gpus-per-node 2 --dp 1 --cp 2 --batch 8 --bucket 4096 \
	    -o "$policy.json" >/dev/null
	"$skrull" run --plan "$policy.json" --iters "0:$iters" \
	    --profile prof.json >"$policy.txt"
	awk -v p="$policy" '/^  [0-9]/ { m += $2; s += $3; n++ }
	    /mean \|error\|/ { e = $3 }
	    END { printf "%-9s measured %8.2f ms  simulated %8.2f ms  mean |error| %s\n",
	        p, m / n, s / n, e; print m / n, s / n > (p ".mean") }' "$policy.txt"
done
read -r dm ds <deepspeed.mean
read -r sm ss <skrull.mean
awk -v dm="$dm" -v ds="$ds" -v sm="$sm" -v ss="$ss" 'BEGIN {
	printf "skrull / deepspeed: measured %.3f, simulated %.3f\n", sm / dm, ss / ds }'
