#!/usr/bin/python3
"""check_h5out.py - independent check of attnsweep output files with h5py
(and xarray + h5netcdf when installed), against docs/FORMAT.md.

Usage: check_h5out.py A.h5 [B.h5 ...]
Each file must hold the synthetic prompts of tests/io/h5test_data.h, all
done; its crash snapshot A.h5.crash.h5 (written by test_h5out_mpi) must have
prompts 0-2 done and 3-4 marked failed by the resume step. All files must
hold identical data (the result must not depend on the rank count).
Exit 0 = pass, 1 = fail, 77 = h5py missing (skip)."""
import sys

try:
    import numpy as np
    import h5py
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e}")
    sys.exit(77)

FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


L, H = 3, 4
IDS = ["alpha", "beta café", "gamma", "delta", "epsilon"]
TEXTS = ["Hello wörld", "naïve café 日本", "The quick brown fox", "abcd", "xyz"]
T = [5, 6, 5, 4, 3]
STORE = ["full", "full", "last_row", "last_row", "none"]
DTYPE = ["float32", "float16", "float32", "float16", "float32"]
TOKENS = [["<s>", "Hello", " w", "ör", "ld"], ["<s>", "na", "ïve", " café", " 日", "本"],
          ["<s>", "The", " quick", " brown", " fox"], ["", "", "", ""], ["<s>", "x", "yz"]]
ROOT_ATTRS = {"format", "format_version", "attnsweep_version", "git_commit", "created_utc",
              "n_ranks", "model_path", "command_line"}
MODEL_ATTRS = {"architecture", "n_layers", "n_heads", "n_kv_heads", "head_dim", "hidden_size",
               "intermediate_size", "vocab_size", "max_position_embeddings", "rope_theta",
               "rms_norm_eps", "rope_style", "source_dtype", "tied_embeddings"}


def pattern(p, layer, t):
    """Same as h5t_fill_layer(): (H, T, T), causal, row-normalised."""
    h = np.arange(H)[:, None, None]
    q = np.arange(t)[None, :, None]
    k = np.arange(t)[None, None, :]
    w = (1 + (7 * p + 5 * layer + 3 * h + 2 * q + k) % 11).astype(np.float64)
    w = np.where(k <= q, w, 0.0)
    return (w / w.sum(axis=2, keepdims=True)).astype(np.float32)


def scale_names(d):
    return [[s.name.rsplit("/", 1)[-1] for s in dim.values()] for dim in d.dims]


def check_prompt(f, path, p, want_done):
    g = f["prompts"][IDS[p]]
    where = f"{path}:/prompts/{IDS[p]}"
    check(isinstance(g.attrs["text"], str) and g.attrs["text"] == TEXTS[p],
          f"{where}: text attr {g.attrs.get('text')!r}")
    check(int(g.attrs["n_tokens"]) == T[p], f"{where}: n_tokens {g.attrs['n_tokens']}")
    check(g.attrs["store"] == STORE[p] and g.attrs["dtype"] == DTYPE[p],
          f"{where}: store/dtype attrs {g.attrs['store']}/{g.attrs['dtype']}")
    t = T[p]
    for name, n in (("layer", L), ("head", H), ("query", t), ("key", t), ("span", 2)):
        d = g[name]
        check(d.dtype == np.int32 and d.shape == (n,) and (d[()] == np.arange(n)).all(),
              f"{where}/{name}: {d.dtype} {d.shape}")
        check(d.attrs.get("CLASS") == b"DIMENSION_SCALE" and d.attrs.get("NAME") in (name, name.encode()),
              f"{where}/{name} is not a dimension scale named {name}: {dict(d.attrs)}")
    ids = g["token_ids"]
    check(ids.dtype == np.int32 and ids.shape == (t,), f"{where}/token_ids {ids.dtype} {ids.shape}")
    # prompt 3's ids are written by its worker (late), so they are -1 until it is done
    want_ids = [100 * p + i + 1 for i in range(t)] if (p != 3 or want_done) else [-1] * t
    check(list(ids[()]) == want_ids, f"{where}/token_ids {ids[()]}; expected {want_ids}")
    check(scale_names(ids) == [["query"]], f"{where}/token_ids dims {scale_names(ids)}")
    toks = g["tokens"]
    info = h5py.check_string_dtype(toks.dtype)
    check(info is not None and info.encoding == "utf-8" and toks.shape == (t,),
          f"{where}/tokens dtype {toks.dtype} {info}")
    got = list(toks.asstr()[()])
    check(got == TOKENS[p], f"{where}/tokens {got}")
    check(scale_names(toks) == [["query"]], f"{where}/tokens dims {scale_names(toks)}")
    offs = g["offsets"][()]
    check(g["offsets"].dtype == np.int32 and offs.shape == (t, 2), f"{where}/offsets shape")
    check(scale_names(g["offsets"]) == [["query"], ["span"]], f"{where}/offsets dims")
    if p == 3:
        check((offs == -1).all(), f"{where}/offsets should be -1 (unknown): {offs.tolist()}")
    else:
        raw = TEXTS[p].encode()
        check(offs[0].tolist() == [0, 0], f"{where}: BOS offsets {offs[0]}")
        for i in range(1, t):
            s, e = offs[i]
            check(raw[s:e].decode() == got[i], f"{where}: text[{s}:{e}] != token {i} {got[i]!r}")
    if STORE[p] == "none":
        check("attention" not in g, f"{where}: store=none has an attention dataset")
        return
    a = g["attention"]
    want_dt = np.float16 if DTYPE[p] == "float16" else np.float32
    check(a.dtype == want_dt, f"{where}/attention dtype {a.dtype}; expected {np.dtype(want_dt)}")
    full = STORE[p] == "full"
    shape = (L, H, t, t) if full else (L, H, t)
    check(a.shape == shape, f"{where}/attention shape {a.shape}; expected {shape}")
    dims = [["layer"], ["head"], ["query"], ["key"]] if full else [["layer"], ["head"], ["key"]]
    check(scale_names(a) == dims, f"{where}/attention dims {scale_names(a)}")
    check(a.id.get_create_plist().get_layout() == h5py.h5d.CONTIGUOUS,
          f"{where}/attention is not contiguous")
    if not want_done:
        return
    x = a[()].astype(np.float32)
    tol = 1e-3 if DTYPE[p] == "float16" else 0.0
    for layer in range(L):
        ref = pattern(p, layer, t)
        if not full:
            ref = ref[:, t - 1, :]
        err = float(np.abs(x[layer] - ref).max())
        check(err <= tol, f"{where}/attention layer {layer}: max|diff| {err} > {tol}")


