#!/usr/bin/python3
"""make_synthetic.py OUT.h5 [--variant NAME] - a small attnsweep file (format 2, store
last_row) written with h5py alone, whose /summary has the issue-12 statistics (statistics by
label, contrasts, layer sensitivity, JS with js_pairs) in exactly the layout of
docs/FORMAT.md, filled with hand-chosen numbers (the HAND dict below), so that a test knows
what the report must print without running any code under test.

The sweep: group "math" (3 items x {plain, cot}), group "fewshot" (0-, 1-, 2-shot with
example_answer_1/2 spans) and group "solo" (one prompt); /sweep metadata columns "style"
(plain, cot, 0-shot, 1-shot, 2-shot) and "item"; analysis.by = [group, style]; contrasts
"cot-plain" and "2shot-0shot" on style. 3 layers, 2 heads. Token strings drop a word's
leading space the way HF decode([id]) does (the offsets keep it).

--variant changes one thing, for the report's "cannot answer" paths:
  full         (default) everything above
  no-contrasts no contrast (the contrast datasets have length 0, as the reduce stage writes)
  zero-pairs   the contrasts exist but pair nothing (contrast_n_pairs = 0)
  few-pairs    the contrasts have 2 pairs each (too few to answer yes or no), and the
               sensitivity interval of `group` reaches below 1
  no-examples  no example_answer* span anywhere
  one-label    analysis.by = [group] with only the math group's prompts done: one label, NaN
               sensitivity, no usable JS
"""
import argparse
import re

import h5py
import numpy as np

L, H = 3, 2
NAN = float("nan")

PROMPTS = [  # (group, variant, style, item, text)
    ("math", "plain_1", "plain", 1, "What is 1 plus 2?"),
    ("math", "cot_1", "cot", 1, "Let's think step by step.\n\nWhat is 1 plus 2?"),
    ("math", "plain_2", "plain", 2, "What is 3 plus 4?"),
    ("math", "cot_2", "cot", 2, "Let's think step by step.\n\nWhat is 3 plus 4?"),
    ("math", "plain_3", "plain", 3, "What is 5 plus 6?"),
    ("math", "cot_3", "cot", 3, "Let's think step by step.\n\nWhat is 5 plus 6?"),
    ("fewshot", "0-shot", "0-shot", 7, "Q: What is 7 plus 8?\nA:"),
    ("fewshot", "1-shot", "1-shot", 7, "Q: What is 3 plus 4?\nA: 7\nQ: What is 7 plus 8?\nA:"),
    ("fewshot", "2-shot", "2-shot", 7, "Q: What is 3 plus 4?\nA: 7\nQ: What is 9 plus 6?\n"
     "A: 15\nQ: What is 7 plus 8?\nA:"),
    ("solo", "only", "plain", 9, "Once upon a time\tthere was a cat."),
]
KEYWORDS = ["plus", "step"]

# ---- the hand-chosen /summary statistics (labels in contract order: by columns in `by`
# order, values sorted bytewise) ------------------------------------------------------------
LABELS = [("group", "fewshot"), ("group", "math"), ("group", "solo"), ("style", "0-shot"),
          ("style", "1-shot"), ("style", "2-shot"), ("style", "cot"), ("style", "plain")]
LABEL_COUNT = [3, 6, 1, 1, 1, 1, 3, 4]
SPANS = ["question", "example_answer_1", "example_answer_2", "prefix"]
#: contrasts (name, column, a, b); the statistics below are [contrast, ...]
CONTRASTS = [("cot-plain", "style", "cot", "plain"), ("2shot-0shot", "style", "2-shot", "0-shot")]
N_PAIRS = [12, 6]
LE_MEAN = [[1.5, 1.75, 1.6], [2.0, 2.25, 2.1], [1.0, 1.1, 1.05], [1.2, 1.3, 1.25],
           [1.4, 1.5, 1.45], [1.6, 1.7, 1.65], [2.2, 2.4, 2.3], [1.8, 2.05, 1.9]]
