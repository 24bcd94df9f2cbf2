#!/usr/bin/python3
"""Checks for the reduce tests (h5py).

  check_reduce.py same A.h5 B.h5 [C.h5 ...]   every /prompts/*/metrics/* and /summary/* dataset
                                              of B, C, ... equals A's exactly (NaN == NaN)
  check_reduce.py spans F.h5                  keyword occurrences: the byte spans are the
                                              keyword (ASCII case-insensitive), every occurrence
                                              is listed, and the token spans cover exactly the
                                              tokens that overlap it
"""
import sys

import h5py
import numpy as np


def collect(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and (name.startswith("summary") or "/metrics/" in name):
                out[name] = obj[()]
        f.visititems(visit)
    return out


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
            b = other[k]
            eq = a.shape == b.shape and (np.array_equal(a, b) or (
                a.dtype.kind == "f" and np.array_equal(a, b, equal_nan=True)))
            if not eq:
                print(f"{p}: {k} differs from {paths[0]}")
                bad += 1
    print(f"check_reduce same: {len(ref)} datasets x {len(paths) - 1} files, {bad} differences")
    return 1 if bad else 0


def spans(path):
    bad = n = 0
    with h5py.File(path, "r") as f:
        for pid in [x.decode() for x in f["sweep/prompt"][()]]:
            g = f["prompts/" + pid]
            if "metrics" not in g:
                continue
            m = g["metrics"]
            text = g.attrs["text"]
            text = text.encode() if isinstance(text, str) else text
            off = g["offsets"][()]
            kws = [k.decode().encode() for k in m["keywords"][()]]
            want = []
            for ki, kw in enumerate(kws):
                for p in range(len(text) - len(kw) + 1):
                    if text[p:p + len(kw)].lower() == kw.lower():
                        want.append((ki, p, p + len(kw)))
            got = list(zip(m["keyword_occ_keyword"][()].tolist(),
                           m["keyword_occ_bytes"][()][:, 0].tolist() if len(want) else [],
                           m["keyword_occ_bytes"][()][:, 1].tolist() if len(want) else []))
            if got != want:
                print(f"{pid}: occurrences {got} != {want}")
                bad += 1
            for (ki, b, e), (t0, t1) in zip(want, m["keyword_occ_tokens"][()].tolist()):
                n += 1
                cover = [t for t in range(len(off)) if off[t][1] > off[t][0] and off[t][0] < e and off[t][1] > b]
                if (cover and (t0, t1) != (cover[0], cover[-1] + 1)) or (not cover and t0 != -1):
                    print(f"{pid}: keyword {kws[ki]!r} at [{b},{e}) -> tokens [{t0},{t1}), want {cover}")
                    bad += 1
                if cover and (off[t0][0] > b or off[t1 - 1][1] < e):
                    print(f"{pid}: tokens [{t0},{t1}) do not cover bytes [{b},{e})")
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
