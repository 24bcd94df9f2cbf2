#!/usr/bin/python3
"""check_sweep_out.py CHECK ARGS - checks of test_sweep_run.sh on attnsweep output files.

  metadata A.h5 [B.h5 ...]   the /sweep metadata columns of test_sweep_run.sh's meta.yaml: names,
                             HDF5 types, flag attributes, every value (written out by hand below),
                             the metadata spans' byte ranges, an xarray + pandas groupby; and the
                             same columns in every file (1, 2, 3 ranks)
  objects FILE N             FILE holds N objects: docs/FORMAT.md's count for store none plus one
                             dataset per metadata column
  too_long_inputs VECTORS    prints the JSONL of test_sweep_run.sh's too_long case (reference texts)
  too_long SKIP.h5 TRUNC.h5 VECTORS
                             on_too_long skip / truncate with max_position 16: status, messages,
                             token counts and ids against the reference (HF) tokenization
  spans FILE VECTORS.json    /metrics span_bytes and span_tokens of every declared span against an
                             independent tokenization: the HF tokenizer's tokens of the same texts
                             (encode_vectors.json, computed with HF `tokenizers`), aligned to the
                             text in Python; the texts of the spans are computed here from the
                             product values and JSONL fields
Exit 0 when every check passes, 1 otherwise (each failure printed)."""
import json
import math
import sys

import h5py
import numpy as np


def load_module():
    """analysis/load.py of this source tree (the reader users import)."""
    import importlib.util
    import os
    p = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis", "load.py")
    spec = importlib.util.spec_from_file_location("load", p)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m

FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)
    return bool(cond)


def strs(d):
    return [x.decode("utf-8") for x in np.asarray(d[()]).ravel()]


def ids_of(f):
    return strs(f["sweep/prompt"])


NAN = float("nan")
# ---------------------------------------------------------------- metadata
# prompts of meta.yaml in expansion order
PROMPTS = ["sums/a3_b27", "sums/a3_b4", "sums/a15_b27", "sums/a15_b4", "sums/a150_b27",
           "sums/a150_b4", "cot/plain", "cot/steps", "data/q1", "data/q2", "data/q3"]
S = "synthetic"
Q = "What is 15 plus 27?"
# name: (numpy kind, values); bools are int8 with -1 = missing
META = {
    "dataset": ("str", [S] * 8 + [""] * 3),
    "cot": ("i8", [0] * 6 + [1, 1] + [-1] * 3),
    "shots": ("i64", [0] * 6 + [2, 2] + [1, 1, 1]),
    "a": ("f64", [3, 3, 15, 15, 150, 150] + [NAN] * 5),
    "b": ("f64", [27, 4, 27, 4, 27, 4] + [NAN] * 5),
    "question": ("str", [""] * 6 + [Q, Q] + [""] * 3),
    "item": ("f64", [NAN] * 8 + [1, 2, 3]),
    "gold": ("str", [""] * 8 + ["42", "none", "154"]),
    "score": ("f64", [NAN] * 8 + [0.5, NAN, NAN]),
    "hard": ("i8", [-1] * 8 + [1, -1, 0]),
}
BUILTIN = ["prompt", "group", "variant", "n_tokens", "token_start", "text_start", "text_length",
           "rank", "status", "message"]
DTYPES = {"i8": np.dtype("int8"), "i64": np.dtype("<i8"), "f64": np.dtype("<f8")}


def same_value(got, want):
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    return got == want


def span_rows(f, i):
    m = f["metrics"]
    s0, n = int(m["span_start"][i]), int(m["span_count"][i])
    names = strs(m["span_name"])[s0:s0 + n]
    return {nm: (m["span_bytes"][s0 + k].tolist(), m["span_tokens"][s0 + k].tolist())
            for k, nm in enumerate(names)}


def text_of(f, i):
    a, n = int(f["sweep/text_start"][i]), int(f["sweep/text_length"][i])
    return f["text/utf8"][a:a + n].tobytes()


