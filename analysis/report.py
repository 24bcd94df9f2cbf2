#!/usr/bin/python3
"""report.py - figures and a Markdown report from one attnsweep output file, for any size.

    /usr/bin/python3 analysis/report.py results/exp8.h5 --out results/exp8-report
    /usr/bin/python3 analysis/report.py OUT.h5 --out DIR [--group G] [--max-tokens 20]
        [--max-variants 4] [--max-labels 8] [--max-groups 12] [--q1-contrast NAME]
        [--q1-span question] [--q2-contrast NAME] [--dpi 110]

Writes DIR/report.md and the PNG figures it embeds, reading only the HDF5 file (load.py):

- **Answers**: the sweep's three questions (chain-of-thought, few-shot, layer sensitivity),
  each answered with numbers and bootstrap intervals from /summary, or with the reason this
  sweep cannot answer it (report_answers.py).
- Per group (every group, up to --max-groups, the largest first): attention maps of a few
  prompts, cut from the front so that the last query row is always drawn, and difference
  maps between variants aligned on the tokens they share at their ends.
- Per label (/summary's statistics by `analysis.by` column): mean lines with interval bands
  for layer entropy, span and keyword mass; layer x head maps; the paired contrasts; the
  layer sensitivity. Never one line per prompt: at most --max-labels labels per figure, the
  largest, and the report names the ones it left out.

Every number in a table is read from the file (/summary, or /metrics and /sweep for the
per-prompt tables), printed with 4 significant digits, after an HTML comment
``<!-- table: NAME -->`` so tests can parse it back. Figures of files without the label
statistics are computed from /metrics by group (report_data.py) and no table quotes them.
Scores in [0, 1] and attention probabilities use a fixed 0..1 colour scale; whitespace tokens
are drawn as ␣, ↵ and →. docs/ANALYSIS.md explains the report.

Needs Debian's python3-h5py, python3-numpy, python3-pandas and python3-matplotlib.
"""

import argparse
import math
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import load  # noqa: E402
import report_answers as answers  # noqa: E402
import report_plots as rp  # noqa: E402
from report_data import LabelView  # noqa: E402
from report_text import (Markdown, fmt, fmt_ci, fmt_pct, md_code,  # noqa: E402
                         md_escape, md_tok, name_list, slug, token_texts, visible_token)

# token strings may hold characters DejaVu Sans does not have (CJK, emoji): draw boxes, quietly
warnings.filterwarnings("ignore", message=r"Glyph .* missing from current font")

MAX_PROMPT_ROWS = 60    # rows of the prompt table
MAX_FAILED_ROWS = 20    # failed prompts listed by name
MAX_BY_COLUMNS = 4      # `by` columns with figures
MAX_PANELS = 6          # spans / keywords / contrasts per figure
MAX_HEAD_LABELS = 4     # labels (rows) of a head-map figure
MAX_KEYWORD_TABLES = 12  # per-prompt keyword tables

Q_TITLES = {"layer_entropy": "layer entropy (nats)", "sink": "sink score A[T-1, 0]",
            "prev_token": "previous-token score", "induction": "induction score",
            "head_entropy": "head entropy (nats)"}


