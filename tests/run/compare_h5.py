#!/usr/bin/python3
"""compare_h5.py A.h5 B.h5 [more.h5 ...] - require identical results across attnsweep files.

Compares, prompt by prompt (by id): attention (bit-identical), token_ids, tokens, offsets, text,
every dataset under metrics/, and /sweep/status; and every dataset under /summary. Used to check that results do not depend on the number of ranks, that a
killed-and-resumed run equals a clean run, and that `extract` equals `run`.
  --prompts ID,ID   only these prompts (default: all of the first file's)
  --status          also require identical /sweep/status vectors
Exit 0 when identical, 1 otherwise (every difference is printed)."""
import argparse
import sys

import h5py
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("files", nargs="+")
ap.add_argument("--prompts")
ap.add_argument("--status", action="store_true")
ap.add_argument("--tensors-only", action="store_true", help="compare attention and token data only (extract files have no metrics or summary)")
a = ap.parse_args()

fails = []
fs = [h5py.File(p, "r") for p in a.files]
ref = fs[0]
ids = a.prompts.split(",") if a.prompts else [x.decode() for x in ref["sweep/prompt"][()]]
if not ids:
    fails.append("no prompts to compare")


def compare_tree(x, y, where):
    """Every dataset below group x equals the one at the same path below y (exactly)."""
    if x is None or y is None:
        fails.append(f"{where}: present in only one file")
        return
    names = []
    x.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    ynames = []
    y.visititems(lambda n, o: ynames.append(n) if isinstance(o, h5py.Dataset) else None)
    if sorted(names) != sorted(ynames):
        fails.append(f"{where}: different datasets: {sorted(set(names) ^ set(ynames))}")
    for n in names:
        if n not in y:
            continue
        u, v = x[n][()], y[n][()]
        same = (u.shape == v.shape and u.dtype == v.dtype and
                (np.array_equal(u, v, equal_nan=True) if u.dtype.kind == "f" else np.array_equal(u, v)))
        if not same:
            fails.append(f"{where}/{n} differs")


for f, path in zip(fs[1:], a.files[1:]):
    for pid in ids:
        g0, g1 = ref[f"prompts/{pid}"], f.get(f"prompts/{pid}")
        if g1 is None:
            fails.append(f"{path}: prompt {pid} missing")
            continue
        for name in ("attention", "token_ids", "offsets", "tokens"):
            if (name in g0) != (name in g1):
                fails.append(f"{path}: {pid}/{name} present in only one file")
                continue
            if name not in g0:
                continue
            x, y = g0[name][()], g1[name][()]
            if x.shape != y.shape or x.dtype != y.dtype or not np.array_equal(x, y):
                d = (np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))
                     if x.shape == y.shape and x.dtype.kind == "f" else "n/a")
                fails.append(f"{path}: {pid}/{name} differs (shapes {x.shape} {y.shape}, max |diff| {d})")
        if not a.tensors_only and ("metrics" in g0 or "metrics" in g1):
            compare_tree(g0.get("metrics"), g1.get("metrics"), f"{path}: {pid}/metrics")
        if g0.attrs["text"] != g1.attrs["text"]:
            fails.append(f"{path}: {pid} text attribute differs")
    if not a.tensors_only and ("summary" in ref or "summary" in f):
        compare_tree(ref.get("summary"), f.get("summary"), f"{path}: /summary")
    if a.status:
        s0, s1 = ref["sweep/status"][()], f["sweep/status"][()]
        if not np.array_equal(s0, s1):
            fails.append(f"{path}: /sweep/status differs: {s0.tolist()} vs {s1.tolist()}")
for m in fails:
    print("FAIL", m)
print(f"compare_h5: {len(ids)} prompts x {len(fs) - 1} files compared, {len(fails)} differences")
sys.exit(1 if fails else 0)