HAND = {
    # by_layer_entropy_* [label, layer]; lo / hi NaN for a label of one prompt (filled below)
    "by_layer_entropy_mean": LE_MEAN,
    # by_span_count int32 [label, span_name]: question, example_answer_1, example_answer_2, prefix
    "by_span_count": [[3, 2, 1, 2], [6, 0, 0, 3], [0, 0, 0, 1], [1, 0, 0, 0], [1, 1, 0, 1],
                      [1, 1, 1, 1], [3, 0, 0, 3], [3, 0, 0, 1]],
    "contrast_span_count": [[12, 0, 0, 12], [6, 0, 0, 6]],
    "contrast_span_mass_mean": [[[-0.12, -0.3, -0.2], [NAN] * 3, [NAN] * 3, [0.42, 0.38, 0.4]],
                                [[-0.05, -0.08, 0.01], [NAN] * 3, [NAN] * 3, [NAN] * 3]],
    "contrast_span_mass_lo": [[[-0.2, -0.41, -0.28], [NAN] * 3, [NAN] * 3, [0.3, 0.25, 0.3]],
                              [[-0.1, -0.15, -0.05], [NAN] * 3, [NAN] * 3, [NAN] * 3]],
    "contrast_span_mass_hi": [[[-0.05, -0.2, -0.1], [NAN] * 3, [NAN] * 3, [0.5, 0.45, 0.48]],
                              [[0.01, -0.01, 0.06], [NAN] * 3, [NAN] * 3, [NAN] * 3]],
    "contrast_span_mass_same_sign": [[[1.0, 1.0, 11 / 12], [NAN] * 3, [NAN] * 3,
                                      [1.0, 2 / 3, 1.0]],
                                     [[5 / 6, 1.0, 0.5], [NAN] * 3, [NAN] * 3, [NAN] * 3]],
    "contrast_layer_entropy_mean": [[0.2, 0.15, 0.1], [0.1, -0.05, 0.02]],
    "contrast_layer_entropy_lo": [[0.05, -0.02, -0.01], [-0.1, -0.2, -0.1]],
    "contrast_layer_entropy_hi": [[0.35, 0.3, 0.2], [0.3, 0.1, 0.15]],
    "contrast_layer_entropy_same_sign": [[1.0, 2 / 3, 0.75], [1.0, 1.0, 0.5]],
    "contrast_induction_mean": [[0.001, 0.002, 0.0], [0.004, 0.016, 0.008]],
    "contrast_induction_lo": [[-0.001, -0.001, -0.002], [-0.002, 0.01, 0.001]],
    "contrast_induction_hi": [[0.003, 0.005, 0.002], [0.01, 0.022, 0.015]],
    "contrast_induction_same_sign": [[2 / 3, 2 / 3, 0.5], [1.0, 1.0, 5 / 6]],
    # [by, layer]; sensitivity_rank gives each layer its rank (0 = the largest ratio)
    "sensitivity_ratio": [[3.5, 12.0, 7.0], [0.8, 0.4, 0.6]],
    "sensitivity_lo": [[1.2, 6.0, 3.0], [0.1, 0.05, 0.1]],
    "sensitivity_hi": [[6.1, 20.5, 11.0], [2.0, 1.5, 1.8]],
    "sensitivity_rank": [[2, 0, 1], [0, 2, 1]],
    # js_divergence [group, layer]: groups math, fewshot, solo (order of first summarized prompt)
    "js_divergence": [[0.1, 0.07, 0.05], [0.02, 0.05, 0.03], [NAN] * 3],
    "js_pairs": [15, 3, 0],
}


def with_ci(mean, counts, lo_off, hi_off):
    """(mean, std, lo, hi): lo / hi = mean - lo_off / + hi_off, std 0.1; NaN (std, lo, hi) for
    labels of one prompt and NaN everywhere for none, as the reduce stage writes them."""
    mean = np.array(mean, np.float64)
    c = np.asarray(counts).reshape(counts.shape + (1,) * (mean.ndim - np.ndim(counts)))
    c = np.broadcast_to(c, mean.shape)
    std = np.where(c >= 2, 0.1, NAN)
    lo = np.where(c >= 2, mean - lo_off, NAN)
    hi = np.where(c >= 2, mean + hi_off, NAN)
    mean = np.where(c >= 1, mean, NAN)
    return mean, std, lo, hi