def check_metadata(paths):
    files = [h5py.File(p, "r") for p in paths]
    f = files[0]
    ids = ids_of(f)
    check(ids == PROMPTS, f"prompts {ids}")
    g = f["sweep"]
    extra = [k for k in g if k not in BUILTIN and k != "tokens_dropped"]
    check(sorted(extra) == sorted(META), f"/sweep metadata columns {extra}, expected {sorted(META)}")
    for name, (kind, want) in META.items():
        if not check(name in g, f"/sweep/{name} missing"):
            continue
        d = g[name]
        check(d.shape == (len(PROMPTS),), f"/sweep/{name} shape {d.shape}")
        if kind == "str":
            info = h5py.check_string_dtype(d.dtype)
            check(info is not None and info.length == max(1, max(len(w.encode()) for w in want)),
                  f"/sweep/{name}: {d.dtype} is not a fixed-length string as wide as its longest value")
            got = strs(d)
        else:
            check(d.dtype == DTYPES[kind], f"/sweep/{name}: dtype {d.dtype}, expected {DTYPES[kind]}")
            got = [float(x) if kind == "f64" else int(x) for x in d[()]]
        check(all(same_value(x, y) for x, y in zip(got, want)) and len(got) == len(want),
              f"/sweep/{name} = {got}, expected {want}")
        if kind == "i8":
            fv = list(np.asarray(d.attrs.get("flag_values", [])))
            fm = d.attrs.get("flag_meanings")
            check(fv == [-1, 0, 1] and fm == b"missing false true",
                  f"/sweep/{name}: flag_values {fv}, flag_meanings {fm!r}")
        dl = d.attrs.get("DIMENSION_LIST")
        check(dl is not None and f[dl[0][0]].name == "/sweep/prompt",
              f"/sweep/{name} is not attached to the prompt scale")
    # the same columns on every rank count
    for o, p in zip(files[1:], paths[1:]):
        for name in META:
            if name in o["sweep"] and name in g:
                x, y = g[name][()], o["sweep"][name][()]
                check(x.dtype == y.dtype and x.shape == y.shape and
                      (x.tobytes() == y.tobytes()), f"{p}: /sweep/{name} differs from {paths[0]}")
    # metadata spans: byte ranges where the span's text first occurs (Python's find)
    want_spans = {i: {"sum": f"{a} plus {b}"} for i, (a, b) in
                  enumerate([(3, 27), (3, 4), (15, 27), (15, 4), (150, 27), (150, 4)])}
    want_spans[6] = want_spans[7] = {"question": Q}
    want_spans[8] = {"gold": "42", "sum": None}
    want_spans[9] = {"gold": None, "sum": None}   # "none" does not occur in its text
    want_spans[10] = {"gold": None, "sum": "150 plus 4"}
    for i, spans in want_spans.items():
        rows = span_rows(f, i)
        text = text_of(f, i)
        for name, st in spans.items():
            b = text.find(st.encode()) if st else -1
            want = [b, b + len(st.encode())] if b >= 0 else [-1, -1]
            got = rows.get(name, (None,))[0]
            check(got == want, f"{ids[i]}: span {name} bytes {got}, expected {want}")
    # xarray (h5netcdf) + pandas: group the prompts by metadata, and a metric by a column
    import xarray as xr
    ds = xr.open_dataset(paths[0], engine="h5netcdf", group="sweep")
    df = ds.to_dataframe()
    sizes = {k: int(v) for k, v in df.groupby(["dataset", "cot"]).size().items()}
    check(sizes == {("", -1): 3, (S, 0): 6, (S, 1): 2}, f"groupby(dataset, cot) sizes {sizes}")
    check(list(df["question"].unique()) == ["", Q], f"question values {list(df['question'].unique())}")
    m = xr.open_dataset(paths[0], engine="h5netcdf", group="metrics")
    per = m["layer_entropy"].mean("layer").groupby(ds["shots"]).count()
    got = {int(k): int(v) for k, v in zip(per["shots"].values, per.values)}
    check(got == {0: 6, 1: 3, 2: 2}, f"layer_entropy grouped by shots: counts {got}")
    print(f"metadata: {len(META)} columns checked in {len(files)} files")


# ---------------------------------------------------------------- objects
def check_objects(path, n):
    f = h5py.File(path, "r")
    meta = [k for k in f["sweep"] if k not in BUILTIN and k != "tokens_dropped"]
    # docs/FORMAT.md: 189 objects under store: none (with /metrics, /behaviour and /summary), plus
    # the metadata columns
    want = 189 + ("tokens_dropped" in f["sweep"]) + len(meta)
    check(int(n) == want, f"{path}: {n} objects, expected {want} ({len(meta)} metadata columns)")


# ---------------------------------------------------------------- spans
SPECIAL = {"<s>", "</s>", "<unk>"}


