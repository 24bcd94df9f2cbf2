#!/usr/bin/python3
"""Independent check of attnsweep's seed-exact metrics against the notebook.

usage: notebook_reference.py OUT.h5 [--json SUMMARY.json] [--tol 1e-6] [--float32]

The functions below are transcribed literally from the user's notebook
(../shared/seed/experiment8_attention_patterns.txt): compute_layer_entropy,
analyze_head_specialization (without pandas: a list of dicts, and pandas'
nsmallest/nlargest as stable sorts), aggregate_attention and
compute_attention_to_keywords. They run on the attention tensors stored in
the file (numpy float32, as the notebook's `attentions.cpu().numpy()`), for
every prompt whose /sweep/status is done, and are compared with
/prompts/<id>/metrics/* within --tol. Works on any attnsweep file: `run`
outputs (e.g. jobs/exp8.yaml) and `extract` + `reduce` files alike.
Exit 0 = all equal, 1 = mismatch, 77 = nothing to check.
"""
import json
import sys

import h5py
import numpy as np


# ---------------------------------------------------------------- the notebook, literally
def aggregate_attention(attentions, method='mean'):
    if method == 'mean':
        return attentions.mean(axis=(0, 1))  # [seq_len, seq_len]
    elif method == 'max':
        return attentions.max(axis=(0, 1))
    elif method == 'last_layer':
        return attentions[-1].mean(axis=0)  # Last layer, mean across heads
    else:
        raise ValueError(f"Unknown method: {method}")


def compute_attention_to_keywords(attentions, tokens, keywords):
    keyword_positions = []
    for i, token in enumerate(tokens):
        for kw in keywords:
            if kw.lower() in token.lower():
                keyword_positions.append((i, token, kw))
    if not keyword_positions:
        return {}
    last_layer_attn = attentions[-1]  # [n_heads, seq_len, seq_len]
    last_token_attn = last_layer_attn[:, -1, :]  # [n_heads, seq_len]
    mean_attn = last_token_attn.mean(axis=0)  # [seq_len]
    results = {}
    for pos, token, kw in keyword_positions:
        results[f"{kw} ('{token}')"] = mean_attn[pos]
    return results


def compute_layer_entropy(attentions):
    n_layers = attentions.shape[0]
    entropies = []
    for layer in range(n_layers):
        layer_attn = attentions[layer].mean(axis=0)[-1]  # [seq_len]
        layer_attn = layer_attn + 1e-10  # Avoid log(0)
        entropy = -np.sum(layer_attn * np.log(layer_attn))
        entropies.append(entropy)
    return entropies


def analyze_head_specialization(attentions, tokens):
    n_layers, n_heads = attentions.shape[:2]
    head_stats = []
    for layer in range(n_layers):
        for head in range(n_heads):
            head_attn = attentions[layer, head, -1, :]  # Last token's attention
            entropy = -np.sum(head_attn * np.log(head_attn + 1e-10))
            max_attn = np.max(head_attn)
            max_pos = np.argmax(head_attn)
            max_token = tokens[max_pos] if max_pos < len(tokens) else "[UNK]"
            head_stats.append({
                "layer": layer, "head": head, "entropy": entropy,
                "max_attention": max_attn, "focus_position": max_pos, "focus_token": max_token})
    return head_stats  # the notebook wraps this in pd.DataFrame


def nsmallest(rows, n, key):  # pandas DataFrame.nsmallest(n, key), keep='first'
    return sorted(rows, key=lambda r: r[key])[:n]


def nlargest(rows, n, key):  # pandas DataFrame.nlargest(n, key), keep='first'
    return sorted(rows, key=lambda r: -r[key])[:n]


# ---------------------------------------------------------------- comparison
failures = 0
checks = 0


def check(ok, what):
    global failures, checks
    checks += 1
    if not ok:
        failures += 1
        print("FAIL", what)


def close(a, b, tol, what):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ok = a.shape == b.shape and np.allclose(a, b, rtol=0, atol=tol)
    d = float(np.max(np.abs(a - b))) if a.shape == b.shape and a.size else 0.0
    check(ok, f"{what}: max |diff| = {d:.3g} (tol {tol})")
    return d


