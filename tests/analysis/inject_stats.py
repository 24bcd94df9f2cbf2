#!/usr/bin/python3
"""inject_stats.py OUT.h5 - give a real attnsweep file the /summary statistics of issue 12
(statistics by label, contrasts, layer sensitivity, js_pairs; docs/FORMAT.md) when its reduce
stage did not write them, so that the report's scale test exercises those sections on a real
2,000-prompt file. A file that already has /summary/label_value is left alone (exit 0, says so).

This is a stand-in with the contract's names, shapes and dimension scales, computed here with
plain h5py + numpy from /metrics (independently of analysis/): by = [group, variant]; label
means and std are exact; the intervals are normal approximations (mean ± 1.96 se) where the
reduce stage uses a bootstrap; contrasts cot-plain and fewshot-plain (column group, paired on
variant); the sensitivity ratio is the one-way ANOVA F ratio with a ±20% stand-in interval;
js_pairs counts V(V-1)/2 pairs for groups sharing at least 4 tokens, else 0. The report test
checks that report.md quotes these numbers, not that they are the reduce stage's.
"""
import sys

import h5py
import numpy as np

Z = 1.959964


def strs(ds):
    return [x.decode() if isinstance(x, bytes) else str(x) for x in ds.asstr()[()]]


def sdt(v):
    w = max([1] + [len(s.encode()) for s in v])
    return np.array([s.encode() for s in v], dtype=f"S{w}")


def put(g, name, data, *scales, scale_name=None):
    if name in g:
        del g[name]
    if isinstance(data, list) and data and isinstance(data[0], str):
        ds = g.create_dataset(name, data=sdt(data))
        ds.attrs["_Encoding"] = "utf-8"
    else:
        ds = g.create_dataset(name, data=data)
    if scale_name:
        ds.make_scale(scale_name)
    for i, s in enumerate(scales):
        ds.dims[i].attach_scale(s)
    return ds


def ragged(m, count, start, n_prompts):
    cnt, st = m[count][()].astype(np.int64), m[start][()].astype(np.int64)
    owner = np.repeat(np.arange(n_prompts), cnt)
    idx = np.repeat(st, cnt) + np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    return owner, idx


