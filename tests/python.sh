#!/bin/sh
# python.sh: the Python package (python/) over the built libskrull.  Its
# pytest suite (python/tests: the binding, skrull.arrow, skrull.torch and
# examples/train_gloo.py), one TAP line per test; then the package as a
# user installs it: `make install DESTDIR=...`, `pip install` of a copy of
# python/ into a fresh virtual environment (offline, no build isolation),
# and the installed package and its console command run against the
# installed library.
#
# The interpreter: $PYTHON, else the first of python3 and /usr/bin/python3
# that has pytest, numpy and torch, else one with pytest and numpy.  The
# tests that need torch, pyarrow or datasets skip without them, or fail
# when SKRULL_REQUIRE_TORCH, SKRULL_REQUIRE_PYARROW or
# SKRULL_REQUIRE_DATASETS is 1.
. "${top_srcdir:-.}/tests/tap.sh"

if [ -n "${SK_SAN:-}" ]; then
	# An instrumented library loads only after its sanitizer runtime; the
	# plain build runs these tests, the sanitizers check the C API there
	# (tests/api.sh, the unit tests).
	tap_skip "the Python package" "libskrull is built with $SK_SAN"
	tap_done
fi
has() {
	"$1" -c "import $2" >/dev/null 2>&1
}
py=
if [ -n "${PYTHON:-}" ]; then
	py=$PYTHON
else
	for c in python3 /usr/bin/python3; do
		if has "$c" pytest,numpy,torch; then py=$c; break; fi
	done
	if [ -z "$py" ]; then
		for c in python3 /usr/bin/python3; do
			if has "$c" pytest,numpy; then py=$c; break; fi
		done
	fi
fi
if [ -z "$py" ] || ! has "$py" pytest,numpy; then
	if [ "${SKRULL_REQUIRE_TORCH:-0}" = 1 ]; then
		tap_check 1 "a Python with pytest and numpy (${py:-none found})"
	else
		tap_skip "the Python package" "no Python with pytest and numpy"
	fi
	tap_done
fi
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
builddir=${abs_top_builddir:-$(pwd)}
lib=$builddir/${SK_SO:-libskrull.so.0}
[ -f "$lib" ]
tap_check $? "the built library is there ($lib)"
top=$(cd "$top_srcdir" && pwd)
echo "# python: $py ($("$py" --version 2>&1))"

# The suite; nothing written into the tree (no caches, no bytecode).
mkdir "$tmp/run" && cd "$tmp/run" || exit 99
SKRULL_LIBRARY=$lib PYTHONPATH=$top/python PYTHONDONTWRITEBYTECODE=1 \
    top_srcdir=$top "$py" -m pytest -p no:cacheprovider -q -rA \
    --rootdir="$top/python" "$top/python/tests" >"$tmp/pytest.log" 2>&1
st=$?
awk '
{sub(/[^ ]*python\/tests\//, "python/tests/")}
/^PASSED / {print "ok - " $2; next}
/^(FAILED|ERROR) / {print "not ok - " $2; next}
/^SKIPPED / {sub(/^SKIPPED \[[0-9]+\] /, ""); print "ok - " $0 " # SKIP"}
' "$tmp/pytest.log" >"$tmp/tap"
while IFS= read -r line; do
	case $line in
	"not ok - "*) tap_check 1 "${line#not ok - }" ;;
	*" # SKIP") l=${line#ok - }; tap_skip "${l% \# SKIP}" "pytest skipped it" ;;
	*) tap_check 0 "${line#ok - }" ;;
	esac
done <"$tmp/tap"
[ $st -ne 0 ] && tail -n 60 "$tmp/pytest.log" | tap_diag
[ $st -eq 0 ] && [ -s "$tmp/tap" ]
tap_check $? "pytest python/tests (status $st)"

# Installed as a user installs it.
MAKEFLAGS= MFLAGS= ${MAKE:-make} -C "$builddir" install DESTDIR="$tmp/root" \
    >"$tmp/install.log" 2>&1
