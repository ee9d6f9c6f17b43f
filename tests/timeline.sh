#!/bin/sh
# timeline.sh: sim's timeline as a Chrome trace-event file: the cap's
# warning naming the last whole iteration (--timeline-max-events), the
# --timeline-iters range checked against the simulated one, every
# operation's args (iteration, phase, layer), the spans properly nested on
# every track; and gzip outputs (a name ending in .gz): the timeline, the
# plan, the reports, the profile, read back by gzip -dc and by skrull.
# The JSON points need jq (skipped without).
. "${top_srcdir:-.}/tests/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-timeline.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work" || exit 99
S=$SKRULL
"$S" trace synth -n 400 --seed 5 --min 8 --max 512 lognormal:96:1 \
    -o t.txt >/dev/null 2>&1 || exit 99
# 25 iterations of 16 samples on 4 GPUs
"$S" plan --trace t.txt --nodes 1 --gpus-per-node 4 --dp 2 --cp 2 \
    --batch 8 --bucket 256 -o p.json >/dev/null 2>&1 || exit 99
HAVE_JQ=0
command -v jq >/dev/null 2>&1 && HAVE_JQ=1

# fails NAME RC PATTERN CMD...: CMD exits RC with PATTERN on stderr and
# writes no tl.json.
fails() {
	name=$1 want=$2 pat=$3
	shift 3
	rm -f tl.json
	"$@" >out 2>err
	st=$?
	[ $st -eq "$want" ] && grep -q -- "$pat" err && [ ! -e tl.json ]
	r=$?
	[ $r -eq 0 ] || { echo "$name: exit $st"; cat err; } | tap_diag
	tap_check $r "$name"
}

# The whole default timeline (iterations 0 and 1) is under the cap: no
# warning.
"$S" sim --plan p.json --timeline tl.json >/dev/null 2>err
[ $? -eq 0 ] && [ ! -s err ]
tap_check $? "a timeline under the cap: no warning"
"$S" sim --plan p.json --timeline whole.json --timeline-iters 0:6 \
    >/dev/null 2>err
[ $? -eq 0 ] && [ ! -s err ]
tap_check $? "iterations 0 to 5 whole"
if [ $HAVE_JQ = 1 ]; then
	# the events of iterations 0 to 5 (the metadata aside), counted
	# from the whole file: a cap one below drops the last, a span of
	# iteration 5 (written as the iteration ends)
	nall=$(jq '[.traceEvents[] | select(.ph != "M")] | length' whole.json)
	"$S" sim --plan p.json --timeline tl.json --timeline-iters 0:6 \
	    --timeline-max-events $((nall - 1)) >/dev/null 2>err
	grep -q "skrull: warning: --timeline tl.json: capped at $((nall - 1)) events, 1 dropped: iterations 0 to 4 are whole, the rest of 5:6 partial or missing" err
	tap_check $? "one event too many: iteration 5 is not whole"
	tap_diag <err
	[ "$(jq .otherData.skrull_dropped_events tl.json)" = 1 ]
	tap_check $? "... the file counts the dropped event"
else
	tap_skip "the cap's warning" "no jq"
	tap_skip "the file's count" "no jq"
fi
"$S" sim --plan p.json --timeline tl.json --timeline-iters 0:20 \
    --timeline-max-events 40 >/dev/null 2>err
[ $? -eq 0 ] && grep -q "skrull: warning: --timeline tl.json: capped at 40 events, [0-9]* dropped: not even iteration 0 is whole" err
tap_check $? "a cap inside iteration 0: not even it is whole"
fails "--timeline-max-events 0 is a usage error" 2 \
    "--timeline-max-events: '0' is not an integer" \
    "$S" sim --plan p.json --timeline tl.json --timeline-max-events 0
fails "--timeline-iters past the plan's 25 iterations" 1 \
    "skrull: --timeline-iters 20:30: outside the iterations simulated, 0:25 (the plan's)" \
    "$S" sim --plan p.json --timeline tl.json --timeline-iters 20:30
fails "--timeline-iters before --iters" 1 \
    "skrull: --timeline-iters 2:4: outside the iterations simulated, 5:10 (--iters)" \
    "$S" sim --plan p.json --iters 5:10 --timeline tl.json \
    --timeline-iters 2:4
fails "--timeline-iters starting past the plan" 1 \
    "skrull: --timeline-iters 30:: outside" \
    "$S" sim --plan p.json --timeline tl.json --timeline-iters 30:
"$S" sim --plan p.json --iters 5:10 --timeline tl.json \
    --timeline-iters 6:8 >/dev/null 2>err
[ $? -eq 0 ] && [ ! -s err ]
tap_check $? "--timeline-iters inside --iters"

