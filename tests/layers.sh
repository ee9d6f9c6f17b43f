#!/bin/sh
# layers.sh: every #include "..." of the sources against the layers the
# design allows (ARCHITECTURE.md).  The build enforces the same arrows with
# one include path per library (Makefile.am); this check names the file and
# the include, and catches a header placed in a directory the build would
# still find.  The table, in one place: a layer and the layers it may use.
. "${top_srcdir:-.}/tests/tap.sh"

allowed() {
	case $1 in
	kernels) echo "kernels" ;;
	core) echo "core" ;;
	sched) echo "core sched" ;;
	sim) echo "core sched sim" ;;
	exec) echo "core sched exec kernels" ;;
	tune) echo "core sched sim tune" ;;
	api) echo "core sched sim tune api" ;;
	cli) echo "core sched sim exec kernels tune api cli" ;;
	esac
}

# The layer of a source directory: src/NAME or kernels.
layer_of() {
	case $1 in
	kernels/*) echo kernels ;;
	src/*/*) d=${1#src/}; echo "${d%%/*}" ;;
	esac
}

cd "$top_srcdir" || exit 99
bad=0
files=0
for f in src/*/*.[ch] kernels/*.[ch] kernels/*.cu; do
	[ -f "$f" ] || continue
	files=$((files + 1))
	from=$(layer_of "$f")
	ok=$(allowed "$from")
	if [ -z "$ok" ]; then
		tap_diag <<END
$f: directory $(dirname "$f") is no layer of the table
END
		bad=$((bad + 1))
		continue
	fi
	for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		[ "$h" = config.h ] && continue
		where=$(ls src/*/"$h" kernels/"$h" 2>/dev/null)
		if [ "$(echo "$where" | grep -c .)" -ne 1 ]; then
			echo "$f: \"$h\" is not one header of a layer" | tap_diag
			bad=$((bad + 1))
			continue
		fi
		to=$(layer_of "$where")
		case " $ok " in
		*" $to "*) ;;
		*)
			echo "$f ($from) includes $h ($to)" | tap_diag
			bad=$((bad + 1))
			;;
		esac
	done
done
[ "$files" -gt 50 ]
tap_check $? "the layers hold $files source files"
[ "$bad" -eq 0 ]
tap_check $? "no include outside the allowed layers ($bad found)"
tap_done
