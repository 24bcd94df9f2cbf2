#!/usr/bin/env bash
# quickstart.sh - the README's first command: install the dependencies, build,
# write the built-in default model, and run the main job on it.
#   BUILD_DIR   build directory (default: build)
#   OUT_DIR     where results go (default: results)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
OUT_DIR=${OUT_DIR:-results}
bash scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD_DIR" -j "$(nproc)"
mkdir -p "$OUT_DIR"
if [ ! -f models/default/model.safetensors ]; then
  mkdir -p models
  "$BUILD_DIR"/attnsweep make-model --out models/default
fi
"$BUILD_DIR"/attnsweep extract --model models/default --text "Let's think step by step.

What is 15 plus 27?" --id cot --out "$OUT_DIR/quickstart.h5" --force
echo
echo "quickstart: done. The attention tensor is /prompts/cot/attention in $OUT_DIR/quickstart.h5:"
/usr/bin/python3 - "$OUT_DIR/quickstart.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    g = f["prompts/cot"]
    toks = [t.decode() if isinstance(t, bytes) else t for t in g["tokens"][()]]
    a = g["attention"]
    print(f"  attention {a.shape} {a.dtype}  (layer, head, query, key)")
    print(f"  tokens    {toks}")
    last = a[-1, :, -1, :].mean(axis=0)
    top = last.argsort()[::-1][:3]
    print("  last layer, last query, head-mean: most attended tokens:",
          ", ".join(f"{toks[i]!r} {last[i]:.2f}" for i in top))
PY
