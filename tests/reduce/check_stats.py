#!/usr/bin/python3
"""check_stats.py F.h5 [--json F.json] - the statistics across prompts of /summary
(docs/METRICS.md "Statistics across prompts", docs/FORMAT.md) recomputed independently with
numpy from /sweep, /metrics and /tokens:

  - the labels of every /summary/by column (values sorted: numbers numerically, strings bytewise;
    empty strings, NaN and missing flags left out), their counts;
  - per label: mean and std (ddof 1) of layer_entropy, the head-mean span masses and the keyword
    masses (prompts without the span / keyword left out) and of the per-head quantities; the
    per-head intervals (mean -+ 1.96 std / sqrt(n)); the bootstrap intervals satisfy
    lo <= mean <= hi (NaN below 2 prompts);
  - contrasts: the pairs (agreeing on pair_on), the mean difference and the fraction of pairs with
    its sign; lo <= mean <= hi;
  - sensitivity: the one-way ANOVA ratio of layer entropy and the ranks;
  - JS divergence: each group's pairs on their common token suffix (js_min_shared), js_pairs and
    n_shared_tokens;
  - the settings attributes; with --json, the same numbers under "statistics".
Exit 0 = all agree, 1 = a mismatch."""
import json
import sys
import warnings

import h5py
import numpy as np

FAILS = 0
CHECKS = 0
Z = 1.959963984540054


def check(ok, what):
    global FAILS, CHECKS
    CHECKS += 1
    if not ok:
        FAILS += 1
        print("FAIL", what)


def close(a, b, what, tol=1e-9):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True)
    check(ok, f"{what}: {a.ravel()[:6]} vs {b.ravel()[:6]}")


def strs(d):
    return [x.decode() if isinstance(x, bytes) else str(x) for x in np.asarray(d).ravel()]


def value_text(v, kind, meanings=None, base=0):
    if kind == "str":
        return v
    if kind == "flag":
        k = int(v) - base
        return meanings[k] if 0 <= k < len(meanings) else str(int(v))
    if kind == "int":
        return str(int(v))
    for p in range(15, 18):
        t = "%.*g" % (p, v)
        if float(t) == v:
            return t
    return t


def column(f, name):
    """(values per /sweep row, kind, missing mask, sort keys)."""
    d = f["sweep"][name]
    a = d[()]
    if a.dtype.kind in "SO":
        vals = strs(a)
        return vals, "str", np.array([v == "" for v in vals]), [v.encode() for v in vals]
    if "flag_meanings" in d.attrs:
        fm = d.attrs["flag_meanings"]
        fm = (fm.decode() if isinstance(fm, bytes) else str(fm)).split()
        base = int(np.asarray(d.attrs["flag_values"]).ravel()[0]) if "flag_values" in d.attrs else 0
        txt = [value_text(v, "flag", fm, base) for v in a]
        return txt, "flag", np.array([t == "missing" for t in txt]), [int(v) for v in a]
    if a.dtype.kind in "iu":
        return [str(int(v)) for v in a], "int", np.zeros(len(a), bool), [int(v) for v in a]
    return [value_text(v, "float") if v == v else "" for v in a], "float", np.isnan(a), list(a)


