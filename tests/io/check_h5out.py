#!/usr/bin/python3
"""check_h5out.py - independent structural check of attnsweep format-2 files (docs/FORMAT.md),
with plain h5py, and with xarray + h5netcdf for the named dimensions.

Usage: check_h5out.py FILE [FILE ...]

For every file:
  - the root attributes (names, types: int32 / int64 / float32 scalars, fixed-length,
    null-padded UTF-8 strings as wide as their value), /model attributes, /config (and
    config_sha256 = sha256 of it);
  - every group and dataset of docs/FORMAT.md is present (and nothing else but the sweep's
    metadata columns in /sweep: int8 booleans with flags, int64, float64, strings), with the right
    dtype, byte order (little-endian), shape, and a dimension scale of the right name on every
    axis (every dataset of /sweep, /tokens, /metrics, /summary and /attention/last_row); string
    datasets are fixed-length, null-padded UTF-8 with _Encoding = "utf-8", as wide as their
    longest element (/sweep/message: 256 bytes); CF attributes (sample_dimension, flag_values,
    flag_meanings);
  - storage: every dataset contiguous, allocated early, never filled; no object timestamps;
    superblock version 2;
  - counts and starts: token_start, text_start and attention_start (L*H*T^2) are the exclusive
    cumulative sums of their counts, and every ragged sample dimension (token, byte, occ, substr,
    span, member) is as long as the sum of its count variable; the token table is the
    concatenation of the prompts (prompt_index, position);
  - values that must hold in any file: valid unique prompt ids, status / input codes, byte and
    token spans inside their prompt, causal rows summing to 1 for done prompts, the summary's
    top-5 tables agreeing with /metrics/head_entropy and /tokens/token_str, ...;
  - xr.open_dataset(FILE, group=G, engine="h5netcdf") WITHOUT phony_dims opens G = "sweep",
    "tokens", "metrics", "summary" (when present), "attention" (store last_row) and the root,
    with the dimension names of docs/FORMAT.md. A missing xarray / h5netcdf is a failure.
Exit 0 = every file passes, 1 = a failure (each one is printed), 2 = usage."""
import hashlib
import re
import sys

FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)
    return bool(cond)


try:
    import numpy as np
    import h5py
except ImportError as e:  # pragma: no cover
    print(f"FAIL: {e} (install python3-numpy python3-h5py: scripts/install-deps.sh)")
    sys.exit(1)

# ---------------------------------------------------------------- the layout of docs/FORMAT.md
# (name, type, dims): type is i8 i32 i64 u8 f64 str att (float32|float16 per the root dtype);
# dims is a comma list of dimension names ("" = no scale expected, /text/utf8 and /attention/full).
SWEEP = [("prompt", "str", "prompt"), ("group", "str", "prompt"), ("variant", "str", "prompt"),
         ("n_tokens", "i32", "prompt"), ("token_start", "i64", "prompt"),
         ("text_start", "i64", "prompt"), ("text_length", "i32", "prompt"),
         ("attention_start", "i64", "prompt"),  # store full only
         ("rank", "i32", "prompt"), ("status", "i8", "prompt"), ("message", "str", "prompt"),
         ("tokens_dropped", "i32", "prompt")]
# chat sweeps only (docs/FORMAT.md "Chat prompts"): where the user's prompt is in the text
CHAT = [("prompt_start", "i64", "prompt"), ("prompt_length", "i32", "prompt")]
TEXT = [("utf8", "u8", "")]
TOKENS = [("token", "i32", "token"), ("bound", "i32", "bound"), ("prompt_index", "i32", "token"),
          ("position", "i32", "token"), ("token_id", "i32", "token"), ("token_str", "str", "token"),
          ("offsets", "i32", "token,bound")]
ATT_COMMON = [("layer", "i32", "layer"), ("head", "i32", "head")]
ATT_LAST_ROW = [("token", "i32", "token"), ("last_row", "att", "token,layer,head")]
ATT_FULL = [("full", "att", "")]


def capture_spec(f, store):
    """The optional /attention captures present in f (output.weights / output.scores)."""
    g = f.get("attention", {})
    cap = []
    if "value_norm" in g:
        cap.append(("value_norm", "att", "token,layer,head"))
    if "scores_last_row" in g and store == "last_row":
        cap.append(("scores_last_row", "att", "token,layer,head"))
    if "scores_full" in g and store == "full":
        cap.append(("scores_full", "att", ""))
    if any(d.startswith("token") for _, _, d in cap):
        cap.insert(0, ("token", "i32", "token"))
    return cap
LHEAD = "prompt,layer,head"
NORM_METRICS = [("sink_last_norm", "f64", "prompt,layer,head"),
                ("span_mass_norm", "f64", "span,layer,head")]
METRICS = [("prompt", "str", "prompt"), ("layer", "i32", "layer"), ("head", "i32", "head"),
           ("token", "i32", "token"), ("bound", "i32", "bound"), ("keyword", "str", "keyword"),
           ("occ", "i32", "occ"), ("substr", "i32", "substr"), ("span", "i32", "span"),
           ("input", "i8", "prompt"), ("layer_entropy", "f64", "prompt,layer"),
           ("head_entropy", "f64", LHEAD), ("head_max", "f64", LHEAD), ("head_focus", "i32", LHEAD),
           ("sink_last", "f64", LHEAD), ("sink_mean", "f64", LHEAD), ("prev_token", "f64", LHEAD),
           ("norm_entropy", "f64", LHEAD), ("dup_token", "f64", LHEAD), ("induction", "f64", LHEAD),
           ("last_row_mean", "f64", "token,layer"),
           ("keyword_occ_count", "i32", "prompt"), ("keyword_occ_start", "i64", "prompt"),
           ("keyword_occ_keyword", "i32", "occ"), ("keyword_occ_bytes", "i32", "occ,bound"),
           ("keyword_occ_tokens", "i32", "occ,bound"), ("keyword_occ_mass", "f64", "occ"),
           ("keyword_occ_mass_layer", "f64", "occ,layer"),
           ("keyword_substr_count", "i32", "prompt"), ("keyword_substr_start", "i64", "prompt"),
           ("keyword_substr_keyword", "i32", "substr"), ("keyword_substr_position", "i32", "substr"),
           ("keyword_substr_mass", "f64", "substr"),
           ("span_count", "i32", "prompt"), ("span_start", "i64", "prompt"),
           ("span_name", "str", "span"), ("span_kind", "i8", "span"),
           ("span_bytes", "i32", "span,bound"), ("span_tokens", "i32", "span,bound"),
           ("span_mass", "f64", "span,layer,head"), ("span_lift", "f64", "span,layer,head")]
NEED_FULL = ["sink_mean", "prev_token", "norm_entropy", "dup_token", "induction"]
BEHAVIOUR = [("prompt", "str", "prompt"), ("topk", "i32", "topk"), ("topk_id", "i32", "prompt,topk"),
             ("topk_prob", "f32", "prompt,topk"), ("next_id", "i32", "prompt"),
             ("topk_str", "str", "prompt,topk"), ("next_str", "str", "prompt")]
BEHAVIOUR_ANSWER = [("answer_first_id", "i32", "prompt"), ("answer_prob", "f32", "prompt"),
                    ("answer_rank", "i32", "prompt"), ("answer_correct", "i8", "prompt")]
BEHAVIOUR_FORCED = [("answer_token", "i32", "answer_token"), ("answer_ids", "i32", "answer_token"),
                    ("answer_start", "i64", "prompt"), ("answer_n_tokens", "i32", "prompt"),
                    ("answer_logprob", "f64", "prompt")]
BEHAVIOUR_LOGITS = [("vocab", "i32", "vocab"), ("logits", "f32", "prompt,vocab")]
SUMMARY = [("prompt", "str", "prompt"), ("layer", "i32", "layer"), ("head", "i32", "head"),
           ("top", "i32", "top"), ("group", "str", "group"), ("member", "i32", "member"),
           ("prompt_index", "i32", "prompt"), ("head_entropy_mean", "f64", "layer,head")]
for _k in ("most_focused", "most_distributed"):
    SUMMARY += [(_k + "_layer", "i32", "prompt,top"), (_k + "_head", "i32", "prompt,top"),
                (_k + "_entropy", "f64", "prompt,top"), (_k + "_token", "str", "prompt,top")]