def strs(ds):
    return [x.decode("utf-8") if isinstance(x, bytes) else x for x in ds[()].ravel()]


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    path, jpath, tol = args[0], None, 1e-6
    if "--json" in args:
        jpath = args[args.index("--json") + 1]
    f32 = "--float32" in args
    if "--tol" in args:
        tol = float(args[args.index("--tol") + 1])
    f = h5py.File(path, "r")
    ids = strs(f["sweep/prompt"])
    status = f["sweep/status"][()]
    maxdiff = 0.0
    n_checked = 0
    layer_entropies = {}
    for i, pid in enumerate(ids):
        g = f["prompts/" + pid]
        if status[i] != 1 or "metrics" not in g or "attention" not in g:
            continue
        n_checked += 1
        m = g["metrics"]
        tokens = strs(g["tokens"])
        # The notebook computes in float32 (its numpy array); by default we
        # compute the same formulas in float64 on the stored float32 values,
        # so that the comparison measures attnsweep, not float32 rounding
        # (--float32 runs them in float32 exactly as the notebook would).
        att = g["attention"][()].astype(np.float32 if f32 else np.float64)
        full = att.ndim == 4
        if not full:  # last_row: [L, H, T] -> a [L, H, 1, T] stand-in with the same last row
            att = att[:, :, None, :]
        le = compute_layer_entropy(att)
        layer_entropies[pid] = [float(x) for x in le]
        maxdiff = max(maxdiff, close(le, m["layer_entropy"][()], tol, f"{pid} layer_entropy"))
        hs = analyze_head_specialization(att, tokens)
        L, H = att.shape[:2]
        ent = np.array([r["entropy"] for r in hs]).reshape(L, H)
        mx = np.array([r["max_attention"] for r in hs]).reshape(L, H)
        pos = np.array([r["focus_position"] for r in hs]).reshape(L, H)
        maxdiff = max(maxdiff, close(ent, m["head_entropy"][()], tol, f"{pid} head_entropy"))
        maxdiff = max(maxdiff, close(mx, m["head_max"][()], tol, f"{pid} head_max"))
        check(np.array_equal(pos, m["head_focus"][()]), f"{pid} head_focus")
        check([r["focus_token"] for r in hs] == strs(m["head_focus_token"]),
              f"{pid} head_focus_token")
        # the notebook's top-5 tables vs /summary (per prompt)
        if "summary" in f:
            s = f["summary"]
            row = list(strs(s["prompt"])).index(pid) if pid in strs(s["prompt"]) else -1
            if row >= 0:
                foc = nsmallest(hs, 5, "entropy")
                dis = nlargest(hs, 5, "entropy")
                check([(r["layer"], r["head"]) for r in foc] ==
                      list(zip(s["most_focused_layer"][row], s["most_focused_head"][row])),
                      f"{pid} most_focused heads")
                check([r["focus_token"] for r in foc] ==
                      strs(s["most_focused_token"])[row * 5:row * 5 + 5],
                      f"{pid} most_focused tokens")
                check([(r["layer"], r["head"]) for r in dis] ==
                      list(zip(s["most_distributed_layer"][row], s["most_distributed_head"][row])),
                      f"{pid} most_distributed heads")
        # keywords: the notebook's dict vs the stored token-substring rows
        keywords = strs(m["keywords"])
        if full:
            for meth, name in (("mean", "aggregate_mean"), ("max", "aggregate_max"),
                               ("last_layer", "aggregate_last_layer")):
                maxdiff = max(maxdiff, close(aggregate_attention(att, meth), m[name][()], tol,
                                             f"{pid} {name}"))
        res = compute_attention_to_keywords(att, tokens, keywords)
        kwi = m["keyword_substr_keyword"][()]
        kpos = m["keyword_substr_position"][()]
        kmass = m["keyword_substr_mass"][()]
        stored = {}
        for k, p, v in zip(kwi, kpos, kmass):
            stored[f"{keywords[k]} ('{tokens[p]}')"] = v  # later rows overwrite, as in the dict
        check(set(stored) == set(res), f"{pid} keyword keys {sorted(set(stored) ^ set(res))}")
        for key in res:
            if key in stored:
                maxdiff = max(maxdiff, close(res[key], stored[key], tol, f"{pid} keyword {key}"))
    if jpath:
        with open(jpath) as fp:
            js = json.load(fp)
        for pid, le in layer_entropies.items():
            close(le, js["layer_entropies"][pid], tol, f"json layer_entropies[{pid}]")
    if n_checked == 0:
        print(f"{path}: no done prompt with attention and metrics to check")
        return 77
    print(f"notebook_reference: {path}: {n_checked} prompts, {checks} checks, {failures} failed, "
          f"max |diff| {maxdiff:.3g}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
