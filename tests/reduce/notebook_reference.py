#!/usr/bin/python3
"""Independent check of attnsweep's seed-exact metrics against the notebook.

usage: notebook_reference.py OUT.h5 [--json SUMMARY.json] [--tol 1e-6] [--float32]

The functions below are transcribed literally from the user's notebook
(../shared/seed/experiment8_attention_patterns.txt): compute_layer_entropy,
analyze_head_specialization (without pandas: a list of dicts, and pandas'
nsmallest/nlargest as stable sorts), aggregate_attention and
compute_attention_to_keywords. They run on the attention stored in the
file (format 2, docs/FORMAT.md: the prompt's slice of /attention/full, or
of /attention/last_row as a one-row stand-in; numpy float32, as the
notebook's `attentions.cpu().numpy()`), for every prompt whose
/sweep/status is done and whose /metrics/input is not -1, and are compared
with the prompt's rows of the /metrics columns (and the /summary top-5
tables) within --tol. aggregate_attention stays transcribed but is not
compared: format 2 does not store the aggregates (analysis/load.py
computes them on read). Works on any attnsweep file: `run` outputs (e.g.
jobs/exp8.yaml) and `extract` + `reduce` files alike.
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
    fa = {k: v.decode() if isinstance(v, bytes) else v for k, v in f.attrs.items()}
    if fa.get("format") != "attnsweep" or fa.get("format_version") != 2:
        print(f"{path}: not an attnsweep format-2 file (format_version {f.attrs.get('format_version')})")
        return 1
    ids = strs(f["sweep/prompt"])
    status = f["sweep/status"][()]
    store = fa["store"]
    L, H = int(f.attrs["n_layers"]), int(f.attrs["n_heads"])
    if "metrics" not in f or store == "none":
        print(f"{path}: no /metrics or no stored attention (store {store}): nothing to check")
        return 77
    T_all = f["sweep/n_tokens"][()]
    tok0 = f["sweep/token_start"][()]
    token_str = strs(f["tokens/token_str"])
    m = f["metrics"]
    col = {n: m[n][()] for n in ("input", "layer_entropy", "head_entropy", "head_max", "head_focus",
                                 "keyword_substr_count", "keyword_substr_start", "keyword_substr_keyword",
                                 "keyword_substr_position", "keyword_substr_mass")}
    keywords = strs(m["keyword"])
    if store == "full":
        att_start = f["sweep/attention_start"][()]
        full = f["attention/full"]
    else:
        last_row = f["attention/last_row"][()]  # [NT, L, H]
    s = f["summary"] if "summary" in f else None
    srow = {pid: r for r, pid in enumerate(strs(s["prompt"]))} if s is not None else {}
    stop = {}
    if s is not None:
        for k in ("most_focused", "most_distributed"):
            stop[k] = (s[k + "_layer"][()], s[k + "_head"][()], strs(s[k + "_token"]))
    maxdiff = 0.0
    n_checked = 0
    layer_entropies = {}
    for i, pid in enumerate(ids):
        if status[i] != 1 or col["input"][i] == -1:
            continue
        n_checked += 1
        T = int(T_all[i])
        tokens = token_str[tok0[i]:tok0[i] + T]
        # The notebook computes in float32 (its numpy array); by default we
        # compute the same formulas in float64 on the stored float32 values,
        # so that the comparison measures attnsweep, not float32 rounding
        # (--float32 runs them in float32 exactly as the notebook would).
        if store == "full":
            a0 = int(att_start[i])
            att = full[a0:a0 + L * H * T * T].reshape(L, H, T, T)
        else:  # last_row: [T, L, H] -> a [L, H, 1, T] stand-in with the same last row
            att = last_row[tok0[i]:tok0[i] + T].transpose(1, 2, 0)[:, :, None, :]
        att = att.astype(np.float32 if f32 else np.float64)
        le = compute_layer_entropy(att)
        layer_entropies[pid] = [float(x) for x in le]
        maxdiff = max(maxdiff, close(le, col["layer_entropy"][i], tol, f"{pid} layer_entropy"))
        hs = analyze_head_specialization(att, tokens)
        ent = np.array([r["entropy"] for r in hs]).reshape(L, H)
        mx = np.array([r["max_attention"] for r in hs]).reshape(L, H)
        pos = np.array([r["focus_position"] for r in hs]).reshape(L, H)
        maxdiff = max(maxdiff, close(ent, col["head_entropy"][i], tol, f"{pid} head_entropy"))
        maxdiff = max(maxdiff, close(mx, col["head_max"][i], tol, f"{pid} head_max"))
        focus = col["head_focus"][i]
        check(np.array_equal(pos, focus), f"{pid} head_focus")
        # the focus token is derived from /tokens/token_str (format 2 does not store it twice)
        check([r["focus_token"] for r in hs] == [tokens[p] if 0 <= p < T else None for p in focus.ravel()],
              f"{pid} focus_token via head_focus")
        # the notebook's top-5 tables vs /summary (per prompt)
        if pid in srow:
            row = srow[pid]
            foc = nsmallest(hs, 5, "entropy")
            dis = nlargest(hs, 5, "entropy")
            lay, hd, tok = stop["most_focused"]
            check([(r["layer"], r["head"]) for r in foc] == list(zip(lay[row], hd[row]))[:len(foc)],
                  f"{pid} most_focused heads")
            check([r["focus_token"] for r in foc] == tok[row * 5:row * 5 + len(foc)],
                  f"{pid} most_focused tokens")
            lay, hd, tok = stop["most_distributed"]
            check([(r["layer"], r["head"]) for r in dis] == list(zip(lay[row], hd[row]))[:len(dis)],
                  f"{pid} most_distributed heads")
        # keywords: the notebook's dict vs the stored token-substring rows
        # (aggregate_attention is not stored in format 2: analysis/load.py computes it on read)
        res = compute_attention_to_keywords(att, tokens, keywords)
        r = slice(col["keyword_substr_start"][i], col["keyword_substr_start"][i] + col["keyword_substr_count"][i])
        stored = {}
        for k, p, v in zip(col["keyword_substr_keyword"][r], col["keyword_substr_position"][r],
                           col["keyword_substr_mass"][r]):
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
