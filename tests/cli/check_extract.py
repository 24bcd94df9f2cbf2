#!/usr/bin/python3
"""check_extract.py - verify an `attnsweep extract` output file (format 2, docs/FORMAT.md)
against an independent reference (HF transformers dumps in ../shared/data).

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


def s(x):
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def scale_names(d):
    return [[x.name.rsplit("/", 1)[-1] for x in dim.values()] for dim in d.dims]


with h5py.File(a.file, "r") as f:
    for k in ("attnsweep_version", "git_commit", "model_path", "created_utc"):
        check(k in f.attrs, f"root attribute {k} present")
    fa = {k: v.decode() if isinstance(v, bytes) else v for k, v in f.attrs.items()}
    check(fa.get("format") == "attnsweep" and f.attrs.get("format_version") == 2,
          f"format attnsweep version 2 (got {fa.get('format')!r} {fa.get('format_version')})")
    check("model" in f and f["model"].attrs["n_layers"] == att_ref.shape[0], "/model n_layers")
    ids_col = [s(x) for x in f["sweep/prompt"][()]]
    check(a.id in ids_col, f"prompt {a.id!r} in /sweep/prompt ({ids_col})")
    if a.id not in ids_col:
        sys.exit(1)
    i = ids_col.index(a.id)
    T = int(f["sweep/n_tokens"][i])
    t0 = int(f["sweep/token_start"][i])
    rows = slice(t0, t0 + T)
    ids = f["tokens/token_id"][rows]
    check(f["tokens/token_id"].dtype == np.int32, f"token_id dtype int32 (got {f['tokens/token_id'].dtype})")
    check(np.array_equal(ids, ids_ref), f"token_ids equal the reference {ids_ref.tolist()} (got {ids.tolist()})")
    check(T == len(ids_ref), f"/sweep/n_tokens {T}")
    check(np.array_equal(f["tokens/position"][rows], np.arange(T))
          and np.all(f["tokens/prompt_index"][rows] == i), "/tokens/position and prompt_index of the prompt's rows")
    if a.text is not None:
        b0, n = int(f["sweep/text_start"][i]), int(f["sweep/text_length"][i])
        t = f["text/utf8"][b0:b0 + n].tobytes().decode("utf-8")
        check(t == a.text, f"text round-trips through /text/utf8 ({t!r})")
        toks = [s(x) for x in f["tokens/token_str"][rows]]
        offs = f["tokens/offsets"][rows]
        check(offs.shape == (len(ids_ref), 2), "offsets shape [T, 2]")
        check(toks[0] == "<s>" and offs[0].tolist() == [0, 0], "BOS token '<s>' at [0, 0]")
        raw = a.text.encode()
        check(offs[-1][1] == len(raw), "offsets reach the end of the text")
    store = fa.get("store")
    want_store = "last_row" if a.last_row else "full"
    check(store == want_store, f"store attribute {want_store!r} (got {store!r})")
    want_dtype = np.float16 if a.float16 else np.float32
    check(fa.get("dtype") == np.dtype(want_dtype).name, f"dtype attribute {np.dtype(want_dtype).name} "
          f"(got {fa.get('dtype')!r})")
    L, H = int(f.attrs["n_layers"]), int(f.attrs["n_heads"])
    if store != want_store or "attention" not in f:
        print(f"check_extract: {len(fails)} failed (no {want_store} attention to compare)")
        sys.exit(1)
    g = f["attention"]
    check(g["layer"][()].tolist() == list(range(att_ref.shape[0])) and
          g["head"][()].tolist() == list(range(att_ref.shape[1])), "/attention/layer and head: every model layer and head")
    ref = att_ref[:, :, -1, :] if a.last_row else att_ref
    if a.last_row:
        att = g["last_row"]
        arr = att[rows].astype(np.float32).transpose(1, 2, 0)  # [T, L, H] -> [L, H, T]
        check(scale_names(att) == [["token"], ["layer"], ["head"]],
              f"last_row dims (token, layer, head) have scales (got {scale_names(att)})")
    else:
        att = g["full"]
        a0 = int(f["sweep/attention_start"][i])
        arr = att[a0:a0 + L * H * T * T].astype(np.float32).reshape(L, H, T, T)
        check(a0 + L * H * T * T <= att.shape[0], "the prompt's block lies inside /attention/full")
    check(att.dtype == want_dtype, f"attention dtype {want_dtype.__name__} (got {att.dtype})")
    for k in ("layer", "head"):
        check(g[k].attrs.get("CLASS") == b"DIMENSION_SCALE", f"/attention/{k} is a dimension scale")
    check(arr.shape == ref.shape, f"attention shape {ref.shape} (got {arr.shape})")
    if arr.shape == ref.shape:
        d = float(np.max(np.abs(arr - ref)))
        check(d <= a.tol, f"attention within {a.tol:g} of HF (max |diff| {d:.3g})")
        if not a.last_row:
            up = np.triu(np.ones((T, T), bool), 1)
            check(np.all(arr[..., up] == 0), "upper triangle exactly 0")
            sm = np.abs(arr.sum(-1) - 1).max()
            check(sm <= (1e-5 if not a.float16 else 1e-2), f"rows sum to 1 (max dev {sm:.2g})")
    st = f["sweep/status"][i]
    check(int(st) == 1, "status of the prompt is done (1)")

print(f"check_extract: {len(fails)} failed")
sys.exit(1 if fails else 0)