def piece_ranges(text, pieces):
    """Byte range of every piece (BOS first) in text, from the tokenizer's pieces alone: '▁' is a
    space, <0xNN> one byte, special tokens their literal text; SentencePiece's dummy prefix (a
    space before the first piece of the text and of each part after a special token) covers no
    text."""
    raw = text.encode("utf-8")
    pos, dummy, out = 0, True, []
    for k, p in enumerate(pieces):
        if k == 0 and p == "<s>":
            out.append((0, 0))
            continue
        if p in SPECIAL:
            b = p.encode()
            dummy = True
        elif len(p) == 6 and p.startswith("<0x") and p.endswith(">"):
            b = bytes([int(p[3:5], 16)])
        else:
            b = p.replace("\u2581", " ").encode("utf-8")
            if dummy and b.startswith(b" "):
                b = b[1:]
            dummy = False
        if raw[pos:pos + len(b)] != b:
            raise SystemExit(f"piece {k} {p!r} does not align with {raw[pos:pos + len(b)]!r} of {text!r}")
        out.append((pos, pos + len(b)))
        pos += len(b)
    if pos != len(raw):
        raise SystemExit(f"the pieces cover {pos} of {len(raw)} bytes of {text!r}")
    return out


def expected_tokens(ranges, b, e):
    """METRICS.md's rule: every token whose byte span is non-empty and overlaps [b, e)."""
    hit = [t for t, (s, x) in enumerate(ranges) if x > s and s < e and x > b]
    return [hit[0], hit[-1] + 1] if hit else [-1, -1]


def check_spans(path, vectors):
    ref = {c["text"]: c for c in json.load(open(vectors, encoding="utf-8"))["cases"]}
    f = h5py.File(path, "r")
    ids = ids_of(f)
    # the spans of spans.yaml / spans.jsonl, computed from their values (None = absent)
    fields = {"file/sum": {"x": 15, "y": 27}, "file/nonascii": {"word": "你好"},
              "file/llama": {}, "file/fox": {"word": "fox", "x": 1, "y": 2}}
    given = {"file/nonascii": {"accent": "é", "tab": "\tand"},
             "file/llama": {"animal": "🦙", "rest": "llama"}}
    want = {"prod/0000": {"sum": "15 plus 27", "a": "15", "b": "27"}}
    for pid, fl in fields.items():
        w = {"pair": f"{fl['x']} plus {fl['y']}" if "x" in fl and "y" in fl else None,
             "word": fl.get("word")}
        w.update(given.get(pid, {}))
        want[pid] = w
    all_given = {n for g in given.values() for n in g}
    n_checked = 0
    for pid, spans in want.items():
        if not check(pid in ids, f"prompt {pid} missing from {ids}"):
            continue
        i = ids.index(pid)
        text = text_of(f, i).decode("utf-8")
        case = ref.get(text)
        if not check(case is not None, f"{pid}: no reference encoding for {text!r}"):
            continue
        s, T = int(f["sweep/token_start"][i]), int(f["sweep/n_tokens"][i])
        got_ids = f["tokens/token_id"][s:s + T].tolist()
        check(got_ids == case["hf_ids_add_special"],
              f"{pid}: token ids {got_ids} differ from HF's {case['hf_ids_add_special']}")
        ranges = piece_ranges(text, case["hf_tokens"])
        rows = span_rows(f, i)
        names = list(spans) + ([n for n in all_given if n not in spans] if pid.startswith("file/") else [])
        for name in names:
            st = spans.get(name)
            raw = text.encode("utf-8")
            b = raw.find(st.encode("utf-8")) if st else -1
            wb = [b, b + len(st.encode("utf-8"))] if b >= 0 else [-1, -1]
            wt = expected_tokens(ranges, wb[0], wb[1]) if b >= 0 else [-1, -1]
            got = rows.get(name)
            if not check(got is not None, f"{pid}: no span row {name!r} (rows {sorted(rows)})"):
                continue
            check(got[0] == wb, f"{pid}: span {name} bytes {got[0]}, expected {wb}")
            check(got[1] == wt, f"{pid}: span {name} tokens {got[1]}, expected {wt} "
                  f"({[case['hf_tokens'][t] for t in range(max(wt[0], 0), max(wt[1], 0))]})")
            n_checked += 1
            print(f"  {pid:15s} {name:7s} {st!r:14} bytes {got[0]} tokens {got[1]}")
    check(n_checked >= 15, f"only {n_checked} spans checked")


