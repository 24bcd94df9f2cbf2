#!/usr/bin/python3
"""check_report.py OUT.h5 DIR [--fewshot | --no-fewshot] [--expect NAME ...] [--note TEXT ...]

Checks what analysis/report.py wrote into DIR for OUT.h5:
- every PNG that report.md embeds exists and is a real picture: PNG signature, more than 5 kB,
  readable by matplotlib, pixel variance > 0;
- the expected figures are there (--expect PREFIX: some embedded file name starts with it);
- every number in every report.md table equals the value in the HDF5 file (format 2), read
  here with plain h5py (independently of load.py): /summary for the statistics (a group's rows
  through group_start / group_count), /metrics for the layer entropy (rows given by
  /summary/prompt_index) and the keyword table (ragged keyword_occ_* columns), /sweep for the
  prompt table. A table cell must be exactly format(value, ".4g") ("NaN" for NaN); layers and
  heads must be the model indices;
- --fewshot: the few-shot figure and tables exist; --no-fewshot: the report says the sweep has
  no few-shot group;
- --note TEXT: report.md contains TEXT (e.g. the note for a skipped figure).
Exit 0 when all checks pass, 1 otherwise (each failure is printed).
"""
import argparse
import math
import os
import re
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402

FAIL = []


def fail(msg):
    FAIL.append(msg)
    print("FAIL:", msg)


def s(x):
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def strs(ds):
    return [s(x) for x in ds.asstr()[()]]


def num(v):
    v = float(v)
    return "NaN" if math.isnan(v) else format(v, ".4g")


def pct(v):
    """report_text.fmt_pct: a fraction as a percentage, 3 significant digits."""
    v = float(v)
    return "NaN" if math.isnan(v) else format(100 * v, ".3g") + "%"


def unescape_code(cell):
    """Inverse of report.py's md_code/md_tok: `'text'` -> text."""
    c = cell.strip()
    if c.startswith("`` ") and c.endswith(" ``"):
        c = c[3:-3]
    elif c.startswith("`") and c.endswith("`"):
        c = c[1:-1]
    else:
        raise ValueError(f"not a code span: {cell!r}")
    c = c.replace("\\|", "|")
    out, i = [], 0
    while i < len(c):
        ch = c[i]
        if ch == "\\" and i + 1 < len(c):
            n = c[i + 1]
            if n == "n":
                out.append("\n")
            elif n == "r":
                out.append("\r")
            elif n == "t":
                out.append("\t")
            elif n == "\\":
                out.append("\\")
            elif n == "x":
                out.append(chr(int(c[i + 2:i + 4], 16)))
                i += 2
            else:
                out.append("\\" + n)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def untok(cell):
    t = unescape_code(cell)
    if not (t.startswith("'") and t.endswith("'")):
        raise ValueError(f"token cell not quoted: {cell!r}")
    return t[1:-1]


def split_row(line):
    """Cells of a Markdown table row, honouring \\| escapes."""
    body = line.strip()
    assert body.startswith("|") and body.endswith("|"), line
    body = body[1:-1]
    cells, cur, i = [], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur.append("\\|")
            i += 2
            continue
        if body[i] == "|":
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(body[i])
        i += 1
    cells.append("".join(cur).strip())
    return cells


def parse_tables(md):
    """{name: (header, rows)} from the <!-- table: NAME --> markers."""
    lines = md.splitlines()
    tables = {}
    for i, ln in enumerate(lines):
        m = re.match(r"<!-- table: (.*) -->$", ln)
        if not m:
            continue
        name = m.group(1)
        header = split_row(lines[i + 1])
        if not re.match(r"^\|(---\|)+$", lines[i + 2]):
            fail(f"table {name}: no separator row")
        rows = []
        j = i + 3
        while j < len(lines) and lines[j].startswith("|"):
            rows.append(split_row(lines[j]))
            j += 1
        if name in tables:
            fail(f"table {name} appears twice")
        tables[name] = (header, rows)
    return tables


def md_unescape(cell):
    return re.sub(r"\\(.)", r"\1", cell)


