#!/bin/sh
# shape.sh: the model shape options (--hidden ... --vocab) parsed alike by
# plan, sim, run and calibrate and recorded where the shape matters: the
# plan's job, every report (skrull-report version 2), the profile
# (skrull-profile(5) version 2); report diff refusing two shapes unless
# --force, warning on an old report; sim and run --profile warning on a
# profile of another shape.  The JSON points need jq (skipped without).
. "${top_srcdir:-.}/tests/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-shape.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work" || exit 99
S=$SKRULL
# skrull-run(1)'s example: a 4-rank plan of a 16-sample trace
"$S" trace synth -n 16 --seed 3 --min 8 --max 512 lognormal:96:1 \
    -o t.txt >/dev/null 2>&1 || exit 99
JOB='--nodes 1 --gpus-per-node 4 --dp 2 --cp 2 --batch 8 --bucket 256'
# an odd, scaled shape: 6 heads of 8 over 2 KV heads (head size 8)
SHAPE='--hidden 48 --layers 3 --heads 6 --kv-heads 2 --ffn 72 --vocab 101'
WANT='{"layers":3,"hidden":48,"heads":6,"kv_heads":2,"head_dim":8,"ffn":72,"vocab":101}'
DIMS='{layers,hidden,heads,kv_heads,head_dim,ffn,vocab}'

# shape NAME FILE JQPATH: FILE's object at JQPATH has the dimensions WANT.
shape() {
	got=$(jq -c "$3 | $DIMS" "$2" 2>&1)
	[ "$got" = "$WANT" ]
	st=$?
	[ $st -eq 0 ] || echo "$1: $got" | tap_diag
	tap_check $st "$1"
}

# fails NAME RC PATTERN CMD...: CMD exits RC with PATTERN on stderr.
fails() {
	name=$1 want=$2 pat=$3
	shift 3
	"$@" >out 2>err
	st=$?
	[ $st -eq "$want" ] && grep -q -- "$pat" err
	r=$?
	[ $r -eq 0 ] || { echo "$name: exit $st"; cat err; } | tap_diag
	tap_check $r "$name"
}

# warns NAME PATTERN CMD...: CMD succeeds with PATTERN on stderr.
warns() {
	name=$1 pat=$2
	shift 2
	"$@" >out 2>err
	st=$?
	[ $st -eq 0 ] && grep -q -- "skrull: warning: .*$pat" err
	r=$?
	[ $r -eq 0 ] || { echo "$name: exit $st"; cat err; } | tap_diag
	tap_check $r "$name"
}

"$S" plan --trace t.txt $JOB $SHAPE -o ps.json >/dev/null 2>plan.err
tap_check $? "plan takes the shape options"
"$S" plan --trace t.txt $JOB -o p.json >/dev/null 2>>plan.err
tap_check $? "plan without them"
tap_diag <plan.err
"$S" sim --plan p.json $SHAPE --json >sim-plan.json 2>sim.err
tap_check $? "sim --plan takes them (over the plan's model)"
"$S" sim --trace t.txt $JOB $SHAPE --json >sim-trace.json 2>>sim.err
tap_check $? "sim --trace takes them"
"$S" sim --plan p.json --json >sim-full.json 2>>sim.err
tap_check $? "sim at the plan's shape"
tap_diag <sim.err
"$S" run --plan p.json $SHAPE -o run.json >/dev/null 2>run.err
tap_check $? "run takes them"
tap_diag <run.err
"$S" calibrate --quick $SHAPE -o prof.json >/dev/null \
    2>cal.err
tap_check $? "calibrate takes them"
tap_diag <cal.err
"$S" calibrate --quick -o prof-full.json >/dev/null 2>&1
tap_check $? "calibrate at the model's shape"

# one parser: the same bad shape, the same message from every command
for c in "plan --trace t.txt $JOB -o x.json" "sim --plan p.json" \
    "run --plan p.json" "calibrate --quick -o x.json"; do
	fails "${c%% *}: --heads 5 does not divide into the 2 KV heads" 1 \
	    "skrull: --heads 5 (given) is not a multiple of --kv-heads 2 (the model's) for model Qwen2.5-0.5B" \
	    "$S" $c --heads 5
	fails "${c%% *}: --hidden 0 is out of range" 2 \
	    "--hidden: '0' is not an integer in \[8, 65536\]" \
	    "$S" $c --hidden 0
