#!/bin/sh
# check.sh: the GPU checks of skrull, in one call on a machine with an
# NVIDIA GPU (sm_90 by default: H100, H200; CUDA_ARCH=80 for an A100).
#
#   tests/gpu/check.sh            from the top of a tree
#
# It builds skrull with CUDA (from .gpu/skrull.tar.gz with the libraries in
# .gpu/deb when tests/gpu/prepare.sh made them, for a machine that cannot
# fetch; else from this tree, which must have been configured), then:
#   1. runs every CUDA test program (kernels against the CPU reference,
#      the cuda backend against the cpu one, NCCL collectives);
#   2. times bf16 causal attention forward and backward at 1K, 8K, 32K and
#      128K tokens (bench/attn_cuda, TFLOP/s);
#   3. calibrates the GPU (skrull calibrate --backend cuda) into a profile;
#   4. plans one trace with deepspeed and skrull, runs each plan on the GPU
#      with --profile, and prints measured against simulated iteration time;
# and prints a short table last.  Everything it writes goes to $OUT when
# that is set (else /tmp/skrull-gpu-out).  Exit status 0 when every step
# passed, 1 otherwise, 77 when there is no GPU.  It is meant to finish in
# under 8 minutes on an H200.
set -u
top=$(pwd)
out=${OUT:-/tmp/skrull-gpu-out}
arch=${CUDA_ARCH:-90}
mkdir -p "$out"
log=$out/check.log
: >"$log"
t0=$(date +%s)

say() { printf '%s\n' "$*" | tee -a "$log"; }
elapsed() { echo $(($(date +%s) - t0)); }

if ! nvidia-smi --query-gpu=name,driver_version,memory.total \
    --format=csv,noheader >"$out/gpu.txt" 2>&1; then
	say "check.sh: no NVIDIA GPU here (nvidia-smi failed): nothing to check"
	exit 77
fi
gpu=$(head -n 1 "$out/gpu.txt")
say "gpu: $gpu"
say "date: $(date -u +%Y-%m-%dT%H:%MZ)"

