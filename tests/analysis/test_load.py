#!/usr/bin/python3
"""test_load.py FULL.h5 LASTROW_F16.h5 NONE.h5 - analysis/load.py against plain h5py.

FULL.h5: jobs/smoke.yaml (store full, float32); LASTROW_F16.h5: the same sweep with store
last_row, dtype float16; NONE.h5: `attnsweep extract --store none` (no attention, no metrics, no
summary). Every value load.py returns is compared with what h5py reads directly.
"""
import os
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


def raises(exc, fn, what):
    try:
        fn()
    except exc as e:
        print(f"ok   {what}: {type(e).__name__}: {e}")
        return
    except Exception as e:  # noqa: BLE001
        check(False, f"{what}: raised {type(e).__name__} ({e}), expected {exc.__name__}")
        return
    check(False, f"{what}: no {exc.__name__}")


def test_full(path):
    f = h5py.File(path, "r")
    sw = load.open_sweep(path)
    ids = [x.decode() for x in f["sweep/prompt"][()]]
    P = sw.prompts
    check(list(P.columns[:6]) == ["id", "group", "variant", "n_tokens", "n_layers", "n_heads"],
          f"prompt columns {list(P.columns)}")
    check(list(P["id"]) == ids, "prompt ids")
    check(sw.ids == ids, "ids")
    check(list(P["group"]) == [i.split("/")[0] for i in ids], "groups")
    check(list(P["variant"]) == [i.split("/")[1] for i in ids], "variants")
    check(np.array_equal(P["n_tokens"].to_numpy(), f["sweep/n_tokens"][()]), "n_tokens")
    check(np.array_equal(P["rank"].to_numpy(), f["sweep/rank"][()]), "rank")
    check(set(P["status"]) == {"done"} and set(P["store"]) == {"full"}
          and set(P["dtype"]) == {"float32"}, "status/store/dtype names")
    check(sw.groups() == {"arithmetic": ids[:3], "story": ids[3:]}, f"groups {sw.groups()}")
    print(f"ok   prompts: {len(P)} rows, groups {list(sw.groups())}")

    pid = "arithmetic/cot"
    g = f["prompts/" + pid]
    A = g["attention"][()]
    L, H, T, _ = A.shape
    a = sw.attention(pid)
    check(a.dtype == np.float32 and np.array_equal(a, A), "attention(pid)")
    check(np.array_equal(sw.attention(pid, layer=-1), A[-1]), "layer=-1")
    check(np.array_equal(sw.attention(pid, layer=1, head=2), A[1, 2]), "layer=1, head=2")
    check(np.array_equal(sw.attention(pid, layer=[3, 0], head=5), A[[3, 0], 5]), "layer list")
    check(np.array_equal(sw.attention(pid, head=[7, 1]), A[:, [7, 1]]), "head list")
    check(np.array_equal(sw.attention(pid, layer=slice(1, 3), head=[2]), A[1:3][:, [2]]),
          "layer slice + head list")
    check(np.array_equal(sw.last_row(pid), A[:, :, -1]), "last_row on a full file")
    raises(IndexError, lambda: sw.attention(pid, layer=L), "layer out of range")
    raises(IndexError, lambda: sw.attention(pid, head=-H - 1), "head out of range")
    raises(KeyError, lambda: sw.attention("arithmetic/nope"), "unknown prompt id")
    print(f"ok   attention selections on {pid} [{L}, {H}, {T}, {T}]")

    check(sw.tokens(pid) == [x.decode() for x in g["tokens"][()]], "tokens")
    check(np.array_equal(sw.token_ids(pid), g["token_ids"][()]), "token_ids")
    check(np.array_equal(sw.offsets(pid), g["offsets"][()]), "offsets")
    check(sw.text(pid) == g.attrs["text"], "text")
    text = sw.text(pid).encode()
    b, e = sw.offsets(pid)[3]
    check(text[b:e].decode() != "" or sw.tokens(pid)[3] == "", "offsets slice the text")
    check(np.array_equal(sw.layers(pid), np.arange(L)) and
          np.array_equal(sw.heads(pid), np.arange(H)), "layers/heads")
    info = sw.info(pid)
    check(info["group"] == "arithmetic" and info["variant"] == "cot" and
          info["status"] == "done" and info["store"] == "full", f"info {info}")
    print("ok   tokens, token_ids, offsets, text, info")

    m = sw.metrics(pid)
    mg = g["metrics"]
    for k in ("layer_entropy", "head_entropy", "sink_mean", "prev_token", "last_row_mean",
              "span_mass"):
        check(np.array_equal(m[k], mg[k][()]), f"metrics {k}")
    check(list(m["head_focus_token"].ravel()) ==
          [x.decode() for x in mg["head_focus_token"][()].ravel()], "head_focus_token")
    check(m["input"] == "full" and m["unavailable"] == [], "metrics attrs")
    hd = m["heads"]
    check(len(hd) == L * H and list(hd.columns[:6]) ==
          ["layer", "head", "entropy", "max_attention", "focus_position", "focus_token"],
          f"heads table columns {list(hd.columns)}")
    check(np.array_equal(hd["entropy"].to_numpy(), mg["head_entropy"][()].ravel()),
          "heads table entropy")
    r = hd.nsmallest(1, "entropy").iloc[0]
    li, hi = np.unravel_index(np.argmin(mg["head_entropy"][()]), (L, H))
    check((r["layer"], r["head"]) == (li, hi), "nsmallest on the heads table")
    check(len(m["keywords_table"]) == len(mg["keyword_occ_mass"]), "keywords table")
    check(list(m["spans"]["name"]) == [x.decode() for x in mg["span_name"][()]], "spans")
    print(f"ok   metrics: {len([k for k in m if isinstance(m[k], np.ndarray)])} arrays, "
          "heads/keywords/spans tables")

    s = sw.summary()
    S = f["summary"]
    check(np.array_equal(s["layer_entropy"], S["layer_entropy"][()]), "summary layer_entropy")
    check(np.array_equal(s["head_entropy_mean"], S["head_entropy_mean"][()]),
          "summary head_entropy_mean")
    check(list(s["prompt"]) == [x.decode() for x in S["prompt"][()]], "summary prompt")
    mf = s["most_focused"]
    check(len(mf) == 5 * len(ids) and
          np.allclose(mf[mf["prompt"] == pid]["entropy"].to_numpy(),
                      S["most_focused_entropy"][ids.index(pid)]), "most_focused table")
    check(np.array_equal(s["overall_most_distributed"]["layer"].to_numpy(),
                         S["overall_most_distributed_layer"][()]), "overall table")
    ga = s["groups"]["arithmetic"]
    GA = S["groups/arithmetic"]
    check(ga["variant"] == ["plain", "cot", "structured"], "group variants")
    check(np.array_equal(ga["sensitivity"]["js_divergence"].to_numpy(),
                         GA["js_divergence"][()]), "sensitivity table")
    check(ga["n_shared_tokens"] == int(GA["n_shared_tokens"][0]), "n_shared_tokens")
    check(np.array_equal(ga["prefix_mass_table"].to_numpy(), GA["prefix_mass"][()]),
          "prefix_mass table")
    check("example_mass" not in ga, "no example_mass in a sweep without few-shot spans")
    check(np.array_equal(s["layer_entropy_table"].loc[pid].to_numpy(),
                         S["layer_entropy"][ids.index(pid)]), "layer_entropy_table")
    print("ok   summary arrays and tables")

    cfg = sw.config()
    check(isinstance(cfg, str) and cfg.startswith("# smoke.yaml"), "config text")
    check(cfg.encode() == f["config"][()], "config bytes")
    md = sw.model()
    check(md["n_layers"] == L and md["n_heads"] == H and
          md["architecture"] == "LlamaForCausalLM", f"model {md}")
    check(sw.attrs()["format"] == "attnsweep" and sw.attrs()["format_version"] == 1, "attrs")
    print("ok   config, model, attrs")

    try:
        import importlib
        importlib.import_module("xarray")
        have_xr = True
    except ImportError:
        have_xr = False
    if have_xr:
        ds = sw.to_xarray(pid, metrics=True)
        check(ds["attention"].dims == ("layer", "head", "query", "key"), "xarray dims")
        check(np.array_equal(ds["attention"].sel(layer=L - 1).values, A[-1]), "xarray values")
        check(list(ds["tokens"].values) == sw.tokens(pid), "xarray tokens")
        check(ds["head_entropy"].dims == ("layer", "head"), "xarray metrics")
        print("ok   to_xarray")
    else:
        print("skip to_xarray: xarray not installed")

    with load.open_sweep(path) as sw2:
        check(len(sw2.prompts) == len(ids), "context manager")
    check(not sw2.file.id.valid, "file closed after with")
    sw.close()
    return A


