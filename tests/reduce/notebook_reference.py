#!/usr/bin/python3
"""Independent check of attnsweep's seed-exact metrics against the notebook.

usage: notebook_reference.py OUT.h5 [--json SUMMARY.json] [--tol 1e-6] [--float32]

With --json, the notebook's own access patterns run on the JSON export (attnsweep reduce
--json): save_data["layer_entropies"][name] (name = the variant when variant names are unique),
the "Key findings" loop (last-layer entropy of each prompt), save_data["head_specialization_summary"]
["most_focused"] / ["most_distributed"] records of the CoT prompt (pandas nsmallest / nlargest on
analyze_head_specialization, as the notebook computes them), the keyword printing loop over
compute_attention_to_keywords, and the few-shot "Total attention to example answers" (on the
example_answer* spans) - each compared with the notebook's functions run here on the attention.

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


def check_json(f, save_data, kept, keywords, tol):
    """The notebook's access patterns on the JSON export, against the notebook's functions."""
    import pandas as pd
    maxdiff = 0.0
    ids = strs(f["sweep/prompt"])
    # a prompt without a variant name (an extract file's single name) goes by its id
    variant = [v or i for v, i in zip(strs(f["sweep/variant"]), ids)]
    pids = list(kept)
    vs = [variant[kept[p][2]] for p in pids]
    use_var = len(set(vs)) == len(vs) and all(vs)
    check(save_data["prompt_keys"] == ("variant" if use_var else "id"), "prompt_keys")
    name_of = {p: (variant[kept[p][2]] if use_var else p) for p in pids}
    check(set(save_data["layer_entropies"]) == set(name_of.values()), "layer_entropies keys")
    check(all(save_data["prompt_ids"][name_of[p]] == p for p in pids), "prompt_ids")
    # save_data["layer_entropies"][name] and the "Key findings" loop:
    #   entropy = compute_layer_entropy(data["attentions"])[-1]  # Last layer
    for p in pids:
        att, tokens, i = kept[p]
        name = name_of[p]
        maxdiff = max(maxdiff, close(compute_layer_entropy(att), save_data["layer_entropies"][name],
                                     tol, f"json layer_entropies[{name!r}]"))
        entropy = save_data["layer_entropies"][name][-1]
        _ = f"   {name}: last layer entropy = {entropy:.3f}"
    # head_specialization_summary: the CoT prompt's (cot_data = attention_data["cot"])
    focus = next((p for p in pids if variant[kept[p][2]] == "cot"), pids[0])
    att, tokens, _ = kept[focus]
    head_df = pd.DataFrame(analyze_head_specialization(att, tokens))
    focused_heads = head_df.nsmallest(5, 'entropy')
    distributed_heads = head_df.nlargest(5, 'entropy')
    want = {"most_focused": focused_heads[['layer', 'head', 'entropy', 'focus_token']].to_dict('records'),
            "most_distributed": distributed_heads[['layer', 'head', 'entropy']].to_dict('records')}
    hs = save_data["head_specialization_summary"]
    check(hs.get("prompt") == name_of[focus], f"head_specialization_summary of {hs.get('prompt')}, want {name_of[focus]}")
    for k, recs in want.items():
        got = hs[k]
        check(len(got) == len(recs), f"{k}: {len(got)} records, notebook {len(recs)}")
        for g, w in zip(got, recs):
            check((g["layer"], g["head"]) == (w["layer"], w["head"]), f"{k}: {g} vs notebook {w}")
            maxdiff = max(maxdiff, close(g["entropy"], w["entropy"], tol, f"{k} entropy"))
            if "focus_token" in w:
                check(g["focus_token"] == w["focus_token"], f"{k} focus_token {g['focus_token']!r} vs {w['focus_token']!r}")
        for row in got:  # the notebook's print loop
            _ = f"  Layer {row['layer']}, Head {row['head']}: entropy={row['entropy']:.3f}"
    # keyword attention: the notebook's printing loop over the dict
    for p in pids:
        att, tokens, _ = kept[p]
        res = compute_attention_to_keywords(att, tokens, keywords)
        got = save_data["keyword_attention"][name_of[p]]
        check(set(got) == set(res), f"{p} keyword_attention keys {sorted(set(got) ^ set(res))}")
        for kw, attn in sorted(got.items(), key=lambda x: x[1], reverse=True):
            _ = f"  {kw:30s}: {attn:.4f}"
            if kw in res:
                maxdiff = max(maxdiff, close(attn, res[kw], tol, f"{p} keyword_attention {kw}"))
    # few-shot: total attention to the example answers (the example_answer* spans), last layer
    m = f["metrics"]
    sc, ss = m["span_count"][()], m["span_start"][()]
    sn, st = strs(m["span_name"]), m["span_tokens"][()]
    for name, total in save_data["fewshot_totals"].items():
        p = save_data["prompt_ids"][name]
        att, tokens, i = kept[p]
        mean_attn = att[-1][:, -1, :].mean(axis=0)
        want_total = 0.0
        for s in range(ss[i], ss[i] + sc[i]):
            if sn[s].startswith("example_answer") and st[s][0] >= 0:
                want_total += float(mean_attn[st[s][0]:st[s][1]].sum())
        _ = f"  Total attention to example answers: {total:.4f}"
        maxdiff = max(maxdiff, close(total, want_total, tol, f"{name} fewshot total"))
    return maxdiff


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
    kept = {}  # pid -> (attention, tokens, row) for the JSON checks
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
        if jpath:
            kept[pid] = (att, tokens, i)
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
        maxdiff = max(maxdiff, check_json(f, js, kept, keywords, tol))
    if n_checked == 0:
        print(f"{path}: no done prompt with attention and metrics to check")
        return 77
    print(f"notebook_reference: {path}: {n_checked} prompts, {checks} checks, {failures} failed, "
          f"max |diff| {maxdiff:.3g}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
