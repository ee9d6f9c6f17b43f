#!/bin/sh
# prepare.sh: make the folder .gpu/ that tests/gpu/check.sh needs on a GPU
# machine which can fetch nothing (the lent H200: a CUDA image without GSL,
# cJSON, cmocka, autotools or pkg-config).  Run it here, in a configured
# tree, before the device call, and carry .gpu (ignored by git):
#   .gpu/skrull.tar.gz   `make dist`'s tarball (configure already made)
#   .gpu/deb/*.deb       Debian's GSL, GLPK (with the libraries it links:
#                        AMD, COLAMD, SuiteSparse_config, ltdl, GMP),
#                        cJSON, cmocka and zlib packages
#                        (headers and libraries), unpacked there into a
#                        private prefix, never into /
set -eu
top=$(pwd)
test -f configure.ac || { echo "prepare.sh: run it from the top of the tree" >&2; exit 1; }
rm -rf .gpu
mkdir -p .gpu/deb
make dist >/dev/null
mv skrull-*.tar.gz .gpu/skrull.tar.gz
cd .gpu/deb
apt-get download libgsl27 libgslcblas0 libgsl-dev libcjson1 libcjson-dev \
    libcmocka0 libcmocka-dev zlib1g-dev libglpk40 libglpk-dev libamd2 \
    libcolamd2 libsuitesparseconfig5 libltdl7 libgmp10 >/dev/null
cd "$top"
ls -l .gpu .gpu/deb