def span_mass_hand():
    """by_span_mass_* [label, span, layer]."""
    cnt = np.array(HAND["by_span_count"])
    base = np.array([0.3, 0.25, 0.1, 0.4])                 # per span
    mean = (base[None, :, None] + 0.01 * np.arange(8)[:, None, None]
            + np.array([0.0, 0.05, 0.02])[None, None, :])
    mean[0, 1] = [0.25, 0.5, 0.3]    # group=fewshot on example_answer_1: the peak (layer 1)
    m, s, lo, hi = with_ci(mean, cnt, 0.05, 0.05)
    lo[0, 1], hi[0, 1] = [0.2, 0.4, 0.22], [0.3, 0.6, 0.35]
    return m, s, lo, hi


def tokenize(text):
    """Word-level tokens: (token_str, begin, end). A word keeps its leading space in the
    offsets, not in the string (as HF decode([id]) gives Llama tokens)."""
    out = [("<s>", 0, 0)]
    for m in re.finditer(r" ?[A-Za-z']+| ?[0-9]+|\n|\t| ?[^\sA-Za-z0-9]", text):
        b, e = m.span()
        out.append((m.group().lstrip(" "), len(text[:b].encode()), len(text[:e].encode())))
    return out


def sdt(strings):
    w = max([1] + [len(s.encode("utf-8")) for s in strings])
    return np.array([s.encode("utf-8") for s in strings], dtype=f"S{w}")


def put_str(g, name, strings):
    ds = g.create_dataset(name, data=sdt(strings))
    ds.attrs["_Encoding"] = "utf-8"
    return ds


def scale(g, name, data, scale_name=None):
    ds = put_str(g, name, data) if data and isinstance(data[0], str) \
        else g.create_dataset(name, data=np.asarray(data, np.int32))
    ds.make_scale(scale_name or name)
    return ds


def attach(ds, *scales):
    for i, s in enumerate(scales):
        if s is not None:
            ds.dims[i].attach_scale(s)
    return ds


