"""load.py - read an attnsweep HDF5 file without learning its layout.

attnsweep writes one HDF5 file per sweep (docs/FORMAT.md is the contract). This module wraps
h5py so that the common questions take one line each::

    import sys; sys.path.insert(0, "analysis")      # or run from inside analysis/
    import load

    sw = load.open_sweep("results/exp8.h5")
    sw.prompts                                     # pandas DataFrame, one row per prompt
    a = sw.attention("instructions/cot")           # float32 [layer, head, query, key]
    a = sw.attention("instructions/cot", layer=-1) # last stored layer: [head, query, key]
    toks = sw.tokens("instructions/cot")           # list of str (HF tokenizer.decode([id]))
    m = sw.metrics("instructions/cot")             # dict: layer_entropy, head_entropy, ...
    m["heads"]                                     # the notebook's head_df (DataFrame)
    s = sw.summary()                               # /summary as numpy arrays and DataFrames
    s["groups"]["instructions"]["sensitivity"]     # per-layer prompt-sensitivity table

Only h5py, numpy and pandas are needed (Debian: python3-h5py python3-numpy python3-pandas);
``to_xarray`` also needs python3-xarray. The file is opened read-only; use ``with
load.open_sweep(path) as sw: ...`` or ``sw.close()`` to release it.

Indices: ``layer`` and ``head`` arguments are positions along the *stored* axes (numpy rules,
negative values count from the end). When the sweep stored a subset (``output.layers`` /
``output.heads``), ``sw.layers(id)`` / ``sw.heads(id)`` give the model layer / head of each
position.
"""

import h5py
import numpy as np
import pandas as pd

__all__ = ["open_sweep", "Sweep", "STORE_NAMES", "STATUS_NAMES", "DTYPE_NAMES"]

#: codes of /sweep/store, /sweep/status and /sweep/dtype (docs/FORMAT.md)
STORE_NAMES = {0: "full", 1: "last_row", 2: "none"}
STATUS_NAMES = {0: "pending", 1: "done", 2: "failed"}
DTYPE_NAMES = {0: "float32", 1: "float16"}

#: number of rows of the summary's top-K tables (padded with layer = head = -1)
TOP_K = 5


def open_sweep(path):
    """Open an attnsweep output file read-only and return a :class:`Sweep`.

    >>> sw = open_sweep("results/smoke.h5")            # doctest: +SKIP
    >>> sw.prompts[["id", "n_tokens", "status"]]       # doctest: +SKIP
                     id  n_tokens status
    0  arithmetic/plain        11   done
    ...

    Raises ValueError when the file is not an attnsweep file (no ``format = "attnsweep"``
    root attribute).
    """
    return Sweep(path)


def _str(x):
    """An h5py attribute or element as str (bytes are decoded as UTF-8)."""
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    if isinstance(x, np.ndarray) and x.shape == ():
        return _str(x[()])
    return str(x)


