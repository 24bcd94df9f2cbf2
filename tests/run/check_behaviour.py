#!/usr/bin/python3
"""check_behaviour.py COMMAND ... - inputs and checks of tests/run/test_behaviour.sh against HF.

  make-cases REF OUT.jsonl          the HF fixture's cases as prompts (id = case name)
  make-answers REF OUT.jsonl        prompts = a prefix of a case's text, gold = the rest
  logits FILE REF K                 /behaviour/logits (if stored) vs HF logits_last within 1e-4,
                                    top-K ids / probabilities vs HF's softmax
  answers FILE REF SAFETENSORS      answer_ids / answer_logprob vs HF: the last hidden states
                                    (after the final norm) times HF's lm_head give every
                                    position's logits; log-softmax summed over the answer
  strings FILE CASE_DIR TOKENIZER   topk_str / next_str equal HF decode([id]) of the pieces
  prefix-sums ANSWERS PREFIXES      answer_logprob of ANSWERS (decode path) vs the sums of
                                    log-softmax of the prefill's stored logits in PREFIXES at
                                    prompt + answer_ids[:t], for every t (no data needed)
REF = ../shared/data/reference/hf-tiny-gqa/outputs/fp32 (computed by HF transformers, not by
this project). Exit 0 when every check passes, 1 otherwise."""
import json
import struct
import sys

import os

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis"))
import load  # noqa: E402 (analysis/load.py: Sweep.logits, Sweep.behaviour are checked here too)

TEXTS = {"T007": "Attention is all you need",
         "T033": "The quick brown fox jumps over the lazy dog. In 1969, Neil Armstrong became the first "
                 "person to walk on the Moon;",
         "seed1_plain": "What is 15 plus 27?",
         "seed2_cot": "Let's think step by step.\n\nWhat is 15 plus 27?",
         "seed3_persona": "You are an expert mathematician.\n\nWhat is 15 plus 27?",
         "seed4_qa": "Question: What is 15 plus 27?\nAnswer:",
         "seed5_fewshot": "Q: What is 3 plus 4?\nA: 7\n\nQ: What is 15 plus 27?\nA:"}
# id -> (case, bytes of the case's text that are the prompt; the rest is the answer)
SPLITS = {"fox": ("T033", len("The quick brown fox jumps over the lazy dog.")),
          "few": ("seed5_fewshot", len("Q: What is 3 plus 4?\nA:")),
          "cot": ("seed2_cot", len("Let's think step by step.")),
          "attn": ("T007", len("Attention is all")),
          "colon": ("seed4_qa", len("Question: What is 15 plus 27?\nAnswer"))}


def write_jsonl(path, rows):
    open(path, "w").write("".join(json.dumps(r) + "\n" for r in rows))


def rows_of(f):
    return {p.decode(): i for i, p in enumerate(f["sweep/prompt"][()])}


def token_ids(f, i):
    s, t = int(f["sweep/token_start"][i]), int(f["sweep/n_tokens"][i])
    return f["tokens/token_id"][s:s + t]


def softmax(z):
    p = np.exp(z - z.max())
    return p / p.sum()


def log_softmax(z):
    m = z.max()
    return z - m - np.log(np.exp(z - m).sum())


