#!/bin/sh
# reference.sh: `skrull trace stats` on the bundled real traces reproduces the
# reference statistics published with them (traces/README.md, taken from the
# provenance notes): n, mean, median, p90, p99, max (rounded to integers) and
# the shares of samples above 8K and 32K tokens (at the published precision).
. "${top_srcdir:-.}/tests/tap.sh"

# file field n mean p50 p90 p99 max >8K(%) >32K(%) share-decimals
while read -r file field n mean p50 p90 p99 max a8 a32 dec; do
	set -- "$top_srcdir/traces/$file"
	[ "$field" != - ] && set -- --field "$field" "$@"
	out=$("$SKRULL" trace stats "$@" 2>&1)
	st=$?
	got=$(echo "$out" | awk -v dec="$dec" '
		$1 == "samples" || $1 == "max" { v[$1] = $2 }
		$1 == "mean" || $1 == "p50" || $1 == "p90" || $1 == "p99" {
			v[$1] = sprintf("%.0f", $2) }
		$1 == "8K" || $1 == "32K" { sub(/%/, "", $2); v[$1] = sprintf("%." dec "f", $2) }
		END { print v["samples"], v["mean"], v["p50"], v["p90"], v["p99"],
		      v["max"], v["8K"], v["32K"] }')
	want="$n $mean $p50 $p90 $p99 $max $a8 $a32"
	[ $st -eq 0 ] && [ "$got" = "$want" ]
	ok=$?
	[ $ok -ne 0 ] && printf 'want %s\ngot  %s\n%s\n' "$want" "$got" "$out" | tap_diag
	tap_check $ok "reference statistics of $file"
done <<'TABLE'
wikipedia.txt.gz - 1000000 1014 347 2112 10919 1823777 1.60 0.13 2
mooncake_conversation.jsonl.gz input_length+output_length 12031 12378 7255 27723 85851 126527 46.3 7.0 1
azure2023_conv.csv.gz ContextTokens+GeneratedTokens 19366 1366 1412 2820 4259 14089 0.01 0.00 2
etalon_sharegpt_8k.csv.gz num_total_tokens 30731 2779 2202 6164 7863 8149 0.00 0.00 2
TABLE
tap_done