if [ $HAVE_JQ = 1 ]; then
	# every operation: iteration, micro-batch, phase; a layer unless
	# the head, the optimizer or the head's gradient
	bad=$(jq '[.traceEvents[] | select(.ph == "X" and .cat != "span") |
	    select((.args.iter | type) != "number" or
	    (.args.mb | type) != "number" or
	    ([.args.phase] | inside(["forward", "head", "backward", "step"])
	    | not) or
	    ((.args.layer == null) != (.name == "head" or .name == "head_b" or
	    .name == "optimizer" or .name == "dp_head_grad")))] | length' \
	    whole.json)
	[ "$bad" = 0 ]
	tap_check $? "every operation has its iteration, phase and layer ($bad bad)"
	# 24 layers of Qwen2.5-0.5B: layers 0 to 23, each forward and backward
	[ "$(jq -c '[.traceEvents[] | select(.args.phase == "forward" and
	    .cat == "compute") | .args.layer] | unique | [min, max, length]' \
	    whole.json)" = "[0,23,24]" ]
	tap_check $? "forward layers 0 to 23"
	# spans: 6 iterations x 4 GPUs; forward and backward ones per
	# micro-batch
	[ "$(jq '[.traceEvents[] | select(.cat == "span" and
	    (.name | startswith("iteration ")))] | length' whole.json)" = 24 ]
	tap_check $? "an iteration span per GPU and iteration"
	nf=$(jq '[.traceEvents[] | select(.cat == "span" and
	    .args.phase == "forward")] | length' whole.json)
	nb=$(jq '[.traceEvents[] | select(.cat == "span" and
	    .args.phase == "backward")] | length' whole.json)
	[ "$nf" -gt 0 ] && [ "$nf" = "$nb" ]
	tap_check $? "a forward and a backward span per micro-batch ($nf, $nb)"
	# Chrome's rule for complete events: on one (pid, tid) they nest,
	# each inside the one open before it or after it ends (times in
	# integer ns: the file's microseconds have three decimals)
	bad=$(jq '[.traceEvents[] | select(.ph == "X") |
	    {k: "\(.pid)/\(.tid)", s: (.ts * 1000 | round),
	    d: (.dur * 1000 | round)} | .e = .s + .d] | group_by(.k) |
	    map(sort_by(.s, -.e) | reduce .[] as $x ({st: [], bad: 0};
	    .st |= map(select(.e > $x.s)) |
	    (if (.st | length) > 0 and .st[-1].e < $x.e then .bad += 1
	    else . end) | .st += [$x]) | .bad) | add' whole.json)
	[ "$bad" = 0 ]
	tap_check $? "complete events nest properly on every track ($bad not)"
	# an iteration's span on GPU g: from its first operation's start
	# to its last end (iteration 3 on GPU 2: pid 1, local GPU 2)
	want=$(jq -c '[.traceEvents[] | select(.ph == "X" and .cat != "span"
	    and .pid == 1 and .args.iter == 3 and .tid >= 7 and .tid <= 9) |
	    {s: (.ts * 1000 | round), e: ((.ts * 1000 | round) +
	    (.dur * 1000 | round))}] | [(map(.s) | min), (map(.e) | max)]' \
	    whole.json)
	got=$(jq -c '[.traceEvents[] | select(.name == "iteration 3" and
	    .pid == 1 and .tid == 15) | (.ts * 1000 | round),
	    ((.ts * 1000 | round) + (.dur * 1000 | round))]' whole.json)
	[ -n "$want" ] && [ "$want" = "$got" ]
	tap_check $? "GPU 2's iteration 3 span from its first start to its last end ($want, $got)"
else
	for i in 1 2 3 4 5 6; do tap_skip "timeline args and spans" "no jq"; done
fi

# gzip: every JSON output named .gz is compressed, whole, and read back
"$S" sim --plan p.json --timeline tl.json.gz --json >r.json.gz 2>err
tap_check $? "sim --timeline tl.json.gz"
gzip -t tl.json.gz 2>&1 | tap_diag
"$S" sim --plan p.json --timeline tl.json >/dev/null 2>&1
gzip -dc tl.json.gz | cmp -s - tl.json
tap_check $? "the .gz timeline decompresses to the plain one"
"$S" plan --trace t.txt --nodes 1 --gpus-per-node 4 --dp 2 --cp 2 \
    --batch 8 --bucket 256 -o p.json.gz >/dev/null 2>err
gzip -dc p.json.gz | cmp -s - p.json
tap_check $? "plan -o p.json.gz: the plan, compressed"
"$S" plan --check p.json.gz >/dev/null 2>err
tap_check $? "skrull reads the .gz plan back (plan --check)"
"$S" sim --plan p.json.gz --json >sim-gz.json 2>err &&
    "$S" sim --plan p.json --json >sim.json 2>>err && cmp -s sim-gz.json sim.json
tap_check $? "sim of the .gz plan: the same report"
"$S" calibrate --quick -o prof.json.gz >/dev/null 2>err &&
    gzip -dc prof.json.gz >prof.json && "$S" sim --plan p.json \
    --profile prof.json.gz >/dev/null 2>>err
tap_check $? "calibrate -o prof.json.gz, read back by sim --profile"
tap_diag <err
"$S" run --plan p.json --iters 0:1 --hidden 32 --layers 2 --heads 4 \
    --kv-heads 2 --ffn 64 --vocab 97 -o run.json.gz >/dev/null 2>err &&
    gzip -t run.json.gz
tap_check $? "run -o run.json.gz"
"$S" report diff run.json.gz run.json.gz >out 2>err
[ $? -eq 0 ] && grep -q "^mean ms" out
tap_check $? "report diff reads .gz reports"
if [ $HAVE_JQ = 1 ]; then
	[ "$(gzip -dc run.json.gz | jq -r .format)" = skrull-report ] &&
	    [ "$(gzip -dc prof.json.gz | jq -r .format)" = skrull-profile ]
	tap_check $? "gzip -dc gives the JSON formats"
else
	tap_skip "gzip -dc gives the JSON formats" "no jq"
fi
ls | grep -E '\.[A-Za-z0-9]{6}$' | tap_diag
[ -z "$(ls | grep -E '\.gz\.[A-Za-z0-9]{6}$')" ]
tap_check $? "no temporary left behind"
tap_done
