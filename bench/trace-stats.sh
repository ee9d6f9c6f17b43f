#!/bin/sh
# trace-stats.sh: wall time of `skrull trace stats` on the bundled 1M-line
# Wikipedia trace, compressed (as bundled) and uncompressed, pinned to one
# core.  Prints each of RUNS timings and the median, in seconds.
# Usage: bench/trace-stats.sh [RUNS]   (from a built tree; default 11 runs)
set -eu
runs=${1:-11}
top=$(cd "$(dirname "$0")/.." && pwd)
skrull=${SKRULL:-$top/skrull}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gzip -dc "$top/traces/wikipedia.txt.gz" >"$tmp/wikipedia.txt"

median() {
	sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for input in "$tmp/wikipedia.txt" "$top/traces/wikipedia.txt.gz"; do
	i=0
	while [ $i -lt "$runs" ]; do
		s=$(date +%s.%N)
		taskset -c 0 "$skrull" trace stats "$input" >/dev/null
		e=$(date +%s.%N)
		echo "$s $e" | awk '{ printf "%.4f\n", $2 - $1 }'
		i=$((i + 1))
	done >"$tmp/times"
	printf '%-32s runs %s  median %s s  (min %s, max %s)\n' "$(basename "$input")" "$runs" \
	    "$(median <"$tmp/times")" "$(sort -g "$tmp/times" | head -n 1)" "$(sort -g "$tmp/times" | tail -n 1)"
done