def check_png(path):
    with open(path, "rb") as f:
        head = f.read(8)
    if head != b"\x89PNG\r\n\x1a\n":
        return fail(f"{path}: not a PNG (signature {head!r})")
    size = os.path.getsize(path)
    if size <= 5000:
        return fail(f"{path}: only {size} bytes")
    img = mpimg.imread(path)
    if img.ndim != 3 or img.shape[0] < 100 or img.shape[1] < 100:
        return fail(f"{path}: odd image shape {img.shape}")
    var = float(np.var(img[..., :3]))
    if not var > 0:
        return fail(f"{path}: blank image (pixel variance {var})")
    print(f"ok   {os.path.basename(path)}: {img.shape[1]}x{img.shape[0]} px, {size} bytes, "
          f"variance {var:.4f}")


class Checker:
    """Reads format 2 with plain h5py (docs/FORMAT.md), independently of load.py."""

    def __init__(self, h5, tables):
        self.f = h5
        self.t = tables
        self.sw = h5["sweep"]
        self.ids = strs(self.sw["prompt"])
        self.row = {p: i for i, p in enumerate(self.ids)}
        self.S = h5["summary"] if "summary" in h5 else None
        self.M = h5["metrics"] if "metrics" in h5 else None
        self.srow = {p: i for i, p in enumerate(strs(self.S["prompt"]))} if self.S else {}
        self.gidx = {g: i for i, g in enumerate(strs(self.S["group"]))} if self.S else {}
        if self.S is not None:
            # /summary/prompt_index is the /sweep row of each summarized prompt
            pidx = self.S["prompt_index"][()]
            for p, r in self.srow.items():
                if int(pidx[r]) != self.row[p]:
                    fail(f"/summary/prompt_index[{r}] = {pidx[r]}, but {p} is /sweep row "
                         f"{self.row[p]}")
        self.checked = set()

    def axis(self, name, n):
        for g in ("attention", "metrics", "summary"):
            if f"{g}/{name}" in self.f:
                v = self.f[f"{g}/{name}"][()]
                return [int(x) for x in v] if len(v) == n else list(range(n))
        return list(range(n))

    def lays(self, pid, n):
        return self.axis("layer", n)

    def heads(self, pid, n):
        return self.axis("head", n)

    def group(self, g):
        """The /summary rows of group g: [group, ...] columns at its row, [member, ...]
        columns sliced by group_start / group_count (member_* without the prefix)."""
        S = self.S
        gi = self.gidx[g]
        a, n = int(S["group_start"][gi]), int(S["group_count"][gi])
        d = {}
        for k in ("n_shared_tokens", "layer_entropy_std", "js_divergence", "js_pairs",
                  "sensitivity_rank_js", "sensitivity_rank_entropy_std", "has_examples"):
            if k in S:
                d[k] = S[k][gi]
        for k in ("member_prompt_index", "prefix_mass", "question_mass", "example_mass",
                  "example_top_layer", "example_top_head", "example_top_mass"):
            if k in S:
                d[k.replace("member_", "")] = S[k][a:a + n]
        d["variant"] = [s(x) for x in S["member_variant"].asstr()[a:a + n]]
        return d

    def group_ids(self, g):
        return [self.ids[int(i)] for i in self.group(g)["prompt_index"]]

    def tokens(self, pid):
        i = self.row[pid]
        a, n = int(self.sw["token_start"][i]), int(self.sw["n_tokens"][i])
        return [s(x) for x in self.f["tokens/token_str"].asstr()[a:a + n]]

    def eq(self, name, got, want, what):
        if got != want:
            fail(f"table {name}: {what}: report has {got!r}, the file has {want!r}")
            return False
        return True

    # -- one checker per table kind -------------------------------------------------------
    def prompts(self, name, hdr, rows):
        n_tok = self.sw["n_tokens"][()]
        stat = self.sw["status"][()]
        rank = self.sw["rank"][()]
        names = {0: "pending", 1: "done", 2: "failed"}
        store, dtype = s(self.f.attrs["store"]), s(self.f.attrs["dtype"])
        for i, r in enumerate(rows):
            pid = unescape_code(r[0])
            self.eq(name, pid, self.ids[i], f"row {i} id")
            self.eq(name, r[1], str(n_tok[i]), f"{pid} tokens")
            self.eq(name, (r[2], r[3]), (store, dtype), f"{pid} store, dtype")
            self.eq(name, r[4], names[int(stat[i])], f"{pid} status")
            self.eq(name, r[5], str(rank[i]), f"{pid} rank")

    def layer_entropy(self, name, hdr, rows, g):
        ids = self.group_ids(g)
        le = self.M["layer_entropy"][()]     # [prompt, layer], rows of /sweep
        variants = [md_unescape(h) for h in hdr[1:]]
        for c, v in enumerate(variants):
            pid = f"{g}/{v}" if f"{g}/{v}" in self.srow else v
            if pid not in ids:
                fail(f"table {name}: column {v!r} is not a prompt of group {g}")
                continue
            L = le.shape[1]
            lays = self.lays(pid, L)
            self.eq(name, len(rows), L, "number of layers")
            for li, r in enumerate(rows):
                self.eq(name, r[0], str(lays[li]), f"layer of row {li}")
                self.eq(name, r[1 + c], num(le[self.row[pid], li]), f"{pid} layer {li}")
            if pid not in self.srow:
                fail(f"table {name}: {pid} is not in /summary/prompt")

    def sensitivity(self, name, hdr, rows, g):
        G = self.group(g)
        js, sd = G["js_divergence"], G["layer_entropy_std"]
        lays = self.lays(self.group_ids(g)[0], len(js))
        self.eq(name, len(rows), len(js), "rows")
        for li, r in enumerate(rows):
            self.eq(name, r[0], str(lays[li]), f"layer of row {li}")
            self.eq(name, r[1], num(js[li]), f"js_divergence[{li}]")
            self.eq(name, r[2], num(sd[li]), f"layer_entropy_std[{li}]")

    def sensitivity_rank(self, name, hdr, rows, g):
        G = self.group(g)
        rj, rs = G["sensitivity_rank_js"], G["sensitivity_rank_entropy_std"]
        lays = self.lays(self.group_ids(g)[0], len(rj))
        self.eq(name, len(rows), len(rj), "rows")
        for k, r in enumerate(rows):
            self.eq(name, r[0], str(k + 1), "rank")
            self.eq(name, r[1], str(lays[rj[k]]), f"sensitivity_rank_js[{k}]")
            self.eq(name, r[2], str(lays[rs[k]]), f"sensitivity_rank_entropy_std[{k}]")

    def span_mass(self, name, hdr, rows, g):
        G = self.group(g)
        pm, qm = G["prefix_mass"], G["question_mass"]
        variants = G["variant"]
        lays = self.lays(self.group_ids(g)[0], pm.shape[1])
        cols = hdr[1:]
        nv = len(cols) // 2
        self.eq(name, len(rows), pm.shape[1], "rows")
        for c, h in enumerate(cols):
            kind, v = h.split(": ", 1)
            v = md_unescape(v)
            vi = variants.index(v)
            self.eq(name, md_unescape(cols[c % nv].split(": ", 1)[1]),
                    md_unescape(cols[nv + c % nv].split(": ", 1)[1]), f"column {h} pairs")
            self.eq(name, kind, "prefix" if c < nv else "question", f"column {h} kind")
            arr = pm if kind == "prefix" else qm
            for li, r in enumerate(rows):
                self.eq(name, r[0], str(lays[li]), f"layer of row {li}")
                self.eq(name, r[1 + c], num(arr[vi, li]), f"{kind}_mass[{v}, {li}]")

    def example_mass(self, name, hdr, rows, g):
        G = self.group(g)
        if not G["has_examples"]:
            fail(f"table {name}: group {g} has has_examples = 0")
        em = G["example_mass"]
        variants = G["variant"]
        hm = em.mean(axis=2)   # the report's documented head mean of /summary example_mass
        lays = self.lays(self.group_ids(g)[0], em.shape[1])
        cols = [md_unescape(h) for h in hdr[1:]]
        for v in cols:
            if v not in variants:
                fail(f"table {name}: column {v!r} is not a variant of group {g}")
                return
        for li, r in enumerate(rows):
            self.eq(name, r[0], str(lays[li]), f"layer of row {li}")
            for c, v in enumerate(cols):
                vi = variants.index(v)
                self.eq(name, r[1 + c], num(hm[vi, li]), f"mean_h example_mass[{v}, {li}]")

    def example_top(self, name, hdr, rows, g):
        G = self.group(g)
        tl, th, tm = G["example_top_layer"], G["example_top_head"], G["example_top_mass"]
        variants = G["variant"]
        pid = self.group_ids(g)[0]
        lays, heads = self.lays(pid, G["example_mass"].shape[1]), \
            self.heads(pid, G["example_mass"].shape[2])
        want = []
        for vi, v in enumerate(variants):
            for k in range(tl.shape[1]):
                if tl[vi, k] >= 0 and tm[vi, k] != 0:
                    want.append([v, str(k + 1), str(lays[tl[vi, k]]), str(heads[th[vi, k]]),
                                 num(tm[vi, k])])
        got = [[md_unescape(r[0])] + r[1:] for r in rows]
        shown = set(g[0] for g in got)
        self.eq(name, got, [w for w in want if w[0] in shown], "rows")

    def top(self, name, hdr, rows, kind, pid):
        S = self.S
        if pid == "overall":
            pre = f"overall_most_{kind}_"
            lay, hed, ent, tok = (S[pre + "layer"][()], S[pre + "head"][()],
                                  S[pre + "entropy"][()], strs(S[pre + "token"]))
            L, H = S["head_entropy_mean"].shape
            ref = next(iter(self.srow))
        else:
            pre, r0 = f"most_{kind}_", self.srow[pid]
            lay, hed, ent = (S[pre + "layer"][r0], S[pre + "head"][r0], S[pre + "entropy"][r0])
            tok = [s(x) for x in S[pre + "token"].asstr()[r0]]
            L, H = S["head_entropy_mean"].shape
            ref = pid
        lays, heads = self.lays(ref, L), self.heads(ref, H)
        want = [[str(k + 1), str(lays[lay[k]]), str(heads[hed[k]]), num(ent[k]), tok[k]]
                for k in range(len(lay)) if lay[k] >= 0]
        got = [r[:4] + [untok(r[4])] for r in rows]
        self.eq(name, got, want, "rows")

    def keywords(self, name, hdr, rows, pid):
        m = self.M
        i = self.row[pid]
        if m["keyword_occ_count"].attrs.get("sample_dimension") not in ("occ", b"occ"):
            fail("/metrics/keyword_occ_count has no sample_dimension = occ")
        a, n = int(m["keyword_occ_start"][i]), int(m["keyword_occ_count"][i])
        kws = strs(m["keyword"])
        k = m["keyword_occ_keyword"][a:a + n]
        by, tk, ms = (m["keyword_occ_bytes"][a:a + n], m["keyword_occ_tokens"][a:a + n],
                      m["keyword_occ_mass"][a:a + n])
        toks = self.tokens(pid)
        want = []
        for i in range(len(k)):
            ts = "".join(toks[tk[i, 0]:tk[i, 1]]) if tk[i, 0] >= 0 else ""
            want.append([kws[k[i]], f"{by[i, 0]}:{by[i, 1]}",
                         f"{tk[i, 0]}:{tk[i, 1]}" if tk[i, 0] >= 0 else "none", ts, num(ms[i])])
        got = [[md_unescape(r[0]), r[1], r[2], untok(r[3]), r[4]] for r in rows]
        self.eq(name, got, want, "rows")

    def key_findings(self, name, hdr, rows):
        S = self.S
        for r in rows:
            what, grp, var, layer, head, val = r
            grp = unescape_code(grp) if grp else ""
            var = md_unescape(var)
            if what == "last-layer entropy":
                pid = f"{grp}/{var}" if f"{grp}/{var}" in self.srow else var
                if pid not in self.srow:
                    fail(f"table {name}: {pid} is not in /summary/prompt")
                    continue
                e = self.M["layer_entropy"][self.row[pid]]
                self.eq(name, (layer, val), (str(self.lays(pid, len(e))[-1]), num(e[-1])), what)
            elif what.startswith("most prompt-sensitive layer"):
                G = self.group(grp)
                key, rk = (("js_divergence", "sensitivity_rank_js") if "(JS)" in what else
                           ("layer_entropy_std", "sensitivity_rank_entropy_std"))
                li = int(G[rk][0])
                lays = self.lays(self.group_ids(grp)[0], len(G[key]))
                self.eq(name, (layer, val), (str(lays[li]), num(G[key][li])), f"{what} {grp}")
            elif what == "top head on the example answers":
                G = self.group(grp)
                vi = G["variant"].index(var)
                pid = self.group_ids(grp)[0]
                L, H = G["example_mass"].shape[1:]
                self.eq(name, (layer, head, val),
                        (str(self.lays(pid, L)[G["example_top_layer"][vi, 0]]),
                         str(self.heads(pid, H)[G["example_top_head"][vi, 0]]),
                         num(G["example_top_mass"][vi, 0])), f"{what} {var}")
            elif what.startswith("most focused head") or what.startswith("most distributed"):
                kind = "focused" if "focused" in what else "distributed"
                pre = f"overall_most_{kind}_"
                L, H = S["head_entropy_mean"].shape
                self.eq(name, (layer, head, val),
                        (str(self.lays(None, L)[S[pre + "layer"][0]]),
                         str(self.heads(None, H)[S[pre + "head"][0]]),
                         num(S[pre + "entropy"][0])), what)
            else:
                fail(f"table {name}: unknown finding {what!r}")

    # -- the issue-12 statistics (docs/FORMAT.md "Statistics by label and contrast") -------
    def label_pos(self):
        S = self.S
        cols, vals = strs(S["label_column"]), strs(S["label_value"])
        return {(c, v): i for i, (c, v) in enumerate(zip(cols, vals))}

    def layer_ids(self):
        return self.axis("layer", self.f.attrs["n_layers"])

    def cell_ci(self, cell):
        m = re.match(r"^(\S+) \[(\S+), (\S+)\]$", cell)
        if not m:
            fail(f"not a 'm [lo, hi]' cell: {cell!r}")
            return None
        return m.groups()

    def by_label(self, name, hdr, rows, kind, arg):
        """by_<q>:<column>[:<span or keyword>]: rows = layers, columns = labels of the column
        as 'value (n=N)', cells 'mean [lo, hi]'."""
        S = self.S
        q = kind[3:]
        col, _, tok = arg.partition(":")
        lp = self.label_pos()
        j = None
        if q == "span_mass":
            j = strs(S["span_name"]).index(tok)
            cnt = S["by_span_count"][()][:, j]
        elif q == "keyword_mass":
            j = strs(S["keyword"]).index(tok)
            cnt = S["by_keyword_count"][()][:, j]
        else:
            cnt = S["label_count"][()]
        mean, lo, hi = (S[f"by_{q}_{x}"][()] for x in ("mean", "lo", "hi"))
        lays = self.layer_ids()
        self.eq(name, len(rows), len(lays), "rows")
        for c, h in enumerate(hdr[1:]):
            m = re.match(r"^(.*) \(n=(\d+)\)$", h)
            if not m:
                fail(f"table {name}: header {h!r}")
                continue
            v = md_unescape(m.group(1))
            if (col, v) not in lp:
                fail(f"table {name}: no label {col}={v} in /summary")
                continue
            i = lp[(col, v)]
            self.eq(name, m.group(2), str(int(cnt[i])), f"count of {col}={v}")
            for li, r in enumerate(rows):
                self.eq(name, r[0], str(lays[li]), f"layer of row {li}")
                ix = (i, li) if j is None else (i, j, li)
                got = self.cell_ci(r[1 + c])
                self.eq(name, got, (num(mean[ix]), num(lo[ix]), num(hi[ix])),
                        f"by_{q}[{col}={v}, {tok or ''} layer {li}]")

    def contrast(self, name, hdr, rows, cname):
        S = self.S
        ci = strs(S["contrast_name"]).index(cname)
        spans, kws = strs(S["span_name"]), strs(S["keyword"])
        lays = self.layer_ids()
        seen = 0
        for r in rows:
            q, tok, layer, m, iv, same = r
            tok = md_unescape(tok)
            li = lays.index(int(layer))
            if q == "span_mass":
                ix = (ci, spans.index(tok), li)
            elif q == "keyword_mass":
                ix = (ci, kws.index(tok), li)
            else:
                ix = (ci, li)
            d = {x: S[f"contrast_{q}_{x}"][ix] for x in ("mean", "lo", "hi")}
            self.eq(name, (m, iv), (num(d["mean"]), f"[{num(d['lo'])}, {num(d['hi'])}]"),
                    f"contrast_{q}{list(ix)}")
            if f"contrast_{q}_same_sign" in S:
                self.eq(name, same, pct(S[f"contrast_{q}_same_sign"][ix]), f"same sign {ix}")
            seen += 1
        if not seen:
            fail(f"table {name}: no rows")

    def sensitivity_ratio(self, name, hdr, rows, col):
        S = self.S
        bi = strs(S["by"]).index(col)
        ratio, lo, hi = (S[k][bi] for k in ("sensitivity_ratio", "sensitivity_lo",
                                             "sensitivity_hi"))
        rank = S["sensitivity_rank"][bi]
        lays = self.layer_ids()
        self.eq(name, len(rows), len(lays), "rows")
        for li, r in enumerate(rows):
            self.eq(name, r[0], str(lays[li]), f"layer of row {li}")
            self.eq(name, (r[1], r[2]), (num(ratio[li]), f"[{num(lo[li])}, {num(hi[li])}]"),
                    f"sensitivity[{col}, {li}]")
            # sensitivity_rank gives each layer its rank (0 = the most sensitive)
            self.eq(name, r[3], str(int(rank[li]) + 1), f"rank of layer {li}")

    def js(self, name, hdr, rows, g):
        S = self.S
        gi = self.gidx[g]
        d = S["js_divergence"][gi]
        std = S["layer_entropy_std"][gi] if "layer_entropy_std" in S else None
        lays = self.layer_ids()
        self.eq(name, len(rows), len(lays), "rows")
        for li, r in enumerate(rows):
            self.eq(name, r[0], str(lays[li]), f"layer of row {li}")
            self.eq(name, r[1], num(d[li]), f"js_divergence[{g}, {li}]")
            if std is not None:
                self.eq(name, r[2], num(std[li]), f"layer_entropy_std[{g}, {li}]")
        if "js_pairs" in S and int(S["js_pairs"][gi]) == 0:
            fail(f"table {name}: group {g} has js_pairs = 0 but its JS is quoted")
        if "js_pairs" not in S and "n_shared_tokens" in S:
            mins = int(S.attrs.get("js_min_shared", 4))
            if int(S["n_shared_tokens"][gi]) < mins:
                fail(f"table {name}: group {g} shares {S['n_shared_tokens'][gi]} tokens "
                     f"(< {mins}) but its JS is quoted")

    def answer(self, name, hdr, rows):
        """Each row's `source` cell names the dataset and positions; every cell must equal
        the file there, the names must match the positions, and the rows must be the ones
        the answer claims (the top layers)."""
        S = self.S
        lays = self.layer_ids()
        groups = {}
        self.answer_numbers = getattr(self, "answer_numbers", {})
        nums = self.answer_numbers.setdefault(name.partition(":")[2], set())
        for r in rows:
            what, who, tok, layer, val, iv, same, n, src = r
            m = re.match(r"^`([a-z_]+?)(_\*)?` \[([0-9, ]+)\]$", src)
            if not m:
                fail(f"table {name}: source {src!r}")
                continue
            stem, idx = m.group(1), tuple(int(x) for x in m.group(3).split(", "))
            tok = md_unescape(tok)
            self.eq(name, layer, str(lays[idx[-1]]), f"{src}: layer")
            if stem.startswith("contrast_"):
                q = stem[len("contrast_"):]
                want_who = S["contrast_name"].asstr()[idx[0]]
                if len(idx) == 3:
                    axis = "span_name" if q == "span_mass" else "keyword"
                    self.eq(name, tok, strs(S[axis])[idx[1]], f"{src}: tokens")
                self.eq(name, unescape_code(who), want_who, f"{src}: contrast")
                vals = {x: S[f"{stem}_{x}"][idx] for x in ("mean", "lo", "hi")}
                self.eq(name, same, pct(S[f"{stem}_same_sign"][idx]) if f"{stem}_same_sign"
                        in S else "", f"{src}: same sign")
                cnt = {"span_mass": "contrast_span_count",
                       "keyword_mass": "contrast_keyword_count"}.get(q)
                if cnt is not None and cnt in S and len(idx) == 3:
                    self.eq(name, n, str(int(S[cnt][idx[0], idx[1]])), f"{src}: pairs")
                else:
                    self.eq(name, n, str(int(S["contrast_n_pairs"][idx[0]])), f"{src}: pairs")
                groups.setdefault((stem, idx[:-1]), []).append((idx[-1], r))
            elif stem.startswith("by_"):
                q = stem[3:]
                lab = f"{strs(S['label_column'])[idx[0]]}={strs(S['label_value'])[idx[0]]}"
                self.eq(name, unescape_code(who), lab, f"{src}: label")
                if q in ("span_mass", "keyword_mass"):
                    axis = "span_name" if q == "span_mass" else "keyword"
                    self.eq(name, tok, strs(S[axis])[idx[1]], f"{src}: tokens")
                    cnt = S["by_span_count" if q == "span_mass" else "by_keyword_count"]
                    self.eq(name, n, str(int(cnt[idx[0], idx[1]])), f"{src}: n")
                vals = {x: S[f"{stem}_{x}"][idx] for x in ("mean", "lo", "hi")}
                if what == "mass on the example answers":
                    mm = S[f"{stem}_mean"][idx[:-1]]
                    self.eq(name, idx[-1], int(np.nanargmax(mm)), f"{src}: peak layer")
            elif stem == "sensitivity":
                bi, li = idx
                self.eq(name, unescape_code(who), strs(S["by"])[bi], f"{src}: by column")
                vals = {"mean": S["sensitivity_ratio"][idx], "lo": S["sensitivity_lo"][idx],
                        "hi": S["sensitivity_hi"][idx]}
                k = int(re.search(r"#(\d+)", md_unescape(what)).group(1))
                self.eq(name, int(S["sensitivity_rank"][bi][li]), k - 1, f"{src}: rank {k}")
            elif stem == "js_divergence":
                gi, li = idx
                self.eq(name, unescape_code(who), strs(S["group"])[gi], f"{src}: group")
                vals = {"mean": S["js_divergence"][idx]}
                self.eq(name, li, int(np.nanargmax(S["js_divergence"][gi])), f"{src}: top layer")
                self.eq(name, n, str(int(S["js_pairs"][gi])) if "js_pairs" in S else "",
                        f"{src}: pairs")
                if "js_pairs" in S and int(S["js_pairs"][gi]) == 0:
                    fail(f"table {name}: quotes the JS of group {gi}, which has no pair")
            else:
                fail(f"table {name}: unknown source {stem!r}")
                continue
            self.eq(name, val, num(vals["mean"]), f"{src}: value")
            want_iv = f"[{num(vals['lo'])}, {num(vals['hi'])}]" if "lo" in vals else ""
            self.eq(name, iv, want_iv, f"{src}: interval")
            nums.update([val] + re.findall(r"-?[0-9][0-9.e+-]*", iv) + ([same] if same else []))
        # contrast rows: the layers with the largest |a - b|, in that order
        for (stem, pre), got in groups.items():
            mean = np.abs(S[f"{stem}_mean"][pre])
            order = [int(i) for i in np.argsort(-np.where(np.isfinite(mean), mean, -1),
                                                kind="stable") if np.isfinite(mean[i])]
            self.eq(name, [li for li, _ in got], order[:len(got)], f"{stem}{list(pre)}: top layers")
            if len(got) < min(3, len(order)):
                fail(f"table {name}: {stem}{list(pre)} shows {len(got)} layers, expected "
                     f"{min(3, len(order))}")

    def group_span(self, name, hdr, rows, key):
        """/summary/<key> [group, span_name, layer] (answer_mass, span_mass_norm): one row per
        (group, span) with prompts: the count, the mean over layers, the last layer and the
        layer of the maximum."""
        S = self.S
        am, cnt = S[key][()], S[f"{key}_count"][()]
        lays = self.layer_ids()
        want = []
        for gi, g in enumerate(strs(S["group"])):
            for k, sp in enumerate(strs(S["span_name"])):
                v = am[gi, k].astype(float)
                if cnt[gi, k] == 0 or not np.isfinite(v).any():
                    continue
                want.append([g, sp, str(int(cnt[gi, k])), num(np.nanmean(v)), num(v[-1]),
                             str(lays[int(np.nanargmax(v))])])
        if not want:
            fail(f"table {name}: the file has no {key}, but the report shows a table")
        self.eq(name, [list(r) for r in rows], want, "rows")

    def run(self):
        for name, (hdr, rows) in self.t.items():
            kind, _, arg = name.partition(":")
            if kind in ("file", "model"):
                continue
            if kind == "prompts":
                self.prompts(name, hdr, rows)
            elif kind == "keywords":
                self.keywords(name, hdr, rows, arg)
            elif self.S is None:
                fail(f"table {name} in a report of a file without /summary")
                continue
            elif kind == "layer_entropy":
                self.layer_entropy(name, hdr, rows, arg)
            elif kind == "sensitivity":
                self.sensitivity(name, hdr, rows, arg)
            elif kind == "sensitivity_rank":
                self.sensitivity_rank(name, hdr, rows, arg)
            elif kind == "span_mass":
                self.span_mass(name, hdr, rows, arg)
            elif kind == "example_mass":
                self.example_mass(name, hdr, rows, arg)
            elif kind == "example_top":
                self.example_top(name, hdr, rows, arg)
            elif kind in ("focused", "distributed"):
                self.top(name, hdr, rows, kind, arg)
            elif kind == "key_findings":
                self.key_findings(name, hdr, rows)
            elif kind == "answer":
                self.answer(name, hdr, rows)
            elif kind in ("answer_mass", "span_mass_norm"):
                self.group_span(name, hdr, rows, kind)
            elif kind in ("by_layer_entropy", "by_span_mass", "by_keyword_mass"):
                self.by_label(name, hdr, rows, kind, arg)
            elif kind == "contrast":
                self.contrast(name, hdr, rows, arg)
            elif kind == "sensitivity_ratio":
                self.sensitivity_ratio(name, hdr, rows, arg)
            elif kind == "js":
                self.js(name, hdr, rows, arg)
            else:
                fail(f"unknown table {name!r}: add a check for it")
                continue
            self.checked.add(kind)
            print(f"ok   table {name}: {len(rows)} rows equal the file")


