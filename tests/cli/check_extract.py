#!/usr/bin/python3
"""check_extract.py - verify an `attnsweep extract` output file against an
independent reference (HF transformers dumps in ../shared/data).

usage: check_extract.py FILE.h5 --id ID --ref CASE_DIR [--text TEXT] [--tol 1e-4]
  CASE_DIR holds ids.npy and attentions.npy (reference/hf-tiny-gqa/outputs/fp32/<case>).
Exit 0 on success, 1 on any mismatch (every problem is printed)."""
import argparse
import sys

import h5py
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("--id", default="prompt")
ap.add_argument("--ref", help="folder with ids.npy and attentions.npy")
ap.add_argument("--ref-ids", help="reference token ids .npy (default REF/ids.npy)")
ap.add_argument("--ref-att", help="reference attention .npy (default REF/attentions.npy)")
ap.add_argument("--text")
ap.add_argument("--tol", type=float, default=1e-4)
ap.add_argument("--last-row", action="store_true")
ap.add_argument("--float16", action="store_true")
a = ap.parse_args()

fails = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fails.append(msg)


ids_ref = np.load(a.ref_ids or f"{a.ref}/ids.npy")
att_ref = np.load(a.ref_att or f"{a.ref}/attentions.npy")
with h5py.File(a.file, "r") as f:
    for k in ("attnsweep_version", "git_commit", "model_path", "created_utc"):
        check(k in f.attrs, f"root attribute {k} present")
    check("model" in f and f["model"].attrs["n_layers"] == att_ref.shape[0], "/model n_layers")
    g = f[f"prompts/{a.id}"]
    ids = g["token_ids"][()]
    check(ids.dtype == np.int32, f"token_ids dtype int32 (got {ids.dtype})")
    check(np.array_equal(ids, ids_ref), f"token_ids equal the reference {ids_ref.tolist()} (got {ids.tolist()})")
    check(int(g.attrs["n_tokens"]) == len(ids_ref), "n_tokens attribute")
    if a.text is not None:
        t = g.attrs["text"]
        t = t.decode() if isinstance(t, bytes) else t
        check(t == a.text, f"text attribute round-trips ({t!r})")
        toks = [x.decode() if isinstance(x, bytes) else x for x in g["tokens"][()]]
        offs = g["offsets"][()]
        check(offs.shape == (len(ids_ref), 2), "offsets shape [T, 2]")
        check(toks[0] == "<s>" and offs[0].tolist() == [0, 0], "BOS token '<s>' at [0, 0]")
        raw = a.text.encode()
        check(offs[-1][1] == len(raw), "offsets reach the end of the text")
    att = g["attention"]
    want_dtype = np.float16 if a.float16 else np.float32
    check(att.dtype == want_dtype, f"attention dtype {want_dtype.__name__} (got {att.dtype})")
    arr = att[()].astype(np.float32)
    ref = att_ref[:, :, -1, :] if a.last_row else att_ref
    check(arr.shape == ref.shape, f"attention shape {ref.shape} (got {arr.shape})")
    if arr.shape == ref.shape:
        d = float(np.max(np.abs(arr - ref)))
        check(d <= a.tol, f"attention within {a.tol:g} of HF (max |diff| {d:.3g})")
        if not a.last_row:
            T = arr.shape[-1]
            up = np.triu(np.ones((T, T), bool), 1)
            check(np.all(arr[..., up] == 0), "upper triangle exactly 0")
            s = np.abs(arr.sum(-1) - 1).max()
            check(s <= (1e-5 if not a.float16 else 1e-2), f"rows sum to 1 (max dev {s:.2g})")
    dims = [len(att.dims[i]) > 0 for i in range(att.ndim)]
    check(all(dims), "every attention dimension has a scale attached")
    st = f["sweep/status"][()] if "sweep/status" in f else None
    check(st is not None and int(st[0]) == 1, "status of the prompt is done (1)")

print(f"check_extract: {len(fails)} failed")
sys.exit(1 if fails else 0)
