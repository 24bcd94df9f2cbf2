#!/usr/bin/python3
"""compare_h5.py A.h5 B.h5 [more.h5 ...] - require identical results across attnsweep files (format 2).

Compares B, C, ... with A, prompt by prompt (matched by id, so the files may hold different
prompt sets with --prompts): the text, token ids, token strings and byte offsets, the stored
attention (the prompt's slice of /attention/full or /attention/last_row), and every /metrics
column (the prompt's row, its token rows, or its occ / substr / span rows) and /behaviour row; then every /summary
dataset. Numbers must be bit-identical (NaN payloads and signed zeros included); strings are
compared as values (a fixed-length string column's width depends on the file's longest element).
Only prompts whose /sweep/status is done in A are compared (other prompts' data are undefined);
such a prompt that is not done in B is a difference. Used to check that results do not depend on
the number of ranks, that a killed-and-resumed run equals a clean run, that `reduce` reproduces
`run`, and that `extract` equals `run`.
  --prompts ID,ID   only these prompts (default: all of A's, and every file must list the same
                    prompts in the same order)
  --status          also require identical /sweep/status and /sweep/message for the compared prompts
  --tensors-only    compare text, tokens and attention only (no group/variant, /metrics, /summary:
                    extract files have none)
  --atol X          float datasets may differ by at most X (default 0: bit-identical); for
                    comparisons across batch packings (packed GEMMs round differently, ~1e-7)
Exit 0 when identical, 1 otherwise (every difference is printed)."""
import argparse
import sys

import h5py
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("files", nargs="+")
ap.add_argument("--prompts")
ap.add_argument("--status", action="store_true")
ap.add_argument("--atol", type=float, default=0.0)
ap.add_argument("--tensors-only", action="store_true",
                help="compare text, token data and attention only (extract files have no metrics or summary)")
a = ap.parse_args()
if len(a.files) < 2:
    ap.error("give at least two files")

fails = []


def fail(msg):
    fails.append(msg)


def strs(v):
    v = np.asarray(v)
    return [x.decode("utf-8", "surrogateescape") if isinstance(x, bytes) else str(x) for x in v.ravel()]


def same(x, y):
    """Bit-identical numbers (same dtype and shape), or equal strings."""
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape:
        return False
    if x.dtype.kind in "SOU" or y.dtype.kind in "SOU":
        return x.dtype.kind in "SOU" and y.dtype.kind in "SOU" and strs(x) == strs(y)
    if a.atol > 0 and x.dtype.kind == "f" and y.dtype.kind == "f":
        xd, yd = x.astype(np.float64), y.astype(np.float64)
        return bool(np.array_equal(np.isnan(xd), np.isnan(yd)) and
                    (np.nan_to_num(np.abs(xd - yd), nan=0.0) <= a.atol).all())
    return x.dtype == y.dtype and x.tobytes() == y.tobytes()


