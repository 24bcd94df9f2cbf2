#!/usr/bin/env bash
# quickstart.sh - the README's first command: install the dependencies, build,
# write the built-in default model, and run the main job (jobs/smoke.yaml) on it
# over 2 MPI ranks.
#   BUILD_DIR   build directory (default: build)
#   NP          MPI ranks (default: 2)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
NP=${NP:-2}
bash scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD_DIR" -j "$(nproc)"
if [ ! -f models/default/model.safetensors ]; then
  "$BUILD_DIR"/attnsweep make-model --out models/default
fi
mkdir -p results
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpirun --oversubscribe -n "$NP" "$BUILD_DIR"/attnsweep run jobs/smoke.yaml --force
echo
echo "quickstart: done. Results are in results/smoke.h5 (layout: docs/FORMAT.md):"
/usr/bin/python3 - results/smoke.h5 <<'PY'
import sys
sys.path.insert(0, "analysis")
import load  # analysis/load.py: the file as numpy / pandas
with load.open_sweep(sys.argv[1]) as sw:
    print(f"  {len(sw.ids)} prompts:", ", ".join(sw.ids))
    a = sw.attention("arithmetic/cot")
    toks = sw.tokens("arithmetic/cot")
    print(f"  attention of arithmetic/cot: {a.shape} {a.dtype}  (layer, head, query, key)")
    last = a[-1, :, -1, :].mean(axis=0)
    top = last.argsort()[::-1][:3]
    print("  last layer, last query, head-mean; most attended tokens:",
          ", ".join(f"{toks[i]!r} {last[i]:.2f}" for i in top))
PY