def test_last_row_f16(path, full_path):
    f = h5py.File(path, "r")
    ff = h5py.File(full_path, "r")
    sw = load.open_sweep(path)
    check(set(sw.prompts["store"]) == {"last_row"} and set(sw.prompts["dtype"]) == {"float16"},
          "last_row/float16 prompt table")
    for pid in sw.ids:
        raw = f["prompts/" + pid + "/attention"]
        check(raw.dtype == np.float16, "file dtype float16")
        a = sw.attention(pid)
        check(a.dtype == np.float32 and a.shape == raw.shape and a.ndim == 3,
              f"{pid}: attention dtype/shape {a.dtype} {a.shape}")
        check(np.array_equal(a, raw[()].astype(np.float32)), f"{pid}: float16 -> float32")
        full = ff["prompts/" + pid + "/attention"][()][:, :, -1, :]
        d = float(np.abs(sw.last_row(pid) - full).max())
        check(d <= 2.5e-4, f"{pid}: last_row vs full file differ by {d}")
        check(np.array_equal(sw.attention(pid, layer=-1, head=0), a[-1, 0]), "last_row select")
    print(f"ok   last_row float16: {len(sw.ids)} prompts, float32 out, within 2.5e-4 of full")
    sw.close()


def test_none(path):
    sw = load.open_sweep(path)
    pid = sw.ids[0]
    raises(ValueError, lambda: sw.attention(pid), "attention of a store none prompt")
    check(sw.metrics(pid) == {}, "no metrics")
    check(sw.summary() == {} and not sw.has_summary(), "no summary")
    check(sw.config() is None, "no config in an extract file")
    check(sw.prompts["group"][0] == pid and sw.prompts["variant"][0] == "", "extract id")
    check(len(sw.tokens(pid)) == int(sw.prompts["n_tokens"][0]), "tokens of a none prompt")
    print("ok   store none / extract file")
    sw.close()


def test_failed(full, tmp):
    """A prompt whose status is not done: its data are undefined, load.py refuses them."""
    import shutil
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
    check(sw.attention(pid, layer=0, check_status=False).ndim == 3, "check_status=False")
    sw.close()
    print("ok   failed prompt")
    return p


def test_not_attnsweep(tmp):
    p = os.path.join(tmp, "plain.h5")
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(3)
    raises(ValueError, lambda: load.open_sweep(p), "a file without format = attnsweep")


def main():
    full, lr, none = sys.argv[1:4]
    test_full(full)
    test_last_row_f16(lr, full)
    test_none(none)
    tmp = os.path.dirname(os.path.abspath(full))
    test_failed(full, tmp)
    test_not_attnsweep(tmp)
    if FAILS:
        print(f"{len(FAILS)} check(s) failed")
        return 1
    print("all load.py checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
