"""load.py - read an attnsweep HDF5 file (format 2) without learning its layout.

attnsweep writes one HDF5 file per sweep (docs/FORMAT.md is the contract). Format 2 is
columnar: per-prompt values are columns indexed by prompt, and everything whose length varies
per prompt (tokens, attention, keyword occurrences, spans) is one flat array with a per-prompt
start and count. This module wraps h5py so that the common questions take one line each::

    import sys; sys.path.insert(0, "analysis")      # or run from inside analysis/
    import load

    sw = load.open_sweep("results/exp8.h5")
    sw.prompts                                     # pandas DataFrame, one row per prompt
    a = sw.attention("instructions/cot")           # float32 [layer, head, query, key]
    a = sw.attention("instructions/cot", layer=-1) # last stored layer: [head, query, key]
    agg = sw.aggregate("instructions/cot", "last_layer")  # the notebook's aggregate_attention
    toks = sw.tokens("instructions/cot")           # list of str (HF tokenizer.decode([id]))
    n = sw.value_norms("instructions/cot")         # output.weights: norms|both: [layer, head, key]
    w = sw.weighted_attention("instructions/cot")  # alpha * ||f(x)|| (weights: both), on read
    m = sw.metrics("instructions/cot")             # dict: layer_entropy, head_entropy, ...
    m["heads"]                                     # the notebook's head_df (DataFrame)
    he = sw.column("head_entropy")                 # the whole sweep: float64 [prompt, layer, head]
    b = sw.behaviour("instructions/cot")           # dict: top-k next tokens, answer columns
    z = sw.logits("instructions/cot")              # float32 [vocab] (output.logits: true)
    df = sw.metrics_frame()                        # one row per (prompt, layer, head)
    s = sw.summary()                               # /summary as numpy arrays and DataFrames
    s["groups"]["instructions"]["sensitivity"]     # per-layer prompt-sensitivity table

Only h5py, numpy and pandas are needed (Debian: python3-h5py python3-numpy python3-pandas);
``to_xarray`` also needs python3-xarray. The file is opened read-only; use ``with
load.open_sweep(path) as sw: ...`` or ``sw.close()`` to release it.

Cost: the /sweep columns are read whole once (a few reads in total) and the id -> row index is
a dict built once. Reading one prompt is a constant number of slice reads, whatever the number
of prompts; ``column`` reads a whole column in one read.

Indices: ``layer`` and ``head`` arguments are positions along the *stored* axes (numpy rules,
negative values count from the end). When the sweep stored a subset (``output.layers`` /
``output.heads``), ``sw.layers()`` / ``sw.heads()`` give the model layer / head of each
position.
"""

import h5py
import numpy as np
import pandas as pd

__all__ = ["open_sweep", "Sweep", "Stats", "FORMAT_VERSION", "STORE_NAMES", "STATUS_NAMES",
           "DTYPE_NAMES", "INPUT_NAMES", "AGGREGATE_METHODS", "BY_QUANTITIES", "BY_STATS",
           "CONTRAST_QUANTITIES", "CONTRAST_STATS"]

#: the format version this module reads (root attribute format_version)
FORMAT_VERSION = 2

#: codes of the store modes, /sweep/status and the dtypes (docs/FORMAT.md)
STORE_NAMES = {0: "full", 1: "last_row", 2: "none"}
STATUS_NAMES = {0: "pending", 1: "done", 2: "failed", 3: "skipped"}
DTYPE_NAMES = {0: "float32", 1: "float16"}
#: codes of /metrics/input
INPUT_NAMES = {-1: "none", 0: "full", 1: "last_row"}

#: the methods of the notebook's aggregate_attention (Sweep.aggregate)
AGGREGATE_METHODS = ("mean", "max", "last_layer")

#: number of rows of the summary's top-K tables (padded with layer = head = -1)
TOP_K = 5

#: what /metrics lacks when a prompt's metrics come from the last row only (input = 1), when
#: the file has no unavailable_last_row attribute
_UNAVAILABLE_LAST_ROW = ("aggregate_mean", "aggregate_max", "aggregate_last_layer", "sink_mean",
                         "prev_token", "norm_entropy", "dup_token", "induction")

#: dimension names of the columns of docs/FORMAT.md, for files whose datasets lack scales
_KNOWN_DIMS = {
    "metrics": {
        "input": ("prompt",), "layer_entropy": ("prompt", "layer"),
        "head_focus": ("prompt", "layer", "head"), "last_row_mean": ("token", "layer"),
        "keyword_occ_count": ("prompt",), "keyword_occ_start": ("prompt",),
        "keyword_occ_keyword": ("occ",), "keyword_occ_bytes": ("occ", "bound"),
        "keyword_occ_tokens": ("occ", "bound"), "keyword_occ_mass": ("occ",),
        "keyword_occ_mass_layer": ("occ", "layer"),
        "keyword_substr_count": ("prompt",), "keyword_substr_start": ("prompt",),
        "keyword_substr_keyword": ("substr",), "keyword_substr_position": ("substr",),
        "keyword_substr_mass": ("substr",),
        "span_count": ("prompt",), "span_start": ("prompt",), "span_name": ("span",),
        "span_kind": ("span",), "span_bytes": ("span", "bound"),
        "span_tokens": ("span", "bound"), "span_mass": ("span", "layer", "head"),
        "span_lift": ("span", "layer", "head"),
        **{k: ("prompt", "layer", "head") for k in (
            "head_entropy", "head_max", "sink_last", "sink_mean", "prev_token", "norm_entropy",
            "dup_token", "induction")},
    },
    "summary": {
        "prompt_index": ("prompt",), "head_entropy_mean": ("layer", "head"),
        "group_count": ("group",), "group_start": ("group",), "n_shared_tokens": ("group",),
        "has_examples": ("group",), "js_pairs": ("group",),
        "layer_entropy_std": ("group", "layer"),
        "js_divergence": ("group", "layer"), "sensitivity_rank_js": ("group", "layer"),
        "sensitivity_rank_entropy_std": ("group", "layer"),
        "member_prompt_index": ("member",), "member_variant": ("member",),
        "prefix_mass": ("member", "layer"), "question_mass": ("member", "layer"),
        "example_mass": ("member", "layer", "head"), "example_top_layer": ("member", "top"),
        "example_top_head": ("member", "top"), "example_top_mass": ("member", "top"),
        **{f"{p}most_{k}_{c}": (("top",) if p else ("prompt", "top"))
           for p in ("", "overall_") for k in ("focused", "distributed")
           for c in ("layer", "head", "entropy", "token")},
    },
}

#: the scales (coordinates) of /metrics and /summary: not metrics themselves
_SCALES = {"prompt", "layer", "head", "token", "bound", "keyword", "occ", "substr", "span",
           "top", "group", "member", "label", "label_value", "contrast", "contrast_name",
           "by"}

#: the statistics of one quantity per label (/summary/by_<q>_<s>) and per contrast
#: (/summary/contrast_<q>_<s>), docs/FORMAT.md "Statistics by label and contrasts"
BY_QUANTITIES = ("layer_entropy", "head_entropy", "sink", "prev_token", "induction",
                 "span_mass", "keyword_mass")
BY_STATS = ("mean", "std", "lo", "hi")
CONTRAST_QUANTITIES = ("layer_entropy", "sink", "prev_token", "induction", "span_mass",
                       "keyword_mass")
CONTRAST_STATS = ("mean", "lo", "hi", "same_sign")

#: analysis.js_min_shared when /summary has no js_min_shared attribute (analysis.h)
JS_MIN_SHARED_DEFAULT = 4

#: reads of full attention larger than this are split by layers (Sweep.aggregate)
_AGG_CHUNK_BYTES = 256 << 20


