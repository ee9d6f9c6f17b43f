#!/bin/sh
# check.sh: the GPU checks, run on a machine with an NVIDIA GPU from a built
# tree (./configure --with-cuda && make).  Prints the GPU, then every CUDA
# test program's TAP output; exits nonzero if any fails or if no GPU is seen.
set -u
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || exit 1
./skrull --version || exit 1
st=0
for t in tests/unit/test_kern_cuda tests/unit/test_backend_cuda tests/exec/test_comm_nccl; do
	CMOCKA_MESSAGE_OUTPUT=TAP "$t" || st=1
done
exit $st
