#!/bin/sh
# cudamod.sh: in a CUDA build the program links no CUDA library (the CUDA
# backend, the NCCL communicator and the kernels are in skrull-cuda.so,
# loaded when asked for): ldd lists none; the built module loads (--version
# tells the runtime); a missing module is one clear error, exit 1, naming
# the file.  Skipped in a build without CUDA.
. "${top_srcdir:-.}/tests/tap.sh"

if "$SKRULL" --version | grep -q '^cuda not built'; then
	tap_skip "the CUDA module" "built without CUDA"
	tap_done
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/skrull-cudamod.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

if command -v ldd >/dev/null 2>&1; then
	libs=$(ldd "$SKRULL" | grep -E 'libcuda|libcublas|libnccl')
	[ -n "$libs" ] && echo "$libs" | tap_diag
	[ -z "$libs" ]
	tap_check $? "ldd skrull lists no CUDA, cuBLAS or NCCL library"
else
	tap_skip "ldd skrull lists no CUDA library" "no ldd"
fi

"$SKRULL" --version >"$work/v" 2>&1
grep -q '^cuda runtime [0-9]' "$work/v"
tap_check $? "the built module loads: $(grep '^cuda' "$work/v")"

"$SKRULL" plan --trace "$top_srcdir/tests/data/cli/good.txt" --nodes 1 \
    --gpus-per-node 2 --dp 1 --cp 2 --batch 4 --bucket 4096 \
    --drop-overlong -o "$work/p.json" >/dev/null || exit 99
SKRULL_CUDA_MODULE=$work/missing.so "$SKRULL" run --plan "$work/p.json" \
    --backend cuda >"$work/out" 2>"$work/err"
rc=$?
[ $rc -eq 1 ] && [ ! -s "$work/out" ] &&
    grep -q "^skrull: the CUDA module $work/missing.so cannot be loaded" \
    "$work/err"
ok=$?
[ $ok -ne 0 ] && { echo "exit $rc"; cat "$work/err"; } | tap_diag
tap_check $ok "a missing module: exit 1, one message naming it"
tap_done