class Report:
    def __init__(self, sw, out, args):
        self.sw = sw
        self.out = out
        self.args = args
        self.md = Markdown()
        self.figures = []
        self.notes = []
        self.P = sw.prompts
        self.S = sw.summary()                  # the legacy /summary dict ({} without one)
        self.st = sw.stats()                   # load.Stats (None without /summary)
        self.lays = [int(x) for x in sw.layers()]
        self.heads = [int(x) for x in sw.heads()]
        self.ids = self.P["id"].to_numpy()
        status = (self.P["status"] == "done").to_numpy()
        if sw.has_metrics():
            ok = np.zeros(len(self.P), bool)
            ok[sw.done_rows()] = True
        else:
            ok = status
        self.ok = ok
        grp = self.P["group"]
        self.group_order = list(dict.fromkeys(grp))           # first appearance
        self.members = {g: np.asarray(r, np.int64) for g, r in
                        grp[ok].groupby(grp[ok], sort=False).indices.items()}
        rows_ok = np.flatnonzero(ok)
        self.members = {g: rows_ok[r] for g, r in self.members.items()}
        self.srow = set()
        if self.S and "prompt_index" in self.S:
            self.srow = set(int(i) for i in self.S["prompt_index"])
        self.view = LabelView.from_summary(self.st)
        if self.view is None and sw.has_metrics():
            self.view = LabelView.from_metrics(sw)
        self.js_min_shared = self.st.js_min_shared if self.st is not None \
            else load.JS_MIN_SHARED_DEFAULT
        self._tok = {}

    # -- helpers ---------------------------------------------------------------------------
    def save(self, fig, name, alt):
        path = os.path.join(self.out, name)
        fig.savefig(path, dpi=self.args.dpi)
        plt.close(fig)
        self.figures.append(path)
        self.md.add(f"![{alt}]({name})", "")
        return path

    def skip(self, what, why):
        self.md.note(f"{what}: {why}")
        self.notes.append(f"{what}: {why}")

    def pid(self, row):
        return str(self.ids[row])

    def variant(self, row):
        v = str(self.P["variant"].iloc[row])
        return v if v else self.pid(row)

    def labels_of(self, row):
        """Visible tick labels of a prompt's tokens (their text in the prompt, whitespace
        shown), cached."""
        if row not in self._tok:
            pid = self.pid(row)
            txt = token_texts(self.sw.text(pid), self.sw.offsets(pid), self.sw.tokens(pid))
            self._tok[row] = [visible_token(t) for t in txt]
        return self._tok[row]

    def shown(self, g):
        """The prompts of group g drawn one by one: its first --max-variants done ones."""
        return [int(r) for r in self.members.get(g, [])[: self.args.max_variants]]

    def layer_rows(self, row):
        """[L, T] head-mean last query row of a prompt: /metrics/last_row_mean, else the
        stored attention; None when neither exists."""
        m = self.sw.metric(self.pid(row), "last_row_mean") if self.sw.has_metrics() else None
        if m is None and self.sw.store() in ("full", "last_row"):
            m = self.sw.last_row(self.pid(row)).mean(axis=1)
        return None if m is None else np.asarray(m, np.float64)

    def choose_groups(self):
        if self.args.group is not None:
            if self.args.group not in self.group_order:
                raise SystemExit(f"report.py: no group {self.args.group!r} in "
                                 f"{self.sw.path}; groups: {', '.join(self.group_order)}")
            return [self.args.group], []
        have = [g for g in self.group_order if len(self.members.get(g, []))]
        order = sorted(have, key=lambda g: -len(self.members[g]))       # stable: file order
        keep = set(order[: self.args.max_groups])
        return [g for g in have if g in keep], [g for g in order[self.args.max_groups:]]

    def label_series(self, q, col, idx=None, counts=None, limit=None):
        """(series for rp.ci_lines, shown label positions, left-out positions) of quantity q
        for the labels of column col (idx selects the span / keyword axis)."""
        v = self.view
        d = v.by(q)
        shown, left = v.pick(col, limit or self.args.max_labels, counts)
        # a label keeps its colour in every figure: its rank among the column's largest labels
        top = v.pick(col, len(rp.COLORS))[0]
        top.sort(key=lambda i: -int(v.labels["count"].iloc[i]))
        series = []
        for i in shown:
            sel = (i,) if idx is None else (i, idx)
            n = int(counts[i]) if counts is not None else int(v.labels["count"].iloc[i])
            series.append((f"{v.name(i)} (n={n})", d["mean"][sel],
                           d["lo"][sel] if "lo" in d else None,
                           d["hi"][sel] if "hi" in d else None,
                           top.index(i) if i in top else len(top) + len(series)))
        return series, shown, left

    def left_out(self, what, left):
        """Names the labels a figure leaves out (what: e.g. the span, or "")."""
        if left:
            n = len(left)
            self.md.para(f"Left out of the figure{what}: {n} smaller label{'s' * (n != 1)} "
                         "(the largest are drawn), "
                         + name_list([self.view.name(i) for i in left]) + ".")

    def source_para(self):
        v = self.view
        if v.source == "summary":
            r = f", {self.st.resamples} resamples" if self.st.resamples else ""
            return (f"Lines are label means from `/summary/by_*`; bands are their "
                    f"{round(100 * v.conf)}% percentile bootstrap intervals (prompts "
                    f"resampled within the label{r}).")
        return ("`/summary` has no statistics by label, so these figures are computed from "
                "`/metrics` by group: lines are group means, bands the normal-approximation "
                f"{round(100 * v.conf)}% interval of the mean (mean ± 1.96·sd/√n). No table "
                "quotes them; `attnsweep reduce FILE` adds the bootstrap statistics.")

    # -- header and prompts ----------------------------------------------------------------
    def header(self):
        sw, md = self.sw, self.md
        a = sw.attrs()
        md.add(f"# attnsweep report: {md_escape(os.path.basename(sw.path))}", "")
        md.para("Generated by `analysis/report.py` from the HDF5 file alone. Numbers in the "
                "tables are read from `/summary` and `/metrics` (docs/METRICS.md defines them) "
                "and shown with 4 significant digits; `m [lo, hi]` is a mean and its "
                "interval; entropies are in nats. Layers and heads are model indices.")
        rows = [(k, md_escape(a[k])) for k in ("format_version", "attnsweep_version",
                                               "git_commit", "created_utc", "n_ranks",
                                               "model_path", "command_line") if k in a]
        md.table("file", ["attribute", "value"], rows)
        m = sw.model()
        if m:
            keys = ("architecture", "n_layers", "n_heads", "n_kv_heads", "head_dim",
                    "hidden_size", "vocab_size", "source_dtype", "rope_style")
            md.table("model", ["model", "value"],
                     [(k, md_escape(m[k])) for k in keys if k in m])

    def prompt_table(self):
        P, md = self.P, self.md
        md.add("## Prompts", "")
        counts = P["status"].value_counts().to_dict()
        stores = ", ".join(f"{k}: {v}" for k, v in P["store"].value_counts().items())
        md.para(f"{len(P)} prompts in {len(self.group_order)} groups; status "
                + ", ".join(f"{k}: {v}" for k, v in counts.items())
                + f"; store {stores}.")
        head = P.head(MAX_PROMPT_ROWS)
        rows = list(zip([md_code(x) for x in head["id"]], head["n_tokens"].astype(int),
                        head["store"], head["dtype"], head["status"], head["rank"].astype(int)))
        md.table("prompts", ["prompt", "tokens", "store", "dtype", "status", "rank"], rows)
        if len(P) > MAX_PROMPT_ROWS:
            md.para(f"(first {MAX_PROMPT_ROWS} of {len(P)} prompts; `load.open_sweep(file)"
                    ".prompts` has them all)")
        bad = P[P["status"] != "done"]
        if len(bad):
            md.para(f"{len(bad)} prompts are not done; they are left out of every figure and "
                    "of `/summary`:")
            for r in bad.head(MAX_FAILED_ROWS).itertuples():
                md.add(f"- {md_code(r.id)}: {r.status}"
                       + (f" — {md_escape(r.message)}" if r.message else ""))
            if len(bad) > MAX_FAILED_ROWS:
                md.add(f"- ... and {len(bad) - MAX_FAILED_ROWS} more")
            md.add("")
        if not self.S:
            self.skip("Sweep statistics", "the file has no `/summary` (a run whose reduce "
                      "step failed or was stopped leaves none); run `attnsweep reduce FILE` to "
                      "add it. Sections that need it are skipped; figures use the per-prompt "
                      "metrics where they exist.")

    # -- answers ---------------------------------------------------------------------------
    def answers(self):
        md, st = self.md, self.st
        md.add("## Answers", "")
        if st is not None and st.resamples:
            md.para(f"From `/summary` alone: {round(100 * st.confidence)}% percentile "
                    f"bootstrap intervals over prompts ({st.resamples} resamples, seed "
                    f"{st.seed}). `source` names the dataset and the positions it was read "
                    "at (`_*` = `_mean`, `_lo`, `_hi`, `_same_sign`); `n` counts prompts, or "
                    "pairs for a contrast and the JS divergence.")
        else:
            md.para("From `/summary` alone. `source` names the dataset and the positions it "
                    "was read at.")
        cx = answers.Context(st, self.lays, self.args)
        old_js = None
        if st is not None and st.get("js_pairs") is None and st.get("n_shared_tokens") is not None:
            old_js = {i: int(n) for i, n in enumerate(st.get("n_shared_tokens"))}
        for n, a in enumerate((answers.q1(cx), answers.q2(cx), answers.q3(cx, old_js)), 1):
            md.add(f"### Q{n}. {a.title}", "")
            for v in a.verdict:
                md.para(v)
            if a.rows:
                md.table(f"answer:{a.key}", answers.HEADER, [r.cells() for r in a.rows])
            for x in a.notes:
                md.para(f"*Note:* {x}.")
            if n == 1:
                self.answer_mass()
                self.norm_mass()

    def group_span_table(self, key, title, para, empty):
        """A [group, span_name, layer] /summary dataset `key` (and `key`_count) as a table: one
        row per (group, span) with prompts; nothing when the file has no such dataset."""
        md, st = self.md, self.st
        v3 = st.get(key) if st is not None else None
        if v3 is None:
            return
        cnt = st.get(f"{key}_count")
        md.add(title, "")
        md.para(para)
        rows = []
        for g, gname in enumerate(st.groups):
            for k, sname in enumerate(st.span_names):
                if cnt is None or cnt[g, k] == 0 or not np.isfinite(v3[g, k]).any():
                    continue
                v = np.asarray(v3[g, k], float)
                top = int(np.nanargmax(v))
                rows.append([gname, sname, str(int(cnt[g, k])), fmt(float(np.nanmean(v))),
                             fmt(float(v[-1])), str(self.lays[top] if top < len(self.lays)
                                                     else top)])
        if rows:
            md.table(key, ["group", "span", "n", "mean over layers", "last layer",
                           "layer of max"], rows)
        else:
            md.para(empty)

    def answer_mass(self):
        """Q1 with the model's own reasoning: /summary/answer_mass (generating sweeps)."""
        self.group_span_table(
            "answer_mass", "#### ... and with the model's own reasoning (generation)",
            "From `/summary/answer_mass` [group, span, layer]: for each prompt whose generated "
            "text has an answer (`generate.answer_regex`, else the last number), the mean "
            "over the answer's tokens of the attention they put on each span when they were "
            "produced (`span_mass_from_answer`, docs/METRICS.md), averaged over heads and "
            "then over the group's prompts with that span; `n` counts those prompts. A "
            "larger share on `reasoning` means the answer reads what the model wrote.",
            "No generated text in this file has an answer (no match of the answer "
            "regex and no number), so there is no answer mass to report.")

    def norm_mass(self):
        """Q1 weighted by value norms: /summary/span_mass_norm (output.weights: norms | both)."""
        self.group_span_table(
            "span_mass_norm", "#### ... weighted by value norms",
            "From `/summary/span_mass_norm` [group, span, layer]: the last query's mass on each "
            "span when every key's attention is weighted by the norm of what it adds to the "
            "head's output, α_j‖f(x_j)‖ renormalized (Kobayashi et al. 2020; "
            "`span_mass_norm`, docs/METRICS.md \"Norm-weighted masses\"), averaged over heads "
            "and then over the group's prompts with that span; `n` counts those prompts. "
            "Compare it with the probability-weighted masses of Q1: a span whose share "
            "falls here gets attention but contributes little to the output.",
            "No prompt of this file has a span with a norm-weighted mass.")

    # -- 1. attention maps ------------------------------------------------------------------
    def sec_attention(self, groups):
        md, sw, args = self.md, self.sw, self.args
        md.add("## 1. Attention patterns", "")
        full = sw.store() == "full"
        k = args.max_tokens
        if full:
            md.para("Each panel is the last stored layer's attention averaged over heads (the "
                    "notebook's `aggregate_attention(..., 'last_layer')`): row = query token, "
                    f"column = the token it attends to. Only the last {k} tokens are drawn "
                    "(cut from the front), so the last query row, the one every metric reads, "
                    f"is always the bottom row; the first column `{rp.EARLIER}` holds the mass "
                    "on the tokens cut off (BOS included). Fixed scale 0..1; ␣ = space, ↵ = "
                    "newline, → = tab.")
        else:
            self.skip("Attention maps", f"the file stores no full attention maps (store: "
                      f"{sw.store()}); the figure shows the last query row of every layer "
                      "(head mean, `/metrics/last_row_mean`) instead of the notebook's query x "
                      "key maps")
            md.para(f"Only the last {k} tokens are drawn (cut from the front); the first "
                    f"column `{rp.EARLIER}` holds the mass on the tokens cut off. Fixed scale "
                    "0..1; ␣ = space, ↵ = newline, → = tab.")
        for g in groups:
            rows = self.shown(g)
            panels = []
            for r in rows:
                toks = self.labels_of(r)
                T = len(toks)
                s = rp.crop_last(T, k)
                if full:
                    M = rp.with_earlier(sw.aggregate(self.pid(r), "last_layer")[s:], s)
                else:
                    lr = self.layer_rows(r)
                    if lr is None:
                        continue
                    M = rp.with_earlier(lr, s)
                xl = ([rp.EARLIER] if s else []) + toks[s:]
                panels.append((r, M, xl, toks[s:], T, s))
            if not panels:
                self.skip(f"Attention maps of group {md_code(g)}",
                          "its prompts store no attention (store: none) and have no metrics")
                continue
            n = len(panels)
            ncol = 2 if n > 1 else 1
            nrow = math.ceil(n / ncol)
            w = min(8.5, 2.5 + 0.32 * (k + 1))
            h = min(8.0, 2.0 + 0.3 * k) if full else min(6.0, 1.8 + 0.3 * len(self.lays))
            fig, axes = rp.subplots(nrow, ncol, figsize=(w * ncol, h * nrow), squeeze=False)
            im = None
            for ax, (r, M, xl, yl, T, s) in zip(axes.ravel(), panels):
                cut = f"last {T - s} of {T} tokens" if s else f"all {T} tokens"
                if full:
                    im = rp.token_map(ax, M, xl, ylabels=yl, earlier=bool(s))
                    ax.set_ylabel("query")
                    ax.set_title(f"{self.variant(r)}\n(layer {self.lays[-1]}, head mean, {cut})",
                                 fontsize=10)
                else:
                    im = rp.token_map(ax, M, xl, ylayers=self.lays, earlier=bool(s))
                    ax.set_title(f"{self.variant(r)}: last query row, head mean ({cut})",
                                 fontsize=10)
                ax.set_xlabel("key (attended-to token)")
            for ax in axes.ravel()[n:]:
                ax.axis("off")
            fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.7, label="attention")
            fig.suptitle(f"Attention of group '{g}'", fontsize=13)
            md.add(f"**Group {md_code(g)}**", "")
            self.save(fig, f"attention_{slug(g)}.png", f"attention maps of group {g}")
            total = len(self.members.get(g, []))
            if total > n:
                md.para(f"(the first {n} of the group's {total} done prompts; `--max-variants` "
                        "draws more)")

    # -- 2. difference maps -----------------------------------------------------------------
    def shared_suffix(self, ra, rb):
        """Tokens prompts ra and rb share at their ends (token ids; strings when unknown)."""
        a, b = self.sw.token_ids(self.pid(ra)), self.sw.token_ids(self.pid(rb))
        if (a < 0).any() or (b < 0).any():
            a = np.asarray(self.sw.tokens(self.pid(ra)), dtype=object)
            b = np.asarray(self.sw.tokens(self.pid(rb)), dtype=object)
        n = min(len(a), len(b))
        same = a[len(a) - n:][::-1] == b[len(b) - n:][::-1]
        return int(n if same.all() else np.argmin(same))

    def sec_differences(self, groups):
        md, args = self.md, self.args
        md.add("## 2. Differences between variants, aligned on their shared tokens", "")
        md.para("Each panel subtracts two prompts' last query rows (head mean, per layer), "
                "aligned on the tokens they share at their ends (the common suffix, where a "
                "shared question sits). Columns are the last shared tokens (at most "
                f"{args.max_tokens}); `{rp.EARLIER}` is the difference of the mass on "
                "everything before them (each prompt's own tokens and the shared tokens cut "
                "off). Red = more attention in the first prompt. Fixed scale -1..1 (signed "
                f"square root). Pairs sharing fewer than `js_min_shared` = {self.js_min_shared} "
                "tokens are drawn but flagged: `/summary` leaves them out of the JS divergence.")
        any_fig = False
        for g in groups:
            rows = self.shown(g)
            if len(rows) < 2:
                continue
            ref = rows[0]
            lr_ref = self.layer_rows(ref)
            if lr_ref is None:
                continue
            panels, few = [], []
            for r in rows[1:]:
                lr = self.layer_rows(r)
                if lr is None:
                    continue
                n = self.shared_suffix(r, ref)
                Ta, Tb = lr.shape[1], lr_ref.shape[1]
                D = lr[:, Ta - n:] - lr_ref[:, Tb - n:]                    # [L, n] aligned
                before = lr[:, :Ta - n].sum(axis=1) - lr_ref[:, :Tb - n].sum(axis=1)
                s = rp.crop_last(n, args.max_tokens)
                M = np.concatenate([(before + D[:, :s].sum(axis=1))[:, None], D[:, s:]], axis=1)
                toks = self.labels_of(r)[Ta - n + s:]
                panels.append((r, M, [rp.EARLIER] + toks, n))
                if n < self.js_min_shared:
                    few.append((r, n))
            if not panels:
                continue
            k = max(len(p[2]) for p in panels)
            w = min(9.0, 2.5 + 0.34 * k)
            h = min(5.0, 1.6 + 0.3 * len(self.lays))
            fig, axes = rp.subplots(len(panels), 1, figsize=(w, h * len(panels) + 0.6),
                                    squeeze=False)
            for ax, (r, M, xl, n) in zip(axes.ravel(), panels):
                im = rp.token_map(ax, M, xl, ylayers=self.lays, norm=rp.diff_norm(),
                                  cmap=rp.DIFF_CMAP, earlier=True)
                flag = f" — fewer than {self.js_min_shared}: no JS" if n < self.js_min_shared \
                    else ""
                ax.set_title(f"{self.variant(r)} − {self.variant(ref)}: {n} shared tokens{flag}",
                             fontsize=10)
            fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="difference of attention")
            fig.suptitle(f"Last-row differences in group '{g}'", fontsize=12)
            md.add(f"**Group {md_code(g)}**", "")
            self.save(fig, f"diff_{slug(g)}.png", f"difference maps of group {g}")
            any_fig = True
            if few:
                md.para("These pairs share fewer than `js_min_shared` = "
                        f"{self.js_min_shared} tokens at their ends, too few to compare: "
                        + ", ".join(f"{md_code(self.variant(r))} − "
                                    f"{md_code(self.variant(ref))} ({n})" for r, n in few) + ".")
        if not any_fig:
            self.skip("Difference maps", "no group has 2 done prompts with last-row attention")

    # -- 3. layer entropy --------------------------------------------------------------------
    def by_columns(self):
        v = self.view
        return v.columns[:MAX_BY_COLUMNS] if v is not None else []

    def ci_table(self, name, d, series_pos, counts, sel=None):
        """A layer x label table of `m [lo, hi]` cells (summary statistics only)."""
        v = self.view
        hdr = ["layer"] + [f"{md_escape(v.name(i))} (n={int(counts[i])})" for i in series_pos]
        rows = []
        for li in range(len(self.lays)):
            row = [self.lays[li]]
            for i in series_pos:
                ix = (i,) + (() if sel is None else (sel,)) + (li,)
                row.append(fmt_ci(d["mean"][ix], d["lo"][ix], d["hi"][ix]))
            rows.append(row)
        self.md.table(name, hdr, rows)

    def sec_layer_entropy(self, groups):
        md, v = self.md, self.view
        md.add("## 3. Layer-wise attention entropy", "")
        if v is None or v.by("layer_entropy") is None:
            self.skip("Layer entropy", "the file has no per-prompt metrics")
            return
        md.para("Entropy of the last query row (head mean, the notebook's "
                "`compute_layer_entropy`), by label. " + self.source_para())
        d = v.by("layer_entropy")
        for col in self.by_columns():
            series, shown, left = self.label_series("layer_entropy", col)
            if not series:
                continue
            fig, ax = rp.subplots(figsize=(10, 5))
            rp.ci_lines(ax, self.lays, series, "attention entropy (nats)")
            ax.set_xlabel("layer")
            ax.set_title(f"Layer entropy by {col} (higher = more distributed)")
            ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), title=col)
            md.add(f"**By `{col}`**", "")
            self.save(fig, f"layer_entropy_{slug(col)}.png", f"layer entropy by {col}")
            self.left_out("", left)
            if v.source == "summary" and "lo" in d:
                self.ci_table(f"by_layer_entropy:{col}", d, shown, v.count("layer_entropy"))
        # small groups: every prompt is one line
        small = [g for g in groups if 2 <= len(self.members.get(g, [])) <= self.args.max_labels]
        if small:
            small = small[:MAX_PANELS]
            ncol = min(3, len(small))
            nrow = math.ceil(len(small) / ncol)
            fig, axes = rp.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.8 * nrow), squeeze=False)
            le = self.sw.column("layer_entropy")
            for ax, g in zip(axes.ravel(), small):
                rows = self.members[g]
                rp.ci_lines(ax, self.lays, [(self.variant(r), le[r], None, None) for r in rows],
                            "entropy (nats)")
                ax.set_title(f"group '{g}'", fontsize=10)
                ax.set_xlabel("layer")
                ax.legend(fontsize=7)
            for ax in axes.ravel()[len(small):]:
                ax.axis("off")
            fig.suptitle("Layer entropy of each prompt, groups of at most "
                         f"{self.args.max_labels} prompts")
            md.add("**Each prompt of the small groups**", "")
            self.save(fig, "layer_entropy_groups.png", "layer entropy of each prompt")
        for g in groups:
            rows = [r for r in self.shown(g) if r in self.srow]
            if not rows:
                continue
            le = self.sw.column("layer_entropy")
            if g == groups[0]:
                md.para("`/metrics/layer_entropy` of the prompts drawn in section 1 (the "
                        "last row is the notebook's \"last layer entropy\"):")
            md.table(f"layer_entropy:{g}", ["layer"] + [md_escape(self.variant(r)) for r in rows],
                     [[self.lays[li]] + [fmt(le[r, li]) for r in rows]
                      for li in range(len(self.lays))])

    # -- 4. spans -----------------------------------------------------------------------------
    def span_order(self, names):
        pri = [n for n in ("question", "prefix") if n in names]
        ex = [n for n in names if n.startswith(answers.EXAMPLE_PREFIX)]
        return (pri + ex + [n for n in names if n not in pri and n not in ex])

    def by_token_figure(self, q, names, col, what, fname, tname):
        """Panels (one per span or keyword) of label lines with bands; tables when the
        statistics come from /summary. Returns the names drawn."""
        v, md = self.view, self.md
        d = v.by(q)
        cnt = v.count(q)
        drawn = []
        order = self.span_order(names) if q == "span_mass" else list(names)
        panels = []
        for nm in order:
            j = names.index(nm)
            series, shown, left = self.label_series(q, col, j, counts=cnt[:, j])
            if series:
                panels.append((nm, j, series, shown, left))
            if len(panels) == MAX_PANELS:
                break
        if not panels:
            return []
        ncol = min(3, len(panels))
        nrow = math.ceil(len(panels) / ncol)
        fig, axes = rp.subplots(nrow, ncol, figsize=(5.4 * ncol, 3.9 * nrow), squeeze=False,
                                sharey=True)
        for ax, (nm, j, series, shown, left) in zip(axes.ravel(), panels):
            rp.ci_lines(ax, self.lays, series, what)
            ax.set_title(nm, fontsize=10)
            ax.set_xlabel("layer")
            ax.legend(fontsize=7, title=col, title_fontsize=7)
            drawn.append(nm)
        for ax in axes.ravel()[len(panels):]:
            ax.axis("off")
        fig.suptitle(f"Last-token attention mass by {col}")
        md.add(f"**By `{col}`**", "")
        self.save(fig, fname, f"{q} by {col}")
        for nm, j, series, shown, left in panels:
            self.left_out(f" ({md_code(nm)})", left)
            if v.source == "summary" and "lo" in d:
                md.add(f"*{md_escape(nm)}*", "")
                self.ci_table(f"{tname}:{col}:{nm}", d, shown, cnt[:, j], sel=j)
        if len(order) > len(panels):
            md.para("Not drawn: " + name_list([n for n in order
                                              if n not in drawn]) + f" (at most {MAX_PANELS}).")
        return drawn

    def sec_spans(self, groups):
        md, v = self.md, self.view
        md.add("## 4. Where the last token looks: mass on spans", "")
        if v is None or v.by("span_mass") is None or not v.span_names:
            self.skip("Span mass", "no span statistics (the file has no spans)")
        else:
            md.para("The head-mean attention mass of the last query on each span (`question` = "
                    "the text the group's variants share, `prefix` = the instruction before it, "
                    "`example_answer*` = few-shot answers), by label; prompts without the span "
                    "are left out (`n`). " + self.source_para())
            for col in self.by_columns():
                self.by_token_figure("span_mass", v.span_names, col, "mass (head mean)",
                                     f"span_mass_{slug(col)}.png", "by_span_mass")
        if not self.S or "groups" not in self.S:
            return
        for g in groups:
            d = self.S["groups"].get(g)
            rows = [r for r in self.shown(g) if r in self.srow]
            if d is None or "prefix_mass" not in d or not rows:
                continue
            if g == groups[0]:
                md.para("`/summary/prefix_mass` and `question_mass` [member, layer] of the "
                        "prompts drawn in section 1:")
            var = list(d["variant"])
            vi = [var.index(str(self.P["variant"].iloc[r])) for r in rows
                  if str(self.P["variant"].iloc[r]) in var]
            hdr = ["layer"] + [f"prefix: {md_escape(var[i])}" for i in vi] + \
                  [f"question: {md_escape(var[i])}" for i in vi]
            md.table(f"span_mass:{g}", hdr,
                     [[self.lays[li]] + [fmt(d["prefix_mass"][i, li]) for i in vi]
                      + [fmt(d["question_mass"][i, li]) for i in vi]
                      for li in range(len(self.lays))])

    # -- 5. keywords ---------------------------------------------------------------------------
    def sec_keywords(self, groups):
        md, sw, v = self.md, self.sw, self.view
        md.add("## 5. Attention to keywords", "")
        if v is None or v.by("keyword_mass") is None or not v.keywords:
            self.skip("Keyword attention", "the sweep declares no `analysis.keywords` (or the "
                      "prompts have no metrics)")
            return
        md.para("Every occurrence of each keyword in the text (`keyword_occ_*`), the tokens "
                "covering it, and the last token's head-mean attention on them, summed per "
                "prompt and keyword; prompts without the keyword are left out. "
                + self.source_para())
        for col in self.by_columns():
            self.by_token_figure("keyword_mass", v.keywords, col, "mass (head mean)",
                                 f"keyword_mass_{slug(col)}.png", "by_keyword_mass")
        n_tables = 0
        for g in groups:
            for r in self.shown(g):
                if n_tables >= MAX_KEYWORD_TABLES:
                    break
                pid = self.pid(r)
                m = sw.metrics(pid)
                t = m.get("keywords_table")
                if t is None:
                    continue
                if n_tables == 0:
                    md.para("Per prompt (the prompts of section 1), the last layer's mass:")
                toks = sw.tokens(pid)
                rows = []
                for x in t.itertuples():
                    ts = "".join(toks[x.token_first:x.token_end]) if x.token_first >= 0 else ""
                    rows.append((md_escape(x.keyword), f"{x.byte_begin}:{x.byte_end}",
                                 f"{x.token_first}:{x.token_end}" if x.token_first >= 0
                                 else "none", md_tok(ts), fmt(x.mass_last_layer)))
                md.add(f"**{md_code(pid)}**", "")
                if rows:
                    md.table(f"keywords:{pid}", ["keyword", "bytes [b:e)", "tokens [first:end)",
                                                 "token text", "mass (last layer)"], rows)
                else:
                    md.para("(no keyword occurs in this prompt)")
                n_tables += 1

    # -- 6. few-shot ---------------------------------------------------------------------------
    def sec_fewshot(self, groups):
        md = self.md
        md.add("## 6. Few-shot: attention to the example answers", "")
        if not self.S:
            self.skip("Few-shot", "needs `/summary`")
            return
        G = self.S.get("groups", {})
        fs = [g for g in groups if g in G and "example_mass" in G[g]]
        ex = [n for n in (self.view.span_names if self.view else [])
              if n.startswith(answers.EXAMPLE_PREFIX)]
        if not fs:
            if ex:
                md.para("The `example_answer*` spans are drawn by label in section 4.")
            else:
                self.skip("Few-shot", "this sweep has no few-shot group (no group declares "
                          "spans named `example_answer*`), so there is no few-shot figure")
            return
        for g in fs:
            d = G[g]
            var = list(d["variant"])
            rows = [r for r in self.shown(g) if str(self.P["variant"].iloc[r]) in var]
            vi = [var.index(str(self.P["variant"].iloc[r])) for r in rows]
            if not vi:
                continue
            em = d["example_mass"][vi]                       # [V, L, H]
            V, L, H = em.shape
            hm = em.mean(axis=2)
            best = int(np.argmax(np.nan_to_num(em).sum(axis=(1, 2))))
            fig, axes = rp.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [1.1, 1]})
            rp.ci_lines(axes[0], self.lays, [(var[i], hm[j], None, None)
                                             for j, i in enumerate(vi)],
                        "mass on the example answers (head mean)")
            axes[0].set_xlabel("layer")
            axes[0].set_title("Last token's attention to the example answers")
            axes[0].legend(fontsize=8)
            im = rp.head_map(axes[1], em[best], self.lays, self.heads, cmap="Oranges",
                             annotate=L * H <= 96)
            axes[1].set_title(f"per head, {var[vi[best]]}")
            fig.colorbar(im, ax=axes[1], shrink=0.85, label="mass (fixed 0..1)")
            fig.suptitle(f"Few-shot group '{g}': do the examples create attention shortcuts?")
            md.add(f"**Group {md_code(g)}**", "")
            self.save(fig, f"fewshot_{slug(g)}.png", f"few-shot attention of group {g}")
            md.para("`/summary/example_mass` [member, layer, head] of the prompts drawn in "
                    "section 1: the last query's mass on the `example_answer*` spans; the table "
                    "shows its mean over heads, then the heads with the most mass "
                    "(`example_top_*`, heads without mass left out).")
            md.table(f"example_mass:{g}", ["layer"] + [md_escape(var[i]) for i in vi],
                     [[self.lays[li]] + [fmt(hm[j, li]) for j in range(V)] for li in range(L)])
            trows = []
            for i in vi:
                for r in range(d["example_top_layer"].shape[1]):
                    la = int(d["example_top_layer"][i, r])
                    if la < 0 or d["example_top_mass"][i, r] == 0:
                        continue
                    trows.append((md_escape(var[i]), r + 1, self.lays[la],
                                  self.heads[int(d["example_top_head"][i, r])],
                                  fmt(d["example_top_mass"][i, r])))
            md.table(f"example_top:{g}", ["variant", "rank", "layer", "head", "mass"], trows)

    # -- 7. heads ------------------------------------------------------------------------------
    def sec_heads(self):
        md, v = self.md, self.view
        md.add("## 7. Heads: entropy, attention sinks, previous-token and induction heads", "")
        if v is None or v.by("head_entropy") is None:
            self.skip("Head maps", "the file has no per-prompt head metrics")
        else:
            md.para("Layer x head maps of the label means: the entropy of each head's last "
                    "query row (shared scale from 0), its sink score `A[T-1, 0]`, "
                    "previous-token and induction scores (docs/METRICS.md \"Head metrics\"; "
                    "fixed scale 0..1, so a maximum of 0.02 stays dark). "
                    + ("Label means from `/summary/by_*_mean`." if v.source == "summary"
                       else "Group means computed from `/metrics`."))
            qs = [q for q in ("head_entropy", "sink", "prev_token", "induction")]
            for col in self.by_columns():
                shown, left = v.pick(col, MAX_HEAD_LABELS)
                if not shown:
                    continue
                pw = min(5.0, max(3.0, 0.2 * len(self.heads) + 1.6))
                ph = min(5.0, max(2.4, 0.2 * len(self.lays) + 1.0))
                fig, axes = rp.subplots(len(shown), len(qs), figsize=(pw * len(qs),
                                                                      ph * len(shown) + 0.6),
                                        squeeze=False)
                ent = v.by("head_entropy")["mean"][shown]
                emax = float(np.nanmax(ent)) if np.isfinite(ent).any() else 1.0
                missing = set()
                # cell values only on small maps, few panels (text is what makes it slow)
                note = len(self.lays) * len(self.heads) <= 64 and len(shown) <= 2
                for c, q in enumerate(qs):
                    d = v.by(q)
                    im = None
                    for r, i in enumerate(shown):
                        ax = axes[r, c]
                        M = None if d is None else d["mean"][i]
                        if M is None or not np.isfinite(M).any():
                            rp.empty_panel(ax, f"{q}: not available")
                            missing.add(q)
                        else:
                            norm = (plt.Normalize(0, max(emax, 1e-9)) if q == "head_entropy"
                                    else rp.prob_norm())
                            cmap = "viridis" if q == "head_entropy" else rp.SCORE_CMAP
                            im = rp.head_map(ax, M, self.lays, self.heads, norm=norm, cmap=cmap,
                                             annotate=note)
                        ax.set_title(f"{v.name(i)}: {Q_TITLES[q]}", fontsize=9)
                    if im is not None:
                        fig.colorbar(im, ax=axes[:, c].tolist(), shrink=0.8)
                fig.suptitle(f"Head maps by {col}")
                md.add(f"**By `{col}`**", "")
                self.save(fig, f"heads_{slug(col)}.png", f"head maps by {col}")
                self.left_out("", left)
                if missing - {"head_entropy"}:
                    self.skip("Head roles", "not available for these prompts (they need the "
                              "full attention maps): " + ", ".join(f"`{q}`" for q in
                                                                  sorted(missing)))
        if not self.S or "head_entropy_mean" not in self.S:
            return
        for kind, word in (("focused", "lowest"), ("distributed", "highest")):
            t = self.S.get("overall_most_" + kind)
            if t is None:
                continue
            md.add(f"**Most {kind} heads over the whole sweep** ({word} entropy of "
                   "`head_entropy_mean`; token = the head's most frequent focus token)", "")
            md.table(f"{kind}:overall", ["rank", "layer", "head", "entropy", "focus token"],
                     [(r.rank + 1, self.lays[r.layer], self.heads[r.head], fmt(r.entropy),
                       md_tok(r.token)) for r in t.itertuples()])

    # -- 8. contrasts --------------------------------------------------------------------------
    def sec_contrasts(self):
        md, st = self.md, self.st
        md.add("## 8. Paired contrasts", "")
        C = st.contrasts if st is not None else None
        if C is None or not len(C):
            self.skip("Contrasts", "the sweep declares no `analysis.contrasts` (or its "
                      "`/summary` predates them)")
            return
        md.para("For each contrast, the mean over its pairs of the difference a − b (pairs "
                "agree on `pair_on`), with its percentile bootstrap interval (pairs "
                "resampled) and the share of pairs whose difference has the mean's sign.")
        qs = []
        for q in ("layer_entropy", "sink", "prev_token", "induction"):
            c = st.contrast(q)
            if c is not None:
                qs.append((q, None, Q_TITLES[q], c))
        cs = st.contrast("span_mass")
        if cs is not None:
            for nm in [n for n in ("question", "prefix") if n in st.span_names]:
                qs.append(("span_mass", st.span_names.index(nm), f"mass on {nm}", cs))
        shown = list(range(min(len(C), MAX_PANELS)))

        def finite(q, j, d):
            m = d["mean"][shown] if j is None else d["mean"][shown, j]
            return np.isfinite(m).any()

        dropped = [t for q, j, t, d in qs if not finite(q, j, d)]
        qs = [x for x in qs if finite(*x[:2], x[3])]
        if dropped:
            md.para("Not drawn (NaN for every contrast, e.g. not computed from the last row "
                    "alone): " + ", ".join(dropped) + ".")
        if qs:
            fig, axes = rp.subplots(len(shown), len(qs), figsize=(3.6 * len(qs),
                                                                  2.9 * len(shown) + 0.6),
                                    squeeze=False, sharex=True)
            for r, ci in enumerate(shown):
                for c, (q, j, title, d) in enumerate(qs):
                    ix = (ci,) if j is None else (ci, j)
                    ax = axes[r, c]
                    if not np.isfinite(d["mean"][ix]).any():
                        rp.empty_panel(ax, f"{C['name'].iloc[ci]}: {title}\nnot available")
                        continue
                    rp.ci_lines(ax, self.lays, [("a − b", d["mean"][ix],
                                                 d["lo"][ix] if "lo" in d else None,
                                                 d["hi"][ix] if "hi" in d else None)],
                                zero=True)
                    ax.set_title(f"{C['name'].iloc[ci]}: {title}", fontsize=9)
                    if r == len(shown) - 1:
                        ax.set_xlabel("layer")
            fig.suptitle("Paired differences a − b with their intervals")
            self.save(fig, "contrasts.png", "paired contrasts")
        if len(C) > len(shown):
            md.para("Not drawn: " + name_list(list(C["name"])[len(shown):]) + ".")
        for ci in range(len(C)):
            c = C.iloc[ci]
            md.add(f"**{md_code(c['name'])}**: `{md_escape(c['column'])}` = "
                   f"{md_code(c['a'])} − {md_code(c['b'])}, {int(c['n_pairs'])} pairs", "")
            rows = []
            for q in ("layer_entropy", "sink", "prev_token", "induction", "span_mass",
                      "keyword_mass"):
                d = st.contrast(q)
                if d is None or "lo" not in d:
                    continue
                toks = [None] if q not in ("span_mass", "keyword_mass") else \
                    (st.span_names if q == "span_mass" else st.keywords)
                for j, nm in enumerate(toks):
                    ix = (ci,) if nm is None else (ci, j)
                    if not np.isfinite(d["mean"][ix]).any():
                        continue
                    for li in range(len(self.lays)):
                        same = d.get("same_sign")
                        rows.append((q, "" if nm is None else md_escape(nm), self.lays[li],
                                     fmt(d["mean"][ix + (li,)]),
                                     f"[{fmt(d['lo'][ix + (li,)])}, {fmt(d['hi'][ix + (li,)])}]",
                                     "" if same is None else fmt_pct(same[ix + (li,)])))
            md.table(f"contrast:{c['name']}", ["quantity", "tokens", "layer", "a − b",
                                               "interval", "same sign"], rows)

    # -- 9. sensitivity ------------------------------------------------------------------------
    def sec_sensitivity(self):
        md, st = self.md, self.st
        md.add("## 9. Which layers are most prompt-sensitive?", "")
        if st is None:
            self.skip("Layer prompt-sensitivity", "needs `/summary`")
            return
        sens = st.sensitivity()
        if sens is not None:
            cols = st.by_columns or [f"by {i}" for i in range(len(sens["ratio"]))]
            md.para("`sensitivity_ratio` [by, layer]: the between-label variance of the layer "
                    "entropy over its within-label variance (a one-way ANOVA F ratio, "
                    "docs/METRICS.md), per `by` column, with its bootstrap interval (which sits "
                    "above the ratio when there is no effect: read it as how large the ratio "
                    "could be); `rank` is `sensitivity_rank` + 1 (1 = most sensitive).")
            fig, ax = rp.subplots(figsize=(10, 4.8))
            rp.ci_lines(ax, self.lays, [(c, sens["ratio"][i],
                                         sens["lo"][i] if "lo" in sens else None,
                                         sens["hi"][i] if "hi" in sens else None)
                                        for i, c in enumerate(cols[:len(sens["ratio"])])
                                        if i < len(rp.COLORS)], "variance ratio")
            ax.set_xlabel("layer")
            # ratios span decades (a bootstrap interval of few prompts reaches 100x): log scale,
            # with the no-effect level 1 marked
            vals = np.concatenate([np.ravel(sens[k]) for k in ("ratio", "lo", "hi") if k in sens])
            vals = vals[np.isfinite(vals)]
            if len(vals) and (vals > 0).all():
                ax.set_yscale("log")
            elif len(vals):
                ax.set_yscale("symlog", linthresh=0.01)
            ax.axhline(1.0, color="0.3", linestyle="--", linewidth=1, label="1: no effect")
            ax.set_title("Layer sensitivity of the entropy to the prompt labels")
            ax.legend(fontsize=8, title="by")
            self.save(fig, "sensitivity_ratio.png", "layer sensitivity ratio")
            for bi, col in enumerate(cols[:len(sens["ratio"])]):
                pos = {li: k for k, li in enumerate(st.sensitivity_order(bi))}
                md.table(f"sensitivity_ratio:{col}", ["layer", "ratio", "interval", "rank"],
                         [(self.lays[li], fmt(sens["ratio"][bi, li]),
                           f"[{fmt(sens['lo'][bi, li])}, {fmt(sens['hi'][bi, li])}]"
                           if "lo" in sens else "", pos[li] + 1 if li in pos else "")
                          for li in range(len(self.lays))])
        js = st.js()
        if js is None:
            if sens is None:
                self.skip("Layer prompt-sensitivity", "`/summary` has no sensitivity statistics")
            return
        d, pairs = js["divergence"], js["pairs"]
        G = self.S.get("groups", {}) if self.S else {}
        names = st.groups
        nshared = st.get("n_shared_tokens")
        usable, left = [], []
        for gi, g in enumerate(names):
            if pairs is not None:
                ok = pairs[gi] > 0
            else:
                ok = (nshared is not None and nshared[gi] >= self.js_min_shared
                      and len(G.get(g, {}).get("variant", [])) >= 2)
            (usable if ok and np.isfinite(d[gi]).any() else left).append(gi)
        if pairs is not None:
            usable.sort(key=lambda gi: -pairs[gi])
        md.para("`js_divergence` [group, layer]: the mean over a group's variant pairs of the "
                "Jensen-Shannon divergence of their head-mean last rows on the tokens they "
                "share at their ends (nats, at most ln 2)"
                + (", over the pairs counted by `js_pairs`" if pairs is not None else
                   "; this file has no `js_pairs`, so only groups whose variants share at "
                   f"least `js_min_shared` = {self.js_min_shared} tokens "
                   "(`n_shared_tokens`) are shown") + ".")
        draw = usable[: self.args.max_labels]
        if draw:
            fig, ax = rp.subplots(figsize=(10, 4.8))
            rp.ci_lines(ax, self.lays, [(f"{names[gi]}" + (f" ({int(pairs[gi])} pairs)" if
                                                             pairs is not None else ""),
                                         d[gi], None, None) for gi in draw], "JS divergence (nats)")
            ax.set_xlabel("layer")
            ax.set_title("Divergence between a group's variants, per layer")
            ax.legend(fontsize=8, title="group")
            self.save(fig, "sensitivity_js.png", "JS divergence per layer")
        if len(usable) > len(draw):
            md.para("Not drawn (fewest pairs): " + name_list([names[g] for g in
                                                             usable[len(draw):]]) + ".")
        if left:
            md.para(f"No usable JS divergence ({len(left)} groups: a single prompt, or pairs "
                    f"sharing fewer than {self.js_min_shared} tokens): "
                    + name_list([names[g] for g in left]) + ".")
        for gi in draw:
            g = names[gi]
            hdr = ["layer", "JS divergence"]
            std = G.get(g, {}).get("layer_entropy_std")
            if std is not None:
                hdr.append("entropy std")
            md.add(f"**Group {md_code(g)}**"
                   + (f" ({int(pairs[gi])} pairs)" if pairs is not None else
                      f" ({int(nshared[gi])} shared tokens)"), "")
            md.table(f"js:{g}", hdr, [[self.lays[li], fmt(d[gi, li])]
                                      + ([fmt(std[li])] if std is not None else [])
                                      for li in range(len(self.lays))])
            gd = G.get(g, {})
            if "sensitivity_rank_js" in gd and "sensitivity_rank_entropy_std" in gd:
                L = len(gd["sensitivity_rank_js"])
                md.table(f"sensitivity_rank:{g}", ["rank", "layer by JS", "layer by entropy std"],
                         [(r + 1, self.lays[int(gd["sensitivity_rank_js"][r])],
                           self.lays[int(gd["sensitivity_rank_entropy_std"][r])])
                          for r in range(L)])

    # -- all -----------------------------------------------------------------------------------
    def run(self):
        self.header()
        self.prompt_table()
        groups, left = self.choose_groups()
        if not groups:
            self.skip("Figures", "the file has no done prompt")
        elif self.args.group is not None:
            self.md.para(f"Per-group figures show group {md_code(groups[0])} (`--group`); "
                         "the file's groups: " + name_list(self.group_order) + ".")
        else:
            self.md.para("Per-group figures show every group with done prompts"
                         + (f" (the {len(groups)} largest; `--max-groups` shows more; left out: "
                            + name_list(left) + ")" if left else "")
                         + ": " + name_list(groups) + ".")
        self.answers()
        if groups:
            self.sec_attention(groups)
            self.sec_differences(groups)
        self.sec_layer_entropy(groups)
        self.sec_spans(groups)
        self.sec_keywords(groups)
        self.sec_fewshot(groups)
        self.sec_heads()
        self.sec_contrasts()
        self.sec_sensitivity()
        path = os.path.join(self.out, "report.md")
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.md.text())
        return path


