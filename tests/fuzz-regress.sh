#!/bin/sh
# fuzz-regress.sh: every input the fuzzers of tests/fuzz found a defect
# with, run through the real command (see tests/fuzz/README.md).
#
# A case is tests/fuzz/regress/TARGET/NAME, the input exactly as the
# fuzzer wrote it (tests/fuzz/bin/fuzz_TARGET NAME replays it), and
# NAME.want: the expected exit status on the first line, then extended
# regular expressions that stderr must match, one per line.  The command
# is the one that reads that format:
#   trace_*      skrull trace stats --format FMT [--field F] [--skip-bad] FILE
#                (the first byte of the input chooses the options, as in
#                fuzz_trace.h; the rest is FILE; trace_gzip is --format auto)
#   plan         skrull plan --check FILE
#   job          skrull show job --job FILE
#   profile      skrull show cluster --profile FILE
#   synth_spec   skrull trace synth -n 97 COMPONENT... (one per line, as
#                fuzz_synth_spec.c; trace components read a bundled trace)
#                whose output must then read back as a valid trace.
# Besides: no sanitizer report and no death by a signal.
. "${top_srcdir:-.}/tests/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-fuzz.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

# The --field values of fuzz_trace.h, by index (0: none).
field_of() {
	case $1 in
	1) echo length ;; 2) echo input_length+output_length ;; 3) echo '#2' ;;
	4) echo a.b ;; 5) echo input_ids ;; 6) echo '#1+#3' ;; 7) echo tokens ;;
	esac
}

# run TARGET FILE: the command for the case, its stderr in $work/err.
run() {
	case $1 in
	trace_*)
		fmt=${1#trace_}
		[ "$fmt" = gzip ] && fmt=auto
		opt=$(od -An -tu1 -N1 "$2" | tr -d ' ')
		tail -c +2 "$2" >"$work/in"
		set -- "$SKRULL" trace stats --format "$fmt"
		f=$(field_of $(((${opt:-0} >> 1) & 7)))
		[ -n "$f" ] && set -- "$@" --field "$f"
		[ $((${opt:-0} & 1)) -eq 1 ] && set -- "$@" --skip-bad
		"$@" "$work/in" >/dev/null 2>"$work/err"
		;;
	plan) "$SKRULL" plan --check "$2" >/dev/null 2>"$work/err" ;;
	job) "$SKRULL" show job --job "$2" >/dev/null 2>"$work/err" ;;
	profile)
		"$SKRULL" show cluster --profile "$2" >/dev/null 2>"$work/err" ;;
	synth_spec)
		exec 3<"$2"
		set -- "$SKRULL" trace synth -n 97 -o "$work/out.txt"
		while IFS= read -r c || [ -n "$c" ]; do
			case $c in
			*trace:*) c="${c%%trace:*}trace:$top_srcdir/tests/data/trace/lengths.txt" ;;
			esac
			set -- "$@" "$c"
		done <&3
		exec 3<&-
		"$@" >/dev/null 2>"$work/err" || return
		"$SKRULL" trace stats "$work/out.txt" >/dev/null 2>"$work/err"
		;;
	esac
}

for want in "$top_srcdir"/tests/fuzz/regress/*/*.want; do
	[ -f "$want" ] || continue
	case=${want%.want}
	target=$(basename "$(dirname "$case")")
	name=$target/$(basename "$case")
	run "$target" "$case"
	rc=$?
	ok=0
	if [ "$rc" -ne "$(head -n 1 "$want")" ]; then
		echo "exit status $rc, expected $(head -n 1 "$want")" | tap_diag
		ok=1
	fi
	tail -n +2 "$want" >"$work/pats"
	while IFS= read -r re; do
		if ! grep -Eq -- "$re" "$work/err"; then
			echo "stderr does not match: $re" | tap_diag
			ok=1
		fi
	done <"$work/pats"
	if grep -Eq 'Sanitizer|runtime error' "$work/err"; then
		ok=1
	fi
	[ "$ok" -eq 0 ] || tap_diag <"$work/err"
	tap_check $ok "$name"
done
tap_done