done
fails "an odd head size is refused (rotary embedding)" 1 \
    "head size 5 must be even" "$S" sim --plan p.json --hidden 30 --heads 6
[ ! -e x.json ]
tap_check $? "nothing written by the refusals"

if command -v jq >/dev/null 2>&1; then
	shape "the plan's job has the shape" ps.json .job.model
	shape "sim --plan's report records it" sim-plan.json .model
	shape "sim --trace's report records it" sim-trace.json .model
	shape "run's report records it" run.json .model
	shape "calibrate's profile records it" prof.json .shape
	for f in sim-plan.json run.json; do
		[ "$(jq .version $f)" = 2 ]
		tap_check $? "$f is skrull-report version 2"
	done
	[ "$(jq .version prof.json)" = 2 ]
	tap_check $? "the profile is version 2"
	[ "$(jq -r .model.name run.json)" = Qwen2.5-0.5B ]
	tap_check $? "the model's name stays the plan's"
	# an older report: version 1, no model
	jq '.version = 1 | del(.model)' sim-plan.json >old.json
	jq '.version = 1 | del(.shape)' prof.json >old-prof.json
else
	for i in 1 2 3 4 5 6 7 8 9; do
		tap_skip "recorded shapes" "no jq"
	done
fi

# report diff: one shape compares; two are refused, or warned with --force
"$S" report diff sim-plan.json run.json >out 2>err
[ $? -eq 0 ] && [ ! -s err ]
tap_check $? "report diff of one shape: no warning"
fails "report diff refuses two shapes, naming both" 1 \
    "A sim-full.json: Qwen2.5-0.5B (hidden 896, 24 layers, 14/2 heads, ffn 4864, vocab 151936), B run.json: Qwen2.5-0.5B (hidden 48, 3 layers, 6/2 heads, ffn 72, vocab 101); --force" \
    "$S" report diff sim-full.json run.json
[ ! -s out ]
tap_check $? "... and prints no table"
warns "report diff --force compares them with a warning" \
    "two model shapes, A sim-full.json" \
    "$S" report diff --force sim-full.json run.json
grep -q "^mean ms" out
tap_check $? "... and prints the table"
if [ -f old.json ]; then
	warns "report diff of a version 1 report: the shape cannot be checked" \
	    "old.json: an older report (version 1) records no model shape" \
	    "$S" report diff old.json run.json
else
	tap_skip "report diff of a version 1 report" "no jq"
fi

# --profile at another shape: a warning; at the same shape: none
warns "sim --profile of another shape warns" \
    "--profile prof-full.json was measured at Qwen2.5-0.5B (hidden 896.*not at Qwen2.5-0.5B (hidden 48" \
    "$S" sim --plan p.json $SHAPE --profile prof-full.json
"$S" sim --plan p.json $SHAPE --profile prof.json >out 2>err
[ $? -eq 0 ] && [ ! -s err ]
tap_check $? "sim --profile of the same shape: no warning"
warns "sim --trace --profile of another shape warns" \
    "measured at .*hidden 48.*not at .*hidden 896" \
    "$S" sim --trace t.txt $JOB --profile prof.json
warns "run --profile of another shape warns" \
    "measured at .*hidden 896.*not at .*hidden 48" \
    "$S" run --plan p.json $SHAPE --profile prof-full.json
"$S" run --plan p.json $SHAPE --profile prof.json >out 2>err
[ $? -eq 0 ] && [ ! -s err ] && grep -q "mean |error|" out
tap_check $? "run --profile of the same shape: no warning, a prediction"
"$S" sim --plan p.json --profile "$top_srcdir/tests/data/profile/half-h100.json" \
    >out 2>err
[ $? -eq 0 ] && [ ! -s err ]
tap_check $? "a profile made by hand (no model named): no warning"
if [ -f old-prof.json ]; then
	warns "a version 1 profile: the shape cannot be checked" \
	    "names model Qwen2.5-0.5B but not its shape (an older profile)" \
	    "$S" sim --plan p.json --profile old-prof.json
else
	tap_skip "a version 1 profile" "no jq"
fi
tap_done
