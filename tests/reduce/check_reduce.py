#!/usr/bin/python3
"""Checks for the reduce tests (h5py, format 2: docs/FORMAT.md).

  check_reduce.py same A.h5 B.h5 [C.h5 ...]   every /metrics/* and /summary/* dataset (and the
                                              groups' attributes) of B, C, ... equals A's exactly
                                              (NaN == NaN)
  check_reduce.py spans F.h5                  keyword occurrences (/metrics/keyword_occ_*): the byte
                                              spans are the keyword (ASCII case-insensitive), every
                                              occurrence is listed, and the token spans cover exactly
                                              the tokens that overlap it
"""
import sys

import h5py
import numpy as np


def collect(path):
    out = {}
    with h5py.File(path, "r") as f:
        for grp in ("metrics", "summary"):
            if grp not in f:
                continue
            g = f[grp]
            for k, v in g.attrs.items():
                out[f"{grp}@{k}"] = np.asarray(v)
            for name, obj in g.items():
                if isinstance(obj, h5py.Dataset):
                    out[f"{grp}/{name}"] = obj[()]
    return out


def equal(a, b):
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "SOU" or b.dtype.kind in "SOU":
        return a.tolist() == b.tolist()
    return a.dtype == b.dtype and (np.array_equal(a, b) or (
        a.dtype.kind == "f" and np.array_equal(a, b, equal_nan=True)))


def same(paths):
    ref = collect(paths[0])
    bad = 0
    if not ref:
        print(f"{paths[0]}: no metrics or summary")
        return 1
    for p in paths[1:]:
        other = collect(p)
        if set(other) != set(ref):
            print(f"{p}: datasets differ: {sorted(set(other) ^ set(ref))[:10]}")
            bad += 1
            continue
        for k, a in ref.items():
            if not equal(a, other[k]):
                print(f"{p}: {k} differs from {paths[0]}")
                bad += 1
    print(f"check_reduce same: {len(ref)} datasets x {len(paths) - 1} files, {bad} differences")
    return 1 if bad else 0


def spans(path):
    bad = n = 0
    with h5py.File(path, "r") as f:
        if "metrics" not in f:
            print(f"check_reduce spans: {path}: no /metrics")
            return 1
        m = f["metrics"]
        ids = [x.decode() for x in f["sweep/prompt"][()]]
        text = f["text/utf8"][()].tobytes()
        t0, tn = f["sweep/text_start"][()], f["sweep/text_length"][()]
        s0, T = f["sweep/token_start"][()], f["sweep/n_tokens"][()]
        offsets = f["tokens/offsets"][()]
        kws = [k.decode().encode() for k in m["keyword"][()]]
        oc, os_ = m["keyword_occ_count"][()], m["keyword_occ_start"][()]
        okw, ob, ot = m["keyword_occ_keyword"][()], m["keyword_occ_bytes"][()], m["keyword_occ_tokens"][()]
        for i, pid in enumerate(ids):
            raw = text[t0[i]:t0[i] + tn[i]]
            off = offsets[s0[i]:s0[i] + T[i]]
            r = slice(os_[i], os_[i] + oc[i])
            want = []
            for ki, kw in enumerate(kws):
                for p in range(len(raw) - len(kw) + 1):
                    if raw[p:p + len(kw)].lower() == kw.lower():
                        want.append((ki, p, p + len(kw)))
            got = [(int(k), int(b[0]), int(b[1])) for k, b in zip(okw[r], ob[r])]
            if got != want:
                print(f"{pid}: occurrences {got} != {want}")
                bad += 1
            for (ki, b, e), (tk0, tk1) in zip(want, ot[r].tolist()):
                n += 1
                cover = [t for t in range(len(off)) if off[t][1] > off[t][0] and off[t][0] < e and off[t][1] > b]
                if (cover and (tk0, tk1) != (cover[0], cover[-1] + 1)) or (not cover and (tk0, tk1) != (-1, -1)):
                    print(f"{pid}: keyword {kws[ki]!r} at [{b},{e}) -> tokens [{tk0},{tk1}), want {cover}")
                    bad += 1
                if cover and (off[tk0][0] > b or off[tk1 - 1][1] < e):
                    print(f"{pid}: tokens [{tk0},{tk1}) do not cover bytes [{b},{e})")
                    bad += 1
    print(f"check_reduce spans: {path}: {n} occurrences, {bad} problems")
    return 1 if bad or n == 0 else 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "same":
        sys.exit(same(sys.argv[2:]))
    if len(sys.argv) == 3 and sys.argv[1] == "spans":
        sys.exit(spans(sys.argv[2]))
    print(__doc__)
    sys.exit(2)