def cmd_logits(path, ref, k):
    f = h5py.File(path, "r")
    b, row, bad = f["behaviour"], rows_of(f), 0
    assert (f["sweep/status"][()] == 1).all(), "not every prompt is done"
    if b["topk_id"].shape[1] != k or b["topk"][()].tolist() != list(range(k)):
        print(f"topk dimension {b['topk_id'].shape[1]}, expected {k}")
        return 1
    for case in TEXTS:
        i = row["c/" + case]
        z = np.load(f"{ref}/{case}/logits_last.npy").astype(np.float64)
        ok = np.array_equal(token_ids(f, i), np.load(f"{ref}/{case}/ids.npy"))
        msg = ""
        if "logits" in b:
            with load.open_sweep(path) as sw:
                lz = sw.logits("c/" + case)
            d = float(np.abs(lz.astype(np.float64) - z).max())
            ok &= d <= 1e-4 and b["logits"].shape == (len(TEXTS), z.size) and lz.dtype == np.float32
            msg = f"max|dlogit| {d:.2g}"
        want = np.argsort(-z, kind="stable")[:k]
        ids, prob = b["topk_id"][i], b["topk_prob"][i].astype(np.float64)
        # HF's order, except swaps between logits closer than the tolerance
        same = np.array_equal(ids, want) or float(np.abs(z[ids] - z[want]).max()) <= 1e-4
        p = softmax(z)
        rel = float(np.abs(prob / p[ids] - 1).max())
        ok &= same and rel <= 1e-3 and len(set(ids.tolist())) == k and int(b["next_id"][i]) == ids[0]
        if k == z.size:
            ok &= abs(prob.sum() - 1) <= 1e-5 and sorted(ids.tolist()) == list(range(k))
        print(f"{case:14s} {msg} top-{k} {'ok' if same else 'DIFFER'} max rel dprob {rel:.2g}")
        bad += not ok
    return 1 if bad else 0


def lm_head(st_path):
    with open(st_path, "rb") as fp:
        n = struct.unpack("<Q", fp.read(8))[0]
        hdr = json.loads(fp.read(n))
        e = hdr["lm_head.weight"]
        assert e["dtype"] == "F32", e
        a, b = e["data_offsets"]
        fp.seek(8 + n + a)
        return np.frombuffer(fp.read(b - a), dtype="<f4").reshape(e["shape"]).astype(np.float64)


def cmd_answers(path, ref, st_path):
    f = h5py.File(path, "r")
    b, row, bad = f["behaviour"], rows_of(f), 0
    W = lm_head(st_path)  # [V, D]
    assert (f["sweep/status"][()] == 1).all(), "not every prompt is done"
    st, nt, tok = b["answer_start"][()], b["answer_n_tokens"][()], b["answer_ids"][()]
    for pid, (case, _) in SPLITS.items():
        i = row["a/" + pid]
        ids = np.load(f"{ref}/{case}/ids.npy")
        h = np.load(f"{ref}/{case}/hidden_states.npy")[-1].astype(np.float64)  # [T, D] after the norm
        z = h @ W.T  # every position's logits, HF
        m = int(f["sweep/n_tokens"][i])
        mine = tok[st[i]:st[i] + nt[i]]
        with load.open_sweep(path) as sw:
            lb = sw.behaviour("a/" + pid)
        ok0 = np.array_equal(lb["answer_ids"], mine) and lb["answer_logprob"] == b["answer_logprob"][i]
        ok = ok0 and np.array_equal(token_ids(f, i), ids[:m]) and np.array_equal(mine, ids[m:])
        want = float(sum(log_softmax(z[t - 1])[ids[t]] for t in range(m, len(ids))))
        got = float(b["answer_logprob"][i])
        first = float(log_softmax(z[m - 1])[ids[m]])
        tol = 1e-4 * (len(ids) - m)
        ok &= abs(got - want) <= tol and int(b["answer_first_id"][i]) == ids[m]
        ok &= abs(np.log(float(b["answer_prob"][i])) - first) <= 1e-4
        print(f"{pid:6s} {len(ids) - m:2d} answer tokens: logprob {got:.6f}, HF {want:.6f} "
              f"(|d| {abs(got - want):.2g}, tol {tol:.2g}); first {first:.6f}")
        bad += not ok
    i = row["a/none"]
    ok = nt[i] == 0 and np.isnan(b["answer_logprob"][i]) and b["answer_first_id"][i] == -1
    print(f"none   answer_n_tokens {nt[i]}, logprob {b['answer_logprob'][i]}")
    i = row["a/long"]
    m = int(f["sweep/n_tokens"][i])
    ok &= m + nt[i] - 1 > 256 and np.isnan(b["answer_logprob"][i]) and np.isfinite(b["answer_prob"][i])
    print(f"long   {m} + {nt[i]} answer tokens > 256 positions: logprob {b['answer_logprob'][i]}")
    return 1 if bad or not ok else 0


