#!/bin/sh
# fuzz.sh: build the libFuzzer targets of tests/fuzz and run each for a
# given time (see tests/fuzz/README.md).
#
#   bench/fuzz.sh SECONDS [TARGET...]     fuzz (default: every target)
#   bench/fuzz.sh -m [TARGET...]          minimise the committed corpus with
#                                         what the runs found (-merge=1)
#
# Each target runs with its committed corpus tests/fuzz/corpus/TARGET as
# seeds (read, never written) and a working corpus FUZZ_WORK/TARGET/corpus
# (default FUZZ_WORK=tests/fuzz/work, git-ignored) that collects what it
# finds and carries over to the next run; crashes, leaks, timeouts and OOMs
# land in FUZZ_WORK/TARGET/crashes/ and the log in FUZZ_WORK/TARGET/log.
# FUZZ_JOBS targets run at a time (default: the number of CPUs).  Prints
# per target: executions, exec/s, cov and ft (libFuzzer's final coverage
# counters), the corpus size and the new findings; exits 1 if any target
# found one.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
work=${FUZZ_WORK:-$top/tests/fuzz/work}
bin=${FUZZ_BIN:-$top/tests/fuzz/bin}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
# the targets: one list, tests/fuzz/targets, for build, run and CI
all=$(cat "$top/tests/fuzz/targets")

usage() {
	echo "usage: bench/fuzz.sh SECONDS [TARGET...] | -m [TARGET...]" >&2
	echo "targets: $all" >&2
	exit 2
}

# The dictionary and the longest input of each target, in bytes.
dict_of() {
	case $1 in
	trace_plain) echo plain ;; trace_csv) echo csv ;; trace_npy) echo npy ;;
	trace_idx) echo idx ;; trace_gzip) echo gzip ;; synth_spec) echo synth ;;
	*) echo json ;;
	esac
}
maxlen_of() {
	case $1 in
	synth_spec) echo 512 ;; plan|job|profile) echo 8192 ;; *) echo 4096 ;;
	esac
}

[ $# -ge 1 ] || usage
mode=run
if [ "$1" = -m ]; then
	mode=merge
else
	case $1 in ''|*[!0-9]*) usage ;; esac
	secs=$1
fi
shift
[ $# -gt 0 ] || set -- $all
for t; do
	case " $all " in *" $t "*) ;; *) usage ;; esac
done
FUZZ_BIN=$bin "$top/tests/fuzz/build.sh" "$@" >/dev/null || exit 1

if [ $mode = merge ]; then
	for t; do
		seed=$top/tests/fuzz/corpus/$t
		new=$work/$t/merged
		rm -rf "$new" && mkdir -p "$new" "$work/$t/corpus" || exit 1
		"$bin/fuzz_$t" -merge=1 -max_len="$(maxlen_of "$t")" "$new" \
		    "$seed" "$work/$t/corpus" >"$work/$t/merge.log" 2>&1 || {
			echo "$t: merge failed, see $work/$t/merge.log" >&2
			exit 1
		}
		rm -rf "$seed" && mv "$new" "$seed" || exit 1
		echo "$t: $(ls "$seed" | wc -l) files, $(du -sk "$seed" | cut -f1) KiB"
	done
	exit 0
fi

# One target: fuzz for secs seconds; the report line goes to FUZZ_WORK/t/sum.
fuzz_one() {
	t=$1
	d=$work/$t
	mkdir -p "$d/corpus" "$d/crashes"
	: >"$d/stamp"
	"$bin/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len="$(maxlen_of "$t")" \
	    -dict="$top/tests/fuzz/dict/$(dict_of "$t").dict" \
	    -print_final_stats=1 -artifact_prefix="$d/crashes/" \
	    "$d/corpus" "$top/tests/fuzz/corpus/$t" >"$d/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log" | tail -n 1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$d/log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([^ ]*\).*/\1/p')
	found=$(find "$d/crashes" -type f -newer "$d/stamp" \
	    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
	    -o -name 'oom-*' \) | wc -l)
	[ "$rc" -ne 0 ] && [ "$found" -eq 0 ] && found=1
	printf '%-12s %6s %12s %8s %6s %6s %12s %5s\n' "$t" "$secs" \
	    "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
	    "$found" >"$d/sum"
}

printf '%-12s %6s %12s %8s %6s %6s %12s %5s\n' target secs execs exec/s cov \
    ft corpus found
# FUZZ_JOBS lanes, target i in lane i mod FUZZ_JOBS, each lane in turn.
lane=0
while [ "$lane" -lt "$jobs" ]; do
	(
		i=0
		for t; do
			[ $((i % jobs)) -eq "$lane" ] && fuzz_one "$t"
			i=$((i + 1))
		done
	) &
	lane=$((lane + 1))
done
wait
total=0
bad=0
for t; do
	cat "$work/$t/sum"
	set -- $(cat "$work/$t/sum")
	case $3 in *[!0-9]*) ;; *) total=$((total + $3)) ;; esac
	if [ "$8" -ne 0 ]; then
		bad=$((bad + 1))
		ls "$work/$t/crashes" | sed "s|^|  $work/$t/crashes/|"
	fi
done
echo "total executions: $total; targets with findings: $bad"
[ "$bad" -eq 0 ]