def check_answer_prose(md, numbers):
    """Every decimal number in the prose of an answer (## Answers, ### Qn) must be a value of
    that answer's table (so the verdict quotes /summary, not a recomputation)."""
    m = re.search(r"^## Answers$(.*?)^## ", md, flags=re.M | re.S)
    if not m:
        fail("report.md has no ## Answers section")
        return
    for part in re.split(r"^### ", m.group(1), flags=re.M)[1:]:
        q = "q" + part.split(".", 1)[0].strip().lstrip("Q")
        have = {x.rstrip("%") for x in numbers.get(q, set())}
        prose = [ln for ln in part.splitlines()[1:]
                 if not ln.startswith("|") and not ln.startswith("<!--")]
        for ln in prose:
            for x in re.findall(r"(?<![\w`.])-?[0-9]+\.[0-9]+(?:e[+-]?[0-9]+)?|"
                                r"(?<![\w`.])-?[0-9]+e[+-]?[0-9]+", ln):
                if x not in have:
                    fail(f"answer {q}: the number {x} in {ln[:80]!r}... is not in its table")
        print(f"ok   answer {q}: prose numbers are table values")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("h5")
    ap.add_argument("dir")
    ap.add_argument("--expect", action="append", default=[],
                    help="figure name prefix that must be embedded")
    ap.add_argument("--tables", action="append", default=[],
                    help="table kind that must be present and checked")
    ap.add_argument("--note", action="append", default=[], help="text report.md must contain")
    fs = ap.add_mutually_exclusive_group()
    fs.add_argument("--fewshot", action="store_true")
    fs.add_argument("--no-fewshot", action="store_true")
    a = ap.parse_args()

    md = open(os.path.join(a.dir, "report.md"), encoding="utf-8").read()
    imgs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    if not imgs and a.expect:
        fail("report.md embeds no figure")
    for img in imgs:
        p = os.path.join(a.dir, img)
        if not os.path.exists(p):
            fail(f"report.md embeds {img}, which does not exist")
        else:
            check_png(p)
    for pre in a.expect:
        if not any(os.path.basename(i).startswith(pre) for i in imgs):
            fail(f"no figure {pre}* in report.md (figures: {imgs})")
    pngs = sorted(x for x in os.listdir(a.dir) if x.endswith(".png"))
    if sorted(os.path.basename(i) for i in imgs) != pngs:
        fail(f"PNG files {pngs} differ from the embedded ones {imgs}")
    if a.fewshot:
        if not any(os.path.basename(i).startswith("fewshot_") for i in imgs):
            fail("no few-shot figure")
        a.tables += ["example_mass", "example_top"]
    if a.no_fewshot and "no few-shot group" not in md:
        fail("the report does not say that the sweep has no few-shot group")
    for n in a.note:
        if n not in md:
            fail(f"report.md does not contain {n!r}")

    f = h5py.File(a.h5, "r")
    c = Checker(f, parse_tables(md))
    c.run()
    check_answer_prose(md, getattr(c, "answer_numbers", {}))
    for k in a.tables:
        if k not in c.checked:
            fail(f"no {k} table in report.md")
    if FAIL:
        print(f"{len(FAIL)} check(s) failed")
        return 1
    print(f"all checks passed: {len(imgs)} figures, {len(c.t)} tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