def main(argv=None):
    ap = argparse.ArgumentParser(description="Figures and a Markdown report from an attnsweep "
                                 "HDF5 file (docs/ANALYSIS.md).")
    ap.add_argument("file", help="the attnsweep output file (OUT.h5)")
    ap.add_argument("--out", required=True, help="output folder (created if needed)")
    ap.add_argument("--group", help="draw the per-group figures for this group only "
                    "(default: every group, up to --max-groups)")
    ap.add_argument("--max-tokens", type=int, default=20,
                    help="tokens drawn on the attention maps: the last N (default 20)")
    ap.add_argument("--max-variants", type=int, default=4,
                    help="prompts per group drawn one by one (default 4)")
    ap.add_argument("--max-labels", type=int, default=8,
                    help="labels (lines) per figure, the largest first (default 8, at most 10)")
    ap.add_argument("--max-groups", type=int, default=12,
                    help="groups with per-group figures, the largest first (default 12)")
    ap.add_argument("--q1-contrast", help="the contrast that answers Q1 (default: the first "
                    "whose name or values say cot / step / think)")
    ap.add_argument("--q1-span", default="question",
                    help="the span whose mass answers Q1 (default: question)")
    ap.add_argument("--q2-contrast", help="the contrast that answers Q2 (default: the first "
                    "whose name or values say shot / few / example)")
    ap.add_argument("--dpi", type=int, default=110, help="PNG resolution (default 110)")
    args = ap.parse_args(argv)
    if min(args.max_tokens, args.max_variants, args.max_labels, args.max_groups) < 1 \
            or args.dpi < 20:
        ap.error("--max-tokens, --max-variants, --max-labels and --max-groups must be >= 1, "
                 "--dpi >= 20")
    if args.max_labels > len(rp.COLORS):
        ap.error(f"--max-labels must be at most {len(rp.COLORS)} (distinct colours)")
    t0 = time.perf_counter()
    try:
        sw = load.open_sweep(args.file)
    except (OSError, ValueError) as e:
        print(f"report.py: cannot read {args.file}: {e}", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    with sw:
        rep = Report(sw, args.out, args)
        path = rep.run()
    print(f"report.py: wrote {path} and {len(rep.figures)} figures in "
          f"{time.perf_counter() - t0:.1f} s")
    for n in rep.notes:
        print(f"report.py: note: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