for _k in ("overall_most_focused", "overall_most_distributed"):
    SUMMARY += [(_k + "_layer", "i32", "top"), (_k + "_head", "i32", "top"),
                (_k + "_entropy", "f64", "top"), (_k + "_token", "str", "top")]
SUMMARY += [("group_count", "i32", "group"), ("group_start", "i64", "group"),
            ("n_shared_tokens", "i32", "group"), ("layer_entropy_std", "f64", "group,layer"),
            ("js_divergence", "f64", "group,layer"), ("sensitivity_rank_js", "i32", "group,layer"),
            ("sensitivity_rank_entropy_std", "i32", "group,layer"), ("has_examples", "i8", "group"),
            ("member_prompt_index", "i32", "member"), ("member_variant", "str", "member"),
            ("prefix_mass", "f64", "member,layer"), ("question_mass", "f64", "member,layer"),
            ("example_mass", "f64", "member,layer,head"), ("example_top_layer", "i32", "member,top"),
            ("example_top_head", "i32", "member,top"), ("example_top_mass", "f64", "member,top"),
            ("js_pairs", "i32", "group")]
# statistics across prompts (docs/FORMAT.md "Statistics across prompts")
SUMMARY += [("by", "str", "by"), ("label", "str", "label"), ("span_name", "str", "span_name"),
            ("keyword", "str", "keyword"), ("contrast", "str", "contrast"),
            ("label_column", "str", "label"), ("label_value", "str", "label"),
            ("label_count", "i32", "label"), ("by_span_count", "i32", "label,span_name"),
            ("by_keyword_count", "i32", "label,keyword"), ("contrast_name", "str", "contrast"),
            ("contrast_column", "str", "contrast"), ("contrast_a", "str", "contrast"),
            ("contrast_b", "str", "contrast"), ("contrast_pair_on", "str", "contrast"),
            ("contrast_n_pairs", "i32", "contrast"),
            ("contrast_span_count", "i32", "contrast,span_name"),
            ("contrast_keyword_count", "i32", "contrast,keyword"),
            ("sensitivity_ratio", "f64", "by,layer"), ("sensitivity_lo", "f64", "by,layer"),
            ("sensitivity_hi", "f64", "by,layer"), ("sensitivity_rank", "i32", "by,layer")]
for _s in ("mean", "std", "lo", "hi"):
    SUMMARY += [(f"by_layer_entropy_{_s}", "f64", "label,layer"),
                (f"by_span_mass_{_s}", "f64", "label,span_name,layer"),
                (f"by_keyword_mass_{_s}", "f64", "label,keyword,layer")]
    SUMMARY += [(f"by_{_q}_{_s}", "f64", "label,layer,head")
                for _q in ("head_entropy", "sink", "prev_token", "induction")]
for _s in ("mean", "lo", "hi", "same_sign"):
    SUMMARY += [(f"contrast_{_q}_{_s}", "f64", "contrast,layer")
                for _q in ("layer_entropy", "sink", "prev_token", "induction")]
    SUMMARY += [(f"contrast_span_mass_{_s}", "f64", "contrast,span_name,layer"),
                (f"contrast_keyword_mass_{_s}", "f64", "contrast,keyword,layer")]
# only when a group generates (docs/FORMAT.md "Generation")
SWEEP_GEN = [("n_generated", "i32", "prompt"), ("generated_start", "i64", "prompt"),
             ("stop_reason", "i8", "prompt")]
METRICS_GEN = [("span_mass_from_answer", "f64", "span,layer,head")]
# under output.weights: norms | both (docs/FORMAT.md "Summary": per-group means of the norm metrics)
SUMMARY_NORMS = [("sink_last_norm", "f64", "group,layer,head"), ("sink_last_norm_count", "i32", "group"),
                 ("span_mass_norm", "f64", "group,span_name,layer"),
                 ("span_mass_norm_count", "i32", "group,span_name")]
# only when the sweep generates
SUMMARY_GEN = [("answer_mass", "f64", "group,span_name,layer"), ("answer_mass_count", "i32", "group,span_name")]
SUMMARY_ATTRS = {"bootstrap_resamples": "i", "bootstrap_seed": "u", "confidence": "f",
                 "js_min_shared": "i"}
TOP_K = 5
# count variable -> (sample dimension, start variable)
RAGGED = {"sweep": [("n_tokens", "token", "token_start"), ("text_length", "byte", "text_start")],
          "metrics": [("keyword_occ_count", "occ", "keyword_occ_start"),
                      ("keyword_substr_count", "substr", "keyword_substr_start"),
                      ("span_count", "span", "span_start")],
          "summary": [("group_count", "member", "group_start")]}

ROOT_STR = ["format", "store", "dtype", "attnsweep_version", "git_commit", "created_utc",
            "model_path", "command_line"]
ROOT_I32 = ["format_version", "n_layers", "n_heads", "n_ranks"]
ROOT_I64 = ["n_prompts", "n_tokens_total"]
MODEL_I32 = ["n_layers", "n_heads", "n_kv_heads", "head_dim", "hidden_size", "intermediate_size",
             "vocab_size", "max_position_embeddings", "tied_embeddings", "bos_token_id",
             "eos_token_id"]
MODEL_F32 = ["rope_theta", "rms_norm_eps"]
MODEL_STR = ["architecture", "rope_style", "source_dtype"]
NUMPY = {"i8": np.dtype("<i1"), "i32": np.dtype("<i4"), "i64": np.dtype("<i8"),
         "u8": np.dtype("u1"), "f32": np.dtype("<f4"), "f64": np.dtype("<f8")}


def strs(ds):
    """A fixed-length string dataset as a list (C order) of str."""
    v = ds[()]
    v = np.atleast_1d(v).ravel()
    return [x.decode("utf-8", "surrogateescape") if isinstance(x, bytes) else str(x) for x in v]


def excl_cumsum(c):
    c = np.asarray(c, dtype=np.int64)
    out = np.zeros(len(c), dtype=np.int64)
    if len(c) > 1:
        out[1:] = np.cumsum(c)[:-1]
    return out


def attr_kind(obj, name):
    """('str', None) for a fixed-length, null-padded UTF-8 string scalar as wide as its value
    (at least 1 byte); ('num', dtype) for a numeric scalar; ('bad', description) otherwise."""
    aid = h5py.h5a.open(obj.id, name.encode())
    dt, shape = aid.dtype, aid.shape
    info = h5py.check_string_dtype(dt)
    if info is not None:
        v = obj.attrs[name]
        ok = (info.length is not None and info.encoding == "utf-8" and shape == ()
              and aid.get_type().get_strpad() == h5py.h5t.STR_NULLPAD
              and isinstance(v, bytes) and info.length == max(1, len(v)))
        return ("str", None) if ok else ("bad", f"string attr length={info.length} "
                                                 f"encoding={info.encoding} shape={shape}")
    if shape != ():
        return ("bad", f"shape {shape}, not scalar")
    return ("num", dt)


def sattr(obj, name, default=None):
    """A string attribute decoded (h5py returns fixed-length strings as bytes)."""
    v = obj.attrs.get(name, default)
    return v.decode("utf-8") if isinstance(v, bytes) else v


def check_attrs(obj, where, strs_, typed):
    """strs_: names of required string attributes; typed: {name: numpy dtype} numeric ones."""
    for k in strs_:
        if not check(k in obj.attrs, f"{where}: attribute {k} missing"):
            continue
        kind, extra = attr_kind(obj, k)
        check(kind == "str", f"{where}: attribute {k} is not a fixed-length UTF-8 string as wide as its value ({extra})")
    for k, dt in typed.items():
        if not check(k in obj.attrs, f"{where}: attribute {k} missing"):
            continue
        kind, got = attr_kind(obj, k)
        check(kind == "num" and got == dt, f"{where}: attribute {k} has type {got}, expected {dt}")


