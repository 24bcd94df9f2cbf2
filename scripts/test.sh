#!/usr/bin/env bash
# test.sh - install dependencies, build, and run the whole CTest suite.
# This is the README's test command and exactly what CI runs (.ci/run).
#   BUILD_DIR      build directory (default: build)
#   ATTNSWEEP_DATA_DIR  reference data (default: ../shared/data next to the repository)
#   CTEST_ARGS     extra ctest arguments (e.g. "-L forward")
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
  CC=clang-14 cmake -S . -B "$BUILD_DIR-fuzz" -DATTNSWEEP_FUZZ=ON -DATTNSWEEP_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${data_arg[@]}" > /dev/null
  cmake --build "$BUILD_DIR-fuzz" -j "$(nproc)" > /dev/null
  ctest --test-dir "$BUILD_DIR-fuzz" --output-on-failure -L '^fuzz$'
fi