st=$?
[ $st -ne 0 ] && tail -n 20 "$tmp/install.log" | tap_diag
tap_check $st "make install DESTDIR=..."
so=$(find "$tmp/root" -name 'libskrull.so.[0-9]' | head -n 1)
[ -n "$so" ] || tap_done
libdir=$(dirname "$so")
cp -R "$top/python" "$tmp/pysrc" && chmod -R u+w "$tmp/pysrc" || exit 99
"$py" -m venv --system-site-packages "$tmp/venv" >"$tmp/venv.log" 2>&1
st=$?
tap_diag <"$tmp/venv.log"
tap_check $st "a virtual environment"
# The packages of $py's own environment (torch, pyarrow in a venv) stay
# visible in the new one.
site=$("$py" -c 'import site; print(site.getsitepackages()[0])')
vsite=$("$tmp/venv/bin/python" -c 'import site; print(site.getsitepackages()[0])')
echo "$site" >"$vsite/outer.pth"
"$tmp/venv/bin/python" -m pip install --no-build-isolation --no-deps \
    --no-index "$tmp/pysrc" >"$tmp/pip.log" 2>&1
st=$?
[ $st -ne 0 ] && tail -n 30 "$tmp/pip.log" | tap_diag
tap_check $st "pip install ./python"

# From a directory without the sources, the library found by the loader.
mkdir "$tmp/work" && cd "$tmp/work" || exit 99
printf '%s\n' 3071 517 24000 845 2260 19001 133 6400 >batch.txt
LD_LIBRARY_PATH=$libdir "$tmp/venv/bin/python" - "$tmp/venv" >out 2>err <<'PY'
import sys
import skrull
assert skrull.__file__.startswith(sys.argv[1]), skrull.__file__
job = skrull.Job(model="qwen2.5-7b", cluster="h100", nodes=1,
                 gpus_per_node=8, dp=2, cp=4, batch=4)
plan = skrull.plan_batch(job, [3071, 517, 24000, 845, 2260, 19001, 133,
                               6400], "batch.txt")
plan.write("api.json")
print(skrull.library_version(), plan.simulate().summary()["iterations"])
PY
st=$?
tap_diag <err
tap_check $st "the installed package plans and simulates a batch ($(cat out))"
"$SKRULL" plan --trace batch.txt --model qwen2.5-7b --cluster h100 \
    --nodes 1 --gpus-per-node 8 --dp 2 --cp 4 --batch 4 --quiet \
    -o cli.json >/dev/null 2>err
cmp -s api.json cli.json
tap_check $? "its plan is skrull plan's, byte for byte"
LD_LIBRARY_PATH=$libdir "$tmp/venv/bin/skrull-lengths" --help >out 2>err
st=$?
tap_diag <err
grep -q -- '--column' out && [ $st -eq 0 ]
tap_check $? "the console command skrull-lengths is installed"
if has "$tmp/venv/bin/python" pyarrow; then
	"$tmp/venv/bin/python" -c '
import pyarrow as pa, pyarrow.parquet as pq
ids = [[7] * n for n in (3071, 517, 2400, 845, 2260, 1900, 133, 640)]
pq.write_table(pa.table({"input_ids": ids}), "d.parquet")'
	LD_LIBRARY_PATH=$libdir "$tmp/venv/bin/skrull-lengths" d.parquet \
	    --column input_ids -o d.npy 2>err
	st=$?
	tap_diag <err
	"$SKRULL" trace stats d.npy >stats 2>err
	tap_diag <err
	[ $st -eq 0 ] && grep -q '^samples *8$' stats &&
	    grep -q '^tokens *11766$' stats
	tap_check $? "skrull-lengths d.parquet -o d.npy: skrull trace reads 8 samples, 11766 tokens"
elif [ "${SKRULL_REQUIRE_PYARROW:-0}" = 1 ]; then
	tap_check 1 "pyarrow in the installed environment"
else
	tap_skip "skrull-lengths on a Parquet file" "no pyarrow"
fi
tap_done
