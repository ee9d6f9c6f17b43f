#!/bin/sh
# bench/quality.sh: how good each policy's schedules are, on every bundled
# trace at the default layout (Qwen2.5-0.5B, 4 x 8 H100, DP 4 x CP 8, batch
# 64, BucketSize from memory, overlong samples dropped), iterations 0 to 99
# of each trace simulated.  Prints one row per trace and policy: mean
# iteration ms, the mean per-iteration bound (the best possible iteration
# at this layout, skrull(7)), mean / bound, speed-up over packed deepspeed,
# OOMs.  The simulator is deterministic: one run is the measurement.
#   usage: bench/quality.sh [SKRULL] [ITERS]    (default ./skrull 0:100)
set -eu
skrull=${1:-./skrull}
iters=${2:-0:100}
policies=deepspeed,sorted,dacp,skrull-paper,skrull-cp,skrull,wlb,flexsp,hdp
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '%-28s %-14s %9s %9s %8s %8s %5s\n' trace policy "mean ms" "bound ms" \
    "x bound" "vs ds" OOMs
while read -r trace field; do
	set -- --trace "traces/$trace" --drop-overlong --iters "$iters" \
	    --policies "$policies" --json
	[ "$field" = - ] || set -- "$@" --field "$field"
	"$skrull" compare "$@" >"$tmp/c.json"
	jq -r --arg t "${trace%%.*}" '
	    (.policies[] | select(.policy == "deepspeed") | .summary.mean) as $ds |
	    .policies[] | [$t, .policy, .summary.mean * 1e3,
	        .summary.bound * 1e3, .summary.bound_ratio,
	        $ds / .summary.mean, .summary.oom_count] |
	    @tsv' "$tmp/c.json" |
	while IFS='	' read -r t p m b x s o; do
		printf '%-28s %-14s %9.2f %9.2f %8.3f %7.2fx %5d\n' "$t" "$p" \
		    "$m" "$b" "$x" "$s" "$o"
	done
done <"$(dirname "$0")/traces.list"