def main():
    path = sys.argv[1]
    jpath = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    f = h5py.File(path, "r")
    S, M = f["summary"], f["metrics"]
    rows = S["prompt_index"][()].astype(np.int64)
    n, L, H = len(rows), int(f.attrs["n_layers"]), int(f.attrs["n_heads"])
    # settings
    B = int(S.attrs["bootstrap_resamples"])
    js_min = int(S.attrs["js_min_shared"])
    check(float(S.attrs["confidence"]) == 0.95 and B >= 1, "settings attributes")
    # per-prompt quantities (summary rows j = 0..n-1)
    le = M["layer_entropy"][()][rows]
    head = {q: M[q][()][rows] for q in ("head_entropy", "sink_last", "prev_token", "induction")}
    span_names = strs(S["span_name"])
    keywords = strs(S["keyword"])
    NS, NK = len(span_names), len(keywords)
    sc, ss = M["span_count"][()], M["span_start"][()]
    sn, st, sm = strs(M["span_name"]), M["span_tokens"][()], M["span_mass"][()]
    span = np.full((n, NS, L), np.nan)
    for j, i in enumerate(rows):
        for s in range(ss[i], ss[i] + sc[i]):
            u = span_names.index(sn[s])
            if st[s][0] >= 0 and np.isnan(span[j, u, 0]):
                span[j, u] = sm[s].mean(axis=1)
    kw = np.full((n, NK, L), np.nan)
    if NK:
        oc, os_ = M["keyword_occ_count"][()], M["keyword_occ_start"][()]
        ok_, oml = M["keyword_occ_keyword"][()], M["keyword_occ_mass_layer"][()]
        for j, i in enumerate(rows):
            for o in range(os_[i], os_[i] + oc[i]):
                k = ok_[o]
                kw[j, k] = np.where(np.isnan(kw[j, k]), 0, kw[j, k]) + oml[o]
    # declared span names first (first appearance), then prefix, question
    check(span_names[-2:] == ["prefix", "question"] or not {"prefix", "question"} <= set(span_names),
          f"span_name order {span_names}")
    # labels
    by = strs(S["by"])
    labels = strs(S["label"])
    counts = S["label_count"][()]
    want = []
    members = []
    for b in by:
        vals, kind, miss, keys = column(f, b)
        pres = [j for j in range(n) if not miss[rows[j]]]
        distinct = sorted({keys[rows[j]] for j in pres})
        for key in distinct:
            mem = [j for j in pres if keys[rows[j]] == key]
            want.append(f"{b}={vals[rows[mem[0]]]}")
            members.append(np.array(mem))
    check(labels == want, f"labels {labels[:6]} vs {want[:6]}")
    check(counts.tolist() == [len(m) for m in members], "label counts")
    if labels != want:
        return 1

    def stat_check(name, x, mem, lab, bootstrap):
        """x: (n, ...) with NaN = absent; compares S[name_*][lab]."""
        v = x[mem]
        cnt = np.sum(~np.isnan(v), axis=0)
        with np.errstate(all="ignore"):
            mean = np.where(cnt > 0, np.nansum(v, axis=0) / np.maximum(cnt, 1), np.nan)
            dev = np.where(np.isnan(v), 0, v - mean)
            std = np.where(cnt > 1, np.sqrt((dev ** 2).sum(axis=0) / np.maximum(cnt - 1, 1)), np.nan)
        close(S[name + "_mean"][lab], mean, f"{name}_mean[{labels[lab]}]")
        close(S[name + "_std"][lab], std, f"{name}_std[{labels[lab]}]")
        lo, hi = S[name + "_lo"][lab], S[name + "_hi"][lab]
        if bootstrap:
            okk = (cnt < 2) | ((lo <= mean + 1e-12) & (mean <= hi + 1e-12))
            check(np.all(okk), f"{name}[{labels[lab]}]: lo <= mean <= hi")
            check(np.all(np.isnan(lo[cnt < 2])), f"{name}[{labels[lab]}]: NaN interval below 2")
        else:
            with np.errstate(all="ignore"):
                hw = Z * std / np.sqrt(cnt)
            close(lo, mean - hw, f"{name}_lo[{labels[lab]}]")
            close(hi, mean + hw, f"{name}_hi[{labels[lab]}]")
        return cnt

    for lab, mem in enumerate(members):
        stat_check("by_layer_entropy", le, mem, lab, True)
        c = stat_check("by_span_mass", span, mem, lab, True)
        check(np.array_equal(S["by_span_count"][lab], c[:, 0]), "by_span_count")
        c = stat_check("by_keyword_mass", kw, mem, lab, True)
        if NK:
            check(np.array_equal(S["by_keyword_count"][lab], c[:, 0]), "by_keyword_count")
        for q, name in (("head_entropy", "by_head_entropy"), ("sink_last", "by_sink"),
                        ("prev_token", "by_prev_token"), ("induction", "by_induction")):
            stat_check(name, head[q], mem, lab, False)
    # sensitivity: one-way ANOVA of layer entropy per by column
    ratio, rank = S["sensitivity_ratio"][()], S["sensitivity_rank"][()]
    for b, name in enumerate(by):
        mems = [m for lab, m in enumerate(members) if labels[lab].startswith(name + "=")]
        N, K = sum(len(m) for m in mems), len(mems)
        want_r = np.full(L, np.nan)
        if K >= 2 and N - K >= 1:
            allx = np.concatenate([le[m] for m in mems])
            mu = allx.mean(axis=0)
            ssb = sum(len(m) * (le[m].mean(axis=0) - mu) ** 2 for m in mems)
            ssw = sum(((le[m] - le[m].mean(axis=0)) ** 2).sum(axis=0) for m in mems)
            with np.errstate(all="ignore"):
                want_r = np.where(ssw > 0, (ssb / (K - 1)) / (ssw / (N - K)), np.where(ssb > 0, np.inf, np.nan))
        close(ratio[b], want_r, f"sensitivity_ratio[{name}]", tol=1e-7)
        order = sorted(range(L), key=lambda l: (np.isnan(ratio[b][l]), -ratio[b][l] if not np.isnan(ratio[b][l]) else 0, l))
        check([order.index(l) for l in range(L)] == rank[b].tolist(), f"sensitivity_rank[{name}] {rank[b]}")
        lo_, hi_ = S["sensitivity_lo"][b], S["sensitivity_hi"][b]
        fin = np.isfinite(ratio[b]) & np.isfinite(lo_)
        check(bool(np.all((lo_[fin] <= ratio[b][fin]) & (ratio[b][fin] <= hi_[fin]) & (lo_[fin] >= 0))),
              f"sensitivity[{name}]: the interval [{lo_}, {hi_}] does not cover the ratio {ratio[b]}")
    # contrasts: pairs agreeing on pair_on, a - b of the side means, mean and same_sign
    cn = strs(S["contrast"])
    quant = {"layer_entropy": le[:, None, :]}
    for q, hname in (("sink", "sink_last"), ("prev_token", "prev_token"), ("induction", "induction")):
        quant[q] = head[hname].mean(axis=2)[:, None, :]
    quant["span_mass"], quant["keyword_mass"] = span, kw
    for c, name in enumerate(cn):
        col, a, bb = (strs(S[k])[c] for k in ("contrast_column", "contrast_a", "contrast_b"))
        on = strs(S["contrast_pair_on"])[c].split(",")
        check(strs(S["contrast_name"])[c] == name, "contrast_name")
        vals, kind, miss, keys = column(f, col)
        ons = [column(f, o) for o in on]

        def side(i):
            if miss[i]:
                return -1
            for w, v in ((0, a), (1, bb)):
                if kind in ("str", "flag") and vals[i] == v:
                    return w
                if kind in ("int", "float", "flag"):
                    try:
                        if float(keys[i]) == float(v):
                            return w
                    except ValueError:
                        pass
            return -1
        groups = {}
        for j, i in enumerate(rows):
            sd = side(i)
            if sd < 0 or any(o[2][i] for o in ons):
                continue
            groups.setdefault(tuple(o[3][i] for o in ons), ([], []))[sd].append(j)
        prs = [g for _, g in sorted(groups.items()) if g[0] and g[1]]
        check(int(S["contrast_n_pairs"][c]) == len(prs), f"contrast {name}: {S['contrast_n_pairs'][c]} pairs, want {len(prs)}")
        for q, x in quant.items():
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a side without the quantity
                d = np.array([np.nanmean(x[pa], axis=0) - np.nanmean(x[pb], axis=0) for pa, pb in prs]) \
                    if prs else np.full((0,) + x.shape[1:], np.nan)
                cnt = np.sum(~np.isnan(d), axis=0)
                mean = np.where(cnt > 0, np.nansum(d, axis=0) / np.maximum(cnt, 1), np.nan)
                agree = (np.sign(d) == np.sign(mean)) & ~np.isnan(d)
                same = np.where(cnt > 0, np.sum(agree, axis=0) / np.maximum(cnt, 1), np.nan)
            got = S[f"contrast_{q}_mean"][c]
            got = got[None, :] if got.ndim == 1 else got
            close(got, mean, f"contrast {name} {q} mean")
            gs_ = S[f"contrast_{q}_same_sign"][c]
            close(gs_[None, :] if gs_.ndim == 1 else gs_, same, f"contrast {name} {q} same_sign")
            lo, hi = S[f"contrast_{q}_lo"][c], S[f"contrast_{q}_hi"][c]
            m = S[f"contrast_{q}_mean"][c]
            check(np.all(np.isnan(lo) | ((lo <= m + 1e-12) & (m <= hi + 1e-12))), f"contrast {name} {q}: lo <= mean <= hi")
        print(f"contrast {name}: {col} {a} - {bb} on {on}: {len(prs)} pairs")
    # JS divergence on each pair's common token suffix
    gc, gs = S["group_count"][()], S["group_start"][()]
    mpi = S["member_prompt_index"][()]
    T, t0 = f["sweep/n_tokens"][()], f["sweep/token_start"][()]
    tid = f["tokens/token_id"][()]
    lrm = M["last_row_mean"][()]
    for g, gname in enumerate(strs(S["group"])):
        mem = mpi[gs[g]:gs[g] + gc[g]]
        V = len(mem)
        pairs = [(a, b) for a in range(V) for b in range(a + 1, V)] if V <= 64 else \
            [(v, (v + k) % V) for v in range(V) for k in range(1, 33)]
        acc, cnt, used, minsh = np.zeros(L), np.zeros(L), 0, 0
        for a, b in pairs:
            ia, ib = tid[t0[mem[a]]:t0[mem[a]] + T[mem[a]]], tid[t0[mem[b]]:t0[mem[b]] + T[mem[b]]]
            k = 0
            while k < min(len(ia), len(ib)) and ia[-1 - k] == ib[-1 - k]:
                k += 1
            if k < js_min:
                continue
            used += 1
            minsh = k if used == 1 else min(minsh, k)
            for l in range(L):
                p = lrm[t0[mem[a]] + T[mem[a]] - k:t0[mem[a]] + T[mem[a]], l].copy()
                q = lrm[t0[mem[b]] + T[mem[b]] - k:t0[mem[b]] + T[mem[b]], l].copy()
                p, q = p / p.sum(), q / q.sum()
                mm = (p + q) / 2
                with np.errstate(all="ignore"):
                    js = 0.5 * np.sum(np.where(p > 0, p * np.log(p / mm), 0)) + \
                        0.5 * np.sum(np.where(q > 0, q * np.log(q / mm), 0))
                acc[l] += js
                cnt[l] += 1
        with np.errstate(all="ignore"):
            want_js = np.where(cnt > 0, acc / np.maximum(cnt, 1), np.nan)
        close(S["js_divergence"][g], want_js, f"js_divergence[{gname}]", tol=1e-10)
        check(int(S["js_pairs"][g]) == used, f"js_pairs[{gname}] {S['js_pairs'][g]} vs {used}")
        check(int(S["n_shared_tokens"][g]) == minsh, f"n_shared_tokens[{gname}]")
    if jpath:
        js = json.load(open(jpath))["statistics"]
        check(js["settings"]["bootstrap_resamples"] == B, "json settings")
        for lab, l in enumerate(labels):
            b, v = l.split("=", 1)
            e = js["by"][b][v]
            check(e["count"] == int(counts[lab]), f"json count {l}")
            close(np.array(e["layer_entropy"]["lo"], dtype=float), S["by_layer_entropy_lo"][lab], f"json lo {l}", tol=0)
        for b, name in enumerate(by):
            close(np.array(js["sensitivity"][name]["ratio"], dtype=float), ratio[b], f"json sensitivity {name}", tol=0)
    print(f"check_stats: {path}: {len(labels)} labels, {len(cn)} contrasts, {CHECKS} checks, {FAILS} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