def check_file(path, statuses):
    with h5py.File(path, "r") as f:
        check(ROOT_ATTRS <= set(f.attrs), f"{path}: root attrs missing {ROOT_ATTRS - set(f.attrs)}")
        check(f.attrs["format"] == "attnsweep" and int(f.attrs["format_version"]) == 1,
              f"{path}: format attrs")
        check("model_sha256" in f.attrs or {"model_size", "model_mtime"} <= set(f.attrs),
              f"{path}: neither model_sha256 nor model_size+model_mtime")
        for k in ("created_utc", "git_commit", "command_line", "model_path", "attnsweep_version"):
            check(isinstance(f.attrs[k], str), f"{path}: root attr {k} is {type(f.attrs[k])}, not str")
        m = f["model"].attrs
        check(MODEL_ATTRS <= set(m), f"{path}: /model attrs missing {MODEL_ATTRS - set(m)}")
        check(m["rope_style"] in ("rotate_half", "interleaved"), f"{path}: rope_style {m['rope_style']}")
        check(list(f["prompts"]) == IDS, f"{path}: prompts in creation order {list(f['prompts'])}")
        sw = f["sweep"]
        check(list(sw["prompt"].asstr()[()]) == IDS, f"{path}: /sweep/prompt")
        check(list(sw["n_tokens"][()]) == T, f"{path}: /sweep/n_tokens")
        check(list(sw["status"][()]) == statuses,
              f"{path}: /sweep/status {list(sw['status'][()])}; expected {statuses}")
        check(scale_names(sw["status"]) == [["prompt"]], f"{path}: /sweep/status dims")
        for p in range(len(IDS)):
            check_prompt(f, path, p, statuses[p] == 1)


def same_data(a, b):
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        for p, pid in enumerate(IDS):
            for name in fa["prompts"][pid]:
                x, y = fa["prompts"][pid][name][()], fb["prompts"][pid][name][()]
                check(np.array_equal(x, y), f"{a} vs {b}: /prompts/{pid}/{name} differs")
        check(np.array_equal(fa["sweep/status"][()], fb["sweep/status"][()]), f"{a} vs {b}: status")


def check_xarray(path):
    try:
        import xarray as xr
        import h5netcdf  # noqa: F401
    except ImportError as e:
        print(f"xarray check skipped: {e}")
        return
    ds = xr.open_dataset(path, engine="h5netcdf", group="prompts/" + IDS[1])
    check(ds["attention"].dims == ("layer", "head", "query", "key"),
          f"xarray: attention dims {ds['attention'].dims}")
    check(ds["attention"].dtype == np.float16, f"xarray: attention dtype {ds['attention'].dtype}")
    check(ds["offsets"].dims == ("query", "span"), f"xarray: offsets dims {ds['offsets'].dims}")
    check(list(ds["tokens"].values) == TOKENS[1], f"xarray: tokens {ds['tokens'].values}")
    check(ds.attrs.get("text") == TEXTS[1], f"xarray: text attr {ds.attrs.get('text')!r}")
    ds.close()
    ds = xr.open_dataset(path, engine="h5netcdf", group="prompts/" + IDS[2])
    check(ds["attention"].dims == ("layer", "head", "key"), f"xarray: last_row dims {ds['attention'].dims}")
    ds.close()
    sw = xr.open_dataset(path, engine="h5netcdf", group="sweep")
    check(list(sw["prompt"].values) == IDS and sw["status"].dims == ("prompt",),
          f"xarray: /sweep {sw}")
    sw.close()
    print(f"xarray {xr.__version__}: {path} opens with named dims")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    files = sys.argv[1:]
    for path in files:
        check_file(path, [1] * len(IDS))
        check_file(path + ".crash.h5", [1, 1, 1, 2, 2])
        check_xarray(path)
    for other in files[1:]:
        same_data(files[0], other)
    print(f"check_h5out: {len(files)} file(s), {len(FAILS)} failure(s)")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