def describe(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape:
        return f"shapes {x.shape} vs {y.shape}"
    if x.dtype != y.dtype and x.dtype.kind not in "SOU":
        return f"dtypes {x.dtype} vs {y.dtype}"
    if x.dtype.kind == "f" and x.size:
        d = np.abs(x.astype(np.float64) - y.astype(np.float64))
        nan = np.isnan(x) != np.isnan(y)
        n = int(np.count_nonzero((x.view(np.uint8) != y.view(np.uint8)).reshape(x.size, -1).any(axis=1)))
        return (f"{n}/{x.size} elements differ, max |diff| {np.nanmax(d) if np.any(~np.isnan(d)) else 'nan'}"
                + (", NaN in one file only" if nan.any() else ""))
    if x.dtype.kind in "iub" and x.size:
        return f"{int(np.count_nonzero(x != y))}/{x.size} elements differ"
    return "values differ"


class Out:
    """One open format-2 file and the columns a comparison needs (read once)."""

    def __init__(self, path):
        self.path = path
        self.f = h5py.File(path, "r")
        at = {k: v.decode() if isinstance(v, bytes) else v for k, v in self.f.attrs.items()}
        if at.get("format") != "attnsweep" or at.get("format_version") != 2:
            raise SystemExit(f"compare_h5: {path}: not an attnsweep format-2 file "
                             f"(format {at.get('format')!r}, version {at.get('format_version')})")
        sw = self.f["sweep"]
        self.ids = strs(sw["prompt"][()])
        self.row = {pid: i for i, pid in enumerate(self.ids)}
        self.T = sw["n_tokens"][()].astype(np.int64)
        self.tok0 = sw["token_start"][()].astype(np.int64)
        self.status = sw["status"][()]
        self.store = at["store"]
        self.text = self.f["text/utf8"][()].tobytes()
        self.text0 = sw["text_start"][()].astype(np.int64)
        self.textn = sw["text_length"][()].astype(np.int64)
        tk = self.f["tokens"]
        self.tokcols = {n: tk[n][()] for n in ("token_id", "offsets", "token_str")}
        self.att0 = sw["attention_start"][()].astype(np.int64) if self.store == "full" else None
        self.L, self.H = int(at["n_layers"]), int(at["n_heads"])
        self.last_row = self.f["attention/last_row"][()] if self.store == "last_row" else None
        self._metrics = None

    def text_of(self, i):
        return self.text[self.text0[i]:self.text0[i] + self.textn[i]]

    def tok_rows(self, i):
        return slice(self.tok0[i], self.tok0[i] + self.T[i])

    def attention(self, i):
        if self.store == "full":
            t = int(self.T[i])
            n = self.L * self.H * t * t
            return self.f["attention/full"][self.att0[i]:self.att0[i] + n]
        if self.store == "last_row":
            return self.last_row[self.tok_rows(i)]
        return None

    def metrics(self):
        """{column: (first dimension, data)} of /metrics and the ragged starts, read once."""
        if self._metrics is None and "metrics" in self.f:
            g = self.f["metrics"]
            cols, ragged = {}, {}
            for n, d in g.items():
                if d.attrs.get("CLASS") in (b"DIMENSION_SCALE", "DIMENSION_SCALE"):
                    cols[n] = ("scale:" + n, d[()])
                    continue
                first = d.dims[0][0].name.rsplit("/", 1)[-1] if d.ndim and len(d.dims[0]) else None
                cols[n] = (first, d[()])
                sd = d.attrs.get("sample_dimension")
                if sd is not None:
                    sd = sd.decode() if isinstance(sd, bytes) else str(sd)
                    start = n[:-len("_count")] + "_start" if n.endswith("_count") else None
                    if start in g:
                        ragged[sd] = (d[()].astype(np.int64), g[start][()].astype(np.int64))
            self._metrics = (cols, ragged, dict(g.attrs))
        return self._metrics

    def metric_rows(self, first, i):
        """The rows of prompt i along the first dimension `first`, or None (whole column)."""
        if first == "prompt":
            return slice(i, i + 1)
        if first == "token":
            return self.tok_rows(i)
        _, ragged, _ = self.metrics()
        if first in ragged:
            c, s = ragged[first]
            return slice(s[i], s[i] + c[i])
        return None


def compare_group(x, y, where):
    """Every dataset below group x equals the one at the same path below y."""
    if x is None or y is None:
        if x is not None or y is not None:
            fail(f"{where}: present in only one file")
        return
    names, ynames = [], []
    x.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    y.visititems(lambda n, o: ynames.append(n) if isinstance(o, h5py.Dataset) else None)
    if sorted(names) != sorted(ynames):
        fail(f"{where}: different datasets: {sorted(set(names) ^ set(ynames))}")
    for n in names:
        if n in y:
            u, v = x[n][()], y[n][()]
            if not same(u, v):
                fail(f"{where}/{n} differs ({describe(u, v)})")
    ax, ay = dict(x.attrs), dict(y.attrs)
    for k in set(ax) | set(ay):
        if k not in ax or k not in ay or not same(ax[k], ay[k]):
            fail(f"{where}: attribute {k} differs ({ax.get(k)!r} vs {ay.get(k)!r})")


def main():
    outs = [Out(p) for p in a.files]
    ref = outs[0]
    ids = a.prompts.split(",") if a.prompts else list(ref.ids)
    if not ids:
        fail("no prompts to compare")
    compared = skipped = 0
    for o in outs[1:]:
        p = o.path
        if not a.prompts and o.ids != ref.ids:
            fail(f"{p}: /sweep/prompt differs from {ref.path} "
                 f"({len(o.ids)} vs {len(ref.ids)} prompts; first difference "
                 f"{next(((i, x, y) for i, (x, y) in enumerate(zip(o.ids, ref.ids)) if x != y), 'length')})")
        # attention layout, file level
        att_ok = True
        for k in ("store", "dtype", "n_layers", "n_heads"):
            if ref.f.attrs[k] != o.f.attrs[k]:
                fail(f"{p}: root attribute {k} = {o.f.attrs[k]!r}, {ref.path} has {ref.f.attrs[k]!r}")
                att_ok = False
        if att_ok and ref.store != "none":
            for k in ("layer", "head"):
                u, v = ref.f["attention/" + k][()], o.f["attention/" + k][()]
                if not same(u, v):
                    fail(f"{p}: /attention/{k} {v.tolist()} vs {u.tolist()}")
                    att_ok = False
        m0 = m1 = None
        if not a.tensors_only:
            m0, m1 = ref.metrics(), o.metrics()
            if (m0 is None) != (m1 is None):
                fail(f"{p}: /metrics present in only one file")
                m0 = m1 = None
            elif m0 is not None:
                c0, c1 = m0[0], m1[0]
                if set(c0) != set(c1):
                    fail(f"{p}: /metrics columns differ: {sorted(set(c0) ^ set(c1))}")
                for k in set(m0[2]) | set(m1[2]):
                    if not same(m0[2].get(k, ""), m1[2].get(k, "")):
                        fail(f"{p}: /metrics attribute {k} differs")
                for n, (first, u) in c0.items():
                    if n not in c1:
                        continue
                    if c1[n][0] != first:
                        fail(f"{p}: /metrics/{n}: first dimension {c1[n][0]} vs {first}")
                    # columns not split by prompt are compared whole (keywords, layer / head ids)
                    elif first is None or first in ("scale:layer", "scale:head", "scale:bound", "scale:keyword") or (
                            not first.startswith("scale:") and first not in ("prompt", "token")
                            and first not in m0[1]):
                        if not same(u, c1[n][1]):
                            fail(f"{p}: /metrics/{n} differs ({describe(u, c1[n][1])})")
        beh = {}
        if not a.tensors_only:
            b0, b1 = ref.f.get("behaviour"), o.f.get("behaviour")
            if (b0 is None) != (b1 is None):
                fail(f"{p}: /behaviour present in only one file")
            elif b0 is not None:
                if set(b0) != set(b1):
                    fail(f"{p}: /behaviour columns differ: {sorted(set(b0) ^ set(b1))}")
                for n in set(b0) & set(b1):
                    if n in ("topk", "vocab", "answer_token", "answer_ids"):  # not along prompt
                        if not same(b0[n][()], b1[n][()]):
                            fail(f"{p}: /behaviour/{n} differs")
                    elif n != "prompt":
                        beh[n] = (b0[n][()], b1[n][()])
        for pid in ids:
            i0, i1 = ref.row.get(pid), o.row.get(pid)
            if i0 is None:
                fail(f"{ref.path}: prompt {pid} missing")
                continue
            if i1 is None:
                fail(f"{p}: prompt {pid} missing")
                continue
            s0, s1 = int(ref.status[i0]), int(o.status[i1])
            if a.status:
                if s0 != s1:
                    fail(f"{p}: {pid}: /sweep/status {s1}, {ref.path} has {s0}")
                m_0 = ref.f["sweep/message"][i0]
                m_1 = o.f["sweep/message"][i1]
                if strs([m_0]) != strs([m_1]):
                    fail(f"{p}: {pid}: /sweep/message {strs([m_1])[0]!r} vs {strs([m_0])[0]!r}")
            if s0 != 1:
                skipped += 1
                continue
            if s1 != 1:
                fail(f"{p}: {pid} is done in {ref.path} but has status {s1} (its data are undefined)")
                continue
            compared += 1
            if ref.text_of(i0) != o.text_of(i1):
                fail(f"{p}: {pid}: text differs ({o.text_of(i1)!r} vs {ref.text_of(i0)!r})")
            r0, r1 = ref.tok_rows(i0), o.tok_rows(i1)
            for n in ("token_id", "offsets", "token_str"):
                u, v = ref.tokcols[n][r0], o.tokcols[n][r1]
                if not same(u, v):
                    fail(f"{p}: {pid}: /tokens/{n} differs ({describe(u, v)})")
            if att_ok and ref.store != "none":
                u, v = ref.attention(i0), o.attention(i1)
                if not same(u, v):
                    fail(f"{p}: {pid}: attention differs ({describe(u, v)})")
            if a.tensors_only:
                continue
            for n in ("group", "variant"):
                u, v = ref.f["sweep/" + n][i0], o.f["sweep/" + n][i1]
                if strs([u]) != strs([v]):
                    fail(f"{p}: {pid}: /sweep/{n} {strs([v])[0]!r} vs {strs([u])[0]!r}")
            for n in ("n_generated", "generated_start", "stop_reason"):  # generation only
                if ("sweep/" + n in ref.f) != ("sweep/" + n in o.f):
                    fail(f"{p}: {pid}: /sweep/{n} exists in one file only")
                elif "sweep/" + n in ref.f and ref.f["sweep/" + n][i0] != o.f["sweep/" + n][i1]:
                    fail(f"{p}: {pid}: /sweep/{n} {o.f['sweep/' + n][i1]} vs {ref.f['sweep/' + n][i0]}")
            for n, (u, v) in beh.items():  # /behaviour: one row per prompt
                if not same(u[i0], v[i1]):
                    fail(f"{p}: {pid}: /behaviour/{n} differs ({describe(u[i0], v[i1])})")
            if m0 is None:
                continue
            for n, (first, u) in m0[0].items():
                if n not in m1[0] or m1[0][n][0] != first:
                    continue
                q0, q1 = ref.metric_rows(first, i0), o.metric_rows(first, i1)
                if q0 is None or q1 is None:
                    continue
                x, y = u[q0], m1[0][n][1][q1]
                if not same(x, y):
                    fail(f"{p}: {pid}: /metrics/{n} differs ({describe(x, y)})")
        if not a.tensors_only:
            compare_group(ref.f.get("summary"), o.f.get("summary"), f"{p}: /summary")
    for m in fails:
        print("FAIL", m)
    print(f"compare_h5: {len(ids)} prompts x {len(outs) - 1} files: {compared} compared, "
          f"{skipped} not done in {ref.path} (skipped), {len(fails)} differences")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
