"""report_data.py - the per-label statistics the report's figures draw, from one of two sources.

- ``"summary"``: the file's /summary statistics by label (load.Stats: ``by_<q>_{mean,lo,hi}``,
  percentile bootstrap intervals computed by the reduce stage). The report's tables quote
  only these.
- ``"metrics"``: a file whose /summary predates them. The figures are then computed here from
  the /metrics columns, split by group: the mean and a normal-approximation interval of the
  mean (mean ± z·sd/√n). No table quotes them.

Both are vectorized over prompts (numpy on whole columns, one pass per quantity), so the cost
is linear in the number of prompts and no figure loops over prompts.
"""

from statistics import NormalDist

import numpy as np
import pandas as pd

#: quantity -> the /metrics column the fallback reads (head-level, [prompt, layer, head])
HEAD_SOURCES = {"head_entropy": "head_entropy", "sink": "sink_last", "prev_token": "prev_token",
                "induction": "induction"}


def z_of(conf):
    """Two-sided normal quantile for a confidence level (0.95 -> 1.959964)."""
    return NormalDist().inv_cdf(0.5 + conf / 2)


def grouped_stats(X, codes, G, conf=0.95):
    """Per-group mean, std (ddof 1), interval and count of X [n, ...] (NaN left out), with
    codes [n] in 0..G-1. Returns dict mean, std, lo, hi [G, ...] and count [G, ...]."""
    X = np.asarray(X, np.float64)
    shape = (G,) + X.shape[1:]
    ok = np.isfinite(X)
    Xz = np.where(ok, X, 0.0)
    n = np.zeros(shape)
    s = np.zeros(shape)
    np.add.at(n, codes, ok.astype(np.float64))
    np.add.at(s, codes, Xz)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        dev = np.where(ok, X - mean[codes], 0.0)
        ss = np.zeros(shape)
        np.add.at(ss, codes, dev * dev)
        std = np.sqrt(ss / (n - 1))
        half = z_of(conf) * std / np.sqrt(n)
    mean[n == 0] = np.nan
    std[n < 2] = np.nan
    half[n < 2] = np.nan
    return {"mean": mean, "std": std, "lo": mean - half, "hi": mean + half,
            "count": n.astype(np.int64)}


class LabelView:
    """Statistics by label for the figures. Attributes: source ("summary" | "metrics"),
    columns (the by columns), labels (DataFrame column, value, count), span_names, keywords,
    conf (the interval level)."""

    def __init__(self):
        self.source = None
        self.columns = []
        self.labels = None
        self.span_names = []
        self.keywords = []
        self.conf = 0.95
        self._by = {}
        self._count = {}

    # -- constructors -----------------------------------------------------------------------
    @classmethod
    def from_summary(cls, st):
        """From load.Stats, or None when the file has no label statistics."""
        if st is None or st.labels is None or st.by("layer_entropy") is None:
            return None
        v = cls()
        v.source = "summary"
        v.columns = list(st.by_columns)
        v.labels = st.labels
        v.span_names = list(st.span_names)
        v.keywords = list(st.keywords)
        v.conf = st.confidence
        for q in ("layer_entropy", "head_entropy", "sink", "prev_token", "induction",
                  "span_mass", "keyword_mass"):
            d = st.by(q)
            if d is not None:
                v._by[q] = d
                c = st.by_count(q)
                if c is not None:
                    v._count[q] = np.asarray(c, np.int64)
        return v

    @classmethod
    def from_metrics(cls, sw):
        """Split by group, computed from /metrics; None when no prompt has metrics."""
        rows = sw.done_rows()
        if not len(rows):
            return None
        groups = sw.prompts["group"].to_numpy()[rows].astype(str)
        values = sorted(set(groups), key=lambda s: s.encode("utf-8"))
        codes = pd.Categorical(groups, categories=values).codes.astype(np.int64)
        G = len(values)
        v = cls()
        v.source = "metrics"
        v.columns = ["group"]
        v.labels = pd.DataFrame({"column": ["group"] * G, "value": values,
                                 "count": np.bincount(codes, minlength=G).astype(np.int64)})

        def put(q, X):
            d = grouped_stats(X, codes, G, v.conf)
            v._count[q] = d.pop("count")
            v._by[q] = d

        if "metrics/layer_entropy" in sw.file:
            put("layer_entropy", sw.column("layer_entropy")[rows])
        for q, col in HEAD_SOURCES.items():
            if "metrics/" + col in sw.file:
                put(q, sw.column(col)[rows])
        names, m = sw.span_mass_layer()
        if names:
            v.span_names = names
            put("span_mass", m[rows])
            v._count["span_mass"] = v._count["span_mass"].max(axis=-1)   # [G, S]
        kws, m = sw.keyword_mass_layer()
        if kws:
            v.keywords = kws
            put("keyword_mass", m[rows])
            v._count["keyword_mass"] = v._count["keyword_mass"].max(axis=-1)
        if "layer_entropy" in v._count:
            v._count["layer_entropy"] = v._count["layer_entropy"].max(axis=-1)
        return v

    # -- access -----------------------------------------------------------------------------
    def by(self, q):
        """{"mean", "lo", "hi", ...} [label, ...] or None."""
        return self._by.get(q)

    def count(self, q):
        """Prompts behind each label's statistic: [label] for layer-level quantities,
        [label, span_name] / [label, keyword] for span_mass / keyword_mass."""
        if q in ("span_mass", "keyword_mass"):
            return self._count.get(q)
        return self.labels["count"].to_numpy()

    def positions(self, column):
        return np.flatnonzero((self.labels["column"] == column).to_numpy())

    def pick(self, column, limit, counts=None):
        """(shown, left out): label positions of a column with prompts, the largest first
        (ties in label order), at most limit shown."""
        pos = self.positions(column)
        c = self.labels["count"].to_numpy() if counts is None else np.asarray(counts)
        pos = [int(i) for i in pos if c[i] > 0]
        pos.sort(key=lambda i: -c[i])
        shown = sorted(pos[:limit])
        return shown, [i for i in pos[limit:]]

    def name(self, i):
        return str(self.labels["value"].iloc[i])
