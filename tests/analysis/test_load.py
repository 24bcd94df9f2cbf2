#!/usr/bin/python3
"""test_load.py FULL.h5 LASTROW_F16.h5 NONE.h5 - analysis/load.py against plain h5py (format 2).

FULL.h5: jobs/smoke.yaml (store full, float32); LASTROW_F16.h5: the same sweep with store
last_row, dtype float16; NONE.h5: `attnsweep extract --store none` (no attention; metrics
computed from memory and a summary, as for any run). Every value load.py returns is compared with what h5py reads directly
following docs/FORMAT.md ("Reading one prompt": starts and counts, slices of flat arrays), and
the number of HDF5 reads per prompt is checked not to depend on the prompt's position.
"""
import os
import shutil
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ.get("SRC", os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", "..")), "analysis"))
import load  # noqa: E402

FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def raises(exc, fn, what, contains=None):
    try:
        fn()
    except exc as e:
        if contains is not None and contains not in str(e):
            check(False, f"{what}: message {str(e)!r} lacks {contains!r}")
            return
        print(f"ok   {what}: {type(e).__name__}: {e}")
        return
    except Exception as e:  # noqa: BLE001
        check(False, f"{what}: raised {type(e).__name__} ({e}), expected {exc.__name__}")
        return
    check(False, f"{what}: no {exc.__name__}")


class Reads:
    """Counts h5py dataset reads (every slice or whole read is one Dataset.__getitem__)."""

    def __init__(self):
        self.n = 0
        self._orig = h5py.Dataset.__getitem__
        counter = self

        def getitem(ds, *a, **k):
            counter.n += 1
            return counter._orig(ds, *a, **k)

        h5py.Dataset.__getitem__ = getitem

    def count(self, fn):
        self.n = 0
        fn()
        return self.n


READS = Reads()


def strs(ds, sel=()):
    out = ds.asstr()[sel]
    return [out] if isinstance(out, str) else [str(x) for x in np.asarray(out).ravel()]


def prompt_slices(f, i):
    """(token start, T, attention start or None, text start, text length) of row i."""
    sw = f["sweep"]
    a = int(sw["attention_start"][i]) if "attention_start" in sw else None
    return (int(sw["token_start"][i]), int(sw["n_tokens"][i]), a,
            int(sw["text_start"][i]), int(sw["text_length"][i]))


def ragged(f, prefix, i):
    m = f["metrics"]
    a, n = int(m[prefix + "_start"][i]), int(m[prefix + "_count"][i])
    return a, a + n


def test_full(path):
    f = h5py.File(path, "r")
    sw = load.open_sweep(path)
    check(f.attrs["format_version"] == 2 and f.attrs["store"] == b"full", "root attributes")
    ids = strs(f["sweep/prompt"])
    N = len(ids)
    P = sw.prompts
    check(list(P.columns[:6]) == ["id", "group", "variant", "n_tokens", "n_layers", "n_heads"],
          f"prompt columns {list(P.columns)}")
    check(list(P["id"]) == ids and sw.ids == ids, "prompt ids")
    check(list(P["group"]) == strs(f["sweep/group"]), "groups = /sweep/group")
    check(list(P["variant"]) == strs(f["sweep/variant"]), "variants = /sweep/variant")
    check(list(P["group"]) == [i.split("/")[0] for i in ids], "group is the id's first part")
    check(np.array_equal(P["n_tokens"].to_numpy(), f["sweep/n_tokens"][()]), "n_tokens")
    check(np.array_equal(P["token_start"].to_numpy(), f["sweep/token_start"][()]),
          "token_start")
    check(np.array_equal(P["rank"].to_numpy(), f["sweep/rank"][()]), "rank")
    check(set(P["status"]) == {"done"} and set(P["store"]) == {"full"}
          and set(P["dtype"]) == {"float32"}, "status/store/dtype names")
    check(sw.groups() == {"arithmetic": ids[:3], "story": ids[3:]}, f"groups {sw.groups()}")
    check(all(sw.row(p) == i for i, p in enumerate(ids)), "row(id)")
    check(f["sweep/n_tokens"].attrs.get("sample_dimension") in ("token", b"token"),
          "/sweep/n_tokens carries sample_dimension = token")
    print(f"ok   prompts: {len(P)} rows, groups {list(sw.groups())}")

    pid = "arithmetic/cot"
    i = ids.index(pid)
    s, T, a, ts, tn = prompt_slices(f, i)
    L, H = len(f["attention/layer"]), len(f["attention/head"])
    A = f["attention/full"][a:a + L * H * T * T].reshape(L, H, T, T)
    check(int(f.attrs["n_layers"]) == L and int(f.attrs["n_heads"]) == H, "n_layers, n_heads")
    at = sw.attention(pid)
    check(at.dtype == np.float32 and np.array_equal(at, A), "attention(pid)")
    check(np.allclose(A.sum(axis=-1), 1, atol=1e-5) and np.all(np.triu(A, 1) == 0),
          "full block: causal rows that sum to 1 (the slice is the right block)")
    check(np.array_equal(sw.attention(pid, layer=-1), A[-1]), "layer=-1")
    check(np.array_equal(sw.attention(pid, layer=1, head=2), A[1, 2]), "layer=1, head=2")
    check(np.array_equal(sw.attention(pid, layer=[3, 0], head=5), A[[3, 0], 5]), "layer list")
    check(np.array_equal(sw.attention(pid, head=[7, 1]), A[:, [7, 1]]), "head list")
    check(np.array_equal(sw.attention(pid, layer=slice(1, 3), head=[2]), A[1:3][:, [2]]),
          "layer slice + head list")
    check(np.array_equal(sw.attention(pid, layer=slice(None, None, -1)), A[::-1]),
          "reversed layer slice")
    check(np.array_equal(sw.attention(pid, layer=0, head=slice(2, 6)), A[0, 2:6]),
          "one layer, head slice")
    check(np.array_equal(sw.last_row(pid), A[:, :, -1]), "last_row on a full file")
    raises(IndexError, lambda: sw.attention(pid, layer=L), "layer out of range")
    raises(IndexError, lambda: sw.attention(pid, head=-H - 1), "head out of range")
    raises(KeyError, lambda: sw.attention("arithmetic/nope"), "unknown prompt id")
    print(f"ok   attention selections on {pid} [{L}, {H}, {T}, {T}]")

    A64 = A.astype(np.float64)
    check(np.allclose(sw.aggregate(pid, "mean"), A64.mean(axis=(0, 1)), rtol=1e-12, atol=1e-15),
          "aggregate mean")
    check(np.array_equal(sw.aggregate(pid, "max"), A64.max(axis=(0, 1))), "aggregate max")
    agg = sw.aggregate(pid, "last_layer")
    check(agg.dtype == np.float64 and np.array_equal(agg, A64[-1].mean(axis=0)),
          "aggregate last_layer")
    check(np.array_equal(sw.aggregate(pid), sw.aggregate(pid, "mean")), "aggregate default")
    raises(ValueError, lambda: sw.aggregate(pid, "median"), "aggregate: unknown method")
    print("ok   aggregate mean / max / last_layer (float64, from the full maps)")

    tok = f["tokens"]
    check(sw.tokens(pid) == strs(tok["token_str"], np.s_[s:s + T]), "tokens")
    check(np.array_equal(sw.token_ids(pid), tok["token_id"][s:s + T]), "token_ids")
    check(np.array_equal(sw.offsets(pid), tok["offsets"][s:s + T]), "offsets")
    check(np.array_equal(tok["prompt_index"][s:s + T], np.full(T, i)) and
          np.array_equal(tok["position"][s:s + T], np.arange(T)), "prompt_index / position")
    text = f["text/utf8"][ts:ts + tn].tobytes().decode()
    check(sw.text(pid) == text, "text")
    tb = sw.text(pid).encode()
    b, e = sw.offsets(pid)[3]
    check(tb[b:e].decode() != "" or sw.tokens(pid)[3] == "", "offsets slice the text")
    check(np.array_equal(sw.layers(), f["attention/layer"][()]) and
          np.array_equal(sw.heads(pid), f["attention/head"][()]), "layers/heads")
    info = sw.info(pid)
    check(info["group"] == "arithmetic" and info["variant"] == "cot" and
          info["status"] == "done" and info["store"] == "full" and info["index"] == i and
          info["text"] == text and info["attention_start"] == a, f"info {info}")
    print("ok   tokens, token_ids, offsets, text, info")

    M = f["metrics"]
    m = sw.metrics(pid)
    for k in ("layer_entropy", "head_entropy", "head_max", "head_focus", "sink_last",
              "sink_mean", "prev_token", "induction"):
        check(np.array_equal(m[k], M[k][i], equal_nan=True), f"metrics {k}")
    check(np.array_equal(m["last_row_mean"], M["last_row_mean"][s:s + T].T),
          "metrics last_row_mean [L, T] = the column's token rows, transposed")
    toks = np.array(strs(tok["token_str"], np.s_[s:s + T]), dtype=object)
    check(list(m["head_focus_token"].ravel()) == list(toks[M["head_focus"][i].ravel()]),
          "head_focus_token = tokens[head_focus]")
    o0, o1 = ragged(f, "keyword_occ", i)
    check(np.array_equal(m["keyword_occ_mass"], M["keyword_occ_mass"][o0:o1]) and
          np.array_equal(m["keyword_occ_bytes"], M["keyword_occ_bytes"][o0:o1]) and
          np.array_equal(m["keyword_occ_mass_layer"], M["keyword_occ_mass_layer"][o0:o1]),
          "keyword_occ_* slices")
    u0, u1 = ragged(f, "keyword_substr", i)
    pos = M["keyword_substr_position"][u0:u1]
    check(np.array_equal(m["keyword_substr_position"], pos) and
          list(m["keyword_substr_token"]) == list(toks[pos]), "keyword_substr_* (+ token)")
    p0, p1 = ragged(f, "span", i)
    check(np.array_equal(m["span_mass"], M["span_mass"][p0:p1]) and
          list(m["span_name"]) == strs(M["span_name"], np.s_[p0:p1]), "span_* slices")
    check(list(m["keywords"]) == strs(M["keyword"]), "keywords = /metrics/keyword")
    check(m["input"] == "full" and m["unavailable"] == [] and int(M["input"][i]) == 0,
          "metrics input")
    hd = m["heads"]
    check(len(hd) == L * H and list(hd.columns[:6]) ==
          ["layer", "head", "entropy", "max_attention", "focus_position", "focus_token"],
          f"heads table columns {list(hd.columns)}")
    check(np.array_equal(hd["entropy"].to_numpy(), M["head_entropy"][i].ravel()),
          "heads table entropy")
    r = hd.nsmallest(1, "entropy").iloc[0]
    li, hi = np.unravel_index(np.argmin(M["head_entropy"][i]), (L, H))
    check((r["layer"], r["head"]) == (li, hi), "nsmallest on the heads table")
    check(len(m["keywords_table"]) == o1 - o0, "keywords table")
    check(list(m["spans"]["name"]) == strs(M["span_name"], np.s_[p0:p1]), "spans table")
    check(np.array_equal(sw.metric(pid, "head_entropy"), M["head_entropy"][i]) and
          sw.metric(pid, "no_such_metric") is None, "metric(pid, name)")
    print(f"ok   metrics: {len([k for k in m if isinstance(m[k], np.ndarray)])} arrays, "
          "heads/keywords/spans tables")

    he = sw.column("head_entropy")
    check(he.shape == (N, L, H) and np.array_equal(he, M["head_entropy"][()]), "column")
    check(np.array_equal(sw.column("sweep/status"), f["sweep/status"][()]), "column by path")
    hft = sw.column("head_focus_token")
    check(list(hft[i].ravel()) == list(m["head_focus_token"].ravel()), "column head_focus_token")
    raises(KeyError, lambda: sw.column("no_such_column"), "column: unknown name")
    df = sw.metrics_frame()
    check(len(df) == N * L * H and
          np.array_equal(df["head_entropy"].to_numpy(), M["head_entropy"][()].ravel()),
          "metrics_frame('head')")
    sub = df[df["prompt"] == pid]
    check(list(sub["focus_token"]) == list(m["head_focus_token"].ravel()) and
          np.array_equal(sub["layer"].to_numpy(), np.repeat(sw.layers(), H)),
          "metrics_frame rows of one prompt")
    dl = sw.metrics_frame("layer")
    check(np.array_equal(dl["layer_entropy"].to_numpy(), M["layer_entropy"][()].ravel()),
          "metrics_frame('layer')")
    check(len(sw.metrics_frame("prompt")) == N, "metrics_frame('prompt')")
    print("ok   column, metrics_frame")

    # O(1) reads: the same number for the first and the last prompt, one read per column
    sw2 = load.open_sweep(path)
    sw2.metrics(ids[0])           # loads the /sweep columns and the index once
    for what, fn in (("metrics", lambda p: sw2.metrics(p)), ("tokens", sw2.tokens),
                     ("text", sw2.text), ("attention", sw2.attention),
                     ("aggregate", sw2.aggregate)):
        fn(ids[N // 2])           # the first call reads the /sweep columns it needs, once
        n_first, n_last = READS.count(lambda: fn(ids[0])), READS.count(lambda: fn(ids[-1]))
        check(n_first == n_last, f"{what}: {n_first} reads for the first prompt, "
                                 f"{n_last} for the last")
        check(what == "metrics" or n_last <= 2, f"{what}: {n_last} reads per prompt")
    n = READS.count(lambda: sw2.column("layer_entropy"))
    check(n == 1, f"column(): {n} reads")
    sw2.close()
    print("ok   reads per prompt do not depend on the prompt; one read per column")

    s_ = sw.summary()
    S = f["summary"]
    pidx = S["prompt_index"][()]
    check(np.array_equal(s_["layer_entropy"], M["layer_entropy"][()][pidx]),
          "summary layer_entropy = /metrics rows prompt_index")
    check(np.array_equal(s_["head_entropy"], M["head_entropy"][()][pidx]),
          "summary head_entropy = /metrics rows prompt_index")
    check(np.array_equal(s_["head_entropy_mean"], S["head_entropy_mean"][()]),
          "summary head_entropy_mean")
    check(list(s_["prompt"]) == strs(S["prompt"]), "summary prompt")
    check(list(s_["prompt"]) == [ids[k] for k in pidx], "summary prompt_index rows")
    mf = s_["most_focused"]
    r0 = list(s_["prompt"]).index(pid)
    check(len(mf) == 5 * len(pidx) and
          np.allclose(mf[mf["prompt"] == pid]["entropy"].to_numpy(),
                      S["most_focused_entropy"][r0]), "most_focused table")
    check(list(mf[mf["prompt"] == pid]["token"]) == strs(S["most_focused_token"], np.s_[r0]),
          "most_focused tokens")
    check(np.array_equal(s_["overall_most_distributed"]["layer"].to_numpy(),
                         S["overall_most_distributed_layer"][()]), "overall table")
    gnames = strs(S["group"])
    check(list(s_["groups"]) == gnames == ["arithmetic", "story"], f"summary groups {gnames}")
    gi = gnames.index("arithmetic")
    g0, gn = int(S["group_start"][gi]), int(S["group_count"][gi])
    check(S["group_count"].attrs.get("sample_dimension") in ("member", b"member"),
          "group_count carries sample_dimension = member")
    ga = s_["groups"]["arithmetic"]
    check(ga["variant"] == strs(S["member_variant"], np.s_[g0:g0 + gn]) ==
          ["plain", "cot", "structured"], f"group variants {ga['variant']}")
    check(np.array_equal(ga["prompt_index"], S["member_prompt_index"][g0:g0 + gn]),
          "group prompt_index")
    check(np.array_equal(ga["sensitivity"]["js_divergence"].to_numpy(),
                         S["js_divergence"][gi], equal_nan=True), "sensitivity table")
    check(np.array_equal(ga["sensitivity_rank_js"], S["sensitivity_rank_js"][gi]),
          "sensitivity_rank_js")
    check(ga["n_shared_tokens"] == int(S["n_shared_tokens"][gi]), "n_shared_tokens")
    check(np.array_equal(ga["prefix_mass_table"].to_numpy(), S["prefix_mass"][g0:g0 + gn]),
          "prefix_mass table")
    check(int(S["has_examples"][gi]) == 0 and "example_mass" not in ga,
          "no example_mass in a sweep without few-shot spans")
    check(np.array_equal(s_["layer_entropy_table"].loc[pid].to_numpy(), M["layer_entropy"][i]),
          "layer_entropy_table")
    print("ok   summary arrays and tables")

    cfg = sw.config()
    check(isinstance(cfg, str) and cfg.startswith("# smoke.yaml"), "config text")
    check(cfg.encode() == f["config"][()], "config bytes")
    md = sw.model()
    check(md["n_layers"] == L and md["n_heads"] == H and
          md["architecture"] == "LlamaForCausalLM", f"model {md}")
    check(sw.attrs()["format"] == "attnsweep" and sw.attrs()["format_version"] == 2, "attrs")
    print("ok   config, model, attrs")

    try:
        import xarray as xr
        have_xr = True
    except ImportError:
        have_xr = False
    if have_xr:
        ds = sw.to_xarray(pid, metrics=True)
        check(ds["attention"].dims == ("layer", "head", "query", "key"), "xarray dims")
        check(np.array_equal(ds["attention"].sel(layer=L - 1).values, A[-1]), "xarray values")
        check(list(ds["tokens"].values) == sw.tokens(pid), "xarray tokens")
        check(ds["head_entropy"].dims == ("layer", "head"), "xarray metrics")
        import importlib.util
        if importlib.util.find_spec("h5netcdf") is not None:
            mx = xr.open_dataset(path, group="metrics", engine="h5netcdf")
            check(mx["head_entropy"].dims == ("prompt", "layer", "head") and
                  list(mx["prompt"].values) == ids and
                  np.array_equal(mx["head_entropy"].sel(prompt=pid).values,
                                 M["head_entropy"][i]), "xarray group=metrics")
            mx.close()
            print("ok   to_xarray, xr.open_dataset(group='metrics')")
        else:
            print("ok   to_xarray (h5netcdf not installed)")
    else:
        print("skip to_xarray: xarray not installed")

    with load.open_sweep(path) as sw2:
        check(len(sw2.prompts) == N, "context manager")
    check(not sw2.file.id.valid, "file closed after with")
    sw.close()
    f.close()


def test_last_row_f16(path, full_path):
    f = h5py.File(path, "r")
    sw = load.open_sweep(path)
    swf = load.open_sweep(full_path)
    check(set(sw.prompts["store"]) == {"last_row"} and set(sw.prompts["dtype"]) == {"float16"},
          "last_row/float16 prompt table")
    raw_ds = f["attention/last_row"]
    check(raw_ds.dtype == np.float16 and raw_ds.shape == (int(f.attrs["n_tokens_total"]),
                                                          sw.n_layers, sw.n_heads),
          f"/attention/last_row {raw_ds.dtype} {raw_ds.shape}")
    for i, pid in enumerate(sw.ids):
        s, T, _, _, _ = prompt_slices(f, i)
        raw = raw_ds[s:s + T]                                   # [T, L, H]
        a = sw.attention(pid)
        check(a.dtype == np.float32 and a.shape == (sw.n_layers, sw.n_heads, T),
              f"{pid}: attention dtype/shape {a.dtype} {a.shape}")
        check(np.array_equal(a, np.transpose(raw.astype(np.float32), (1, 2, 0))),
              f"{pid}: float16 [T, L, H] -> float32 [L, H, T]")
        full = swf.attention(pid)[:, :, -1, :]
        d = float(np.abs(sw.last_row(pid) - full).max())
        check(d <= 2.5e-4, f"{pid}: last_row vs full file differ by {d}")
        check(np.array_equal(sw.attention(pid, layer=-1, head=0), a[-1, 0]), "last_row select")
        check(np.array_equal(sw.attention(pid, head=[3, 1]), a[:, [3, 1]]), "head list")
    pid = sw.ids[0]
    raises(ValueError, lambda: sw.aggregate(pid, "last_layer"), "aggregate on a last_row file")
    m = sw.metrics(pid)
    check(m["input"] == "full" and "sink_mean" in m,
          "run computes the metrics from the full maps (input full) under store last_row")
    print(f"ok   last_row float16: {len(sw.ids)} prompts, float32 out, within 2.5e-4 of full")
    sw.close()
    swf.close()


def test_none(path):
    sw = load.open_sweep(path)
    pid = sw.ids[0]
    raises(ValueError, lambda: sw.attention(pid), "attention of a store none prompt")
    raises(ValueError, lambda: sw.aggregate(pid), "aggregate of a store none prompt")
    # extract runs the prompt through the sweep pipeline: metrics from the maps in memory, a summary
    m = sw.metrics(pid)
    check(m and m["input"] == "full" and "induction" in m, "metrics computed from memory")
    he = sw.metric(pid, "head_entropy")
    check(he is not None and np.array_equal(he, sw.file["metrics/head_entropy"][0]), "metric row")
    check(sw.has_summary() and sw.summary() != {}, "a summary")
    check(sw.config() is None, "no config in an extract file")
    check(sw.prompts["group"][0] == pid and sw.prompts["variant"][0] == "", "extract id")
    check(len(sw.tokens(pid)) == int(sw.prompts["n_tokens"][0]), "tokens of a none prompt")
    check(sw.text(pid) == "What is 15 plus 27?", f"text {sw.text(pid)!r}")
    print("ok   store none / extract file")
    sw.close()


def test_failed(full, tmp):
    """A prompt whose status is not done: its data are undefined, load.py refuses them."""
    p = os.path.join(tmp, "failed.h5")
    shutil.copyfile(full, p)
    with h5py.File(p, "r+") as f:
        f["sweep/status"][1] = 2
        msg = np.zeros((), dtype=f["sweep/message"].dtype)
        msg[()] = b"forward: out of memory"
        f["sweep/message"][1] = msg
    sw = load.open_sweep(p)
    pid = sw.ids[1]
    check(sw.prompts["status"][1] == "failed", "failed status name")
    check(sw.prompts["message"][1] == "forward: out of memory", "failure message")
    raises(ValueError, lambda: sw.attention(pid), "attention of a failed prompt")
    raises(ValueError, lambda: sw.metrics(pid), "metrics of a failed prompt")
    raises(ValueError, lambda: sw.aggregate(pid), "aggregate of a failed prompt")
    check(sw.attention(pid, layer=0, check_status=False).ndim == 3, "check_status=False")
    check(len(sw.metrics_frame("prompt")) == len(sw.ids) - 1, "metrics_frame drops it")
    sw.close()
    print("ok   failed prompt")
    return p


def test_refused(tmp):
    p = os.path.join(tmp, "plain.h5")
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(3)
    raises(ValueError, lambda: load.open_sweep(p), "a file without format = attnsweep")
    for ver in (1, 3):
        p = os.path.join(tmp, f"v{ver}.h5")
        with h5py.File(p, "w") as f:
            f.attrs["format"] = "attnsweep"
            f.attrs["format_version"] = np.int32(ver)
        raises(ValueError, lambda: load.open_sweep(p), f"format_version {ver}",
               contains=f"format_version {ver}")


def test_masses(path):
    """span_mass_layer / keyword_mass_layer (whole sweep, vectorized) against per-prompt
    slices read with h5py: the head mean of span_mass by span name, the sum of
    keyword_occ_mass_layer by keyword; NaN where the prompt has no such span / occurrence."""
    sw = load.open_sweep(path)
    names, sm = sw.span_mass_layer()
    kws, km = sw.keyword_mass_layer()
    with h5py.File(path, "r") as f:
        m = f["metrics"]
        n = len(f["sweep/prompt"])
        L = int(f.attrs["n_layers"])
        check(sm.shape == (n, len(names), L) and km.shape == (n, len(kws), L),
              f"mass shapes {sm.shape} {km.shape}")
        check(kws == strs(m["keyword"]), "keyword_mass_layer keywords are /metrics/keyword")
        all_names = set()
        for i in range(n):
            a, c = int(m["span_start"][i]), int(m["span_count"][i])
            want = {}
            for j in range(a, a + c):
                nm = m["span_name"].asstr()[j]
                all_names.add(nm)
                if m["span_tokens"][j][0] >= 0 and nm not in want:
                    want[nm] = m["span_mass"][j].mean(axis=-1)
            for si, nm in enumerate(names):
                if nm in want:
                    check(np.array_equal(sm[i, si], want[nm]), f"span mass row {i} {nm}")
                else:
                    check(np.isnan(sm[i, si]).all(), f"span mass row {i} {nm} is NaN")
            a, c = int(m["keyword_occ_start"][i]), int(m["keyword_occ_count"][i])
            kk = m["keyword_occ_keyword"][a:a + c]
            ml = m["keyword_occ_mass_layer"][a:a + c]
            for ki in range(len(kws)):
                sel = kk == ki
                if sel.any():
                    check(np.allclose(km[i, ki], ml[sel].sum(axis=0), rtol=0, atol=1e-15),
                          f"keyword mass row {i} {kws[ki]}")
                else:
                    check(np.isnan(km[i, ki]).all(), f"keyword mass row {i} {kws[ki]} is NaN")
        check(set(names) == all_names, f"span names {names} = the file's {sorted(all_names)}")
    sw.close()


def main():
    full, lr, none = sys.argv[1:4]
    test_full(full)
    test_masses(full)
    test_last_row_f16(lr, full)
    test_none(none)
    tmp = os.path.dirname(os.path.abspath(full))
    test_failed(full, tmp)
    test_refused(tmp)
    if FAILS:
        print(f"{len(FAILS)} check(s) failed")
        return 1
    print("all load.py checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
