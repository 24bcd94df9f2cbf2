#!/usr/bin/python3
"""test_load_capture.py FULL.h5 LASTROW.h5 BASE.h5 - load.py's value_norms, scores and
weighted_attention (output.weights / output.scores, docs/FORMAT.md "Value norms and scores")
against plain h5py reads that follow docs/FORMAT.md and the definitions of docs/METRICS.md.

FULL.h5 / LASTROW.h5: one sweep with weights: both, scores: true, store full / last_row;
BASE.h5: the same sweep with the defaults (no value norms, no scores)."""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_load import FAILS, check, load  # noqa: E402  (the shared checks, and load.py)


def raises(fn, what, contains):
    try:
        fn()
    except ValueError as e:
        check(contains in str(e), f"{what}: message {e} lacks {contains!r}")
        return
    check(False, f"{what}: no ValueError")


def raw(f, i):
    """(token start, T, attention start or None) of row i."""
    sw = f["sweep"]
    a = int(sw["attention_start"][i]) if "attention_start" in sw else None
    return int(sw["token_start"][i]), int(sw["n_tokens"][i]), a


def main():
    full, lr, base = sys.argv[1:4]
    f, g = h5py.File(full, "r"), h5py.File(lr, "r")
    L, H = int(f.attrs["n_layers"]), int(f.attrs["n_heads"])
    ids = [p.decode() for p in f["sweep/prompt"][()]]
    with load.open_sweep(full) as sw, load.open_sweep(lr) as sl:
        check(sw.has_value_norms() and sw.has_scores(), "full: has_value_norms / has_scores")
        for i, pid in enumerate(ids):
            s, T, a = raw(f, i)
            n_raw = np.transpose(f["attention/value_norm"][s:s + T], (1, 2, 0))        # [L, H, T]
            sc_raw = f["attention/scores_full"][a:a + L * H * T * T].reshape(L, H, T, T)
            att_raw = f["attention/full"][a:a + L * H * T * T].reshape(L, H, T, T)
            n = sw.value_norms(pid)
            check(n.shape == (L, H, T) and np.array_equal(n, n_raw), f"{pid}: value_norms")
            check(np.array_equal(sw.value_norms(pid, layer=-1, head=1), n_raw[-1, 1]),
                  f"{pid}: value_norms(layer=-1, head=1)")
            check(np.array_equal(sw.scores(pid), sc_raw), f"{pid}: scores (full)")
            check(np.array_equal(sw.scores(pid, layer=0), sc_raw[0]), f"{pid}: scores(layer=0)")
            # alpha_ij * ||f(x_j)||, by hand, in float64
            w_ref = att_raw.astype(np.float64) * n_raw.astype(np.float64)[:, :, None, :]
            w = sw.weighted_attention(pid)
            check(w.shape == (L, H, T, T) and np.abs(w - w_ref).max() <= 1e-6 * max(1, np.abs(w_ref).max()),
                  f"{pid}: weighted_attention")
            wn = sw.weighted_attention(pid, normalize=True)
            wn_ref = w_ref / w_ref.sum(axis=-1, keepdims=True)
            check(np.abs(wn - wn_ref).max() < 1e-6, f"{pid}: weighted_attention(normalize=True)")
            check(np.abs(wn.sum(axis=-1) - 1).max() < 1e-5, f"{pid}: normalized rows sum to 1")
            check(np.count_nonzero(np.triu(w, 1)) == 0, f"{pid}: weighted attention is causal")
            # last_row file: [L, H, T] rows of the same quantities
            s2, T2, _ = raw(g, i)
            check(T2 == T, f"{pid}: same tokens in both files")
            n2 = np.transpose(g["attention/value_norm"][s2:s2 + T], (1, 2, 0))
            check(np.array_equal(sl.value_norms(pid), n2), f"{pid}: value_norms (last_row file)")
            sc2 = np.transpose(g["attention/scores_last_row"][s2:s2 + T], (1, 2, 0))
            check(np.array_equal(sl.scores(pid), sc2), f"{pid}: scores (last_row file)")
            w2 = sl.weighted_attention(pid)
            check(w2.shape == (L, H, T) and
                  np.abs(w2 - np.transpose(g["attention/last_row"][s2:s2 + T], (1, 2, 0)) * n2).max() < 1e-6,
                  f"{pid}: weighted_attention (last_row file)")
            check(np.abs(w2 - w[:, :, -1, :]).max() < 1e-6 * max(1, np.abs(w).max()),
                  f"{pid}: the last row of the full weighting equals the last_row file's")
        try:
            import xarray  # noqa: F401
            have_xr = True
        except ImportError:
            have_xr = False
            print("SKIP: to_xarray (no python3-xarray)")
        if have_xr:
            ds = sw.to_xarray(ids[0])
            check(np.array_equal(ds.value_norm.values, sw.value_norms(ids[0])), "to_xarray value_norm")
            check(np.array_equal(ds.scores.values, sw.scores(ids[0])), "to_xarray scores")
            check(ds.value_norm.dims == ("layer", "head", "key"), f"to_xarray dims {ds.value_norm.dims}")
    with load.open_sweep(base) as sb:
        pid = ids[0]
        check(not sb.has_value_norms() and not sb.has_scores(), "base: no captures")
        raises(lambda: sb.value_norms(pid), "base: value_norms", "output.weights")
        raises(lambda: sb.scores(pid), "base: scores", "output.scores")
        raises(lambda: sb.weighted_attention(pid), "base: weighted_attention", "output.weights")
    if FAILS:
        print(f"{len(FAILS)} failure(s)")
        return 1
    print(f"ok: {len(ids)} prompts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
