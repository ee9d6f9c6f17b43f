#!/bin/sh
# python.sh: planning one global batch from Python against the C planner
# (issue 17's target: Python's time per batch <= 2x the C planner's plus a
# fixed per-call overhead, measured here).  For each bundled trace (as
# plain lengths, `skrull trace convert`, at most its first 256,000
# samples) and for the policies skrull (the default job's) and deepspeed
# (packed DeepSpeed, the cheapest policy through the library, about 40 us
# a call), at the default job (Qwen2.5-0.5B, 4 x 8 H100, DP 4 x CP 8,
# batch 64: 256 samples a call, BucketSize auto), times every global
# batch three ways, one after the other on one core: bench/plan_api (C,
# skrull_plan_batch), bench/plan_python.py with a list of Python ints
# (the call a data loader makes) and with a NumPy uint32 array.  The same
# batches (samples over BucketSize x CP dropped first, a trailing partial
# batch dropped), the same 5 warm-up calls.  ROUNDS rounds over all rows;
# a batch's latency is its fastest of the rounds (below, why).
#
# The fixed per-call overhead, per input type: the median over the global
# batches b of (Python_b - C_b), the latencies of the same batch b, for
# deepspeed at the default job with batch 1, the smallest global batch
# the layout allows (DP = 4 samples a call), on the first 4,000 samples
# of Wikipedia (1,000 batches): the least planning and the fewest samples
# per call, so that what is left is what the binding costs whatever the
# batch (the ctypes call, its argument checks, the Plan object), not
# what it costs per sample.  The target, per row: Python p50 <= 2 x C p50
# + that overhead, p50 over the batches; PASS or FAIL per row, exit 1 if
# any row fails.  Every figure comes from this one run: the machine is
# shared and noisy, compare within a run.
#
# Usage: sh bench/python.sh [ROUNDS]   (from a built tree, after
#        make bench/plan_api; PYTHON: an interpreter with numpy, default
#        python3; ROUNDS: default 9, about 2 minutes on 2 cores)
set -eu
rounds=${1:-9}
top=$(cd "$(dirname "$0")/.." && pwd)
skrull=${SKRULL:-$top/skrull}
python=${PYTHON:-python3}
if [ -z "${SKRULL_LIBRARY:-}" ]; then
	for SKRULL_LIBRARY in "$top"/libskrull.so.[0-9]*.[0-9]*.[0-9]*; do
		break
	done