def open_sweep(path):
    """Open an attnsweep output file read-only and return a :class:`Sweep`.

    >>> sw = open_sweep("results/smoke.h5")            # doctest: +SKIP
    >>> sw.prompts[["id", "n_tokens", "status"]]       # doctest: +SKIP
                     id  n_tokens status
    0  arithmetic/plain        11   done
    ...

    Raises ValueError when the file is not an attnsweep file (no ``format = "attnsweep"``
    root attribute) or when its ``format_version`` is not 2.
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


def _is_str(ds):
    return ds.dtype.kind in ("S", "O") and h5py.check_string_dtype(ds.dtype) is not None


def _read(ds, sel=()):
    """ds[sel] as numpy (one read); strings come back as an object array of str (or a str)."""
    if _is_str(ds):
        out = ds.asstr()[sel]
        return out if isinstance(out, str) else np.asarray(out, dtype=object)
    return ds[sel]


def _norm_index(sel, n, what):
    """An int / slice / list selector along an axis of length n as (indices, drop): the
    list of non-negative indices it selects, and whether the axis is dropped (an int)."""
    if sel is None:
        return list(range(n)), False
    if isinstance(sel, slice):
        return list(range(n)[sel]), False
    if isinstance(sel, (int, np.integer)):
        i = int(sel)
        if i < -n or i >= n:
            raise IndexError(f"{what} {i} out of range: {n} stored")
        return [i % n], True
    idx = [int(i) for i in sel]
    for i in idx:
        if i < -n or i >= n:
            raise IndexError(f"{what} {i} out of range: {n} stored")
    return [i % n for i in idx], False


def _select(block, lidx, hidx, l0, h0, ldrop, hdrop):
    """block [nl', nh', ...] starting at (l0, h0) -> the selected [layer, head, ...] with
    dropped axes removed."""
    out = block[np.ix_([i - l0 for i in lidx], [j - h0 for j in hidx])] \
        if lidx and hidx else np.zeros((len(lidx), len(hidx)) + block.shape[2:], block.dtype)
    if hdrop:
        out = out[:, 0]
    if ldrop:
        out = out[0]
    return out


class Sweep:
    """One attnsweep output file (format 2). Create it with :func:`open_sweep`.

    Attributes:
        path: the file name.
        file: the underlying ``h5py.File`` (read-only), for anything this class does not wrap.
        prompts: DataFrame of /sweep (see :attr:`prompts`).
        n_layers, n_heads: L and H stored (the same for every prompt).
    """

    def __init__(self, path):
        self.path = str(path)
        self.file = h5py.File(self.path, "r")
        a = self.file.attrs
        fmt = _attr_value(a.get("format", ""))
        if fmt != "attnsweep":
            self.file.close()
            raise ValueError(f"{self.path}: not an attnsweep file (root attribute format = "
                             f"{fmt!r}; expected 'attnsweep')")
        ver = _attr_value(a.get("format_version", None))
        if ver != FORMAT_VERSION:
            self.file.close()
            hint = (" (one HDF5 group per prompt, written by attnsweep before the columnar "
                    "layout); rerun the sweep with this attnsweep, or read it with the load.py "
                    "of that release" if ver == 1 else "")
            raise ValueError(f"{self.path}: attnsweep format_version {ver!r} is not supported: "
                             f"this load.py reads format_version {FORMAT_VERSION} only{hint}")
        self._store = _attr_value(a.get("store", "none"))
        self._dtype = _attr_value(a.get("dtype", "float32"))
        self.n_layers = int(_attr_value(a.get("n_layers", 0)))
        self.n_heads = int(_attr_value(a.get("n_heads", 0)))
        self._cols = {}      # (group, name) -> whole column (numpy)
        self._ds = {}        # path -> h5py.Dataset (opened once)
        self._dims = {}      # path -> dimension names
        self._prompts = None
        self._index = None
        self._summary = None
        self._stats = None
        self._ragged = None
        self._layers = None
        self._heads = None

    # -- lifetime -------------------------------------------------------------------------
    def close(self):
        """Close the HDF5 file."""
        self._ds.clear()
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        n = len(self.prompts)
        return f"<attnsweep file {self.path!r}: {n} prompts, {len(self.groups())} groups>"

    # -- low level ------------------------------------------------------------------------
    def _dset(self, path):
        """The h5py.Dataset at path (opened once), or None."""
        ds = self._ds.get(path)
        if ds is None:
            if path not in self.file:
                return None
            ds = self.file[path]
            if not isinstance(ds, h5py.Dataset):
                return None
            self._ds[path] = ds
        return ds

    def _col(self, path, default=None):
        """A whole dataset (cached), or default when it does not exist."""
        if path not in self._cols:
            ds = self._dset(path)
            if ds is None:
                return default
            self._cols[path] = _read(ds)
        return self._cols[path]

    def _dims_of(self, path):
        """Dimension names of a dataset: its attached scales, else docs/FORMAT.md's table."""
        if path not in self._dims:
            ds = self._dset(path)
            group, _, name = path.rpartition("/")
            known = _KNOWN_DIMS.get(group, {}).get(name)
            dims = []
            for i in range(ds.ndim):
                d = None
                try:
                    dim = ds.dims[i]
                    if len(dim):
                        # the scale's NAME attribute, else the scale dataset's own name
                        d = _str(dim.keys()[0]) or dim[0].name.rpartition("/")[2]
                except Exception:  # noqa: BLE001 - no or unreadable scales: use the table
                    d = None
                d = d or None
                if d is None and known is not None and len(known) == ds.ndim:
                    d = known[i]
                dims.append(d)
            self._dims[path] = tuple(dims)
        return self._dims[path]

    # -- file-level information -----------------------------------------------------------
    def attrs(self):
        """The root attributes (provenance and layout) as a dict: format_version, store,
        dtype, n_prompts, created_utc, n_ranks, model_path, command_line, git_commit, ...

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
        ds = self._dset("config")
        return None if ds is None else _read(ds)

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
    def _sweep(self, name, default=None):
        return self._col("sweep/" + name, default)

    @property
    def prompts(self):
        """The prompt table (/sweep) as a DataFrame, one row per prompt in file order.

        Columns: ``id`` (group/variant or a single name), ``group``, ``variant`` (for an
        ``attnsweep extract`` prompt the group is the id and the variant is ""),
        ``n_tokens``, ``n_layers``, ``n_heads``, ``store`` ("full" | "last_row" | "none"),
        ``dtype`` ("float32" | "float16"), ``rank`` (-1 if none), ``status`` ("pending" |
        "done" | "failed" | "skipped"), ``message`` (why a prompt failed) and ``token_start`` (the
        prompt's first row along the token dimension). n_layers, n_heads, store and dtype are
        the same for every prompt of a file.

        >>> sw.prompts.query("status == 'done'").groupby("group").size()   # doctest: +SKIP
        """
        if self._prompts is None:
            ids = [str(x) for x in self._sweep("prompt")]
            n = len(ids)
            gcol = self._sweep("group", np.full(n, "", dtype=object))
            vcol = self._sweep("variant", np.full(n, "", dtype=object))
            groups, variants = [], []
            for pid, g, v in zip(ids, gcol, vcol):
                g, v = str(g), str(v)
                if g == "":  # attnsweep extract: every prompt is its own group
                    g, v = (pid.split("/", 1) if "/" in pid else (pid, ""))
                groups.append(g)
                variants.append(v)
            msg = self._sweep("message", np.full(n, "", dtype=object))
            st = self._sweep("status", np.zeros(n, np.int8))
            self._prompts = pd.DataFrame({
                "id": ids,
                "group": groups,
                "variant": variants,
                "n_tokens": self._sweep("n_tokens").astype(np.int64),
                "n_layers": np.full(n, self.n_layers, np.int64),
                "n_heads": np.full(n, self.n_heads, np.int64),
                "store": [self._store] * n,
                "dtype": [self._dtype] * n,
                "rank": self._sweep("rank", np.full(n, -1)).astype(np.int64),
                "status": [STATUS_NAMES.get(int(x), str(int(x))) for x in st],
                "message": [str(x) for x in msg],
                "token_start": self._sweep("token_start").astype(np.int64),
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

    def row(self, pid):
        """The row of prompt pid in /sweep (and along every column's prompt dimension).
        The id -> row index is a dict built once. Raises KeyError for unknown ids.

        >>> sw.column("head_entropy")[sw.row("instructions/cot")]   # [layer, head]
        """
        if self._index is None:
            self._index = {p: i for i, p in enumerate(self.prompts["id"])}
        i = self._index.get(pid)
        if i is None:
            ids = self.ids
            raise KeyError(f"{self.path}: no prompt {pid!r}; the file has: "
                           + ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else ""))
        return i

    def _status(self, i):
        return STATUS_NAMES.get(int(self._sweep("status")[i]), "?")

    def _check_done(self, pid, i, check_status):
        st = self._status(i)
        if st == "skipped":  # model.on_too_long: skip - the prompt has no stored data at all
            raise ValueError(f"{self.path}: prompt {pid!r} was skipped "
                             f"({self._sweep('message')[i]}); it has no attention or metrics")
        if check_status and st != "done":
            raise ValueError(f"{self.path}: prompt {pid!r} has status {st!r}; its data are "
                             "undefined until it is done (pass check_status=False to read "
                             "them anyway, e.g. to inspect a crashed run)")

    def _tok_range(self, i):
        s = int(self._sweep("token_start")[i])
        return s, s + int(self._sweep("n_tokens")[i])

    # -- one prompt -----------------------------------------------------------------------
    def info(self, pid):
        """The prompt's row of /sweep as a dict: text, n_tokens, index (row), store, dtype,
        group, variant, rank, status, message, token_start, text_start (and attention_start
        for store full)."""
        i = self.row(pid)
        r = self.prompts.iloc[i]
        d = {"text": self.text(pid), "n_tokens": int(r["n_tokens"]), "index": i,
             "store": self._store, "dtype": self._dtype, "group": r["group"],
             "variant": r["variant"], "rank": int(r["rank"]), "status": r["status"],
             "message": r["message"], "token_start": int(r["token_start"]),
             "text_start": int(self._sweep("text_start")[i])}
        att = self._sweep("attention_start")
        if self._store == "full" and att is not None:
            d["attention_start"] = int(att[i])
        return d

    def text(self, pid):
        """The prompt text (str): one slice of /text/utf8."""
        i = self.row(pid)
        a = int(self._sweep("text_start")[i])
        n = int(self._sweep("text_length")[i])
        return self._dset("text/utf8")[a:a + n].tobytes().decode("utf-8", "replace")

    def generated(self, pid):
        """What the model generated after the prompt (docs/FORMAT.md "Generation"), or None
        when the file has no generation: a dict with n (tokens), token_ids (the last n ids),
        text (the generated text: bytes generated_start.. of the prompt's text), prompt_text,
        and stop_reason ("none", "length", "eos", "stop_string").

        >>> g = sw.generated("cot/a15_b12"); g["text"], g["stop_reason"]   # doctest: +SKIP
        """
        ng = self._sweep("n_generated")
        if ng is None:
            return None
        i = self.row(pid)
        n, gs = int(ng[i]), int(self._sweep("generated_start")[i])
        raw = self.text(pid).encode("utf-8")
        reasons = {-1: "none", 0: "length", 1: "eos", 2: "stop_string"}
        ids = self.token_ids(pid)
        return {"n": n, "token_ids": ids[len(ids) - n:],
                "text": raw[gs:].decode("utf-8", "replace") if gs >= 0 else "",
                "prompt_text": raw[:gs].decode("utf-8", "replace") if gs >= 0 else raw.decode(),
                "stop_reason": reasons.get(int(self._sweep("stop_reason")[i]), "?")}

    def tokens(self, pid):
        """Token strings (list of str, BOS included), as HF ``tokenizer.decode([id])`` gives
        them; "" when the file has no tokenizer strings.

        >>> sw.tokens("instructions/plain")[:4]       # doctest: +SKIP
        ['<s>', 'What', 'is', '']
        """
        s, e = self._tok_range(self.row(pid))
        return [str(t) for t in _read(self._dset("tokens/token_str"), np.s_[s:e])]

    def token_ids(self, pid):
        """Token ids (int32 [T])."""
        s, e = self._tok_range(self.row(pid))
        return self._dset("tokens/token_id")[s:e]

    def behaviour(self, pid, check_status=True):
        """The prompt's row of /behaviour (docs/FORMAT.md "Behaviour") as a dict: topk_id,
        topk_prob, topk_str (arrays / list of k), next_id, next_str; with analysis.answer also
        answer_first_id, answer_prob, answer_rank, answer_correct and, when the file has them,
        answer_ids (int32 [n], the answer's tokens), answer_logprob (teacher-forced
        log P(answer | prompt)). None when the file has no /behaviour.

        >>> sw.behaviour("a/qa")["answer_logprob"]      # doctest: +SKIP
        """
        if "behaviour" not in self.file:
            return None
        i = self.row(pid)
        self._check_done(pid, i, check_status)
        g, d = self.file["behaviour"], {}
        for n in ("topk_id", "topk_prob", "next_id", "answer_first_id", "answer_prob",
                  "answer_rank", "answer_correct", "answer_logprob"):
            if n in g:
                d[n] = g[n][i]
        for n in ("topk_str", "next_str"):
            if n in g:
                v = _read(g[n], np.s_[i])
                d[n] = [str(x) for x in v] if n == "topk_str" else str(v)
        if "answer_start" in g:
            a, c = int(g["answer_start"][i]), int(g["answer_n_tokens"][i])
            d["answer_ids"] = g["answer_ids"][a:a + c]
        return d

    def logits(self, pid, check_status=True):
        """The prompt's last-position logits, float32 [vocab]: one row of /behaviour/logits,
        stored only with ``output.logits: true`` (raises ValueError otherwise)."""
        i = self.row(pid)
        self._check_done(pid, i, check_status)
        ds = self._dset("behaviour/logits")
        if ds is None:
            raise ValueError(f"{self.path}: no /behaviour/logits; run the sweep with "
                             "output: {logits: true} to store them")
        return ds[i]

    def offsets(self, pid):
        """Byte span [start, end) of each token in the UTF-8 text (int32 [T, 2]); BOS gets
        [0, 0].

        >>> text = sw.text(pid).encode(); b, e = sw.offsets(pid)[3]
        >>> text[b:e].decode()                        # doctest: +SKIP
        """
        s, e = self._tok_range(self.row(pid))
        return self._dset("tokens/offsets")[s:e]

    def layers(self, pid=None):
        """Model layer of each stored layer (int32 [L]); the same for every prompt (pid is
        accepted for compatibility and ignored)."""
        if self._layers is None:
            self._layers = self._axis_ids("layer", self.n_layers)
        return self._layers.copy()

    def heads(self, pid=None):
        """Model head of each stored head (int32 [H]); the same for every prompt."""
        if self._heads is None:
            self._heads = self._axis_ids("head", self.n_heads)
        return self._heads.copy()

    def _axis_ids(self, name, n):
        for g in ("attention", "metrics", "summary"):
            v = self._col(f"{g}/{name}")
            if v is not None:
                return np.asarray(v, dtype=np.int32)
        return np.arange(n, dtype=np.int32)

    def store(self, pid=None):
        """"full", "last_row" or "none" (the same for every prompt of a file)."""
        return self._store

    def attention(self, pid, layer=None, head=None, check_status=True):
        """The stored attention of a prompt as float32 numpy (float16 files are converted).

        Shape: store "full" -> [layer, head, query, key]; store "last_row" -> [layer, head,
        key] (the row of the last query, T-1). An int ``layer`` / ``head`` removes that axis;
        a slice or list keeps it. One contiguous read covers the selection.

        >>> a = sw.attention("instructions/cot", layer=-1)   # last layer: [H, T, T]
        >>> a.mean(axis=0)                                   # the notebook's 'last_layer'
        >>> sw.attention(pid, layer=[0, 5], head=3)          # [2, T, T]

        Raises ValueError for store "none" and for prompts whose status is not done.
        """
        i = self.row(pid)
        if self._store not in ("full", "last_row"):
            raise ValueError(f"{self.path}: prompt {pid!r} has no stored attention (store = "
                             f"{self._store!r}); sw.metrics(id) has what the run "
                             "computed from it")
        return self._stored(pid, i, layer, head, check_status, self._store, "attention/full",
                            "attention/last_row")

    def _stored(self, pid, i, layer, head, check_status, layout, full, last):
        """One prompt's [layer, head, query, key] block of the flat dataset `full` (layout
        "full", offsets /sweep/attention_start) or [layer, head, key] of the [token, layer,
        head] dataset `last` (layout "last_row"), as float32; one contiguous read."""
        self._check_done(pid, i, check_status)
        L, H = self.n_layers, self.n_heads
        lidx, ldrop = _norm_index(layer, L, "layer")
        hidx, hdrop = _norm_index(head, H, "head")
        s, e = self._tok_range(i)
        T = e - s
        l0, l1 = (min(lidx), max(lidx) + 1) if lidx else (0, 0)
        h0, h1 = (min(hidx), max(hidx) + 1) if hidx else (0, 0)
        if layout == "last_row":
            ds = self._dset(last)
            if lidx and hidx:
                blk = ds[s:e, l0:l1, h0:h1]                  # [T, nl, nh]
            else:
                blk = np.zeros((T, l1 - l0, h1 - h0), ds.dtype)
            blk = np.moveaxis(blk, 0, -1)                    # [nl, nh, key]
            return np.asarray(_select(blk, lidx, hidx, l0, h0, ldrop, hdrop), np.float32)
        ds = self._dset(full)
        a = int(self._sweep("attention_start")[i])
        tt = T * T
        if not (lidx and hidx):
            blk = np.zeros((l1 - l0, h1 - h0, T, T), ds.dtype)
        elif l1 - l0 == 1:                                   # one layer: read only its heads
            off = a + (l0 * H + h0) * tt
            blk = ds[off:off + (h1 - h0) * tt].reshape(1, h1 - h0, T, T)
        else:
            blk = ds[a + l0 * H * tt:a + l1 * H * tt].reshape(l1 - l0, H, T, T)
            h0 = 0
        return np.asarray(_select(blk, lidx, hidx, l0, h0, ldrop, hdrop), np.float32)

    def has_value_norms(self):
        """True when the file stores value norms (``output.weights: norms`` or ``both``)."""
        return self._dset("attention/value_norm") is not None

    def value_norms(self, pid, layer=None, head=None, check_status=True):
        """||f_h(x_j)|| = ||W_O^h v_j|| of every key j of a prompt (docs/METRICS.md "Value
        norms", Kobayashi et al. 2020): float32 [layer, head, key] from /attention/value_norm
        (int ``layer`` / ``head`` remove their axis, like :meth:`attention`).

        >>> n = sw.value_norms(pid)                  # [L, H, T]
        """
        i = self.row(pid)
        if not self.has_value_norms():
            raise ValueError(f"{self.path}: no value norms stored (output.weights is probs); "
                             "rerun the sweep with output.weights: norms or both")
        return self._stored(pid, i, layer, head, check_status, "last_row", None,
                            "attention/value_norm")

    def has_scores(self):
        """True when the file stores the pre-softmax scores (``output.scores: true``)."""
        return any(self._dset(f"attention/scores_{k}") is not None for k in ("full", "last_row"))

    def scores(self, pid, layer=None, head=None, check_status=True):
        """The pre-softmax scores q_i.k_j / sqrt(head_dim), unmasked, with the attention's
        layout: [layer, head, query, key] for store "full" (the upper triangle holds the
        scores of later keys, which the causal mask removes), [layer, head, key] of the last
        query for "last_row". softmax over keys j <= i gives :meth:`attention`.
        """
        i = self.row(pid)
        if not self.has_scores():
            raise ValueError(f"{self.path}: no scores stored; rerun the sweep with "
                             "output.scores: true")
        return self._stored(pid, i, layer, head, check_status, self._store,
                            "attention/scores_full", "attention/scores_last_row")

    def weighted_attention(self, pid, layer=None, head=None, normalize=False,
                           check_status=True):
        """Norm-weighted attention (Kobayashi et al. 2020; docs/METRICS.md): alpha_ij *
        ||f_h(x_j)||, the norm of what key j adds to query i's head output, computed on read
        from the stored attention and value norms (``output.weights: both``). Shape of
        :meth:`attention` ([layer, head, query, key], or [layer, head, key] for "last_row").
        ``normalize=True`` divides each row by its sum (the row of a normalized weighting,
        docs/METRICS.md "ã"); a row whose sum is 0 stays 0.

        >>> w = sw.weighted_attention(pid)          # full: w[l, h, i, j] = A[l,h,i,j] * n[l,h,j]
        """
        a = self.attention(pid, layer, head, check_status)
        n = self.value_norms(pid, layer, head, check_status)     # [..., key]
        w = a * (n[..., None, :] if self._store == "full" else n)
        if normalize:
            tot = w.sum(axis=-1, keepdims=True)
            w = np.divide(w, tot, out=np.zeros_like(w), where=tot > 0)
        return w.astype(np.float32)

    def last_row(self, pid, layer=None, head=None, check_status=True):
        """The last query row of the attention, [layer, head, key] float32, for both "full"
        and "last_row" files (int ``layer``/``head`` remove their axis, like
        :meth:`attention`).

        >>> r = sw.last_row(pid)                    # r[l, h, k] = A[l, h, T-1, k]
        >>> r[-1].mean(axis=0)                      # what the notebook's keyword code reads
        """
        a = self.attention(pid, layer, head, check_status)
        if self._store == "full":
            return np.ascontiguousarray(a[..., -1, :])
        return a

    def aggregate(self, pid, method="mean", check_status=True):
        """The notebook's ``aggregate_attention(attentions, method)`` of one prompt, [T, T]
        float64, computed on read from the full attention (store "full" only):

        - ``"mean"``: mean over layers and heads (``attentions.mean(axis=(0, 1))``);
        - ``"max"``: max over layers and heads (``attentions.max(axis=(0, 1))``);
        - ``"last_layer"``: mean over the heads of the last stored layer
          (``attentions[-1].mean(axis=0)``).

        The attention is read in one slice (``last_layer`` reads only the last layer; very
        large prompts are read a few layers at a time) and reduced in float64.

        >>> agg = sw.aggregate("instructions/cot", "last_layer")
        >>> agg[-1]                                 # where the last token looks

        Raises ValueError for an unknown method, for files that do not store the full maps
        and for prompts whose status is not done.
        """
        if method not in AGGREGATE_METHODS:
            raise ValueError(f"Unknown method: {method!r} (expected one of "
                             f"{', '.join(AGGREGATE_METHODS)})")
        i = self.row(pid)
        if self._store != "full":
            raise ValueError(f"{self.path}: aggregate({pid!r}, {method!r}) needs the full "
                             f"attention maps, but this file has store = {self._store!r}; "
                             "sw.last_row(id) and sw.metrics(id)['last_row_mean'] have the "
                             "last query row")
        self._check_done(pid, i, check_status)
        L, H = self.n_layers, self.n_heads
        s, e = self._tok_range(i)
        T = e - s
        ds = self._dset("attention/full")
        a = int(self._sweep("attention_start")[i])
        per_layer = H * T * T
        if method == "last_layer":
            blk = ds[a + (L - 1) * per_layer:a + L * per_layer].reshape(H, T, T)
            return blk.astype(np.float64).mean(axis=0)
        step = max(1, _AGG_CHUNK_BYTES // max(1, per_layer * ds.dtype.itemsize))
        acc = None
        for l0 in range(0, L, step):
            l1 = min(L, l0 + step)
            blk = ds[a + l0 * per_layer:a + l1 * per_layer].reshape((l1 - l0) * H, T, T)
            blk = blk.astype(np.float64)
            if method == "mean":
                part = blk.sum(axis=0)
                acc = part if acc is None else acc + part
            else:
                part = blk.max(axis=0)
                acc = part if acc is None else np.maximum(acc, part)
        if method == "mean":
            acc /= L * H
        return acc

    # -- metrics --------------------------------------------------------------------------
    def has_metrics(self):
        """True when the file has /metrics."""
        return "metrics" in self.file

    def _metric_names(self):
        g = self.file["metrics"]
        return [k for k in g if isinstance(g[k], h5py.Dataset)]

    def _ragged_map(self):
        """{sample dimension: (start column, count column)}: token from /sweep, occ / substr /
        span from the /metrics count columns (attribute sample_dimension)."""
        if self._ragged is None:
            r = {"token": (self._sweep("token_start"), self._sweep("n_tokens"))}
            if self.has_metrics():
                for k in self._metric_names():
                    if not k.endswith("_count"):
                        continue
                    ds = self._dset("metrics/" + k)
                    sd = _attr_value(ds.attrs.get("sample_dimension", ""))
                    start = self._col("metrics/" + k[:-len("_count")] + "_start")
                    if sd and start is not None:
                        r[sd] = (start, self._col("metrics/" + k))
            self._ragged = r
        return self._ragged

    def _unavailable(self):
        v = self.file["metrics"].attrs.get("unavailable_last_row")
        if v is None:
            return list(_UNAVAILABLE_LAST_ROW)
        return [x for x in _attr_value(v).split(",") if x]

    def _token_str_all(self):
        return self._col("tokens/token_str")

    def column(self, name):
        """A whole column of the sweep as numpy, in one read: ``/metrics/<name>`` (e.g.
        ``head_entropy`` float64 [prompt, layer, head], ``layer_entropy`` [prompt, layer],
        ``last_row_mean`` [token, layer], ``span_mass`` [span, layer, head]), or any dataset
        given by its path from the root (``"sweep/status"``, ``"tokens/position"``,
        ``"summary/js_divergence"``). String columns are object arrays of str.

        ``head_focus_token`` [prompt, layer, head] and ``keyword_substr_token`` [substr] are
        derived from /tokens/token_str (they are not stored): ``tokens[head_focus]``.

        Rows of prompts whose status is not done hold undefined values (``sw.prompts.status``);
        rows whose metrics were not computed are NaN (``column("input") == -1``).

        >>> he = sw.column("head_entropy")           # [N, L, H]
        >>> he[sw.row("instructions/cot")]           # one prompt's [L, H]
        """
        if name == "head_focus_token":
            foc = self.column("head_focus")
            idx = self._sweep("token_start").astype(np.int64)[:, None, None] + foc
            return self._derive_tokens(idx, foc >= 0)
        if name == "keyword_substr_token":
            pos = self.column("keyword_substr_position")
            st, cnt = self._ragged_map()["substr"]
            owner = np.repeat(np.arange(len(cnt)), cnt)
            idx = self._sweep("token_start").astype(np.int64)[owner] + pos
            return self._derive_tokens(idx, pos >= 0)
        path = name if "/" in name else "metrics/" + name
        ds = self._dset(path)
        if ds is None:
            have = ", ".join(self._metric_names()) if self.has_metrics() else "no /metrics"
            raise KeyError(f"{self.path}: no column {path!r} (/metrics has: {have})")
        return _read(ds)

    def _derive_tokens(self, idx, ok):
        tok = self._token_str_all()
        out = np.full(idx.shape, "", dtype=object)
        if tok is not None and len(tok):
            ok = ok & (idx >= 0) & (idx < len(tok))
            out[ok] = tok[idx[ok]]
        return out

    def _input_code(self, i):
        inp = self._col("metrics/input")
        return int(inp[i]) if inp is not None else 0

    def _metric_slice(self, i, name):
        """Prompt i's part of /metrics/<name> (one slice read), or None when the column is
        not per prompt. last_row_mean comes back [layer, token]."""
        path = "metrics/" + name
        ds = self._dset(path)
        dims = self._dims_of(path)
        d0 = dims[0] if dims else None
        if d0 == "prompt":
            return _read(ds, np.s_[i])
        rag = self._ragged_map()
        if d0 not in rag:
            return None
        st, cnt = rag[d0]
        a = int(st[i])
        v = _read(ds, np.s_[a:a + int(cnt[i])])
        if name == "last_row_mean":
            v = np.ascontiguousarray(v.T)                   # [L, T], as metrics() gives it
        return v

    def metric(self, pid, name, check_status=True):
        """One metric of one prompt, as :meth:`metrics` gives it (one slice read), e.g.
        ``sw.metric(pid, "head_entropy")`` [L, H] or ``sw.metric(pid, "last_row_mean")``
        [L, T]; ``head_focus_token`` and ``keyword_substr_token`` are derived.

        Returns None when the file has no such column, when the prompt's metrics were not
        computed (input = -1) or when the metric is unavailable for its input (metrics that
        need full maps, after ``attnsweep reduce`` on a last_row file). Raises ValueError for
        a prompt whose status is not done unless check_status=False.

        >>> sw.metric("instructions/cot", "layer_entropy")       # [L]
        """
        i = self.row(pid)
        if not self.has_metrics():
            return None
        self._check_done(pid, i, check_status)
        code = self._input_code(i)
        if code == -1 or (code == 1 and name in self._unavailable()):
            return None
        if name in ("head_focus_token", "keyword_substr_token"):
            src = "head_focus" if name == "head_focus_token" else "keyword_substr_position"
            pos = self.metric(pid, src, check_status=False)
            if pos is None:
                return None
            s, e = self._tok_range(i)
            toks = _read(self._dset("tokens/token_str"), np.s_[s:e])
            res = np.full(np.shape(pos), "", dtype=object)
            ok = (pos >= 0) & (pos < e - s)
            res[ok] = toks[pos[ok]]
            return res
        if name in _SCALES or name == "input" or self._dset("metrics/" + name) is None:
            return None
        return self._metric_slice(i, name)

    def metrics(self, pid, tables=True, check_status=True):
        """The prompt's metrics (docs/METRICS.md), sliced out of the /metrics columns.

        Returns a dict of numpy arrays (string columns as object arrays of str), with the
        shapes of one prompt: ``layer_entropy`` [L], ``head_entropy`` / ``head_max`` /
        ``head_focus`` / ``sink_last`` / ``sink_mean`` / ... [L, H], ``head_focus_token``
        [L, H] (derived: ``tokens[head_focus]``), ``last_row_mean`` [L, T] (layer first, as
        in earlier releases; the column itself is [token, layer]), ``keywords`` [K],
        ``keyword_occ_*`` [n_occ, ...], ``keyword_substr_*`` [n, ...] (with the derived
        ``keyword_substr_token``), ``span_*`` [S, ...]; plus ``"input"`` ("full" or
        "last_row": what they were computed from) and ``"unavailable"`` (metric names not
        computed: with input "last_row", the ones that need full maps; they are left out of
        the dict). With ``tables=True`` it also holds DataFrames:

        - ``"heads"``: one row per (layer, head) with the notebook's columns layer, head,
          entropy, max_attention, focus_position, focus_token, plus sink_last and, when
          computed, sink_mean, prev_token, norm_entropy, dup_token, induction (layer and
          head are model indices);
        - ``"keywords_table"``: the text rule's occurrences (keyword, bytes, tokens, mass in
          the last layer);
        - ``"spans"``: name, kind, bytes, tokens.

        The notebook's ``aggregate_*`` [T, T] are not stored: :meth:`aggregate` computes them.

        Returns {} when the file has no /metrics or the prompt's metrics were not computed
        (``input = -1``, e.g. store "none" after ``attnsweep reduce``). Raises ValueError for
        a prompt whose status is not done (its rows are undefined) unless check_status=False.

        >>> m = sw.metrics("instructions/cot")
        >>> m["heads"].nsmallest(5, "entropy")      # the notebook's most focused heads
        """
        i = self.row(pid)
        if not self.has_metrics():
            return {}
        self._check_done(pid, i, check_status)
        code = self._input_code(i)
        if code == -1:
            return {}
        unavailable = self._unavailable() if code == 1 else []
        out = {}
        for name in self._metric_names():
            if name in _SCALES - {"keyword"} or name == "input" or name in unavailable:
                continue
            if name.endswith("_count") or name.endswith("_start"):
                continue
            if name == "keyword":
                out["keywords"] = _read(self._dset("metrics/keyword"))
                continue
            v = self._metric_slice(i, name)
            if v is not None:
                out[name] = v
        s, e = self._tok_range(i)
        if "head_focus" in out or "keyword_substr_position" in out:
            toks = _read(self._dset("tokens/token_str"), np.s_[s:e])
            T = e - s

            def tok_at(pos):
                pos = np.asarray(pos)
                res = np.full(pos.shape, "", dtype=object)
                ok = (pos >= 0) & (pos < T)
                res[ok] = toks[pos[ok]]
                return res

            if "head_focus" in out:
                out["head_focus_token"] = tok_at(out["head_focus"])
            if "keyword_substr_position" in out:
                out["keyword_substr_token"] = tok_at(out["keyword_substr_position"])
        out["input"] = INPUT_NAMES.get(code, str(code))
        out["unavailable"] = unavailable
        if tables:
            self._metric_tables(out)
        return out

    def _metric_tables(self, m):
        if "head_entropy" in m:
            L, H = m["head_entropy"].shape
            lay, hed = self.layers(), self.heads()
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
            n = len(k)
            by = m.get("keyword_occ_bytes", np.zeros((n, 2), np.int32))
            tk = m.get("keyword_occ_tokens", np.zeros((n, 2), np.int32))
            m["keywords_table"] = pd.DataFrame({
                "keyword": [kws[i] if 0 <= i < len(kws) else "" for i in k],
                "byte_begin": by[:, 0], "byte_end": by[:, 1],
                "token_first": tk[:, 0], "token_end": tk[:, 1],
                "mass_last_layer": m.get("keyword_occ_mass", np.full(n, np.nan)),
            })
        if "span_name" in m:
            n = len(m["span_name"])
            by = m.get("span_bytes", np.full((n, 2), -1, np.int32))
            tk = m.get("span_tokens", np.full((n, 2), -1, np.int32))
            m["spans"] = pd.DataFrame({
                "name": list(m["span_name"]),
                "kind": ["declared" if x == 0 else "derived"
                         for x in m.get("span_kind", np.zeros(n, np.int8))],
                "byte_begin": by[:, 0], "byte_end": by[:, 1],
                "token_first": tk[:, 0], "token_end": tk[:, 1],
            })

    def metrics_frame(self, level="head", done_only=True):
        """The per-prompt metrics of the whole sweep as one long DataFrame (every column read
        once):

        - ``level="head"``: one row per (prompt, layer, head): prompt, group, variant, layer,
          head (model indices), then every [prompt, layer, head] column (head_entropy,
          head_max, head_focus, focus_token, sink_last, sink_mean, prev_token, ...);
        - ``level="layer"``: one row per (prompt, layer): the [prompt, layer] columns
          (layer_entropy);
        - ``level="prompt"``: one row per prompt: n_tokens, input, the [prompt] columns
          (keyword_occ_count, ...).

        ``done_only`` keeps the prompts whose status is done and whose metrics were
        computed (input != -1); the other rows are undefined or NaN.

        >>> df = sw.metrics_frame()
        >>> df.groupby(["layer", "head"])["head_entropy"].mean().unstack()   # head_entropy_mean
        >>> df[df.group == "instructions"].nsmallest(5, "head_entropy")
        """
        dims_of = {"prompt": ("prompt",), "layer": ("prompt", "layer"),
                   "head": ("prompt", "layer", "head")}
        if level not in dims_of:
            raise ValueError(f"level must be 'prompt', 'layer' or 'head', not {level!r}")
        want = dims_of[level]
        P = self.prompts
        N = len(P)
        L, H = self.n_layers, self.n_heads
        keep = np.ones(N, bool)
        inp = self._col("metrics/input") if self.has_metrics() else None
        if done_only:
            keep &= (P["status"] == "done").to_numpy()
            if inp is not None:
                keep &= np.asarray(inp) != -1
            else:
                keep[:] = False
        rows = np.flatnonzero(keep)
        per = {"prompt": 1, "layer": L, "head": L * H}[level]
        cols = {"prompt": np.repeat(P["id"].to_numpy()[rows], per),
                "group": np.repeat(P["group"].to_numpy()[rows], per),
                "variant": np.repeat(P["variant"].to_numpy()[rows], per)}
        if level == "prompt":
            cols["n_tokens"] = P["n_tokens"].to_numpy()[rows]
            if inp is not None:
                cols["input"] = [INPUT_NAMES.get(int(x), str(int(x))) for x in
                                 np.asarray(inp)[rows]]
        else:
            lay = np.tile(np.repeat(self.layers(), per // L), len(rows))
            cols["layer"] = lay
            if level == "head":
                cols["head"] = np.tile(self.heads(), L * len(rows))
        if self.has_metrics():
            for name in self._metric_names():
                if name in _SCALES or name == "input" or name.endswith("_start"):
                    continue
                path = "metrics/" + name
                if self._dims_of(path) != want:
                    continue
                v = self.column(name)[rows]
                cols[name] = v.reshape(-1)
                if name == "head_focus" and level == "head":
                    cols["focus_token"] = self.column("head_focus_token")[rows].reshape(-1)
        return pd.DataFrame(cols)

    # -- the sweep summary ----------------------------------------------------------------
    def has_summary(self):
        """True when the file has /summary (written by ``attnsweep run`` or ``reduce``)."""
        return "summary" in self.file

    def summary(self):
        """/summary as a dict (docs/FORMAT.md "Summary"), or {} without one.

        Every dataset is there under its own name as numpy (``prompt``, ``prompt_index``,
        ``head_entropy_mean`` [L, H], ``most_focused_layer`` [n, 5],
        ``overall_most_focused_entropy`` [5], ``group``, ``group_count``, ``js_divergence``
        [G, L], ``member_prompt_index``, ...), plus ``layer_entropy`` [n, L] and
        ``head_entropy`` [n, L, H] of the summarized prompts, gathered from /metrics (rows
        ``prompt_index``), and DataFrames:

        - ``"most_focused"`` / ``"most_distributed"``: long tables prompt, rank (0-4), layer,
          head, entropy, token (padding rows with layer -1 dropped);
        - ``"overall_most_focused"`` / ``"overall_most_distributed"``: rank, layer, head,
          entropy, token;
        - ``"layer_entropy_table"``: index prompt id, one column per layer;

        and ``"groups"``: {group: dict} with that group's rows (``variant``,
        ``prompt_index``, ``n_shared_tokens`` as int, ``layer_entropy_std`` [L],
        ``js_divergence`` [L], ``sensitivity_rank_js``, ``prefix_mass`` [V, L], ...,
        ``example_mass`` [V, L, H] and ``example_top_*`` for groups with example answers) and
        the DataFrames ``"sensitivity"`` (layer, js_divergence, layer_entropy_std),
        ``"prefix_mass_table"`` / ``"question_mass_table"`` (index variant, one column per
        layer) and, for few-shot groups, ``"example_top"`` (variant, rank, layer, head, mass).

        Layers and heads in /summary's top-K tables are positions along the stored axes.

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
        names = [k for k in sg if isinstance(sg[k], h5py.Dataset)]
        s = {k: self._col("summary/" + k) for k in names}
        prompts = [str(x) for x in s.get("prompt", [])]
        s["prompt"] = np.asarray(prompts, dtype=object)
        pidx = np.asarray(s.get("prompt_index", np.zeros(0, np.int32)), dtype=np.int64)
        if self.has_metrics():
            for k in ("layer_entropy", "head_entropy"):
                if "metrics/" + k in self.file:
                    s[k] = self.column(k)[pidx]

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
        s["groups"] = self._summary_groups(s, names)
        self._summary = s
        return s

    def _summary_groups(self, s, names):
        gnames = [str(x) for x in s.get("group", [])]
        if not gnames or "group_start" not in s or "group_count" not in s:
            return {}
        start = np.asarray(s["group_start"], dtype=np.int64)
        count = np.asarray(s["group_count"], dtype=np.int64)
        per_group, per_member = [], []
        for k in names:
            if k in _SCALES or k in ("group_count", "group_start"):
                continue
            d = self._dims_of("summary/" + k)
            if d and d[0] == "group":
                per_group.append(k)
            elif d and d[0] == "member":
                per_member.append(k)
        rename = {"member_prompt_index": "prompt_index", "member_variant": "variant"}
        groups = {}
        for gi, gname in enumerate(gnames):
            a, n = int(start[gi]), int(count[gi])
            d = {k: s[k][gi] for k in per_group}
            has_ex = bool(d.pop("has_examples", 1))
            for k in per_member:
                if k.startswith("example_") and not has_ex:
                    continue
                d[rename.get(k, k)] = s[k][a:a + n]
            d["variant"] = [str(x) for x in d.get("variant", [])]
            if "n_shared_tokens" in d:
                d["n_shared_tokens"] = int(d["n_shared_tokens"])
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
            groups[gname] = d
        return groups

    # -- statistics by label and contrast (issue 12) ---------------------------------------
    def stats(self):
        """The /summary statistics by label, by contrast and of layer sensitivity as a
        :class:`Stats` (each accessor is None when the file lacks its datasets), or None when
        the file has no /summary.

        >>> st = sw.stats()
        >>> st.labels                                # column, value, count per label
        >>> st.by("layer_entropy")["mean"]          # [label, layer]
        >>> st.contrast("span_mass")["lo"]          # [contrast, span_name, layer]
        """
        if not self.has_summary():
            return None
        if self._stats is None:
            self._stats = Stats(self)
        return self._stats

    def done_rows(self):
        """Rows (int64, ascending) of the prompts whose status is done and whose metrics were
        computed (``/metrics/input`` != -1): the prompts /summary covers."""
        ok = np.asarray(self._sweep("status")) == 1
        inp = self._col("metrics/input") if self.has_metrics() else None
        if inp is None:
            return np.zeros(0, np.int64)
        return np.flatnonzero(ok & (np.asarray(inp) != -1)).astype(np.int64)

    def _ragged_rows(self, dim):
        """(owner, index) of every sample of a ragged /metrics dimension ("span", "occ"): the
        prompt row each sample belongs to and its row in the flat columns, in prompt order
        (vectorized: no loop over prompts)."""
        st, cnt = self._ragged_map()[dim]
        st, cnt = np.asarray(st, np.int64), np.asarray(cnt, np.int64)
        owner = np.repeat(np.arange(len(cnt), dtype=np.int64), cnt)
        first = np.repeat(np.cumsum(cnt) - cnt, cnt)
        idx = np.repeat(st, cnt) + (np.arange(int(cnt.sum()), dtype=np.int64) - first)
        return owner, idx

    def span_mass_layer(self):
        """(span names, mass float64 [prompt, span_name, layer]): every prompt's head-mean
        last-row mass on each distinct span name of the sweep (declared spans in order of
        first appearance, then "prefix", "question"), from /metrics/span_mass; NaN where the
        prompt lacks the span (another group's span, or no token covers it). One read of each
        span column, no loop over prompts.

        >>> names, m = sw.span_mass_layer()
        >>> m[sw.done_rows(), names.index("question")].mean(axis=0)   # [layer]
        """
        N, L = len(self.prompts), self.n_layers
        if not self.has_metrics() or "metrics/span_mass" not in self.file \
                or "span" not in self._ragged_map():
            return [], np.full((N, 0, L), np.nan)
        owner, idx = self._ragged_rows("span")
        names = np.asarray(self.column("span_name"), dtype=object)[idx]
        kind = self._col("metrics/span_kind")
        kind = np.asarray(kind)[idx] if kind is not None else np.zeros(len(idx), np.int8)
        declared = list(pd.unique(names[np.asarray(kind) == 0]))
        distinct = list(pd.unique(names))
        order = declared + [n for n in ("prefix", "question") if n in distinct
                            and n not in declared]
        order += [n for n in distinct if n not in order]
        col = pd.Categorical(names, categories=order).codes.astype(np.int64)
        tok = self._col("metrics/span_tokens")
        present = np.asarray(tok)[idx, 0] >= 0 if tok is not None else np.ones(len(idx), bool)
        mass = np.asarray(self.column("span_mass"))[idx].mean(axis=-1)      # [n, L]
        out = np.full((N, len(order), mass.shape[1] if mass.ndim == 2 else L), np.nan)
        # a prompt's first span of a name wins, as for declared spans (first occurrence)
        keep = present.copy()
        key = owner * max(1, len(order)) + col
        _, first = np.unique(key, return_index=True)
        once = np.zeros(len(idx), bool)
        once[first] = True
        keep &= once
        out[owner[keep], col[keep]] = mass[keep]
        return order, out

    def keyword_mass_layer(self):
        """(keywords, mass float64 [prompt, keyword, layer]): /metrics/keyword_occ_mass_layer
        summed over each prompt's occurrences of each keyword (the text rule); NaN where the
        keyword does not occur in the prompt. No loop over prompts.

        >>> kws, m = sw.keyword_mass_layer()
        >>> np.nanmean(m[sw.done_rows()], axis=0)    # [keyword, layer]
        """
        N, L = len(self.prompts), self.n_layers
        kws = [str(x) for x in self._col("metrics/keyword", [])] if self.has_metrics() else []
        if not kws or "metrics/keyword_occ_mass_layer" not in self.file \
                or "occ" not in self._ragged_map():
            return kws, np.full((N, len(kws), L), np.nan)
        owner, idx = self._ragged_rows("occ")
        k = np.asarray(self.column("keyword_occ_keyword"), np.int64)[idx]
        m = np.asarray(self.column("keyword_occ_mass_layer"), np.float64)[idx]   # [n, L]
        ok = (k >= 0) & (k < len(kws))
        L = m.shape[1] if m.ndim == 2 else L
        out = np.zeros((N, len(kws), L))
        np.add.at(out, (owner[ok], k[ok]), m[ok])
        seen = np.zeros((N, len(kws)), bool)
        seen[owner[ok], k[ok]] = True
        out[~seen] = np.nan
        return kws, out

    # -- xarray ---------------------------------------------------------------------------
    def to_xarray(self, pid, metrics=False):
        """The prompt as an ``xarray.Dataset`` with named dimensions and coordinates:
        ``attention`` (layer, head, query, key) or (layer, head, key), float32; ``tokens``,
        ``token_ids`` (query); ``offsets`` (query, span); the prompt's /sweep row as attrs;
        ``value_norm`` (layer, head, key) and ``scores`` (as ``attention``) when stored.
        With ``metrics=True`` the [L]- and [L, H]-shaped metrics are added as variables
        (layer) / (layer, head). Coordinates ``layer`` and ``head`` are model indices.

        For the whole sweep, open a group directly:
        ``xr.open_dataset(path, group="metrics", engine="h5netcdf")``.

        Needs python3-xarray (ImportError otherwise).

        >>> ds = sw.to_xarray("instructions/cot")
        >>> ds.attention.sel(layer=21).mean("head")   # doctest: +SKIP
        """
        try:
            import xarray as xr
        except ImportError as e:  # pragma: no cover - depends on the machine
            raise ImportError("to_xarray needs xarray (Debian: apt-get install python3-xarray)"
                              ) from e
        i = self.row(pid)
        s, e = self._tok_range(i)
        T = e - s
        coords = {"layer": self.layers(), "head": self.heads(),
                  "query": np.arange(T, dtype=np.int32), "key": np.arange(T, dtype=np.int32),
                  "span": np.array([0, 1], dtype=np.int32)}
        data = {"tokens": (("query",), np.asarray(self.tokens(pid), dtype=object)),
                "token_ids": (("query",), self.token_ids(pid)),
                "offsets": (("query", "span"), self.offsets(pid))}
        done = self._status(i) == "done"
        if self._store in ("full", "last_row") and done:
            dims = ("layer", "head", "query", "key") if self._store == "full" \
                else ("layer", "head", "key")
            data["attention"] = (dims, self.attention(pid))
            if self.has_scores():
                data["scores"] = (dims, self.scores(pid))
        if self.has_value_norms() and done:
            data["value_norm"] = (("layer", "head", "key"), self.value_norms(pid))
        if metrics and done:
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


class Stats:
    """The statistics of /summary by label, by contrast and of layer sensitivity (docs/FORMAT.md
    "Statistics by label and contrast"). Create it with :meth:`Sweep.stats`.

    Each accessor returns None (or an empty list) when the file lacks its datasets, so a
    reader can use whatever a file has: files reduced before these statistics existed have
    none of them.

    Attributes:
        attrs: the /summary attributes (bootstrap_resamples, bootstrap_seed, confidence,
            js_min_shared, ...).
        confidence: the intervals' level (0.95 unless the file says otherwise).
        resamples, seed: the bootstrap's resamples and seed (None when not written).
        js_min_shared: shared tokens a pair needs for its JS divergence.
        labels: DataFrame ``column``, ``value`` (text), ``count`` (int), one row per label
            in /summary order, or None.
        by_columns: the ``analysis.by`` columns (list of str).
        span_names, keywords: the span_name and keyword axes (lists of str).
        contrasts: DataFrame ``name``, ``column``, ``a``, ``b``, ``n_pairs``, or None.
        groups: the /summary group axis (list of str).
    """

    def __init__(self, sw):
        self._sw = sw
        g = sw.file["summary"]
        self.attrs = {k: _attr_value(v) for k, v in g.attrs.items()}
        self.confidence = float(self.attrs.get("confidence", 0.95))
        r = self.attrs.get("bootstrap_resamples")
        self.resamples = int(r) if r is not None else None
        sd = self.attrs.get("bootstrap_seed")
        self.seed = int(sd) if sd is not None else None
        js = int(self.attrs.get("js_min_shared", 0))
        self.js_min_shared = js if js > 0 else JS_MIN_SHARED_DEFAULT
        self.labels = None
        val = self.get("label_value")
        if val is not None and len(val):
            n = len(val)
            col = self.get("label_column")
            cnt = self.get("label_count")
            self.labels = pd.DataFrame({
                "column": [str(x) for x in col] if col is not None else [""] * n,
                "value": [str(x) for x in val],
                "count": np.asarray(cnt, np.int64) if cnt is not None else np.zeros(n, np.int64),
            })
        by = self.get("by")
        if by is not None:
            self.by_columns = [str(x) for x in by]
        elif self.labels is not None:
            self.by_columns = list(dict.fromkeys(self.labels["column"]))
        else:
            self.by_columns = []
        self.span_names = [str(x) for x in self._list("span_name")]
        self.keywords = [str(x) for x in self._list("keyword")]
        self.groups = [str(x) for x in self._list("group")]
        self.contrasts = None
        name = self.get("contrast_name")
        if name is not None and len(name):
            n = len(name)

            def strs(k):
                v = self.get(k)
                return [str(x) for x in v] if v is not None else [""] * n

            pairs = self.get("contrast_n_pairs")
            self.contrasts = pd.DataFrame({
                "name": [str(x) for x in name], "column": strs("contrast_column"),
                "a": strs("contrast_a"), "b": strs("contrast_b"),
                "n_pairs": np.asarray(pairs, np.int64) if pairs is not None
                else np.zeros(n, np.int64),
            })

    def _list(self, name):
        v = self.get(name)
        return [] if v is None else list(v)

    def has(self, name):
        """True when /summary/<name> exists."""
        return self._sw._dset("summary/" + name) is not None

    def get(self, name):
        """/summary/<name> as numpy (strings as str objects; read once), or None."""
        return self._sw._col("summary/" + name)

    def label_index(self, column):
        """Positions along the label axis of the labels of one ``by`` column (int64)."""
        if self.labels is None:
            return np.zeros(0, np.int64)
        return np.flatnonzero((self.labels["column"] == column).to_numpy())

    def label_of(self, column, value):
        """The label position of (column, value), or None."""
        if self.labels is None:
            return None
        hit = np.flatnonzero(((self.labels["column"] == column)
                              & (self.labels["value"] == str(value))).to_numpy())
        return int(hit[0]) if len(hit) else None

    def by(self, q):
        """{"mean", "std", "lo", "hi"} of quantity q per label (``by_<q>_<s>``: [label,
        layer] for layer_entropy, [label, layer, head] for head_entropy / sink / prev_token /
        induction, [label, span_name, layer] for span_mass, [label, keyword, layer] for
        keyword_mass) with the statistics the file has, or None without ``by_<q>_mean``."""
        m = self.get(f"by_{q}_mean")
        if m is None or m.size == 0:
            return None
        return {s: self.get(f"by_{q}_{s}") for s in BY_STATS
                if self.get(f"by_{q}_{s}") is not None}

    def by_count(self, q):
        """Prompts behind each statistic of q: ``by_span_count`` [label, span_name] for
        span_mass, ``by_keyword_count`` [label, keyword] for keyword_mass, ``label_count``
        [label] otherwise (None when absent)."""
        name = {"span_mass": "by_span_count", "keyword_mass": "by_keyword_count"}.get(
            q, "label_count")
        return self.get(name)

    def contrast(self, q):
        """{"mean", "lo", "hi", "same_sign"} of the paired difference a - b of quantity q per
        contrast (``contrast_<q>_<s>``: [contrast, layer], or [contrast, span_name, layer]
        and [contrast, keyword, layer]), or None without ``contrast_<q>_mean``."""
        m = self.get(f"contrast_{q}_mean")
        if m is None or m.size == 0:
            return None
        return {s: self.get(f"contrast_{q}_{s}") for s in CONTRAST_STATS
                if self.get(f"contrast_{q}_{s}") is not None}

    def contrast_count(self, q):
        """Pairs behind each contrast statistic of q: ``contrast_span_count`` [contrast,
        span_name] for span_mass, ``contrast_keyword_count`` [contrast, keyword] for
        keyword_mass, ``contrast_n_pairs`` [contrast] otherwise (None when absent)."""
        name = {"span_mass": "contrast_span_count", "keyword_mass": "contrast_keyword_count"
                }.get(q, "contrast_n_pairs")
        return self.get(name)

    def sensitivity(self):
        """{"ratio", "lo", "hi" [by, layer] float64, "rank" [by, layer] int32: each layer's
        rank, 0 = the most sensitive} (the ones present), or None without
        ``sensitivity_ratio``. :meth:`sensitivity_order` lists the layers by rank."""
        r = self.get("sensitivity_ratio")
        if r is None or r.size == 0:
            return None
        out = {"ratio": self.get("sensitivity_ratio")}
        for k in ("lo", "hi", "rank"):
            v = self.get("sensitivity_" + k)
            if v is not None:
                out[k] = v
        return out

    def sensitivity_order(self, b):
        """The layer positions of ``by`` row b, most sensitive first (``sensitivity_rank``
        inverted; without it, by decreasing ratio, NaN last, ties to the lower layer)."""
        s = self.sensitivity()
        if s is None:
            return []
        if "rank" in s:
            return [int(i) for i in np.argsort(s["rank"][b], kind="stable")]
        r = s["ratio"][b]
        return [int(i) for i in np.argsort(-np.where(np.isnan(r), -np.inf, r), kind="stable")]

    def js(self):
        """{"divergence" [group, layer], "pairs" [group] (int, or None in files without
        js_pairs)}, or None without ``js_divergence``."""
        d = self.get("js_divergence")
        if d is None:
            return None
        p = self.get("js_pairs")
        return {"divergence": d, "pairs": None if p is None else np.asarray(p, np.int64)}