def build(path, variant):
    rows = PROMPTS
    done = np.ones(len(rows), bool)
    if variant == "one-label":
        done[:] = [g == "math" for g, *_ in rows]
    texts = [r[4] for r in rows]
    toks = [tokenize(t) for t in texts]
    T = np.array([len(t) for t in toks])
    tstart = np.concatenate([[0], np.cumsum(T)[:-1]])
    NT = int(T.sum())
    vocab = {}
    tok_id = [vocab.setdefault(s, len(vocab)) for t in toks for s, _, _ in t]
    # last rows: row k of prompt i, layer l, head h proportional to (k + 1)^(l + h) -> BOS low
    last = np.zeros((NT, L, H))
    for i in range(len(rows)):
        k = np.arange(T[i], dtype=np.float64)
        for l in range(L):
            for h in range(H):
                w = (k + 1.0) ** (l + h)
                last[tstart[i]:tstart[i] + T[i], l, h] = w / w.sum()
    f = h5py.File(path, "w")
    a = f.attrs
    a["format"] = "attnsweep"
    a["format_version"] = np.int32(2)
    a["store"], a["dtype"] = "last_row", "float32"
    a["n_prompts"], a["n_tokens_total"] = np.int64(len(rows)), np.int64(NT)
    a["n_layers"], a["n_heads"] = np.int32(L), np.int32(H)
    a["attnsweep_version"], a["created_utc"] = "synthetic", "2026-01-31T12:00:00Z"
    a["n_ranks"] = np.int32(1)
    a["command_line"] = "tests/analysis/make_synthetic.py"
    m = f.create_group("model")
    m.attrs["n_layers"], m.attrs["n_heads"] = np.int32(L), np.int32(H)
    # /sweep
    sw = f.create_group("sweep")
    ids = [f"{g}/{v}" for g, v, *_ in rows]
    sp = scale(sw, "prompt", ids)
    for name, vals in (("group", [r[0] for r in rows]), ("variant", [r[1] for r in rows]),
                       ("style", [r[2] for r in rows])):
        attach(put_str(sw, name, vals), sp)
    attach(sw.create_dataset("item", data=np.array([r[3] for r in rows], np.int64)), sp)
    nt = attach(sw.create_dataset("n_tokens", data=T.astype(np.int32)), sp)
    nt.attrs["sample_dimension"] = "token"
    attach(sw.create_dataset("token_start", data=tstart.astype(np.int64)), sp)
    raw = [t.encode() for t in texts]
    attach(sw.create_dataset("text_start", data=np.concatenate(
        [[0], np.cumsum([len(x) for x in raw])[:-1]]).astype(np.int64)), sp)
    attach(sw.create_dataset("text_length", data=np.array([len(x) for x in raw], np.int32)), sp)
    attach(sw.create_dataset("rank", data=np.zeros(len(rows), np.int32)), sp)
    attach(sw.create_dataset("status", data=np.where(done, 1, 2).astype(np.int8)), sp)
    attach(put_str(sw, "message", ["" if d else "synthetic failure" for d in done]), sp)
    f.create_group("text").create_dataset("utf8", data=np.frombuffer(b"".join(raw), np.uint8))
    # /tokens
    tk = f.create_group("tokens")
    st = scale(tk, "token", list(range(NT)))
    sb = scale(tk, "bound", [0, 1])
    attach(put_str(tk, "token_str", [s for t in toks for s, _, _ in t]), st)
    attach(tk.create_dataset("token_id", data=np.array(tok_id, np.int32)), st)
    attach(tk.create_dataset("offsets", data=np.array([[b, e] for t in toks for _, b, e in t],
                                                       np.int32)), st, sb)
    attach(tk.create_dataset("position", data=np.concatenate([np.arange(n) for n in T])
                             .astype(np.int32)), st)
    attach(tk.create_dataset("prompt_index", data=np.repeat(np.arange(len(rows)), T)
                             .astype(np.int32)), st)
    # /attention
    at = f.create_group("attention")
    al, ah = scale(at, "layer", list(range(L))), scale(at, "head", list(range(H)))
    atok = scale(at, "token", list(range(NT)))
    attach(at.create_dataset("last_row", data=last.astype(np.float32)), atok, al, ah)
    # /metrics
    me = f.create_group("metrics")
    mp = scale(me, "prompt", ids)
    ml, mh = scale(me, "layer", list(range(L))), scale(me, "head", list(range(H)))
    mt = scale(me, "token", list(range(NT)))
    mb = scale(me, "bound", [0, 1])
    attach(me.create_dataset("input", data=np.where(done, 0, -1).astype(np.int8)), mp)
    lrm = last.mean(axis=2)                                                 # [NT, L]
    attach(me.create_dataset("last_row_mean", data=lrm), mt, ml)
    le = np.zeros((len(rows), L))
    for i in range(len(rows)):
        x = lrm[tstart[i]:tstart[i] + T[i]] + 1e-10
        le[i] = -(x * np.log(x)).sum(axis=0)
    attach(me.create_dataset("layer_entropy", data=le), mp, ml)
    heads = {"head_entropy": 1.0, "head_max": 0.5, "sink_last": 0.02, "sink_mean": 0.03,
             "prev_token": 0.1, "norm_entropy": 0.8, "dup_token": 0.01, "induction": 0.016}
    for name, v in heads.items():
        attach(me.create_dataset(name, data=np.full((len(rows), L, H), v)), mp, ml, mh)
    attach(me.create_dataset("head_focus", data=np.zeros((len(rows), L, H), np.int32)),
           mp, ml, mh)
    scale(me, "keyword", KEYWORDS)
    occ = []                                   # (prompt, keyword, b, e, first, end)
    spans = []                                 # (prompt, name, kind, b, e, first, end)
    for i, (g, v, *_r) in enumerate(rows):
        text = texts[i]
        offs = [(b, e) for _, b, e in toks[i]]

        def cover(b, e):
            hit = [k for k, (tb, te) in enumerate(offs) if te > tb and tb < e and te > b]
            return (hit[0], hit[-1] + 1) if hit else (-1, -1)

        for ki, kw in enumerate(KEYWORDS):
            for mm in re.finditer(re.escape(kw), text, flags=re.I):
                occ.append((i, ki, mm.start(), mm.end()) + cover(mm.start(), mm.end()))
        q = text.rfind("What is")
        if g == "math":
            names = [("question", 0, q, len(text))]
        elif g == "fewshot":
            names = [("question", 1, q, len(text))]
            if variant != "no-examples":
                for n, s in (("example_answer_1", "A: 7"), ("example_answer_2", "A: 15")):
                    p = text.find(s)
                    if p >= 0:
                        names.append((n, 0, p, p + len(s)))
        else:
            names = [("question", 1, 0, len(text))]
        names.append(("prefix", 1, 0, q) if q > 0 else ("prefix", 1, -1, -1))
        for n, kind, b, e in names:
            spans.append((i, n, kind, b, e) + (cover(b, e) if b >= 0 else (-1, -1)))
    occ_cnt = np.bincount([o[0] for o in occ], minlength=len(rows))
    oc = attach(me.create_dataset("keyword_occ_count", data=occ_cnt.astype(np.int32)), mp)
    oc.attrs["sample_dimension"] = "occ"
    attach(me.create_dataset("keyword_occ_start", data=np.concatenate(
        [[0], np.cumsum(occ_cnt)[:-1]]).astype(np.int64)), mp)
    mo = scale(me, "occ", list(range(len(occ))))
    attach(me.create_dataset("keyword_occ_keyword", data=np.array([o[1] for o in occ],
                                                                  np.int32)), mo)
    attach(me.create_dataset("keyword_occ_bytes", data=np.array([o[2:4] for o in occ],
                                                                np.int32)), mo, mb)
    attach(me.create_dataset("keyword_occ_tokens", data=np.array([o[4:6] for o in occ],
                                                                 np.int32)), mo, mb)
    ml_occ = np.array([[lrm[tstart[o[0]] + o[4]:tstart[o[0]] + o[5]].sum(axis=0)[l]
                        if o[4] >= 0 else 0.0 for l in range(L)] for o in occ])
    attach(me.create_dataset("keyword_occ_mass_layer", data=ml_occ), mo, ml)
    attach(me.create_dataset("keyword_occ_mass", data=ml_occ[:, -1]), mo)
    sp_cnt = np.bincount([s[0] for s in spans], minlength=len(rows))
    sc = attach(me.create_dataset("span_count", data=sp_cnt.astype(np.int32)), mp)
    sc.attrs["sample_dimension"] = "span"
    attach(me.create_dataset("span_start", data=np.concatenate(
        [[0], np.cumsum(sp_cnt)[:-1]]).astype(np.int64)), mp)
    ms = scale(me, "span", list(range(len(spans))))
    attach(put_str(me, "span_name", [s[1] for s in spans]), ms)
    attach(me.create_dataset("span_kind", data=np.array([s[2] for s in spans], np.int8)), ms)
    attach(me.create_dataset("span_bytes", data=np.array([s[3:5] for s in spans], np.int32)),
           ms, mb)
    attach(me.create_dataset("span_tokens", data=np.array([s[5:7] for s in spans], np.int32)),
           ms, mb)
    smass = np.array([[[last[tstart[s[0]] + s[5]:tstart[s[0]] + s[6], l, h].sum()
                        if s[5] >= 0 else 0.0 for h in range(H)] for l in range(L)]
                      for s in spans])
    attach(me.create_dataset("span_mass", data=smass), ms, ml, mh)
    attach(me.create_dataset("span_lift", data=np.full_like(smass, NAN)), ms, ml, mh)
    build_summary(f, rows, done, variant)
    f.close()