def cmd_strings(path, case_dir, tok_path):
    f = h5py.File(path, "r")
    b = f["behaviour"]
    piece = {i: p for p, i in json.load(open(tok_path))["model"]["vocab"].items()}
    z = np.load(f"{case_dir}/logits_last.npy")
    ids = b["topk_id"][0]
    bad = int(b["next_id"][0]) != int(np.argmax(z))
    n_checked = 0
    for t, s in zip(ids, b["topk_str"][0]):
        pc = piece[int(t)]
        if pc.startswith("<0x") and pc.endswith(">"):
            continue  # byte pieces: the tokenizer tests
        want = pc.replace("\u2581", " ")
        want = want[1:] if want.startswith(" ") else want
        n_checked += 1
        if s.decode() != want:
            print(f"topk_str of {t} is {s!r}, HF decodes {want!r}")
            bad += 1
    bad += b["next_str"][0] != b["topk_str"][0][0] or n_checked == 0 or not b["next_str"][0]
    print(f"extract: next {b['next_id'][0]} {b['next_str'][0].decode()!r}, "
          f"{n_checked} strings checked, top-k {[s.decode() for s in b['topk_str'][0]]}")
    return 1 if bad else 0


def cmd_prefix_sums(path_a, path_p):
    a, p = h5py.File(path_a, "r"), h5py.File(path_p, "r")
    b, bad, n_ans = a["behaviour"], 0, 0
    assert (a["sweep/status"][()] == 1).all() and (p["sweep/status"][()] == 1).all()
    by_ids = {tuple(token_ids(p, k).tolist()): k for k in range(len(p["sweep/prompt"]))}
    z = p["behaviour/logits"][()].astype(np.float64)
    for i in range(len(a["sweep/prompt"])):
        s, n = int(b["answer_start"][i]), int(b["answer_n_tokens"][i])
        if n == 0:
            bad += not np.isnan(b["answer_logprob"][i])
            continue
        ans, ids = b["answer_ids"][s:s + n].tolist(), token_ids(a, i).tolist()
        rows = [by_ids.get(tuple(ids + ans[:t])) for t in range(n)]
        if None in rows:
            print(f"prompt {i}: no prefix has the tokens of answer position {rows.index(None)}")
            bad += 1
            continue
        want = float(sum(log_softmax(z[k])[ans[t]] for t, k in enumerate(rows)))
        got = float(b["answer_logprob"][i])
        n_ans += 1
        print(f"prompt {i}: {n} answer tokens: logprob {got:.7f}, prefill {want:.7f}, |d| {abs(got - want):.2g}")
        bad += not abs(got - want) <= 1e-4 * n
    return 1 if bad or n_ans < 3 else 0


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__)
        return 2
    if a[0] == "make-cases":
        write_jsonl(a[2], [{"id": c, "text": t} for c, t in TEXTS.items()])
        return 0
    if a[0] == "make-answers":
        rows = [{"id": pid, "text": TEXTS[c][:n], "gold": TEXTS[c][n:]} for pid, (c, n) in SPLITS.items()]
        rows.insert(2, {"id": "none", "text": TEXTS["seed1_plain"]})
        # prompt + answer longer than max_position_embeddings (256): answer_logprob NaN
        rows.insert(4, {"id": "long", "text": "Hi", "gold": " word" * 300})
        write_jsonl(a[2], rows)
        return 0
    if a[0] == "logits":
        return cmd_logits(a[1], a[2], int(a[3]))
    if a[0] == "answers":
        return cmd_answers(a[1], a[2], a[3])
    if a[0] == "prefix-sums":
        return cmd_prefix_sums(a[1], a[2])
    if a[0] == "strings":
        return cmd_strings(a[1], a[2], a[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
