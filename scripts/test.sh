#!/usr/bin/env bash
# test.sh - install dependencies, build, and run the whole CTest suite.
# This is the README's test command and exactly what CI runs (.ci/run).
#   BUILD_DIR      build directory (default: build)
#   ATTNSWEEP_DATA_DIR  reference data (default: ../shared/data next to the repository)
#   CTEST_ARGS     extra ctest arguments (e.g. "-L forward") for the release suite
# After the release suite it runs the fuzz targets (build-fuzz/) and the suite under ASan + UBSan
# (build-asan/); ATTNSWEEP_TEST_FUZZ=0 and ATTNSWEEP_TEST_ASAN=0 skip those outside CI.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
bash scripts/install-deps.sh
data_arg=()
if [ -n "${ATTNSWEEP_DATA_DIR:-}" ]; then data_arg=(-DATTNSWEEP_DATA_DIR="$ATTNSWEEP_DATA_DIR"); fi
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${data_arg[@]}"
cmake --build "$BUILD_DIR" -j "$(nproc)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
# shellcheck disable=SC2086
ctest --test-dir "$BUILD_DIR" --output-on-failure ${CTEST_ARGS:-}
# libFuzzer targets of every parser of untrusted input, 30 s each (clang + ASan + UBSan build in
# build-fuzz/; scripts/fuzz.sh runs them longer). ATTNSWEEP_TEST_FUZZ=0 skips them visibly.
if [ "${ATTNSWEEP_TEST_FUZZ:-1}" = 0 ] && [ -z "${CI:-}" ]; then
  echo "test.sh: ATTNSWEEP_TEST_FUZZ=0: skipping the fuzz targets"
else
  CC=clang-14 cmake -S . -B "$BUILD_DIR-fuzz" -DATTNSWEEP_FUZZ=ON -DATTNSWEEP_BUILD_BENCH=OFF -DAS_FUZZ_SECONDS=30 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${data_arg[@]}" > /dev/null
  cmake --build "$BUILD_DIR-fuzz" -j "$(nproc)" > /dev/null
  ctest --test-dir "$BUILD_DIR-fuzz" --output-on-failure -L '^fuzz$'
fi
# The whole suite once more under AddressSanitizer + UndefinedBehaviorSanitizer (gcc, in
# build-asan/): every test except the Slurm, style and README ones, which the suite above ran.
# A sanitizer report exits 86, so it is never mistaken for an error a test expects.
# ATTNSWEEP_TEST_ASAN=0 skips this outside CI.
if [ "${ATTNSWEEP_TEST_ASAN:-1}" = 0 ] && [ -z "${CI:-}" ]; then
  echo "test.sh: ATTNSWEEP_TEST_ASAN=0: skipping the ASan + UBSan run of the suite"
else
  cmake -S . -B "$BUILD_DIR-asan" -DATTNSWEEP_SANITIZE=ON -DATTNSWEEP_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${data_arg[@]}" > /dev/null
  cmake --build "$BUILD_DIR-asan" -j "$(nproc)" > /dev/null
  export ASAN_OPTIONS=fast_unwind_on_malloc=0:exitcode=86
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86
  export LSAN_OPTIONS=suppressions=$PWD/tests/common/lsan-mpi.supp:print_suppressions=0
  ctest --test-dir "$BUILD_DIR-asan" --output-on-failure -E '^(slurm_|style_|docs_readme)'
fi