class File:
    def __init__(self, path):
        self.path = path
        self.f = h5py.File(path, "r")
        self.dims = {"bound": 2, "top": TOP_K}
        self.n_checks = 0

    def ok(self, cond, msg):
        self.n_checks += 1
        return check(cond, f"{self.path}: {msg}")

    # ------------------------------------------------------------ generic dataset checks
    def scale_name(self, s):
        n = s.attrs.get("NAME")
        if isinstance(n, bytes):
            n = n.rstrip(b"\0").decode()
        elif isinstance(n, np.ndarray):
            n = n.tobytes().rstrip(b"\0").decode()
        return n

    def dataset(self, group, name, typ, dims, att_dtype=None):
        """Checks one dataset of the layout; returns it (or None when it is missing)."""
        path = f"{group}/{name}" if group else name
        d = self.f.get(path)
        if not self.ok(isinstance(d, h5py.Dataset), f"/{path} missing (docs/FORMAT.md)"):
            return None
        names = [x for x in dims.split(",") if x]
        # dtype
        if typ == "str":
            info = h5py.check_string_dtype(d.dtype)
            good = info is not None and info.length is not None and info.encoding == "utf-8"
            self.ok(good, f"/{path}: {d.dtype} {info}, expected fixed-length UTF-8")
            if good:
                tid = d.id.get_type()
                self.ok(tid.get_strpad() == h5py.h5t.STR_NULLPAD, f"/{path}: strings not null-padded")
                enc = d.attrs.get("_Encoding")
                enc = enc.decode() if isinstance(enc, bytes) else enc
                self.ok(enc == "utf-8", f"/{path}: attribute _Encoding = {enc!r}, expected 'utf-8'")
                width = info.length
                want = 256 if path == "sweep/message" else None
                if path in ("behaviour/topk_str", "behaviour/next_str"):  # the vocabulary's widest
                    want = width if width >= max([1] + [len(x) for x in np.atleast_1d(d[()]).ravel()]) else -1
                if want is None:
                    raw = np.atleast_1d(d[()]).ravel()
                    want = max([1] + [len(x) for x in raw])
                self.ok(width == want, f"/{path}: string width {width}, expected {want} "
                        "(as wide as the longest element)")
        else:
            want = att_dtype if typ == "att" else NUMPY[typ]
            self.ok(d.dtype == want, f"/{path}: dtype {d.dtype}, expected {want}")
            tid = d.id.get_type()
            if d.dtype.itemsize > 1:
                self.ok(tid.get_order() == h5py.h5t.ORDER_LE, f"/{path}: not little-endian")
        # shape: every named dimension of a known length; record lengths of the others
        if names:
            self.ok(d.ndim == len(names), f"/{path}: {d.ndim} axes, expected ({dims})")
            for ax, dn in enumerate(names[:d.ndim]):
                if dn in self.dims:
                    self.ok(d.shape[ax] == self.dims[dn],
                            f"/{path}: axis {ax} ({dn}) has length {d.shape[ax]}, expected {self.dims[dn]}")
            # dimension scales: a scale of the dimension's name attached to every axis
            is_scale = d.attrs.get("CLASS") in (b"DIMENSION_SCALE", "DIMENSION_SCALE")
            if len(names) == 1 and names[0] == name:
                self.ok(is_scale and self.scale_name(d) == name,
                        f"/{path} is not a dimension scale named {name!r}")
            else:
                self.ok(not is_scale, f"/{path} is a dimension scale but {name!r} is not a dimension")
                for ax, dn in enumerate(names[:d.ndim]):
                    attached = list(d.dims[ax].values()) if len(d.dims[ax]) else []
                    got = [s.name.rsplit("/", 1)[-1] for s in attached]
                    self.ok(got == [dn], f"/{path}: axis {ax} has scales {got}, expected [{dn!r}]")
                    for s in attached:
                        self.ok(s.parent.name == d.parent.name,
                                f"/{path}: axis {ax}'s scale {s.name} is not in the same group")
        else:
            self.ok(d.ndim == 1, f"/{path}: {d.ndim} axes, expected 1")
        return d

    def group(self, name, spec):
        g = self.f.get(name)
        if not self.ok(isinstance(g, h5py.Group), f"/{name} missing"):
            return None
        want = [n for n, _, _ in spec]
        extra = sorted(set(g.keys()) - set(want))
        self.ok(not extra, f"/{name}: objects not in docs/FORMAT.md: {extra}")
        return g

    # ------------------------------------------------------------ whole file
    def run(self):
        f = self.f
        print(f"== {self.path}")
        self.root()
        if self.N is None:
            return
        self.storage()
        self.sweep()
        self.text()
        self.tokens()
        self.attention()
        if "metrics" in f:
            self.metrics()
        else:
            print("   no /metrics (allowed: attnsweep extract without reduce)")
        if "behaviour" in f:
            self.behaviour()
        else:
            print("   no /behaviour (allowed: files written before it existed)")
        if "summary" in f:
            self.summary()
        else:
            print("   no /summary")
        self.xarray()
        n_obj = []
        f.visititems(lambda n, o: n_obj.append(n))
        print(f"   {self.N} prompts, {self.NT} tokens, store {self.store}, dtype {self.dtype_name}, "
              f"L={self.L} H={self.H}, {len(n_obj)} objects, {self.n_checks} checks")

    def root(self):
        f = self.f
        self.N = None
        check_attrs(f, f"{self.path}: /", ROOT_STR,
                    {**{k: np.dtype("<i4") for k in ROOT_I32}, **{k: np.dtype("<i8") for k in ROOT_I64}})
        a = {k: sattr(f, k) for k in f.attrs}
        if not self.ok(a.get("format") == "attnsweep", f"format attribute {a.get('format')!r}"):
            return
        if not self.ok(a.get("format_version") == 2, f"format_version {a.get('format_version')}, expected 2"):
            return
        self.store = a.get("store")
        self.dtype_name = a.get("dtype")
        self.ok(self.store in ("full", "last_row", "none"), f"store attribute {self.store!r}")
        self.ok(self.dtype_name in ("float32", "float16"), f"dtype attribute {self.dtype_name!r}")
        self.att_dtype = np.dtype("<f2") if self.dtype_name == "float16" else np.dtype("<f4")
        self.N, self.NT = int(a.get("n_prompts", -1)), int(a.get("n_tokens_total", -1))
        self.L, self.H = int(a.get("n_layers", -1)), int(a.get("n_heads", -1))
        self.ok(self.N >= 0 and self.NT >= self.N, f"n_prompts {self.N}, n_tokens_total {self.NT}")
        self.ok(self.L >= 1 and self.H >= 1, f"n_layers {self.L}, n_heads {self.H}")
        self.ok(int(a.get("n_ranks", 0)) >= 1, f"n_ranks {a.get('n_ranks')}")
        self.dims.update(prompt=self.N, token=self.NT, layer=self.L, head=self.H)
        self.ok(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(a.get("created_utc", ""))),
                f"created_utc {a.get('created_utc')!r} is not ISO 8601 UTC")
        if "model_sha256" in a:
            check_attrs(f, f"{self.path}: /", ["model_sha256"], {})
            self.ok(re.fullmatch(r"[0-9a-f]{64}", str(a["model_sha256"])), "model_sha256 is not hex")
        else:
            check_attrs(f, f"{self.path}: /", [], {"model_size": np.dtype("<i8"), "model_mtime": np.dtype("<i8")})
        if "config_dir" in a:  # optional (a sweep's folder; absent when it could not be resolved)
            check_attrs(f, f"{self.path}: /", ["config_dir"], {})
            self.ok(str(a["config_dir"]).startswith("/"), f"config_dir {a['config_dir']!r} is not absolute")
            self.ok("config" in f, "config_dir without /config")
        known = set(ROOT_STR + ROOT_I32 + ROOT_I64 + ["model_sha256", "model_size", "model_mtime", "config_sha256",
                                                      "config_dir"])
        self.ok(set(a) <= known, f"root attributes not in docs/FORMAT.md: {sorted(set(a) - known)}")
        # /config and config_sha256: both or neither
        if "config" in f:
            c = f["config"]
            info = h5py.check_string_dtype(c.dtype)
            self.ok(isinstance(c, h5py.Dataset) and c.shape == () and info is not None
                    and info.length is not None and info.encoding == "utf-8",
                    f"/config is not a scalar fixed-length UTF-8 string ({c.dtype} {c.shape})")
            raw = c[()]
            raw = raw if isinstance(raw, bytes) else bytes(raw)
            self.ok(info is None or info.length == max(1, len(raw)), f"/config width {info and info.length} != {len(raw)}")
            enc = c.attrs.get("_Encoding")
            self.ok(enc in ("utf-8", b"utf-8"), f"/config _Encoding {enc!r}")
            if self.ok("config_sha256" in a, "/config present but no config_sha256 attribute"):
                check_attrs(f, f"{self.path}: /", ["config_sha256"], {})
                self.ok(a["config_sha256"] == hashlib.sha256(raw).hexdigest(),
                        "config_sha256 is not the sha256 of /config")
        else:
            self.ok("config_sha256" not in a, "config_sha256 without /config")
        want_top = {"config", "model", "sweep", "text", "tokens", "attention", "metrics", "behaviour",
                    "summary"}
        self.ok(set(f) <= want_top, f"root objects not in docs/FORMAT.md: {sorted(set(f) - want_top)}")
        if not self.ok(isinstance(f.get("model"), h5py.Group), "/model missing"):
            return
        m = f["model"]
        check_attrs(m, f"{self.path}: /model", MODEL_STR,
                    {**{k: np.dtype("<i4") for k in MODEL_I32}, **{k: np.dtype("<f4") for k in MODEL_F32}})
        self.ok(len(m) == 0, f"/model holds objects: {list(m)}")
        self.ok(sattr(m, "rope_style") in ("rotate_half", "interleaved"), f"rope_style {sattr(m, 'rope_style')!r}")
        self.ok(sattr(m, "source_dtype") in ("F32", "F16", "BF16"), f"source_dtype {sattr(m, 'source_dtype')!r}")
        self.ok(m.attrs.get("tied_embeddings") in (0, 1), "tied_embeddings not 0/1")
        self.model_L = int(m.attrs.get("n_layers", 0))
        self.model_H = int(m.attrs.get("n_heads", 0))
        self.vocab = int(m.attrs.get("vocab_size", 0))
        self.ok(self.L <= self.model_L and self.H <= self.model_H,
                f"stored L={self.L} H={self.H} exceed the model's {self.model_L}/{self.model_H}")

    def storage(self):
        fcpl = self.f.id.get_create_plist()
        self.ok(fcpl.get_version()[0] == 2, f"superblock version {fcpl.get_version()[0]}, expected 2")
        objs = []
        self.f.visititems(lambda n, o: objs.append((n, o)))
        for n, o in objs:
            if isinstance(o, h5py.Dataset):
                p = o.id.get_create_plist()
                self.ok(p.get_layout() == h5py.h5d.CONTIGUOUS, f"/{n} is not contiguous")
                self.ok(p.get_alloc_time() == h5py.h5d.ALLOC_TIME_EARLY, f"/{n}: storage not allocated early")
                self.ok(p.get_fill_time() == h5py.h5d.FILL_TIME_NEVER, f"/{n}: fill time is not 'never'")
                self.ok(p.get_nfilters() == 0, f"/{n} has filters")
                self.ok(not p.get_obj_track_times(), f"/{n} stores object timestamps")
            else:
                self.ok(not o.id.get_create_plist().get_obj_track_times(), f"/{n} stores object timestamps")

    # ------------------------------------------------------------ /sweep
    def sweep(self):
        spec = [s for s in SWEEP if s[0] != "attention_start" or self.store == "full"]
        chat = isinstance(self.f.get("sweep"), h5py.Group) and "prompt_start" in self.f["sweep"]
        if chat:
            spec = spec + CHAT
        gen = isinstance(self.f.get("sweep"), h5py.Group) and "n_generated" in self.f["sweep"]
        if gen:
            spec = spec + SWEEP_GEN
        # metadata columns (docs/FORMAT.md "Metadata columns"): any other dataset named like a
        # variable, 1-D along prompt, int8 (booleans, with flags), int64, float64 or a string
        meta = []
        g0 = self.f.get("sweep")
        if isinstance(g0, h5py.Group):
            known = {n for n, _, _ in SWEEP + CHAT + SWEEP_GEN}
            for n in g0:
                d0 = g0[n]
                if n in known or not isinstance(d0, h5py.Dataset):
                    continue
                typ = {np.dtype("int8"): "i8", np.dtype("<i8"): "i64", np.dtype("<f8"): "f64"}.get(d0.dtype)
                if typ is None and h5py.check_string_dtype(d0.dtype) is not None:
                    typ = "str"
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", n) and typ:
                    meta.append((n, typ, "prompt"))
        g = self.group("sweep", spec + meta)
        if g is None:
            self.ids = []
            return
        if chat:
            ps, pl = self.dataset("sweep", "prompt_start", "i64", "prompt"), self.dataset("sweep", "prompt_length", "i32", "prompt")
            tl = g.get("text_length")
            if ps is not None and pl is not None and tl is not None:
                self.ok(np.all((ps[()] >= 0) & (pl[()] > 0) & (ps[()] + pl[()] <= tl[()])),
                        "/sweep: prompt_start + prompt_length outside text_length")
        for n, t, dims in meta:
            md = self.dataset("sweep", n, t, dims)
            if md is not None and t == "i8":
                v = md[()]
                if np.any(v < 0):
                    self.flags(md, [-1, 0, 1], "missing false true")
                else:
                    self.ok(np.isin(v, [0, 1]).all(), f"{md.name}: boolean values {sorted(set(v.tolist()))}")
                    fm = sattr(md, "flag_meanings")
                    self.ok(fm in ("false true", "missing false true"),
                            f"{md.name}: flag_meanings {fm!r}, expected 'false true'")
        d = {n: self.dataset("sweep", n, t, dims) for n, t, dims in spec}
        if gen and d.get("stop_reason") is not None:
            self.flags(d["stop_reason"], [-1, 0, 1, 2], "none length eos stop_string")
            ng, gs, nt = d["n_generated"][()], d["generated_start"][()], d["n_tokens"][()]
            self.ok(np.all((ng >= 0) & (ng < nt)), "/sweep/n_generated outside [0, n_tokens)")
            no = gs == -1  # the prompt's group does not generate
            self.ok(np.all(no | ((gs >= 0) & (gs <= d["text_length"][()]))),
                    "/sweep/generated_start neither -1 nor inside the text")
            self.ok(np.all(ng[no] == 0) and np.all(d["stop_reason"][()][no] == -1),
                    "/sweep: a prompt that does not generate has n_generated or stop_reason set")
        if self.store != "full" and "attention_start" in g:
            # h5out.h: att_start is 0 unless store full; FORMAT.md says "store: full only"
            self.dataset("sweep", "attention_start", "i64", "prompt")
            self.ok(not np.any(g["attention_start"][()]), "/sweep/attention_start nonzero without store full")
        if any(v is None for v in d.values()):
            self.ids = []
            return
        N = self.N
        ids = strs(d["prompt"])
        self.ids = ids
        self.ok(len(set(ids)) == len(ids), "/sweep/prompt ids are not unique")
        for pid in ids:
            raw = pid.encode("utf-8", "surrogateescape")
            parts = pid.split("/")
            good = (0 < len(raw) <= 255 and len(parts) <= 2 and all(p not in ("", ".", "..") for p in parts)
                    and not any(ord(c) < 32 or ord(c) == 127 for c in pid))
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                good = False
            self.ok(good, f"invalid prompt id {pid!r}")
        grp, var = strs(d["group"]), strs(d["variant"])
        for pid, gname, vname in zip(ids, grp, var):
            self.ok((gname == "" and vname == "") or pid == f"{gname}/{vname}",
                    f"prompt {pid!r}: group {gname!r} / variant {vname!r} do not make its id")
        T = d["n_tokens"][()].astype(np.int64)
        self.T = T
        self.ok(np.all(T >= 1), "/sweep/n_tokens has a prompt without tokens")
        self.ok(int(T.sum()) == self.NT, f"sum of n_tokens {int(T.sum())} != n_tokens_total {self.NT}")
        self.tok_start = d["token_start"][()]
        self.ok(np.array_equal(self.tok_start, excl_cumsum(T)), "/sweep/token_start != cumsum of n_tokens")
        self.text_len = d["text_length"][()].astype(np.int64)
        self.text_start = d["text_start"][()]
        self.ok(np.all(self.text_len >= 0), "/sweep/text_length < 0")
        self.ok(np.array_equal(self.text_start, excl_cumsum(self.text_len)),
                "/sweep/text_start != cumsum of text_length (texts back to back)")
        self.dims["byte"] = int(self.text_len.sum())
        st = d["status"][()]
        if self.store == "full":  # a skipped prompt (status 3) has no attention block
            blk = np.where(st == 3, 0, self.L * self.H * T * T)
            self.att_start = d["attention_start"][()]
            self.ok(np.array_equal(self.att_start, excl_cumsum(blk)),
                    "/sweep/attention_start != cumsum of L*H*T^2 (0 for skipped prompts)")
            self.att_total = int(blk.sum())
        self.sample_dims(g, "sweep")
        self.ok(np.all(d["rank"][()] >= -1), "/sweep/rank < -1")
        self.status = st
        self.ok(np.isin(st, [0, 1, 2, 3]).all(), f"/sweep/status values {sorted(set(st.tolist()))}")
        self.flags(d["status"], [0, 1, 2, 3], "pending done failed skipped")
        dropped = d["tokens_dropped"][()]
        self.ok(np.all(dropped >= 0), "/sweep/tokens_dropped < 0")
        msg = strs(d["message"])
        for i in range(N):
            if st[i] in (2, 3):
                self.ok(msg[i] != "", f"prompt {ids[i]!r} failed or was skipped without a /sweep/message")
            if st[i] == 1:
                self.ok(msg[i] == "", f"done prompt {ids[i]!r} has a message {msg[i]!r}")
        self.done = st == 1

    def flags(self, d, values, meanings):
        where = d.name
        fv = d.attrs.get("flag_values")
        fm = sattr(d, "flag_meanings")
        if self.ok(fv is not None, f"{where}: no flag_values attribute"):
            fv = np.asarray(fv)
            self.ok(fv.dtype == d.dtype and fv.tolist() == values,
                    f"{where}: flag_values {fv.tolist()} ({fv.dtype}), expected {values} ({d.dtype})")
        if self.ok(fm is not None, f"{where}: no flag_meanings attribute"):
            kind, _ = attr_kind(d, "flag_meanings")
            self.ok(kind == "str" and len(str(fm).split()) == len(values),
                    f"{where}: flag_meanings {fm!r} is not {len(values)} words")
            if meanings:
                self.ok(str(fm) == meanings, f"{where}: flag_meanings {fm!r}, expected {meanings!r}")

    def sample_dims(self, g, gname):
        for cnt, dim, start in RAGGED[gname]:
            c = g.get(cnt)
            if c is None:
                continue
            sd = c.attrs.get("sample_dimension")
            sd = sd.decode() if isinstance(sd, bytes) else sd
            self.ok(sd == dim, f"{c.name}: sample_dimension {sd!r}, expected {dim!r}")
            if sd is not None:
                self.ok(attr_kind(c, "sample_dimension")[0] == "str",
                        f"{c.name}: sample_dimension is not a fixed-length string")
            cv = c[()].astype(np.int64)
            self.ok(np.all(cv >= 0), f"{c.name} has negative counts")
            if start in g and gname != "sweep":  # /sweep's starts are checked in sweep()
                self.ok(np.array_equal(g[start][()], excl_cumsum(cv)), f"{g[start].name} != cumsum of {cnt}")

    # ------------------------------------------------------------ /text, /tokens
    def text(self):
        if self.group("text", TEXT) is None:
            return
        d = self.dataset("text", "utf8", "u8", "")
        if d is None or not hasattr(self, "text_len"):
            return
        self.ok(d.shape == (self.dims["byte"],), f"/text/utf8 has {d.shape}, expected ({self.dims['byte']},)")
        raw = d[()].tobytes()
        self.ok(b"\0" not in raw, "/text/utf8 holds a NUL byte")
        self.texts = []
        for i, pid in enumerate(self.ids):
            t = raw[self.text_start[i]:self.text_start[i] + self.text_len[i]]
            self.texts.append(t)
            try:
                t.decode("utf-8")
            except UnicodeDecodeError as e:
                self.ok(False, f"text of {pid!r} is not UTF-8: {e}")

    def tokens(self):
        g = self.group("tokens", TOKENS)
        if g is None:
            return
        d = {n: self.dataset("tokens", n, t, dims) for n, t, dims in TOKENS}
        if any(v is None for v in d.values()) or not hasattr(self, "T"):
            self.token_str = None
            return
        NT = self.NT
        self.ok(np.array_equal(d["token"][()], np.arange(NT)), "/tokens/token != 0..NT-1")
        self.ok(d["bound"][()].tolist() == [0, 1], "/tokens/bound != [0, 1]")
        self.ok(np.array_equal(d["prompt_index"][()], np.repeat(np.arange(self.N), self.T)),
                "/tokens/prompt_index is not the prompt of each token row")
        pos = np.concatenate([np.arange(t) for t in self.T]) if self.N else np.zeros(0)
        self.ok(np.array_equal(d["position"][()], pos), "/tokens/position != 0..T_i-1 per prompt")
        ids = d["token_id"][()]
        self.ok(np.all((ids >= -1) & (ids < max(self.vocab, 1))),
                f"/tokens/token_id outside [-1, vocab_size={self.vocab})")
        offs = d["offsets"][()]
        tl = np.repeat(self.text_len, self.T)
        self.ok(np.all((offs[:, 0] >= 0) & (offs[:, 0] <= offs[:, 1]) & (offs[:, 1] <= tl)),
                "/tokens/offsets outside [0, text_length] or start > end")
        self.token_str = strs(d["token_str"])
        self.offsets = offs

    # ------------------------------------------------------------ /attention
    def attention(self):
        f = self.f
        cap = capture_spec(f, self.store)  # output.weights / output.scores (FORMAT.md)
        if self.store == "none" and not cap:
            self.ok("attention" not in f, "store none but /attention exists")
            return
        spec = ATT_COMMON + (ATT_LAST_ROW if self.store == "last_row" else
                             ATT_FULL if self.store == "full" else [])
        spec += [c for c in cap if c[0] not in [n for n, _, _ in spec]]
        if self.group("attention", spec) is None:
            return
        self.capture_values(f, cap)
        if self.store == "none":
            return
        d = {n: self.dataset("attention", n, t, dims, self.att_dtype) for n, t, dims in spec}
        if d["layer"] is not None:
            lay = d["layer"][()]
            self.layer_ids = lay
            self.ok(np.all(np.diff(lay) > 0) and np.all((lay >= 0) & (lay < self.model_L)),
                    f"/attention/layer {lay.tolist()} not ascending model layers")
        if d["head"] is not None:
            hd = d["head"][()]
            self.head_ids = hd
            self.ok(np.all(np.diff(hd) > 0) and np.all((hd >= 0) & (hd < self.model_H)),
                    f"/attention/head {hd.tolist()} not ascending model heads")
        if not hasattr(self, "done"):
            return
        L, H = self.L, self.H
        tol = 2e-3 if self.dtype_name == "float16" else 1e-4
        bad = []
        if self.store == "last_row" and d["token"] is not None and d["last_row"] is not None:
            self.ok(np.array_equal(d["token"][()], np.arange(self.NT)), "/attention/token != 0..NT-1")
            a = d["last_row"][()].astype(np.float64)
            for i in np.nonzero(self.done)[0]:
                s, t = self.tok_start[i], self.T[i]
                blk = a[s:s + t]  # [T, L, H]
                if not (np.all(np.isfinite(blk)) and blk.min() >= 0 and blk.max() <= 1 + tol
                        and np.abs(blk.sum(axis=0) - 1).max() <= tol):
                    bad.append(self.ids[i])
        if self.store == "full" and d["full"] is not None:
            full = d["full"]
            if self.ok(full.shape == (getattr(self, "att_total", -1),),
                       f"/attention/full has {full.shape}, expected ({getattr(self, 'att_total', '?')},)"):
                for i in np.nonzero(self.done)[0]:
                    t = int(self.T[i])
                    a0 = int(self.att_start[i])
                    blk = full[a0:a0 + L * H * t * t].astype(np.float64).reshape(L, H, t, t)
                    up = np.triu(np.ones((t, t), bool), 1)
                    if not (np.all(np.isfinite(blk)) and blk.min() >= 0 and np.all(blk[..., up] == 0)
                            and np.abs(blk.sum(axis=-1) - 1).max() <= tol):
                        bad.append(self.ids[i])
        self.ok(not bad, f"done prompts whose stored attention is not causal rows summing to 1: {bad[:5]}")

    def capture_values(self, f, cap):
        """Value norms: finite and >= 0; scores: finite (for done prompts)."""
        if not hasattr(self, "done"):
            return
        for n, _, _ in cap:
            if n == "token":
                continue
            d = self.dataset("attention", n, "att", dict((c[0], c[2]) for c in cap)[n], self.att_dtype)
            if d is None:
                continue
            a = d[()].astype(np.float64)
            bad = []
            for i in np.nonzero(self.done)[0]:
                if n == "scores_full":
                    t = int(self.T[i]); a0 = int(self.att_start[i])
                    blk = a[a0:a0 + self.L * self.H * t * t]
                else:
                    blk = a[self.tok_start[i]:self.tok_start[i] + self.T[i]]
                if not np.all(np.isfinite(blk)) or (n == "value_norm" and blk.min() < 0):
                    bad.append(self.ids[i])
            self.ok(not bad, f"/attention/{n}: done prompts with non-finite (or negative norm) values: {bad[:5]}")

    # ------------------------------------------------------------ /behaviour
    def behaviour(self):
        answers = "answer_prob" in self.f.get("behaviour", {})
        forced = "answer_logprob" in self.f.get("behaviour", {})
        with_logits = "logits" in self.f.get("behaviour", {})
        spec = BEHAVIOUR + (BEHAVIOUR_ANSWER if answers else []) + (BEHAVIOUR_FORCED if forced else []) \
            + (BEHAVIOUR_LOGITS if with_logits else [])
        g = self.group("behaviour", spec)
        if g is None or not hasattr(self, "done"):
            return
        if "topk" in g:
            self.dims["topk"] = len(g["topk"])
        d = {n: self.dataset("behaviour", n, t, dims) for n, t, dims in BEHAVIOUR}
        if any(v is None for v in d.values()):
            return
        k = self.dims["topk"]
        # output.topk sets k (1 <= k <= vocab_size); the default is min(10, vocab_size)
        self.ok(1 <= k <= max(self.vocab, 1), f"/behaviour: k = {k}, expected 1 <= k <= vocab_size")
        self.ok(np.array_equal(d["topk"][()], np.arange(k)), "/behaviour/topk != 0..k-1")
        self.ok(strs(d["prompt"]) == self.ids, "/behaviour/prompt != /sweep/prompt")
        done = np.nonzero(self.done)[0]
        ids, pr, nx = d["topk_id"][()][done], d["topk_prob"][()][done].astype(np.float64), d["next_id"][()][done]
        self.ok(np.all((ids >= 0) & (ids < self.vocab)), "/behaviour/topk_id of a done prompt outside [0, vocab)")
        self.ok(all(len(set(r.tolist())) == k for r in ids), "/behaviour/topk_id: a repeated id in a row")
        self.ok(np.all(np.isfinite(pr)) and np.all(pr >= 0) and np.all(pr.sum(axis=1) <= 1 + 1e-5)
                and np.all(np.diff(pr, axis=1) <= 0), "/behaviour/topk_prob: not decreasing probabilities")
        self.ok(np.array_equal(nx, ids[:, 0]), "/behaviour/next_id != topk_id[:, 0]")
        self.ok(np.array_equal(d["next_str"][()][done], d["topk_str"][()][done][:, 0]),
                "/behaviour/next_str != topk_str[:, 0]")
        if with_logits:
            self.dims["vocab"] = self.vocab
            lg = {n: self.dataset("behaviour", n, t, dims) for n, t, dims in BEHAVIOUR_LOGITS}
            if all(v is not None for v in lg.values()):
                z = lg["logits"][()][done]
                self.ok(np.array_equal(lg["vocab"][()], np.arange(self.vocab)), "/behaviour/vocab != 0..V-1")
                self.ok(np.all(np.isfinite(z)) and np.array_equal(np.argmax(z, axis=1), nx),
                        "/behaviour/logits: not finite, or argmax != next_id")
        if not answers:
            return
        e = {n: self.dataset("behaviour", n, t, dims) for n, t, dims in BEHAVIOUR_ANSWER}
        if any(v is None for v in e.values()):
            return
        a = e["answer_first_id"][()]
        ap, ar, ac = e["answer_prob"][()][done], e["answer_rank"][()][done], e["answer_correct"][()][done]
        has, a = a[done] >= 0, a[done]
        self.ok(np.all(a < self.vocab), "/behaviour/answer_first_id outside the vocabulary")
        self.ok(np.all(np.isnan(ap[~has])) and np.all(ar[~has] == -1) and np.all(ac[~has] == -1),
                "/behaviour: answer columns of prompts without an answer are not NaN / -1")
        self.ok(np.all((ap[has] >= 0) & (ap[has] <= 1)) and np.all((ar[has] >= 1) & (ar[has] <= self.vocab)),
                "/behaviour: answer_prob / answer_rank out of range")
        self.ok(np.array_equal(ac[has], (nx[has] == a[has]).astype(np.int8)),
                "/behaviour/answer_correct != (next_id == answer_first_id)")
        if not forced:
            return
        fc = {n: self.dataset("behaviour", n, t, dims) for n, t, dims in BEHAVIOUR_FORCED}
        if any(v is None for v in fc.values()):
            return
        st, nt, tok = fc["answer_start"][()], fc["answer_n_tokens"][()], fc["answer_ids"][()]
        ok = np.array_equal(st, np.concatenate([[0], np.cumsum(nt)[:-1]])) and int(nt.sum()) == len(tok)
        self.ok(ok, "/behaviour/answer_start != the running sum of answer_n_tokens")
        self.ok(sattr(fc["answer_n_tokens"], "sample_dimension") == "answer_token",
                "/behaviour/answer_n_tokens: sample_dimension is not answer_token")
        first = np.array([tok[s0] if n0 > 0 else -1 for s0, n0 in zip(st, nt)], dtype=np.int64)
        self.ok(np.array_equal(first, e["answer_first_id"][()]), "/behaviour/answer_ids[answer_start] != answer_first_id")
        lp = fc["answer_logprob"][()][done]
        self.ok(np.all(np.isnan(lp[~has])) and np.all(lp[has][~np.isnan(lp[has])] <= 0),
                "/behaviour/answer_logprob: not NaN without an answer, or positive")

    # ------------------------------------------------------------ /metrics
    def metrics(self):
        # value norms stored (output.weights: norms | both): the norm-weighted masses too
        spec = METRICS + (NORM_METRICS if "value_norm" in self.f.get("attention", {}) else [])
        if "n_generated" in self.f.get("sweep", {}):
            spec = spec + METRICS_GEN
        g = self.group("metrics", spec)
        if g is None or not hasattr(self, "done"):
            return
        # lengths of the keyword and ragged dimensions, from the scale and the counts
        for dim, cnt in (("keyword", None), ("occ", "keyword_occ_count"), ("substr", "keyword_substr_count"),
                         ("span", "span_count")):
            if cnt is None:
                if "keyword" in g:
                    self.dims["keyword"] = len(g["keyword"])
            elif cnt in g:
                self.dims[dim] = int(g[cnt][()].astype(np.int64).sum())
        d = {n: self.dataset("metrics", n, t, dims) for n, t, dims in spec}
        self.sample_dims(g, "metrics")
        if "sink_last_norm" in d and d["sink_last_norm"] is not None:
            v = d["sink_last_norm"][()][self.done.astype(bool)]
            self.ok(np.all(np.isnan(v) | ((v >= 0) & (v <= 1))), "/metrics/sink_last_norm outside [0, 1]")
        un = sattr(g, "unavailable_last_row")
        if self.ok(un is not None, "/metrics: attribute unavailable_last_row missing"):
            self.ok(attr_kind(g, "unavailable_last_row")[0] == "str",
                    "/metrics: unavailable_last_row is not a fixed-length string")
            names = [x for x in str(un).split(",") if x]
            self.ok(set(NEED_FULL) <= set(names),
                    f"/metrics unavailable_last_row {un!r} does not list all of {NEED_FULL}")
        if any(v is None for v in d.values()):
            return
        T, done = self.T, self.done
        if d["prompt"] is not None:
            self.ok(strs(d["prompt"]) == self.ids, "/metrics/prompt != /sweep/prompt")
        for sc, ref in (("layer", "layer_ids"), ("head", "head_ids")):
            v = d[sc][()]
            if hasattr(self, ref):
                self.ok(np.array_equal(v, getattr(self, ref)), f"/metrics/{sc} != /attention/{sc}")
            else:
                lim = self.model_L if sc == "layer" else self.model_H
                self.ok(np.all(np.diff(v) > 0) and np.all((v >= 0) & (v < lim)), f"/metrics/{sc} {v.tolist()}")
        self.ok(np.array_equal(d["token"][()], np.arange(self.NT)), "/metrics/token != 0..NT-1")
        self.ok(d["bound"][()].tolist() == [0, 1], "/metrics/bound != [0, 1]")
        for sc in ("occ", "substr", "span"):
            self.ok(np.array_equal(d[sc][()], np.arange(self.dims[sc])), f"/metrics/{sc} != 0..n-1")
        kws = strs(d["keyword"])
        K = len(kws)
        self.ok(all(k != "" for k in kws) and len(set(kws)) == K, f"/metrics/keyword {kws}: empty or repeated")
        inp = d["input"][()]
        self.ok(np.isin(inp, [-1, 0, 1]).all(), f"/metrics/input values {sorted(set(inp.tolist()))}")
        self.flags(d["input"], [-1, 0, 1], None)
        self.ok(not np.any(inp == 1) or self.store == "last_row", "/metrics/input = 1 (last row) without store last_row")
        self.ok(not np.any(done & (inp == -1)) or self.store == "none",
                "done prompts with /metrics/input = -1 (not computed) although the attention is stored")
        comp = done & (inp >= 0)
        lr = inp == 1
        for n in NEED_FULL:
            v = d[n][()]
            self.ok(np.all(np.isnan(v[lr])), f"/metrics/{n} not NaN for prompts computed from the last row")
        le, he, hm, hf = (d[n][()] for n in ("layer_entropy", "head_entropy", "head_max", "head_focus"))
        eps = 1e-9
        logT = np.log(T.astype(np.float64))
        self.ok(np.all(np.isfinite(le[comp])) and np.all(le[comp] >= -eps)
                and np.all(le[comp] <= logT[comp, None] + 1e-6), "/metrics/layer_entropy outside [0, log T]")
        self.ok(np.all(np.isfinite(he[comp])) and np.all(he[comp] >= -eps)
                and np.all(he[comp] <= logT[comp, None, None] + 1e-6), "/metrics/head_entropy outside [0, log T]")
        self.ok(np.all((hm[comp] > 0) & (hm[comp] <= 1 + 1e-6)), "/metrics/head_max outside (0, 1]")
        self.ok(np.all((hf[comp] >= 0) & (hf[comp] < T[comp, None, None])), "/metrics/head_focus outside [0, T)")
        sl = d["sink_last"][()]
        self.ok(np.all((sl[comp] >= 0) & (sl[comp] <= 1 + 1e-6)), "/metrics/sink_last outside [0, 1]")
        lrm = d["last_row_mean"][()]
        bad = []
        for i in np.nonzero(comp)[0]:
            s, t = self.tok_start[i], T[i]
            if np.abs(lrm[s:s + t].sum(axis=0) - 1).max() > (2e-3 if self.dtype_name == "float16" else 1e-4):
                bad.append(self.ids[i])
        self.ok(not bad, f"/metrics/last_row_mean does not sum to 1 over the tokens of {bad[:5]}")
        # ragged columns: every row inside its prompt, in the documented order
        occ_c, occ_s = d["keyword_occ_count"][()], d["keyword_occ_start"][()]
        okw, ob, ot = d["keyword_occ_keyword"][()], d["keyword_occ_bytes"][()], d["keyword_occ_tokens"][()]
        sub_c, sub_s = d["keyword_substr_count"][()], d["keyword_substr_start"][()]
        skw, spos = d["keyword_substr_keyword"][()], d["keyword_substr_position"][()]
        sp_c, sp_s = d["span_count"][()], d["span_start"][()]
        sk, sb, stk = d["span_kind"][()], d["span_bytes"][()], d["span_tokens"][()]
        span_names = strs(d["span_name"])
        problems = []
        # the rows of prompts that are not done (or whose metrics were not computed) are undefined
        # (a failed prompt's rows are -1 / NaN): only the computed prompts' rows are checked
        for i in np.nonzero(comp)[0]:
            t, nb = int(T[i]), int(self.text_len[i])
            r = slice(occ_s[i], occ_s[i] + occ_c[i])
            if not np.all((okw[r] >= 0) & (okw[r] < K)):
                problems.append(f"{self.ids[i]}: keyword_occ_keyword outside [0, K={K})")
            kb = [(int(k), int(b[0])) for k, b in zip(okw[r], ob[r])]
            if kb != sorted(kb):
                problems.append(f"{self.ids[i]}: keyword occurrences not ordered by keyword, position")
            for (b0, b1), (t0, t1) in zip(ob[r], ot[r]):
                if not (0 <= b0 < b1 <= nb):
                    problems.append(f"{self.ids[i]}: keyword_occ_bytes [{b0}, {b1}) outside the text ({nb} bytes)")
                if not ((t0, t1) == (-1, -1) or 0 <= t0 < t1 <= t):
                    problems.append(f"{self.ids[i]}: keyword_occ_tokens [{t0}, {t1}) outside [0, {t})")
            r = slice(sub_s[i], sub_s[i] + sub_c[i])
            if not np.all((skw[r] >= 0) & (skw[r] < K)):
                problems.append(f"{self.ids[i]}: keyword_substr_keyword outside [0, K={K})")
            pk = list(zip(spos[r].tolist(), skw[r].tolist()))
            if pk != sorted(pk) or len(set(pk)) != len(pk):
                problems.append(f"{self.ids[i]}: keyword_substr rows not in token-major order")
            if not all(0 <= p < t for p, _ in pk):
                problems.append(f"{self.ids[i]}: keyword_substr_position outside [0, {t})")
            r = slice(sp_s[i], sp_s[i] + sp_c[i])
            if not np.isin(sk[r], [0, 1]).all():
                problems.append(f"{self.ids[i]}: span_kind not 0/1: {sk[r].tolist()}")
            for nm, (b0, b1), (t0, t1) in zip(span_names[r], sb[r], stk[r]):
                if not ((b0, b1) == (-1, -1) or 0 <= b0 <= b1 <= nb):
                    problems.append(f"{self.ids[i]}: span {nm!r} bytes [{b0}, {b1}) outside the text")
                if not ((t0, t1) == (-1, -1) or 0 <= t0 < t1 <= t):
                    problems.append(f"{self.ids[i]}: span {nm!r} tokens [{t0}, {t1}) outside [0, {t})")
            names = span_names[r]
            if len(set(names)) != len(names) or any(n == "" for n in names):
                problems.append(f"{self.ids[i]}: span names {names} empty or repeated")
        for p in problems[:10]:
            self.ok(False, f"/metrics: {p}")
        self.he = he
        self.hf = hf
        self.input = inp

    # ------------------------------------------------------------ /summary
    def summary(self):
        norms = "value_norm" in self.f.get("attention", {})
        gen = "span_mass_from_answer" in self.f.get("metrics", {})
        spec = SUMMARY + (SUMMARY_NORMS if norms else []) + (SUMMARY_GEN if gen else [])
        g = self.group("summary", spec)
        if g is None or not hasattr(self, "done"):
            return
        saved = dict(self.dims)
        if "prompt" in g:
            self.dims["prompt"] = len(g["prompt"])
        if "group" in g:
            self.dims["group"] = len(g["group"])
        if "group_count" in g:
            self.dims["member"] = int(g["group_count"][()].astype(np.int64).sum())
        for dim in ("by", "label", "span_name", "keyword", "contrast"):
            if dim in g:
                self.dims[dim] = len(g[dim])
        for a, kind in SUMMARY_ATTRS.items():
            v = g.attrs.get(a)
            self.ok(v is not None and np.asarray(v).shape == () and np.asarray(v).dtype.kind == kind,
                    f"/summary attribute {a}: {v!r}; expected a scalar of kind {kind}")
        d = {n: self.dataset("summary", n, t, dims) for n, t, dims in spec}
        self.sample_dims(g, "summary")
        self.dims = saved
        if any(v is None for v in d.values()):
            return
        n = len(d["prompt"])
        pi = d["prompt_index"][()].astype(np.int64)
        self.ok(np.all(np.diff(pi) > 0) and np.all((pi >= 0) & (pi < self.N)),
                "/summary/prompt_index not increasing rows of /sweep")
        if not np.all((pi >= 0) & (pi < self.N)):
            return
        self.ok(strs(d["prompt"]) == [self.ids[i] for i in pi], "/summary/prompt != /sweep/prompt[prompt_index]")
        self.ok(np.all(self.done[pi]), "/summary includes prompts that are not done")
        if hasattr(self, "input"):
            want = np.nonzero(self.done & (self.input >= 0))[0]
            self.ok(set(want.tolist()) <= set(pi.tolist()),
                    f"/summary misses done prompts: {[self.ids[i] for i in sorted(set(want.tolist()) - set(pi.tolist()))][:5]}")
        for sc, ref in (("layer", "/metrics/layer"), ("head", "/metrics/head")):
            if ref in self.f:
                self.ok(np.array_equal(d[sc][()], self.f[ref][()]), f"/summary/{sc} != {ref}")
        self.ok(d["top"][()].tolist() == list(range(TOP_K)), "/summary/top != 0..4")
        self.ok(np.array_equal(d["member"][()], np.arange(n)), "/summary/member != 0..n-1")
        gn = strs(d["group"])
        self.ok(len(set(gn)) == len(gn), f"/summary/group names repeated: {gn}")
        gc = d["group_count"][()].astype(np.int64)
        self.ok(int(gc.sum()) == n, f"sum of /summary/group_count {int(gc.sum())} != {n} summarized prompts")
        mpi = d["member_prompt_index"][()].astype(np.int64)
        self.ok(sorted(mpi.tolist()) == sorted(pi.tolist()), "/summary/member_prompt_index is not a permutation of prompt_index")
        sw_group = strs(self.f["sweep/group"])
        sw_var = strs(self.f["sweep/variant"])
        gs = d["group_start"][()]
        mv = strs(d["member_variant"])
        hx = d["has_examples"][()]
        self.ok(np.isin(hx, [0, 1]).all(), "/summary/has_examples not 0/1")
        em = d["example_mass"][()]
        for k, name in enumerate(gn):
            rows = range(int(gs[k]), int(gs[k] + gc[k])) if k < len(gs) else []
            for r in rows:
                if r >= len(mpi) or not 0 <= mpi[r] < self.N:
                    continue
                p = int(mpi[r])
                self.ok((sw_group[p] or self.ids[p]) == name,
                        f"/summary member {r} ({self.ids[p]!r}) is not in group {name!r}")
                # a prompt without a sweep variant (extract) is its own group: its id may stand in
                self.ok(mv[r] == sw_var[p] or (sw_var[p] == "" and mv[r] == self.ids[p]),
                        f"/summary/member_variant[{r}] {mv[r]!r} != /sweep/variant {sw_var[p]!r}")
                if hx[k] == 0:
                    self.ok(np.all(np.isnan(em[r])), f"/summary/example_mass of {self.ids[p]!r} not NaN "
                            f"although group {name!r} has no examples")
        # the top-5 tables are /metrics/head_entropy sorted (pandas nsmallest / nlargest)
        LH = self.L * self.H
        kk = min(TOP_K, LH)
        for key, sign in (("most_focused", 1), ("most_distributed", -1)):
            lay, hd = d[key + "_layer"][()], d[key + "_head"][()]
            ent, tok = d[key + "_entropy"][()], strs(d[key + "_token"])
            self.ok(np.all(lay[:, kk:] == -1) and np.all(hd[:, kk:] == -1) and np.all(np.isnan(ent[:, kk:])),
                    f"/summary/{key}: padding (fewer than 5 heads) is not -1 / NaN")
            if not (np.all((lay[:, :kk] >= 0) & (lay[:, :kk] < self.L)) and
                    np.all((hd[:, :kk] >= 0) & (hd[:, :kk] < self.H))):
                self.ok(False, f"/summary/{key}_layer/head outside [0, L) x [0, H)")
                continue
            if not hasattr(self, "he"):
                continue
            bad = []
            for r, p in enumerate(pi):
                want = self.he[p][lay[r, :kk], hd[r, :kk]]
                order = np.argsort(sign * self.he[p].ravel(), kind="stable")[:kk]
                if not (np.array_equal(ent[r, :kk], want)
                        and np.array_equal(order, lay[r, :kk] * self.H + hd[r, :kk])):
                    bad.append(self.ids[p])
                elif self.token_str is not None:
                    s = self.tok_start[p]
                    want_tok = [self.token_str[s + self.hf[p][lay[r, c], hd[r, c]]] for c in range(kk)]
                    if tok[r * TOP_K:r * TOP_K + kk] != want_tok:
                        bad.append(self.ids[p] + " (tokens)")
            self.ok(not bad, f"/summary/{key} disagrees with /metrics/head_entropy, head_focus, "
                    f"/tokens/token_str: {bad[:5]}")

    # ------------------------------------------------------------ xarray
    def xarray(self):
        try:
            import xarray as xr
            import h5netcdf  # noqa: F401 (the engine xarray needs)
        except ImportError as e:
            self.ok(False, f"xarray + h5netcdf are required (python3-xarray python3-h5netcdf): {e}")
            return
        groups = [("sweep", SWEEP), ("tokens", TOKENS)]
        for name, spec in (("metrics", METRICS), ("behaviour", BEHAVIOUR + BEHAVIOUR_ANSWER + BEHAVIOUR_FORCED
                                                  + BEHAVIOUR_LOGITS), ("summary", SUMMARY)):
            if name in self.f:
                groups.append((name, spec))
        if self.store == "last_row":
            groups.append(("attention", ATT_COMMON + ATT_LAST_ROW))
        groups.append(("", None))
        for gname, spec in groups:
            try:
                ds = xr.open_dataset(self.path, group=gname or None, engine="h5netcdf")
            except Exception as e:  # noqa: BLE001
                self.ok(False, f"xarray cannot open group {gname or '/'!r} without phony_dims: "
                        f"{type(e).__name__}: {e}")
                continue
            with ds:
                if spec is None:
                    self.ok(ds.attrs.get("format") == "attnsweep", "xarray: root attributes")
                    if "config" in self.f:
                        self.ok("config" in ds and isinstance(ds["config"].values[()], str),
                                "xarray: /config is not decoded to str")
                    continue
                for n, typ, dims in spec:
                    if n not in ds.variables:
                        if n in self.f[gname]:
                            self.ok(False, f"xarray: {gname}/{n} missing")
                        continue
                    v = ds.variables[n]
                    self.ok(v.dims == tuple(dims.split(",")), f"xarray: {gname}/{n} dims {v.dims}, expected ({dims})")
                    if typ == "str" and v.size:
                        first = v.values.ravel()[0]
                        self.ok(isinstance(first, str), f"xarray: {gname}/{n} decodes to {type(first).__name__}, not str")
                if gname == "sweep" and "prompt" in ds.coords:
                    self.ok(list(ds["prompt"].values) == self.ids, "xarray: /sweep prompt coordinate")
        print(f"   xarray {xr.__version__} / h5netcdf: {', '.join(g or '/' for g, _ in groups)} open with named dims")


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    for path in sys.argv[1:]:
        try:
            fl = File(path)
        except OSError as e:
            check(False, f"{path}: cannot open: {e}")
            continue
        with fl.f:
            try:
                fl.run()
            except Exception as e:  # noqa: BLE001 - a malformed file must fail, not crash
                import traceback
                traceback.print_exc()
                check(False, f"{path}: checker crashed on this file: {type(e).__name__}: {e}")
    print(f"check_h5out: {len(sys.argv) - 1} file(s), {len(FAILS)} failure(s)")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