fi
PYTHONPATH=$top/python${PYTHONPATH:+:$PYTHONPATH}
export SKRULL_LIBRARY PYTHONPATH
for f in "$skrull" "$top/bench/plan_api" "$SKRULL_LIBRARY"; do
	if [ ! -f "$f" ]; then
		echo "python.sh: $f: missing (make && make bench/plan_api)" >&2
		exit 1
	fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() {
	sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# field FILE NAME: a number of a JSON line of plan_api or plan_python.py.
field() {
	sed -n "s/.*\"$2\": \([0-9.e+-]*\).*/\1/p" "$1"
}

echo "# bench/python.sh, $(date -u +%Y-%m-%d), commit $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sed -n 1p))," \
    "$("$python" -c 'import sys, numpy; print("Python %d.%d.%d" % sys.version_info[:3], "NumPy", numpy.__version__)')"
echo "# default job (DP 4 x CP 8, batch 64: 256 samples a call), one core (taskset -c 0), $rounds rounds"

# The traces and the field holding a sample's length (- : plain text),
# each cut to 1,000 global batches at most (Wikipedia's million samples
# would take most of the time and add nothing to the quantiles).  The
# runs, one a line: lengths, policy, batch per DP rank; "small" is the
# overhead's.
while read -r name fld; do
	set -- --to plain
	[ "$fld" != - ] && set -- "$@" --field "$fld"
	"$skrull" trace convert "$@" "$top/traces/$name" | head -n 256000 \
	    >"$tmp/$name.len"
	echo "$name skrull 64" >>"$tmp/todo"
	echo "$name deepspeed 64" >>"$tmp/todo"
done <"$top/bench/traces.list"
head -n 4000 "$tmp/wikipedia.txt.gz.len" >"$tmp/small.len"
echo "small deepspeed 1" >>"$tmp/todo"

# Round after round over all runs, each round in its own order (a
# shuffle seeded by the round), so that a slow spell of the machine
# (seconds: several runs in a row, sometimes recurring) falls on some
# rounds of a row, not on all of them; in a round, a row's three runs one
# after the other.  Each run writes its per-batch latencies, us, in batch
# order: $r.TOOL.ROUND.
i=0
while [ $i -lt "$rounds" ]; do
	awk -v seed="$i" 'BEGIN { srand(seed) } { print rand(), $0 }' \
	    "$tmp/todo" | sort -g | cut -d' ' -f2- >"$tmp/order"
	while read -r name policy batch; do
		r=$tmp/$name.$policy
		set -- "$tmp/$name.len" "$policy" 4 8 4 8 "$batch" auto
		taskset -c 0 "$top/bench/plan_api" --json --batches "$r.c.$i" \
		    "$@" >"$r.j"
		for input in list numpy; do
			taskset -c 0 "$python" "$top/bench/plan_python.py" --json \
			    --input "$input" --batches "$r.$input.$i" "$@" \
			    >/dev/null
		done
	done <"$tmp/order"
	i=$((i + 1))
done

# A batch's latency: its fastest of the rounds.  The machine's slow
# spells only add time, and they are long: a whole run comes out up to
# 2x slower, so a median over runs still takes a slow one when half the
# rounds are; the fastest round of each batch is the planner's own time,
# for C and Python alike.
for f in "$tmp"/*.j; do
	r=${f%.j}
	for tool in c list numpy; do
		paste "$r.$tool".[0-9]* | awk '{
			m = $1
			for (k = 2; k <= NF; k++)
				if ($k < m)
					m = $k
			print m
		}' >"$r.$tool"
	done
done

# dmed R TOOL: the median over batches of (TOOL - C) of run R.
dmed() {
	paste "$1.$2" "$1.c" | awk '{ print $1 - $2 }' | median
}
r=$tmp/small.deepspeed
for input in list numpy; do
	dmed "$r" "$input" >"$tmp/ovh.$input"
done
echo "# fixed overhead: median over batches of (Python - C), deepspeed," \
    "$(field "$r.j" batches) global batches of $(field "$r.j" global_batch)" \
    "(Wikipedia's first 4,000 samples; C p50 $(median <"$r.c") us):" \
    "list $(cat "$tmp/ovh.list") us, numpy $(cat "$tmp/ovh.numpy") us per call"
printf '%-30s %-9s %-5s %7s %7s %7s %5s %7s %7s %7s %s\n' trace policy input \
    batches C_p50 Py_p50 Py/C Py-C med_d 2C+ovh verdict
grep -v '^small ' "$tmp/todo" | while read -r name policy _; do
	r=$tmp/$name.$policy
	for input in list numpy; do
		awk -v n="$name" -v pol="$policy" -v inp="$input" \
		    -v b="$(field "$r.j" batches)" -v c="$(median <"$r.c")" \
		    -v p="$(median <"$r.$input")" -v d="$(dmed "$r" "$input")" \
		    -v o="$(cat "$tmp/ovh.$input")" \
		    'BEGIN { printf "%-30s %-9s %-5s %7d %7.1f %7.1f %5.2f %7.1f %7.1f %7.1f %s\n",
		        n, pol, inp, b, c, p, p / c, p - c, d, 2 * c + o,
		        p <= 2 * c + o ? "PASS" : "FAIL" }'
	done
done | tee "$tmp/table"
echo "# per-batch latency (us; a batch's fastest of $rounds rounds): C_p50, Py_p50:" \
    "p50 over the batches; Py-C: their difference; med_d: median over the" \
    "batches of (Python - C); 2C+ovh: the target's bound"
fails=$(grep -c 'FAIL$' "$tmp/table" || :)
if [ "$fails" -ne 0 ]; then
	echo "python.sh: $fails rows over the target" >&2
	exit 1
fi
echo "# all rows within the target"