# ---------------------------------------------------------------- on_too_long
LONG_TEXTS = ["What is 15 plus 27?", "The quick brown fox jumps over the lazy dog.",
              "Translate English to French:\n\n        sea otter => loutre de mer\n        peppermint => "
              "menthe poivrée\n        plush girafe => girafe peluche\n        cheese =>",
              "Simply put, the theory of relativity states that ",
              "A brief message congratulating the team on the launch:\n\n        Hi everyone,\n\n"
              "        I just ",
              "Once upon a time",
              "<|system|>\nYou are a helpful assistant.</s>\n<|user|>\nWhat is 15 plus 27?</s>\n"
              "<|assistant|>\n"]
M = 16


def reference(vectors):
    ref = {c["text"]: c["hf_ids_add_special"] for c in json.load(open(vectors, encoding="utf-8"))["cases"]}
    return [ref[t] for t in LONG_TEXTS]


def too_long_inputs(vectors):
    reference(vectors)  # every text has a reference encoding
    for k, t in enumerate(LONG_TEXTS):
        print(json.dumps({"id": f"p{k}", "text": t}, ensure_ascii=False))


def check_too_long(skip_path, trunc_path, vectors):
    ref = reference(vectors)
    long_ = [len(r) > M for r in ref]
    check(sum(long_) == 3, f"the reference lengths {[len(r) for r in ref]} have not 3 prompts over {M}")
    for path, mode in ((skip_path, "skip"), (trunc_path, "truncate")):
        f = h5py.File(path, "r")
        g = f["sweep"]
        st, T = g["status"][()].tolist(), g["n_tokens"][()].tolist()
        dropped, msg = g["tokens_dropped"][()].tolist(), strs(g["message"])
        check(g["status"].attrs.get("flag_meanings") == b"pending done failed skipped" and
              list(g["status"].attrs.get("flag_values")) == [0, 1, 2, 3], f"{path}: status flags")
        for i, r in enumerate(ref):
            s0 = int(g["token_start"][i])
            ids = f["tokens/token_id"][s0:s0 + T[i]].tolist()
            text = text_of(f, i).decode("utf-8")
            check(text == LONG_TEXTS[i], f"{path}: prompt {i}: the text is not kept whole")
            if mode == "skip" and long_[i]:
                check(st[i] == 3, f"{path}: prompt {i} ({len(r)} tokens): status {st[i]}, expected 3 (skipped)")
                check(T[i] == len(r) and ids == r, f"{path}: prompt {i}: {T[i]} tokens stored, expected the "
                      f"reference's {len(r)}")
                check(msg[i] == f"skipped: {len(r)} tokens, more than the model's max_position {M} "
                      "(model.on_too_long: skip)", f"{path}: prompt {i}: message {msg[i]!r}")
                check(dropped[i] == 0, f"{path}: prompt {i}: tokens_dropped {dropped[i]}")
                sw = load_module().open_sweep(path)   # the reader names a skipped prompt
                pid = sw.prompts["id"][i]
                for cs in (True, False):
                    try:
                        sw.attention(pid, check_status=cs)
                        check(False, f"{path}: load.py read attention of skipped prompt {pid}")
                    except ValueError as e:
                        check("was skipped" in str(e), f"{path}: load.py: {e}")
                check(sw.prompts["status"][i] == "skipped", f"load.py status {sw.prompts['status'][i]!r}")
            elif mode == "truncate" and long_[i]:
                check(st[i] == 1, f"{path}: prompt {i}: status {st[i]}, expected 1 (done)")
                check(ids == r[:M], f"{path}: prompt {i}: ids {ids}, expected the first {M} of {r}")
                check(dropped[i] == len(r) - M, f"{path}: prompt {i}: tokens_dropped {dropped[i]}, "
                      f"expected {len(r) - M}")
                check(msg[i] == "", f"{path}: prompt {i}: message {msg[i]!r}")
            else:
                check(st[i] == 1 and ids == r and dropped[i] == 0 and msg[i] == "",
                      f"{path}: prompt {i}: status {st[i]}, ids {ids} (reference {r}), dropped {dropped[i]}")
        # the summary counts the done prompts only
        n_done = sum(1 for x in st if x == 1)
        check(f["summary/prompt_index"].shape[0] == n_done,
              f"{path}: /summary has {f['summary/prompt_index'].shape[0]} prompts, expected {n_done}")
        if mode == "truncate":  # the attention of a truncated prompt is [L, H, 16, 16], rows sum to 1
            i = long_.index(True)
            a0 = int(g["attention_start"][i])
            L, H = int(f.attrs["n_layers"]), int(f.attrs["n_heads"])
            att = f["attention/full"][a0:a0 + L * H * M * M].reshape(L, H, M, M)
            check(np.allclose(att.sum(-1), 1, atol=1e-5), f"{path}: rows of the truncated prompt's attention")
    print("too_long: skip and truncate checked against the reference tokenization")