def label_stats(X, codes, G):
    """mean, std, lo, hi [G, ...] of X [n, ...] (NaN left out) and the count [G, ...]."""
    ok = np.isfinite(X)
    n = np.zeros((G,) + X.shape[1:])
    s = np.zeros_like(n)
    np.add.at(n, codes, ok)
    np.add.at(s, codes, np.where(ok, X, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        ss = np.zeros_like(n)
        np.add.at(ss, codes, np.where(ok, X - mean[codes], 0) ** 2)
        std = np.sqrt(ss / (n - 1))
        se = std / np.sqrt(n)
    return mean, std, mean - Z * se, mean + Z * se, n


def main(path):
    f = h5py.File(path, "r+")
    S, M = f["summary"], f["metrics"]
    if "label_value" in S:
        print(f"inject_stats.py: {path} already has the label statistics: left alone")
        return 0
    N, L = len(f["sweep/prompt"]), int(f.attrs["n_layers"])
    rows = np.asarray(S["prompt_index"][()], np.int64)
    cols = {"group": np.array(strs(f["sweep/group"]), dtype=object)[rows],
            "variant": np.array(strs(f["sweep/variant"]), dtype=object)[rows]}
    # per-prompt quantities of the summarized prompts
    Q = {"layer_entropy": M["layer_entropy"][()][rows]}
    for q, src in (("head_entropy", "head_entropy"), ("sink", "sink_last"),
                   ("prev_token", "prev_token"), ("induction", "induction")):
        Q[q] = M[src][()][rows]
    owner, idx = ragged(M, "span_count", "span_start", N)
    names = np.array(strs(M["span_name"]), dtype=object)[idx]
    kind = M["span_kind"][()][idx]
    spans = list(dict.fromkeys(names[kind == 0]))
    spans += [s for s in ("prefix", "question") if s not in spans]
    sm = np.full((N, len(spans), L), np.nan)
    pos = np.array([spans.index(s) for s in names])
    present = M["span_tokens"][()][idx, 0] >= 0
    sm[owner[present], pos[present]] = M["span_mass"][()][idx][present].mean(axis=-1)
    Q["span_mass"] = sm[rows]
    kws = strs(M["keyword"])
    owner, idx = ragged(M, "keyword_occ_count", "keyword_occ_start", N)
    k = M["keyword_occ_keyword"][()][idx]
    km = np.zeros((N, len(kws), L))
    np.add.at(km, (owner, k), M["keyword_occ_mass_layer"][()][idx])
    seen = np.zeros((N, len(kws)), bool)
    seen[owner, k] = True
    km[~seen] = np.nan
    Q["keyword_mass"] = km[rows]
    # labels
    by = ["group", "variant"]
    labels, codes = [], {}
    for c in by:
        vals = sorted(set(cols[c]), key=lambda s: s.encode())
        base = len(labels)
        labels += [(c, v) for v in vals]
        p = {v: base + i for i, v in enumerate(vals)}
        codes[c] = np.array([p[v] for v in cols[c]])
    NL = len(labels)
    S.attrs["bootstrap_resamples"] = np.int64(1000)
    S.attrs["bootstrap_seed"] = np.uint64(20260131)
    S.attrs["confidence"] = 0.95
    S.attrs["js_min_shared"] = np.int64(4)
    lab = put(S, "label", [f"{c}={v}" for c, v in labels], scale_name="label")
    put(S, "label_value", [v for _, v in labels], lab)
    put(S, "label_column", [c for c, _ in labels], lab)
    sby = put(S, "by", by, scale_name="by")
    spn = put(S, "span_name", spans, scale_name="span_name")
    skw = put(S, "keyword", kws, scale_name="keyword")
    sl, sh = S["layer"], S["head"]
    counts = np.zeros(NL, np.int32)
    for c in by:
        counts += np.bincount(codes[c], minlength=NL).astype(np.int32)
    put(S, "label_count", counts, lab)
    axes = {"layer_entropy": (sl,), "span_mass": (spn, sl), "keyword_mass": (skw, sl)}
    for q, X in Q.items():
        out = [np.full((NL,) + X.shape[1:], np.nan) for _ in range(5)]
        for c in by:
            r = label_stats(X, codes[c], NL)
            for o, v in zip(out, r):
                sel = np.unique(codes[c])
                o[sel] = v[sel]
        for s, v in zip(("mean", "std", "lo", "hi"), out[:4]):
            put(S, f"by_{q}_{s}", v, lab, *axes.get(q, (sl, sh)))
        if q == "span_mass":
            put(S, "by_span_count", out[4].max(axis=-1).astype(np.int32), lab, spn)
        if q == "keyword_mass":
            put(S, "by_keyword_count", out[4].max(axis=-1).astype(np.int32), lab, skw)
    # contrasts: group a - group b, paired on variant
    con = [("cot-plain", "cot", "plain"), ("fewshot-plain", "fewshot", "plain")]
    sc = put(S, "contrast", [c[0] for c in con], scale_name="contrast")
    put(S, "contrast_name", [c[0] for c in con], sc)
    put(S, "contrast_column", ["group"] * len(con), sc)
    put(S, "contrast_a", [c[1] for c in con], sc)
    put(S, "contrast_b", [c[2] for c in con], sc)
    npairs = []
    per_layer = {q: (Q[q] if q in ("layer_entropy", "span_mass", "keyword_mass")
                     else np.nanmean(Q[q], axis=-1)) for q in
                 ("layer_entropy", "sink", "prev_token", "induction", "span_mass", "keyword_mass")}
    res = {q: [] for q in per_layer}
    span_cnt, kw_cnt = [], []
    g, v = cols["group"], cols["variant"]
    for _, a, b in con:
        ia = {x: i for i, x in enumerate(v) if g[i] == a}
        ib = {x: i for i, x in enumerate(v) if g[i] == b}
        both = sorted(set(ia) & set(ib))
        pa, pb = np.array([ia[x] for x in both], int), np.array([ib[x] for x in both], int)
        npairs.append(len(both))
        for q, cnt in (("span_mass", span_cnt), ("keyword_mass", kw_cnt)):
            X = per_layer[q]
            cnt.append((np.isfinite(X[pa]) & np.isfinite(X[pb])).any(axis=-1).sum(axis=0))
        for q, X in per_layer.items():
            d = X[pa] - X[pb]
            with np.errstate(invalid="ignore"):
                m = np.nanmean(d, axis=0) if len(d) else np.full(X.shape[1:], np.nan)
                n = np.isfinite(d).sum(axis=0)
                se = np.nanstd(d, axis=0, ddof=1) / np.sqrt(n) if len(d) > 1 else m * np.nan
                same = (np.sign(d) == np.sign(m)).sum(axis=0) / np.maximum(n, 1)
            res[q].append((m, m - Z * se, m + Z * se, np.where(n > 0, same, np.nan)))
    put(S, "contrast_n_pairs", np.array(npairs, np.int32), sc)
    put(S, "contrast_span_count", np.array(span_cnt, np.int32), sc, spn)
    put(S, "contrast_keyword_count", np.array(kw_cnt, np.int32), sc, skw)
    for q, lst in res.items():
        for k, s in enumerate(("mean", "lo", "hi", "same_sign")):
            put(S, f"contrast_{q}_{s}", np.stack([x[k] for x in lst]), sc,
                *axes.get(q, (sl,)))
    # sensitivity: one-way ANOVA F ratio of the layer entropy per by column
    X = Q["layer_entropy"]
    ratio = np.zeros((len(by), L))
    for bi, c in enumerate(by):
        cc = codes[c]
        G = len(np.unique(cc))
        n = np.bincount(cc, minlength=NL)[np.unique(cc)]
        means = np.array([X[cc == u].mean(axis=0) for u in np.unique(cc)])
        grand = X.mean(axis=0)
        ssb = (n[:, None] * (means - grand) ** 2).sum(axis=0)
        ssw = sum(((X[cc == u] - means[i]) ** 2).sum(axis=0) for i, u in enumerate(np.unique(cc)))
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio[bi] = (ssb / (G - 1)) / (ssw / (len(X) - G)) if G > 1 and len(X) > G \
                else np.nan
    put(S, "sensitivity_ratio", ratio, sby, sl)
    put(S, "sensitivity_lo", ratio * 0.8, sby, sl)
    put(S, "sensitivity_hi", ratio * 1.25, sby, sl)
    # each layer's rank, 0 = the largest ratio (NaN last, ties to the lower layer)
    order = np.argsort(-np.where(np.isnan(ratio), -np.inf, ratio), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(L)[None, :].repeat(len(by), 0), axis=1)
    put(S, "sensitivity_rank", rank.astype(np.int32), sby, sl)
    V = S["group_count"][()].astype(np.int64)
    shared = S["n_shared_tokens"][()]
    pairs = np.where(shared >= 4, np.minimum(V * (V - 1) // 2, 32 * V), 0).astype(np.int32)
    put(S, "js_pairs", pairs, S["group"])
    f.close()
    print(f"inject_stats.py: {path}: {NL} labels, {len(con)} contrasts, by {by}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
