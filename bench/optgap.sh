#!/bin/sh
# optgap.sh: how far skrull's placement of a micro-batch (skrull_gplace,
# and skrull-cp's cost-driven DACP beside it) is from the exact optimum of
# the same time model (sched/opt.c, the MILP solved with GLPK).  CASES
# random small micro-batches (default 1002: 334 each on W = 2, 4 and 8
# ranks) drawn from every bundled trace by bench/optgap, each solved to
# proven optimality (a 60 s safety limit; the table counts the proven).
# Prints the gap's distribution (share within 0.1%, 1%, 3%, 10%; p50, p99,
# max) and the solver's seconds (p50, p99, max).  Deterministic but for
# the seconds.
# Usage: bench/optgap.sh [CASES] [SEED]   (from a built tree, after make bench/optgap)
set -eu
cases=${1:-1002}
seed=${2:-1}
top=$(cd "$(dirname "$0")/.." && pwd)
t=$top/traces
exec "$top/bench/optgap" "$cases" "$seed" 60000 \
    "$t/wikipedia.txt.gz" \
    "$t/mooncake_conversation.jsonl.gz:input_length+output_length" \
    "$t/azure2023_conv.csv.gz:ContextTokens+GeneratedTokens" \
    "$t/etalon_sharegpt_8k.csv.gz:num_total_tokens" \
    "$t/synth-wikipedia-zh.txt.gz" \
    "$t/synth-lmsyschat1m.txt.gz" \
    "$t/synth-chatqa2-long-sft.txt.gz"
