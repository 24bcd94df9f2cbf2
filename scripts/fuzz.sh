#!/usr/bin/env bash
# fuzz.sh [SECONDS [RUNS]] - build the libFuzzer targets (tests/fuzz/, clang + ASan + UBSan) in
# build-fuzz/ and run every one for SECONDS (default 600), or until RUNS executions when RUNS is
# given (e.g. `bash scripts/fuzz.sh 7200 1000000` for a million executions per target).
# CI runs the same targets for 30 s each (scripts/test.sh, label fuzz). ATTNSWEEP_FUZZ_MAX_LEN=BYTES
# caps the input size (libFuzzer -max_len; default: the largest seed). fuzz_tokenizer's seeds include
# a 724 kB GGUF, so at full size it runs at ~40 executions/s; with ATTNSWEEP_FUZZ_MAX_LEN=65536
# (the GGUF path stays reachable through a 1000-piece cut of the same vocabulary) at ~1000/s.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-600}
if [ -n "${2:-}" ]; then export ATTNSWEEP_FUZZ_RUNS=$2; fi
command -v clang-14 > /dev/null || { echo "fuzz.sh: needs clang-14 (scripts/install-deps.sh)"; exit 1; }
CC=clang-14 cmake -S . -B build-fuzz -DATTNSWEEP_FUZZ=ON -DATTNSWEEP_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAS_FUZZ_SECONDS="$SECS" > /dev/null
cmake --build build-fuzz -j "$(nproc)"
ctest --test-dir build-fuzz --output-on-failure -L "^fuzz$"