def build_summary(f, rows, done, variant):
    S = f.create_group("summary")
    S.attrs["bootstrap_resamples"] = np.int64(1000)
    S.attrs["bootstrap_seed"] = np.uint64(20260131)
    S.attrs["confidence"] = 0.95
    S.attrs["js_min_shared"] = np.int64(4)
    idx = np.flatnonzero(done)
    ids = [f"{rows[i][0]}/{rows[i][1]}" for i in idx]
    sp = scale(S, "prompt", ids)
    attach(S.create_dataset("prompt_index", data=idx.astype(np.int32)), sp)
    sl, sh = scale(S, "layer", list(range(L))), scale(S, "head", list(range(H)))
    groups = list(dict.fromkeys(rows[i][0] for i in idx))
    sg = scale(S, "group", groups)
    members = [i for g in groups for i in idx if rows[i][0] == g]
    cnt = [sum(1 for i in idx if rows[i][0] == g) for g in groups]
    attach(S.create_dataset("group_count", data=np.array(cnt, np.int32)), sg) \
        .attrs["sample_dimension"] = "member"
    attach(S.create_dataset("group_start", data=np.concatenate([[0], np.cumsum(cnt)[:-1]])
                            .astype(np.int64)), sg)
    sm = scale(S, "member", list(range(len(members))))
    attach(S.create_dataset("member_prompt_index", data=np.array(members, np.int32)), sm)
    attach(put_str(S, "member_variant", [rows[i][1] for i in members]), sm)
    keep = list(range(len(LABELS))) if variant != "one-label" else [1]
    labels = [LABELS[i] for i in keep]
    counts = np.array([LABEL_COUNT[i] for i in keep])
    by = ["group", "style"] if variant != "one-label" else ["group"]
    n = len(labels)
    # scales as the reduce stage writes them: label = "column=value", contrast = the names
    lab = scale(S, "label", [f"{c}={v}" for c, v in labels])
    attach(put_str(S, "label_column", [c for c, _ in labels]), lab)
    attach(put_str(S, "label_value", [v for _, v in labels]), lab)
    attach(S.create_dataset("label_count", data=counts.astype(np.int32)), lab)
    sby = scale(S, "by", by)
    span_keep = [0, 1, 2, 3] if variant != "no-examples" else [0, 3]
    spn = scale(S, "span_name", [SPANS[i] for i in span_keep])
    skw = scale(S, "keyword", KEYWORDS)

    def arr(name):
        return np.asarray(HAND[name], np.float64)

    le = with_ci(np.array(LE_MEAN)[keep], counts, 0.1, 0.15)
    heads = {q: with_ci(np.full((n, L, H), base), counts, 0.01, 0.01)
             for q, base in (("head_entropy", 1.0), ("sink", 0.02), ("prev_token", 0.1),
                             ("induction", 0.016))}
    kw = with_ci(np.full((n, len(KEYWORDS), L), 0.05), np.full((n, len(KEYWORDS)), 2), 0.01,
                 0.01)
    spm = [a[keep][:, span_keep] for a in span_mass_hand()]
    for k, s in enumerate(("mean", "std", "lo", "hi")):
        attach(S.create_dataset(f"by_layer_entropy_{s}", data=le[k]), lab, sl)
        for q, v in heads.items():
            attach(S.create_dataset(f"by_{q}_{s}", data=v[k]), lab, sl, sh)
        attach(S.create_dataset(f"by_keyword_mass_{s}", data=kw[k]), lab, skw, sl)
        attach(S.create_dataset(f"by_span_mass_{s}", data=spm[k]), lab, spn, sl)
    attach(S.create_dataset("by_span_count", data=np.asarray(HAND["by_span_count"], np.int32)
                            [keep][:, span_keep]), lab, spn)
    attach(S.create_dataset("by_keyword_count", data=np.full((n, len(KEYWORDS)), 2, np.int32)),
           lab, skw)
    C = CONTRASTS if variant != "no-contrasts" else []
    NC = len(C)          # without contrasts the datasets exist with length 0
    sc = scale(S, "contrast", [c[0] for c in C]) if C else \
        S.create_dataset("contrast", shape=(0,), dtype="S1")
    if not C:
        sc.make_scale("contrast")
    for k, name in enumerate(("contrast_name", "contrast_column", "contrast_a", "contrast_b")):
        attach(put_str(S, name, [c[k] for c in C]) if C else
               S.create_dataset(name, shape=(0,), dtype="S1"), sc)
    pairs = {"zero-pairs": [0, 0], "few-pairs": [2, 2]}.get(variant, N_PAIRS)
    attach(S.create_dataset("contrast_n_pairs", data=np.array(pairs[:NC], np.int32)), sc)
    spc = np.asarray(HAND["contrast_span_count"], np.int32)[:, span_keep]
    spc = np.minimum(spc, np.array(pairs)[:, None])[:NC]
    attach(S.create_dataset("contrast_span_count", data=spc.reshape(NC, len(span_keep))), sc, spn)
    attach(S.create_dataset("contrast_keyword_count",
                            data=np.zeros((NC, len(KEYWORDS)), np.int32)), sc, skw)
    for s in ("mean", "lo", "hi", "same_sign"):
        for q in ("layer_entropy", "induction"):
            attach(S.create_dataset(f"contrast_{q}_{s}", data=arr(f"contrast_{q}_{s}")[:NC]
                                    .reshape(NC, L)), sc, sl)
        for q in ("sink", "prev_token"):
            attach(S.create_dataset(f"contrast_{q}_{s}", data=np.full((NC, L), NAN)), sc, sl)
        attach(S.create_dataset(f"contrast_span_mass_{s}", data=arr(f"contrast_span_mass_{s}")
                                [:, span_keep][:NC].reshape(NC, len(span_keep), L)), sc, spn, sl)
        attach(S.create_dataset(f"contrast_keyword_mass_{s}",
                                data=np.full((NC, len(KEYWORDS), L), NAN)), sc, skw, sl)
    if variant == "one-label":
        ratio = np.full((1, L), NAN)
        for name in ("sensitivity_ratio", "sensitivity_lo", "sensitivity_hi"):
            attach(S.create_dataset(name, data=ratio), sby, sl)
        attach(S.create_dataset("sensitivity_rank", data=np.arange(L, dtype=np.int32)[None]),
               sby, sl)
        attach(S.create_dataset("js_divergence", data=np.full((1, L), NAN)), sg, sl)
        attach(S.create_dataset("js_pairs", data=np.zeros(1, np.int32)), sg)
        attach(S.create_dataset("n_shared_tokens", data=np.zeros(1, np.int32)), sg)
        return
    for name in ("sensitivity_ratio", "sensitivity_lo", "sensitivity_hi"):
        v = arr(name)
        if variant == "few-pairs" and name == "sensitivity_lo":
            v[0] = [0.5, 0.9, 0.7]           # ratio 12 but an interval reaching below 1
        attach(S.create_dataset(name, data=v), sby, sl)
    attach(S.create_dataset("sensitivity_rank", data=np.asarray(HAND["sensitivity_rank"],
                                                                np.int32)), sby, sl)
    attach(S.create_dataset("js_divergence", data=arr("js_divergence")), sg, sl)
    attach(S.create_dataset("js_pairs", data=np.asarray(HAND["js_pairs"], np.int32)), sg)
    attach(S.create_dataset("n_shared_tokens", data=np.array([6, 11, 0], np.int32)), sg)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--variant", default="full",
                    choices=["full", "no-contrasts", "zero-pairs", "few-pairs", "no-examples",
                             "one-label"])
    a = ap.parse_args()
    build(a.out, a.variant)