# --- build ---------------------------------------------------------------
if [ -f .gpu/skrull.tar.gz ]; then
	deps=/tmp/skrull-deps
	rm -rf "$deps" /tmp/skrull-src
	mkdir -p "$deps" /tmp/skrull-src
	for f in .gpu/deb/*.deb; do
		if command -v dpkg >/dev/null 2>&1; then
			dpkg -x "$f" "$deps" || exit 1
		else
			# A .deb is an ar archive holding data.tar.*.
			(cd "$deps" && ar p "$top/$f" "$(ar t "$top/$f" | grep '^data.tar')" |
			    tar xJf - 2>/dev/null ||
			    ar p "$top/$f" "$(ar t "$top/$f" | grep '^data.tar')" |
			    tar xf -) || exit 1
		fi
	done
	inc=$deps/usr/include
	lib=$deps/usr/lib/x86_64-linux-gnu
	flags="-L$lib -Wl,-rpath,$lib"
	# No pkg-config there: configure takes these instead of asking it.
	export GSL_CFLAGS="-I$inc" GSL_LIBS="$flags -lgsl -lgslcblas -lm"
	export CJSON_CFLAGS="-I$inc" CJSON_LIBS="$flags -lcjson"
	export ZLIB_CFLAGS="-I$inc" ZLIB_LIBS="$flags -lz"
	export CMOCKA_CFLAGS="-I$inc" CMOCKA_LIBS="$flags -lcmocka"
	tar xzf .gpu/skrull.tar.gz -C /tmp/skrull-src --strip-components 1 ||
	    exit 1
	cd /tmp/skrull-src || exit 1
	nccl=
	# The image's NCCL may be the Python wheel's only.
	ndir=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))' 2>/dev/null)
	if [ ! -f /usr/local/cuda/include/nccl.h ] && [ -n "$ndir" ] &&
	    [ -f "$ndir/include/nccl.h" ]; then
		mkdir -p /tmp/skrull-nccl/lib
		ln -sf "$ndir/include" /tmp/skrull-nccl/include
		ln -sf "$ndir"/lib/libnccl.so.2 /tmp/skrull-nccl/lib/libnccl.so
		ln -sf "$ndir"/lib/libnccl.so.2 /tmp/skrull-nccl/lib/libnccl.so.2
		nccl=--with-nccl=/tmp/skrull-nccl
	fi
	say "build: configure --with-cuda --with-cuda-arch=$arch $nccl"
	# GLPK is found by its header and library, not pkg-config.
	./configure --with-cuda --with-cuda-arch="$arch" --without-mpi $nccl \
	    CPPFLAGS="-I$inc" LDFLAGS="$flags" \
	    >>"$log" 2>&1 || { say "configure failed (see $log)"; exit 1; }
fi
say "build: make (at $(elapsed) s)"
make -j"$(nproc)" >>"$log" 2>&1 &&
    make -j"$(nproc)" check TESTS= >>"$log" 2>&1 &&
    make bench/attn_cuda >>"$log" 2>&1 ||
    { say "build failed (see $log)"; exit 1; }
grep -q '^#define HAVE_CUDA 1' config.h ||
    { say "this tree was configured without CUDA"; exit 1; }
bin=$(pwd)
# The uninstalled CUDA module of this build (the program loads it).
SKRULL_CUDA_MODULE=$bin/skrull-cuda.so
export SKRULL_CUDA_MODULE
st=0
summary=$out/summary.txt
: >"$summary"
row() { printf '%-34s %s\n' "$1" "$2" >>"$summary"; }

# --- 1. test programs ------------------------------------------------------
for t in tests/unit/test_kern_cuda tests/unit/test_backend_cuda \
    tests/exec/test_comm_nccl; do
	[ -x "$t" ] || { row "$(basename "$t")" "not built"; continue; }
	CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$t" >"$out/$(basename "$t").tap" 2>&1
	rc=$?
	cat "$out/$(basename "$t").tap" >>"$log"
	ok=$(grep -c '^ok' "$out/$(basename "$t").tap")
	nok=$(grep -c '^not ok' "$out/$(basename "$t").tap")
	if [ $rc -ne 0 ] || [ "$nok" -ne 0 ]; then st=1; fi
	row "$(basename "$t")" "$ok passed, $nok failed (exit $rc)"
	say "$(basename "$t"): $ok passed, $nok failed (at $(elapsed) s)"
done

# --- 2. attention throughput ----------------------------------------------
timeout 120 bench/attn_cuda >"$out/attn.txt" 2>&1 || st=1
cat "$out/attn.txt" | tee -a "$log"
# "S   1024  runs 5  fwd  0.123 ms 12.34 TFLOP/s  bwd  0.456 ms 8.76 TFLOP/s"
awk '$1 == "S" { printf "%-34s %s / %s TFLOP/s\n", "attention fwd / bwd, " $2 " tokens", $8, $13 }' \
    "$out/attn.txt" >>"$summary"

# --- 3. calibration --------------------------------------------------------
say "calibrate (at $(elapsed) s)"
timeout 180 ./skrull calibrate --backend cuda --quick --max-len 32768 \
    --cluster h200 -o "$out/profile.json" >"$out/calibrate.txt" 2>&1 || st=1
cat "$out/calibrate.txt" >>"$log"
grep -E '^(gemm|attn) ' "$out/calibrate.txt" | while read -r l; do
	row "fit $(echo "$l" | cut -c1-9)" "$(echo "$l" | cut -c11-)"
done

# --- 4. measured against simulated -------------------------------------------
say "runs (at $(elapsed) s)"
cd "$out" || exit 1
"$bin/skrull" trace synth -n 64 --seed 11 --min 256 --max 16384 \
    lognormal:2048:1.2 -o trace.txt >>"$log" 2>&1 || st=1
for pol in deepspeed skrull; do
	"$bin/skrull" plan --trace trace.txt --policy "$pol" --model qwen2.5-0.5b \
	    --nodes 1 --gpus-per-node 2 --dp 1 --cp 2 --batch 8 --bucket 16384 \
	    --drop-overlong -o "plan-$pol.json" >>"$log" 2>&1 || st=1
	timeout 150 "$bin/skrull" run --plan "plan-$pol.json" --backend cuda \
	    --iters 0:4 --layers 4 --vocab 32000 --profile profile.json \
	    >"run-$pol.txt" 2>&1 || st=1
	cat "run-$pol.txt" >>"$log"
	m=$(awk '/^  [0-9]/ { s += $2; n++ } END { if (n) printf "%.1f", s / n }' "run-$pol.txt")
	p=$(awk '/^  [0-9]/ { s += $3; n++ } END { if (n) printf "%.1f", s / n }' "run-$pol.txt")
	e=$(awk '/mean \|error\|/ { print $3 }' "run-$pol.txt")
	row "run $pol, ms measured / sim." "$m / $p, mean |error| $e"
done
cd "$bin" || exit 1

say ""
say "skrull GPU check on $gpu, $(elapsed) s"
cat "$summary" | tee -a "$log"
[ $st -eq 0 ] && say "result: PASS" || say "result: FAIL"
exit $st