def _attr_value(v):
    """An HDF5 attribute as a plain Python value (str, int, float) when it is a scalar."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray) and v.shape == ():
        return _attr_value(v[()])
    return v


def _read(ds):
    """A whole dataset as numpy; fixed-length strings come back as an object array of str."""
    if ds.dtype.kind in ("S", "O") and h5py.check_string_dtype(ds.dtype) is not None:
        out = ds.asstr()[()]
        return out if isinstance(out, str) else np.asarray(out, dtype=object)
    return ds[()]


def _norm_index(sel, n, what):
    """Validate an int / slice / list selector along an axis of length n."""
    if sel is None:
        return slice(None)
    if isinstance(sel, slice):
        return sel
    if isinstance(sel, (int, np.integer)):
        i = int(sel)
        if i < -n or i >= n:
            raise IndexError(f"{what} {i} out of range: {n} stored")
        return i % n
    idx = [int(i) for i in sel]
    for i in idx:
        if i < -n or i >= n:
            raise IndexError(f"{what} {i} out of range: {n} stored")
    return [i % n for i in idx]


class Sweep:
    """One attnsweep output file. Create it with :func:`open_sweep`.

    Attributes:
        path: the file name.
        file: the underlying ``h5py.File`` (read-only), for anything this class does not wrap.
        prompts: DataFrame of /sweep (see :attr:`prompts`).
    """

    def __init__(self, path):
        self.path = str(path)
        self.file = h5py.File(self.path, "r")
        fmt = _attr_value(self.file.attrs.get("format", ""))
        if fmt != "attnsweep":
            self.file.close()
            raise ValueError(f"{self.path}: not an attnsweep file (root attribute format = "
                             f"{fmt!r}; expected 'attnsweep')")
        self._prompts = None
        self._index = None
        self._summary = None

    # -- lifetime -------------------------------------------------------------------------
    def close(self):
        """Close the HDF5 file."""
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        n = len(self.prompts)
        return f"<attnsweep file {self.path!r}: {n} prompts, {len(self.groups())} groups>"

    # -- file-level information -----------------------------------------------------------
    def attrs(self):
        """The root attributes (provenance) as a dict: format_version, created_utc, n_ranks,
        model_path, command_line, git_commit, ...

        >>> sw.attrs()["created_utc"]                 # doctest: +SKIP
        '2026-01-31T12:00:00Z'
        """
        return {k: _attr_value(v) for k, v in self.file.attrs.items()}

    def config(self):
        """The sweep YAML exactly as ``attnsweep run`` read it (str), or None for files
        written by ``attnsweep extract``.

        >>> print(sw.config().splitlines()[0])        # doctest: +SKIP
        # exp8.yaml - "Experiment 8: Attention Pattern Analysis", ...
        """
        if "config" not in self.file:
            return None
        return _read(self.file["config"])

    def model(self):
        """The /model attributes as a dict (architecture, n_layers, n_heads, n_kv_heads,
        head_dim, hidden_size, rope_theta, ...).

        >>> sw.model()["n_layers"]                    # doctest: +SKIP
        22
        """
        if "model" not in self.file:
            return {}
        return {k: _attr_value(v) for k, v in self.file["model"].attrs.items()}

    # -- the prompt table -----------------------------------------------------------------
    @property
    def prompts(self):
        """The prompt table (/sweep) as a DataFrame, one row per prompt in file order.

        Columns: ``id`` (group/variant or a single name), ``group``, ``variant`` (for ids
        without "/" the group is the id and the variant is ""), ``n_tokens``, ``n_layers``,
        ``n_heads``, ``store`` ("full" | "last_row" | "none"), ``dtype`` ("float32" |
        "float16"), ``rank`` (-1 if none), ``status`` ("pending" | "done" | "failed") and
        ``message`` (why a prompt failed).

        >>> sw.prompts.query("status == 'done'").groupby("group").size()   # doctest: +SKIP
        """
        if self._prompts is None:
            s = self.file["sweep"]
            ids = [str(x) for x in _read(s["prompt"])]
            n = len(ids)

            def col(name, default):
                return s[name][()] if name in s else np.full(n, default)

            groups, variants = [], []
            for pid in ids:
                if "/" in pid:
                    g, v = pid.split("/", 1)
                else:
                    g, v = pid, ""
                groups.append(g)
                variants.append(v)
            msg = _read(s["message"]) if "message" in s else np.full(n, "", dtype=object)
            self._prompts = pd.DataFrame({
                "id": ids,
                "group": groups,
                "variant": variants,
                "n_tokens": col("n_tokens", -1).astype(np.int64),
                "n_layers": col("n_layers", -1).astype(np.int64),
                "n_heads": col("n_heads", -1).astype(np.int64),
                "store": [STORE_NAMES.get(int(x), str(int(x))) for x in col("store", 0)],
                "dtype": [DTYPE_NAMES.get(int(x), str(int(x))) for x in col("dtype", 0)],
                "rank": col("rank", -1).astype(np.int64),
                "status": [STATUS_NAMES.get(int(x), str(int(x))) for x in col("status", 0)],
                "message": [str(x) for x in msg],
            })
        return self._prompts

    @property
    def ids(self):
        """All prompt ids in file order (list of str)."""
        return list(self.prompts["id"])

    def groups(self):
        """{group: [prompt ids in file order]}; dict order is the order of first appearance.

        >>> sw.groups()                               # doctest: +SKIP
        {'instructions': ['instructions/plain', ...], 'fewshot': [...]}
        """
        out = {}
        for pid, g in zip(self.prompts["id"], self.prompts["group"]):
            out.setdefault(g, []).append(pid)
        return out

    # -- one prompt -----------------------------------------------------------------------
    def _pos(self, pid):
        """Row of pid in /sweep, or None."""
        if self._index is None:
            self._index = {p: i for i, p in enumerate(self.prompts["id"])}
        return self._index.get(pid)

    def _group(self, pid):
        key = "prompts/" + pid
        if self._pos(pid) is None or key not in self.file:
            raise KeyError(f"{self.path}: no prompt {pid!r}; the file has: "
                           + ", ".join(self.ids[:10]) + (" ..." if len(self.ids) > 10 else ""))
        return self.file[key]

    def _row(self, pid):
        i = self._pos(pid)
        if i is None:
            self._group(pid)  # raises the KeyError with the list of ids
        return self.prompts.iloc[i]

    def info(self, pid):
        """The prompt group's attributes as a dict (text, n_tokens, index, store, dtype,
        group, variant) plus its /sweep row (rank, status, message)."""
        g = self._group(pid)
        d = {k: _attr_value(v) for k, v in g.attrs.items()}
        row = self._row(pid)
        for k in ("rank", "status", "message"):
            d[k] = row[k].item() if hasattr(row[k], "item") else row[k]
        return d

    def text(self, pid):
        """The prompt text (str)."""
        return _str(self._group(pid).attrs["text"])

    def tokens(self, pid):
        """Token strings (list of str, BOS included), as HF ``tokenizer.decode([id])`` gives
        them; "" when the file has no tokenizer strings.

        >>> sw.tokens("instructions/plain")[:4]       # doctest: +SKIP
        ['<s>', 'What', 'is', '']
        """
        return [str(t) for t in _read(self._group(pid)["tokens"])]

    def token_ids(self, pid):
        """Token ids (int32 [T]); -1 where unknown."""
        return self._group(pid)["token_ids"][()]

    def offsets(self, pid):
        """Byte span [start, end) of each token in the UTF-8 text (int32 [T, 2]); BOS gets
        [0, 0], -1 when unknown.

        >>> text = sw.text(pid).encode(); b, e = sw.offsets(pid)[3]
        >>> text[b:e].decode()                        # doctest: +SKIP
        """
        return self._group(pid)["offsets"][()]

    def layers(self, pid):
        """Model layer of each stored layer (int32 [L])."""
        return self._group(pid)["layer"][()]

    def heads(self, pid):
        """Model head of each stored head (int32 [H])."""
        return self._group(pid)["head"][()]

    def store(self, pid):
        """"full", "last_row" or "none"."""
        return self._row(pid)["store"]

    def _check_done(self, pid, check_status):
        st = self._row(pid)["status"]
        if check_status and st != "done":
            raise ValueError(f"{self.path}: prompt {pid!r} has status {st!r}; its data are "
                             "undefined until it is done (pass check_status=False to read "
                             "them anyway, e.g. to inspect a crashed run)")

    def attention(self, pid, layer=None, head=None, check_status=True):
        """The stored attention of a prompt as float32 numpy (float16 files are converted).

        Shape: store "full" -> [layer, head, query, key]; store "last_row" -> [layer, head,
        key] (the row of the last query, T-1). An int ``layer`` / ``head`` removes that axis;
        a slice or list keeps it. Only the selected part is read from disk.

        >>> a = sw.attention("instructions/cot", layer=-1)   # last layer: [H, T, T]
        >>> a.mean(axis=0)                                   # the notebook's 'last_layer'
        >>> sw.attention(pid, layer=[0, 5], head=3)          # [2, T, T]

        Raises ValueError for store "none" and for prompts whose status is not done.
        """
        g = self._group(pid)
        if "attention" not in g:
            raise ValueError(f"{self.path}: prompt {pid!r} has no attention dataset (store = "
                             f"{self.store(pid)!r}); sw.metrics(id) has what the run "
                             "computed from it")
        self._check_done(pid, check_status)
        ds = g["attention"]
        L, H = ds.shape[0], ds.shape[1]
        li = _norm_index(layer, L, "layer")
        hi = _norm_index(head, H, "head")
        if isinstance(li, list):
            # h5py wants increasing, unique fancy indices: read one layer at a time instead
            parts = [self.attention(pid, l, head, check_status=False) for l in li]
            if parts:
                return np.stack(parts, axis=0)
            shape = self.attention(pid, 0, head, check_status=False).shape
            return np.zeros((0,) + shape, dtype=np.float32)
        if isinstance(hi, list):
            a = np.asarray(ds[li], dtype=np.float32)
            return np.take(a, hi, axis=0 if isinstance(li, int) else 1)
        return np.asarray(ds[li, hi], dtype=np.float32)

    def last_row(self, pid, layer=None, head=None, check_status=True):
        """The last query row of the attention, [layer, head, key] float32, for both "full"
        and "last_row" files (int ``layer``/``head`` remove their axis, like
        :meth:`attention`).

        >>> r = sw.last_row(pid)                    # r[l, h, k] = A[l, h, T-1, k]
        >>> r[-1].mean(axis=0)                      # what the notebook's keyword code reads
        """
        a = self.attention(pid, layer, head, check_status)
        if self.store(pid) == "full":
            return a[..., -1, :]
        return a

    def metrics(self, pid, tables=True):
        """The prompt's reduce-stage metrics (/prompts/<id>/metrics, see docs/METRICS.md).

        Returns a dict: every dataset under its own name as numpy (string datasets as object
        arrays of str), e.g. ``layer_entropy`` [L], ``head_entropy`` [L, H], ``sink_mean``
        [L, H], ``last_row_mean`` [L, T], ``span_mass`` [S, L, H]; ``"input"`` ("full" or
        "last_row") and ``"unavailable"`` (list of metric names not computed). With
        ``tables=True`` it also holds DataFrames:

        - ``"heads"``: one row per (layer, head) with the notebook's columns layer, head,
          entropy, max_attention, focus_position, focus_token, plus sink_last and, when
          computed, sink_mean, prev_token, norm_entropy, dup_token, induction (layer and
          head are model indices);
        - ``"keywords"``: the text rule's occurrences (keyword, bytes, tokens, mass in the last
          layer);
        - ``"spans"``: name, kind, bytes, tokens.

        Returns {} when the prompt has no metrics (store "none" after ``attnsweep reduce``).

        >>> m = sw.metrics("instructions/cot")
        >>> m["heads"].nsmallest(5, "entropy")      # the notebook's most focused heads
        """
        g = self._group(pid)
        if "metrics" not in g:
            return {}
        mg = g["metrics"]
        out = {k: _read(mg[k]) for k in mg if isinstance(mg[k], h5py.Dataset)}
        out["input"] = _str(mg.attrs.get("input", ""))
        un = _str(mg.attrs.get("unavailable", ""))
        out["unavailable"] = [x for x in un.split(",") if x]
        if tables:
            self._metric_tables(pid, out)
        return out

    def _metric_tables(self, pid, m):
        if "head_entropy" in m:
            L, H = m["head_entropy"].shape
            lay, hed = self.layers(pid), self.heads(pid)
            lay = lay if len(lay) == L else np.arange(L)
            hed = hed if len(hed) == H else np.arange(H)
            ll, hh = np.meshgrid(lay, hed, indexing="ij")
            cols = {"layer": ll.ravel(), "head": hh.ravel(),
                    "entropy": m["head_entropy"].ravel()}
            for src, dst in (("head_max", "max_attention"), ("head_focus", "focus_position"),
                             ("head_focus_token", "focus_token"), ("sink_last", "sink_last"),
                             ("sink_mean", "sink_mean"), ("prev_token", "prev_token"),
                             ("norm_entropy", "norm_entropy"), ("dup_token", "dup_token"),
                             ("induction", "induction")):
                if src in m:
                    cols[dst] = np.asarray(m[src]).ravel()
            m["heads"] = pd.DataFrame(cols)
        if "keyword_occ_keyword" in m and "keywords" in m:
            kws = list(m["keywords"])
            k = m["keyword_occ_keyword"]
            m["keywords_table"] = pd.DataFrame({
                "keyword": [kws[i] if 0 <= i < len(kws) else "" for i in k],
                "byte_begin": m["keyword_occ_bytes"][:, 0] if len(k) else [],
                "byte_end": m["keyword_occ_bytes"][:, 1] if len(k) else [],
                "token_first": m["keyword_occ_tokens"][:, 0] if len(k) else [],
                "token_end": m["keyword_occ_tokens"][:, 1] if len(k) else [],
                "mass_last_layer": m["keyword_occ_mass"],
            })
        if "span_name" in m:
            n = len(m["span_name"])
            m["spans"] = pd.DataFrame({
                "name": list(m["span_name"]),
                "kind": ["declared" if x == 0 else "derived" for x in m["span_kind"]],
                "byte_begin": m["span_bytes"][:, 0] if n else [],
                "byte_end": m["span_bytes"][:, 1] if n else [],
                "token_first": m["span_tokens"][:, 0] if n else [],
                "token_end": m["span_tokens"][:, 1] if n else [],
            })

    # -- the sweep summary ----------------------------------------------------------------
    def has_summary(self):
        """True when the file has /summary (written by ``attnsweep run`` or ``reduce``)."""
        return "summary" in self.file

    def summary(self):
        """/summary as a dict (docs/FORMAT.md "Metrics and summary"), or {} without one.

        Every dataset is there under its own name as numpy (``prompt``, ``prompt_index``,
        ``layer_entropy`` [N, L], ``head_entropy`` [N, L, H], ``head_entropy_mean`` [L, H],
        ``most_focused_layer`` [N, 5], ``overall_most_focused_entropy`` [5], ...), plus
        DataFrames:

        - ``"most_focused"`` / ``"most_distributed"``: long tables prompt, rank (0-4), layer,
          head, entropy, token (padding rows with layer -1 dropped);
        - ``"overall_most_focused"`` / ``"overall_most_distributed"``: rank, layer, head,
          entropy, token;
        - ``"layer_entropy_table"``: index prompt id, one column per layer;

        and ``"groups"``: {group: dict} with that group's datasets (``variant``,
        ``prompt_index``, ``n_shared_tokens`` as int, ``layer_entropy_std``,
        ``js_divergence``, ``sensitivity_rank_js``, ``prefix_mass`` [V, L], ...,
        ``example_mass`` [V, L, H] for few-shot groups) and the DataFrames ``"sensitivity"``
        (layer, js_divergence, layer_entropy_std), ``"prefix_mass_table"`` /
        ``"question_mass_table"`` (index variant, one column per layer) and, for few-shot
        groups, ``"example_top"`` (variant, rank, layer, head, mass).

        Layers and heads in /summary are positions along the stored axes.

        >>> s = sw.summary()
        >>> s["groups"]["instructions"]["sensitivity"].sort_values("js_divergence")
        >>> s["overall_most_focused"]
        """
        if self._summary is not None:
            return self._summary
        if not self.has_summary():
            self._summary = {}
            return self._summary
        sg = self.file["summary"]
        s = {k: _read(sg[k]) for k in sg if isinstance(sg[k], h5py.Dataset)}
        prompts = [str(x) for x in s.get("prompt", [])]

        def top(prefix, ids):
            lay, hed = s.get(prefix + "_layer"), s.get(prefix + "_head")
            ent, tok = s.get(prefix + "_entropy"), s.get(prefix + "_token")
            if lay is None:
                return None
            rows = []
            if ids is None:
                for r in range(lay.shape[0]):
                    if lay[r] >= 0:
                        rows.append((r, int(lay[r]), int(hed[r]), float(ent[r]),
                                     str(tok[r]) if tok is not None else ""))
                return pd.DataFrame(rows, columns=["rank", "layer", "head", "entropy", "token"])
            for i, pid in enumerate(ids):
                for r in range(lay.shape[1]):
                    if lay[i, r] >= 0:
                        rows.append((pid, r, int(lay[i, r]), int(hed[i, r]), float(ent[i, r]),
                                     str(tok[i, r]) if tok is not None else ""))
            return pd.DataFrame(rows, columns=["prompt", "rank", "layer", "head", "entropy",
                                               "token"])

        for name in ("most_focused", "most_distributed"):
            t = top(name, prompts)
            if t is not None:
                s[name] = t
            t = top("overall_" + name, None)
            if t is not None:
                s["overall_" + name] = t
        if "layer_entropy" in s and s["layer_entropy"].ndim == 2:
            s["layer_entropy_table"] = pd.DataFrame(s["layer_entropy"], index=prompts)
            s["layer_entropy_table"].index.name = "prompt"
        groups = {}
        if "groups" in sg:
            for gname, gg in sg["groups"].items():
                d = {k: _read(gg[k]) for k in gg if isinstance(gg[k], h5py.Dataset)}
                d["variant"] = [str(x) for x in d.get("variant", [])]
                if "n_shared_tokens" in d:
                    d["n_shared_tokens"] = int(np.asarray(d["n_shared_tokens"]).ravel()[0])
                if "js_divergence" in d:
                    L = len(d["js_divergence"])
                    d["sensitivity"] = pd.DataFrame({
                        "layer": np.arange(L),
                        "js_divergence": d["js_divergence"],
                        "layer_entropy_std": d.get("layer_entropy_std", np.full(L, np.nan)),
                    })
                for k in ("prefix_mass", "question_mass"):
                    if k in d:
                        t = pd.DataFrame(d[k], index=d["variant"])
                        t.index.name = "variant"
                        d[k + "_table"] = t
                if "example_top_layer" in d:
                    rows = []
                    for i, v in enumerate(d["variant"]):
                        for r in range(d["example_top_layer"].shape[1]):
                            if d["example_top_layer"][i, r] >= 0:
                                rows.append((v, r, int(d["example_top_layer"][i, r]),
                                             int(d["example_top_head"][i, r]),
                                             float(d["example_top_mass"][i, r])))
                    d["example_top"] = pd.DataFrame(rows, columns=["variant", "rank", "layer",
                                                                   "head", "mass"])
                groups[str(gname)] = d
        s["groups"] = groups
        self._summary = s
        return s

    # -- xarray ---------------------------------------------------------------------------
    def to_xarray(self, pid, metrics=False):
        """The prompt as an ``xarray.Dataset`` with named dimensions and coordinates:
        ``attention`` (layer, head, query, key) or (layer, head, key), float32; ``tokens``,
        ``token_ids`` (query); ``offsets`` (query, span); the group attributes as attrs.
        With ``metrics=True`` the [L]- and [L, H]-shaped metrics are added as variables
        (layer) / (layer, head). Coordinates ``layer`` and ``head`` are model indices.

        Needs python3-xarray (ImportError otherwise).

        >>> ds = sw.to_xarray("instructions/cot")
        >>> ds.attention.sel(layer=21).mean("head")   # doctest: +SKIP
        """
        try:
            import xarray as xr
        except ImportError as e:  # pragma: no cover - depends on the machine
            raise ImportError("to_xarray needs xarray (Debian: apt-get install python3-xarray)"
                              ) from e
        g = self._group(pid)
        T = int(g["query"].shape[0])
        coords = {"layer": self.layers(pid), "head": self.heads(pid),
                  "query": np.arange(T, dtype=np.int32), "key": np.arange(T, dtype=np.int32),
                  "span": np.array([0, 1], dtype=np.int32)}
        data = {"tokens": (("query",), np.asarray(self.tokens(pid), dtype=object)),
                "token_ids": (("query",), self.token_ids(pid)),
                "offsets": (("query", "span"), self.offsets(pid))}
        st = self.store(pid)
        if "attention" in g and self._row(pid)["status"] == "done":
            dims = ("layer", "head", "query", "key") if st == "full" else ("layer", "head", "key")
            data["attention"] = (dims, self.attention(pid))
        if metrics:
            m = self.metrics(pid, tables=False)
            L, H = len(coords["layer"]), len(coords["head"])
            for k, v in m.items():
                if isinstance(v, np.ndarray) and v.dtype != object:
                    if v.shape == (L,):
                        data[k] = (("layer",), v)
                    elif v.shape == (L, H):
                        data[k] = (("layer", "head"), v)
        attrs = {k: v for k, v in self.info(pid).items() if isinstance(v, (str, int, float))}
        return xr.Dataset(data, coords=coords, attrs=attrs)