# ---------------------------------------------------------------- chat
ZEPHYR = "<|user|>\n" + Q + "</s>\n<|assistant|>\n"


def check_chat(paths, vectors):
    """Chat prompts (docs/SWEEP.md "Chat prompts"): the templated text, /sweep prompt_start /
    prompt_length, the tokens against HF's ids for that text, and spans / keywords that stay
    in the user's prompt. Every byte and token position is counted by hand in ZEPHYR ("<|user|>\n"
    is 9 bytes) and in the reference pieces of encode_vectors.json."""
    ref = next(c for c in json.load(open(vectors))["cases"] if c["text"] == ZEPHYR)
    for path in paths:
        with h5py.File(path, "r") as f:
            ids = ids_of(f)
            check(ids == ["chat/q", "raw/q"], f"{path}: prompts {ids}")
            sw = f["sweep"]
            check(text_of(f, 0) == ZEPHYR.encode(), f"{path}: text {text_of(f, 0)!r}")
            check(text_of(f, 1) == Q.encode(), f"{path}: raw text {text_of(f, 1)!r}")
            check(sw["prompt_start"][()].tolist() == [9, 0], f"{path}: prompt_start")
            check(sw["prompt_length"][()].tolist() == [19, 19], f"{path}: prompt_length")
            t0, n0 = int(sw["token_start"][0]), int(sw["n_tokens"][0])
            got = f["tokens/token_id"][t0:t0 + n0].tolist()
            check(got == ref["hf_ids_add_special"], f"{path}: ids {got}")
            check(got[17] == 2, f"{path}: </s> is not the EOS id")
            sp = span_rows(f, 0)
            # "15 plus 27" = bytes [17, 27) = the pieces 1 5 ▁plus ▁ 2 7 (positions 10..15)
            check(sp.get("sum") == ([17, 27], [10, 16]), f"{path}: sum {sp.get('sum')}")
            # the template's bytes before the prompt: ▁< | user | > <0x0A> (1..6, BOS is empty)
            check(sp.get("template") == ([0, 9], [1, 7]), f"{path}: template {sp.get('template')}")
            # after it: </s> ▁ <0x0A> < | ass istant | > <0x0A> (17..26)
            check(sp.get("template_end") == ([28, 47], [17, 27]), f"{path}: template_end {sp.get('template_end')}")
            # one prompt in the group: the question is the whole user prompt "What".."?" (7..16)
            check(sp.get("question") == ([9, 28], [7, 17]), f"{path}: question {sp.get('question')}")
            check(sp.get("prefix") == ([-1, -1], [-1, -1]), f"{path}: prefix {sp.get('prefix')}")
            sr = span_rows(f, 1)
            check("template" not in sr and sr.get("question") == ([0, 19], [1, 11]),
                  f"{path}: raw spans {sr}")
            m = f["metrics"]
            kws = strs(m["keyword"])
            o0, on = int(m["keyword_occ_start"][0]), int(m["keyword_occ_count"][0])
            rows = [(kws[int(m["keyword_occ_keyword"][o0 + k])], m["keyword_occ_bytes"][o0 + k].tolist(),
                     m["keyword_occ_tokens"][o0 + k].tolist()) for k in range(on)]
            # "user" and "assistant" occur only in the template: no rows
            check(rows == [("15", [17, 19], [10, 12])], f"{path}: keyword rows {rows}")
    print("chat: templated text, prompt offsets, ids, spans and keywords checked")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "metadata":
        check_metadata(args)
    elif cmd == "objects":
        check_objects(args[0], args[1])
    elif cmd == "spans":
        check_spans(args[0], args[1])
    elif cmd == "chat":
        check_chat(args[:-1], args[-1])
    elif cmd == "too_long_inputs":
        too_long_inputs(args[0])
        return 0
    elif cmd == "too_long":
        check_too_long(args[0], args[1], args[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
