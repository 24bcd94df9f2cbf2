#!/usr/bin/python3
"""report.py - figures and a Markdown report from one attnsweep output file.

    /usr/bin/python3 analysis/report.py results/exp8.h5 --out results/exp8-report
    /usr/bin/python3 analysis/report.py OUT.h5 --out DIR [--group G] [--max-tokens 20]
                                        [--max-variants 4] [--dpi 110]

Writes DIR/report.md and the PNG figures it embeds. It reads only the HDF5 file (through
load.py), never the model. The figures are the ones of the seed notebook
(experiment8_attention_patterns): the 2x2 grid of last-layer, head-mean attention maps of the
instruction variants and the layer entropy per variant; plus the head entropy map, the layer
prompt-sensitivity, the attention to few-shot example answers and the sink / previous-token /
induction head maps. Every number in the report's tables is read from /summary or from the
per-prompt /metrics columns (layer entropy, keyword occurrences) and printed with 4 significant
digits; an HTML comment ``<!-- table: NAME -->`` before each table names it, so tests can parse
it back.

The group shown in the per-group sections is --group, else the first group with at least 2
done prompts, else the first group. The attention grid is the notebook's
aggregate_attention(..., 'last_layer'), computed by load.py from the full maps; files that do
not store them (store: last_row / none) get the last query row of every layer instead, and
figures whose metrics are missing are skipped with a note in the report.

Needs Debian's python3-h5py, python3-numpy, python3-pandas and python3-matplotlib (seaborn is
not used). docs/ANALYSIS.md explains the report.
"""

import argparse
import hashlib
import math
import os
import re
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import load  # noqa: E402

# token strings may hold characters DejaVu Sans does not have (CJK, emoji): draw boxes, quietly
warnings.filterwarnings("ignore", message=r"Glyph .* missing from current font")

MAX_LINES = 12        # lines in the layer entropy plot, columns of per-variant tables
MAX_PROMPT_ROWS = 60  # rows of the prompt table
MAX_SENS_GROUPS = 6   # groups in the sensitivity bar chart


# ------------------------------------------------------------------------------------------
# formatting
# ------------------------------------------------------------------------------------------
def fmt(x):
    """A float as the report prints it: 4 significant digits, NaN as "NaN"."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    return format(x, ".4g")


def escape_token(t):
    """Control characters of a token as Python escapes (\\n, \\t, \\xNN); backslash doubled."""
    out = []
    for ch in t:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        else:
            out.append(ch)
    return "".join(out)


def tick_label(t, width=8):
    """A token as a tick label: the notebook's t[:8], control characters escaped, "$"
    escaped (matplotlib would start math mode), the empty string shown as ''."""
    s = escape_token(t[:width])
    if s == "":
        return "''"
    return s.replace("$", r"\$")


def md_escape(s):
    """Plain text for a Markdown table cell or heading."""
    s = str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for ch in "*_`[]<>#":
        s = s.replace(ch, "\\" + ch)
    return s


def md_code(s):
    """A string as a Markdown code span (for ids), safe inside a table."""
    s = escape_token(str(s)).replace("|", "\\|")
    if "`" in s:
        return "`` " + s + " ``"
    return "`" + s + "`"


def md_tok(t):
    """A token string as a Markdown code span 'like this' (quotes show empty / space tokens)."""
    return md_code("'" + str(t) + "'")


def slug(s):
    """A file-name-safe version of a group / prompt name (unique: hashed when changed)."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("._")
    if out != s or not out:
        out = (out[:40] or "x") + "-" + hashlib.sha1(s.encode("utf-8")).hexdigest()[:6]
    return out


def subplots(*args, **kw):
    """plt.subplots with the constrained layout (titles, labels and colorbars never overlap)."""
    kw.setdefault("layout", "constrained")
    return plt.subplots(*args, **kw)


class Markdown:
    """Collects the report text."""

    def __init__(self):
        self.lines = []

    def add(self, *lines):
        self.lines.extend(lines)

    def para(self, text):
        self.lines.extend([text, ""])

    def note(self, text):
        self.lines.extend(["> **Note:** " + text, ""])

    def table(self, name, header, rows):
        self.lines.append(f"<!-- table: {name} -->")
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + "|".join(["---"] * len(header)) + "|")
        for r in rows:
            self.lines.append("| " + " | ".join(str(c) for c in r) + " |")
        self.lines.append("")

    def text(self):
        return "\n".join(self.lines).rstrip() + "\n"


# ------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------
class Report:
    def __init__(self, sw, out, args):
        self.sw = sw
        self.out = out
        self.args = args
        self.md = Markdown()
        self.figures = []
        self.notes = []
        self.P = sw.prompts
        self.S = sw.summary()
        self.groups = sw.groups()
        self.done = set(self.P.loc[self.P["status"] == "done", "id"])
        # /summary row of each prompt id
        self.srow = {}
        if self.S and "prompt" in self.S:
            for r, pid in enumerate(self.S["prompt"]):
                self.srow[str(pid)] = r

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

    def variant_of(self, pid):
        return pid.split("/", 1)[1] if "/" in pid else pid

    def group_members(self, g):
        """Done prompt ids of group g, in file order (the summary's order when it has one)."""
        sg = self.S.get("groups", {}).get(g) if self.S else None
        if sg is not None and "prompt_index" in sg:
            ids = [self.P["id"].iloc[int(i)] for i in sg["prompt_index"]]
        else:
            ids = list(self.groups.get(g, []))
        return [p for p in ids if p in self.done]

    def model_layers(self, pid, n):
        lay = self.sw.layers(pid)
        return [int(x) for x in lay] if len(lay) == n else list(range(n))

    def model_heads(self, pid, n):
        hed = self.sw.heads(pid)
        return [int(x) for x in hed] if len(hed) == n else list(range(n))

    def metric(self, pid, name):
        """One done prompt's metric (load.py: one slice of the /metrics column), or None when
        it was not computed or is unavailable for the prompt's input (e.g. sink_mean after
        `attnsweep reduce` on a last_row file)."""
        if pid not in self.done:
            return None
        return self.sw.metric(pid, name)

    # -- choose the group ------------------------------------------------------------------
    def choose_group(self):
        if self.args.group is not None:
            if self.args.group not in self.groups:
                raise SystemExit(f"report.py: no group {self.args.group!r} in "
                                 f"{self.sw.path}; groups: {', '.join(self.groups)}")
            return self.args.group
        for g in self.groups:
            if len(self.group_members(g)) >= 2:
                return g
        for g in self.groups:
            if self.group_members(g):
                return g
        return next(iter(self.groups), None)

    # -- sections --------------------------------------------------------------------------
    def header(self):
        sw, md = self.sw, self.md
        a = sw.attrs()
        md.add(f"# attnsweep report: {md_escape(os.path.basename(sw.path))}", "")
        md.para("Generated by `analysis/report.py` from the HDF5 file alone. Numbers in the "
                "tables are read from `/summary` and `/metrics` (docs/METRICS.md defines them) "
                "and shown with 4 significant digits; entropies are in nats. Layers and heads "
                "are model indices.")
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
        md.para(f"{len(P)} prompts in {len(self.groups)} groups; status "
                + ", ".join(f"{k}: {v}" for k, v in counts.items())
                + f"; store {stores}.")
        rows = []
        for _, r in P.head(MAX_PROMPT_ROWS).iterrows():
            rows.append((md_code(r["id"]), int(r["n_tokens"]), r["store"], r["dtype"],
                         r["status"], int(r["rank"])))
        md.table("prompts", ["prompt", "tokens", "store", "dtype", "status", "rank"], rows)
        if len(P) > MAX_PROMPT_ROWS:
            md.para(f"(first {MAX_PROMPT_ROWS} of {len(P)} prompts; `load.open_sweep(file)"
                    ".prompts` has them all)")
        bad = P[P["status"] != "done"]
        if len(bad):
            md.para("Prompts that are not done are left out of every figure and of `/summary`:")
            for _, r in bad.iterrows():
                md.add(f"- {md_code(r['id'])}: {r['status']}"
                       + (f" — {md_escape(r['message'])}" if r["message"] else ""))
            md.add("")
        if not self.S:
            self.skip("Sweep statistics", "the file has no `/summary` (`attnsweep extract` "
                      "does not write one, and a run whose reduce step failed leaves none); "
                      "run `attnsweep reduce FILE` to add it. Sections that need it are "
                      "skipped; figures use the per-prompt metrics where they exist.")

    # key findings (the notebook's section 7) -----------------------------------------------
    def key_findings(self, g):
        """One table of the headline numbers, read from /summary and (layer entropy of the
        summarized prompts) /metrics."""
        S, md = self.S, self.md
        if not S:
            return
        rows = []
        lay_of = {}

        def lays(grp, n):
            if (grp, n) not in lay_of:
                m = self.group_members(grp)
                lay_of[(grp, n)] = self.model_layers(m[0], n) if m else list(range(n))
            return lay_of[(grp, n)]

        for pid in self.group_members(g)[:MAX_LINES]:
            e = self.metric(pid, "layer_entropy") if pid in self.srow else None
            if e is not None:
                rows.append(("last-layer entropy", md_code(g), md_escape(self.variant_of(pid)),
                             lays(g, len(e))[-1], "", fmt(e[-1])))
        for grp, d in S.get("groups", {}).items():
            if len(d.get("variant", [])) < 2 or "js_divergence" not in d:
                continue
            L = len(d["js_divergence"])
            for key, rank, what in (("js_divergence", "sensitivity_rank_js", "JS"),
                                    ("layer_entropy_std", "sensitivity_rank_entropy_std",
                                     "entropy std")):
                li = int(d[rank][0])
                if math.isnan(d[key][li]):
                    continue
                rows.append((f"most prompt-sensitive layer ({what})", md_code(grp), "",
                             lays(grp, L)[li], "", fmt(d[key][li])))
        for grp, d in S.get("groups", {}).items():
            if "example_top_layer" not in d:
                continue
            L, H = d["example_mass"].shape[1:]
            heads = self.model_heads(self.group_members(grp)[0], H)
            for i, v in enumerate(d["variant"]):
                if d["example_top_layer"][i, 0] >= 0 and d["example_top_mass"][i, 0] > 0:
                    rows.append(("top head on the example answers", md_code(grp),
                                 md_escape(v), lays(grp, L)[int(d["example_top_layer"][i, 0])],
                                 heads[int(d["example_top_head"][i, 0])],
                                 fmt(d["example_top_mass"][i, 0])))
        any_pid = next(iter(self.srow), None)
        for kind in ("focused", "distributed"):
            t = S.get("overall_most_" + kind)
            if t is None or not len(t) or any_pid is None:
                continue
            r = t.iloc[0]
            L, H = S["head_entropy_mean"].shape
            rows.append((f"most {kind} head (entropy, whole sweep)", "", "",
                         self.model_layers(any_pid, L)[int(r["layer"])],
                         self.model_heads(any_pid, H)[int(r["head"])], fmt(r["entropy"])))
        if rows:
            md.add("## Key findings", "")
            md.para("The headline numbers of the notebook's summary, from `/summary` (and "
                    "`/metrics/layer_entropy` for the summarized prompts); the sections below "
                    "show where they come from.")
            md.table("key_findings", ["finding", "group", "variant", "layer", "head", "value"],
                     rows)

    # 1. attention maps ---------------------------------------------------------------------
    def attention_map(self, pid):
        """(matrix [T, T], layer label, source) of the last layer's head mean (the notebook's
        aggregate_attention(..., 'last_layer'), computed by load.py from the full maps), or
        None when the file does not store them."""
        sw = self.sw
        if sw.store(pid) != "full":
            return None
        agg = sw.aggregate(pid, "last_layer")          # [T, T] float64
        lay = int(sw.layers(pid)[-1])
        return agg, lay, f"mean of {sw.n_heads} heads"

    def sec_attention(self, g):
        md, sw, args = self.md, self.sw, self.args
        md.add(f"## 1. Attention patterns — group {md_code(g)}", "")
        ids = self.group_members(g)[: args.max_variants]
        if not ids:
            self.skip("Attention maps", f"group {md_code(g)} has no done prompt")
            return
        maps = [(pid, self.attention_map(pid)) for pid in ids]
        full = [(pid, m) for pid, m in maps if m is not None]
        if full:
            n = len(full)
            ncol = 2 if n > 1 else 1
            nrow = (n + 1) // 2 if n > 1 else 1
            fig, axes = subplots(nrow, ncol, figsize=(8 * ncol, 7 * nrow), squeeze=False)
            axes = axes.ravel()
            for ax, (pid, (mat, lay, how)) in zip(axes, full):
                toks = sw.tokens(pid)
                T = len(toks)
                k = min(args.max_tokens, T)
                im = ax.imshow(mat[:k, :k], cmap="Blues", vmin=0, interpolation="nearest",
                               aspect="equal")
                labels = [tick_label(t) for t in toks[:k]]
                ax.set_xticks(range(k))
                ax.set_xticklabels(labels, rotation=45, ha="right", rotation_mode="anchor",
                                   fontsize=9)
                ax.set_yticks(range(k))
                ax.set_yticklabels(labels, fontsize=9)
                ax.set_xlabel("key (attended-to token)")
                ax.set_ylabel("query")
                extra = f", first {k} of {T} tokens" if k < T else ""
                ax.set_title(f"{self.variant_of(pid)}\n(layer {lay}, {how}{extra})")
                fig.colorbar(im, ax=ax, shrink=0.6)
            for ax in axes[len(full):]:
                ax.axis("off")
            fig.suptitle(f"Last-layer attention, group '{g}'", fontsize=14)
            self.save(fig, f"attention_{slug(g)}.png", f"attention maps of group {g}")
            md.para("Each panel is the last stored layer's attention averaged over heads "
                    "(the notebook's `aggregate_attention(..., 'last_layer')`, which "
                    "`load.aggregate` computes from the stored maps): row = query "
                    "token, column = the token it attends to; rows sum to 1 over all "
                    f"keys (only the first {args.max_tokens} tokens are drawn).")
            missing = [pid for pid, m in maps if m is None]
            if missing:
                self.skip("Attention maps", "no full maps for "
                          + ", ".join(md_code(p) for p in missing))
            if len(self.group_members(g)) > len(ids):
                md.para(f"(first {len(ids)} of {len(self.group_members(g))} variants; "
                        "`--max-variants` shows more)")
            return
        # no full maps anywhere: the last query row of every layer, if known
        rows = []
        for pid in ids:
            lr = self.metric(pid, "last_row_mean")
            if lr is None and sw.store(pid) == "last_row":
                lr = sw.attention(pid).mean(axis=1)
            if lr is not None:
                rows.append((pid, np.asarray(lr)))
        if not rows:
            self.skip("Attention maps", f"the prompts of group {md_code(g)} store no "
                      "attention (store: none) and have no metrics")
            return
        n = len(rows)
        fig, axes = subplots(n, 1, figsize=(10, 1.2 + 0.35 * rows[0][1].shape[0] * n + n),
                                 squeeze=False)
        for ax, (pid, lr) in zip(axes.ravel(), rows):
            toks = sw.tokens(pid)
            k = min(args.max_tokens, len(toks))
            L = lr.shape[0]
            im = ax.imshow(lr[:, :k], cmap="Blues", vmin=0, aspect="auto",
                           interpolation="nearest")
            ax.set_xticks(range(k))
            ax.set_xticklabels([tick_label(t) for t in toks[:k]], rotation=45, ha="right",
                               rotation_mode="anchor", fontsize=9)
            lays = self.model_layers(pid, L)
            step = max(1, L // 12)
            ax.set_yticks(range(0, L, step))
            ax.set_yticklabels([lays[i] for i in range(0, L, step)])
            ax.set_ylabel("layer")
            extra = f", first {k} of {len(toks)} tokens" if k < len(toks) else ""
            ax.set_title(f"{self.variant_of(pid)}: last query row, head mean{extra}")
            fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_xlabel("key (attended-to token)")
        fig.suptitle(f"Attention of the last token in every layer, group '{g}'", fontsize=13)
        self.save(fig, f"attention_{slug(g)}.png", f"last-row attention of group {g}")
        self.skip("Attention maps", "the file stores no full attention maps (store: "
                  f"{sw.store(ids[0])}); the figure shows the last query row of every layer "
                  "(head mean) instead of the notebook's query x key maps")

    # 2. layer entropy ----------------------------------------------------------------------
    def layer_entropy_data(self, g):
        """[(pid, entropy [L])] of the group's done prompts, from /metrics/layer_entropy."""
        out = []
        for pid in self.group_members(g):
            e = self.metric(pid, "layer_entropy")
            if e is not None:
                out.append((pid, e))
        return out

    def sec_layer_entropy(self, g):
        md = self.md
        md.add("## 2. Layer-wise attention entropy", "")
        data = self.layer_entropy_data(g)
        if not data:
            self.skip("Layer entropy", f"no metrics for group {md_code(g)}")
            return
        shown = data[:MAX_LINES]
        L = len(shown[0][1])
        lays = self.model_layers(shown[0][0], L)
        fig, ax = subplots(figsize=(10, 5.5))
        for pid, e in shown:
            ax.plot(lays, e, "o-", label=self.variant_of(pid), linewidth=2, markersize=6)
        ax.set_xlabel("Layer")
        ax.set_ylabel("Attention entropy (nats)")
        ax.set_title(f"Attention distribution across layers, group '{g}'\n"
                     "(last query row, head mean; higher = more distributed)")
        if L <= 32:
            ax.set_xticks(lays)
        ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5), title="variant")
        ax.grid(True, alpha=0.3)
        self.save(fig, f"layer_entropy_{slug(g)}.png", f"layer entropy of group {g}")
        if len(data) > MAX_LINES:
            md.para(f"(first {MAX_LINES} of {len(data)} variants)")
        shown = [(pid, e) for pid, e in shown if pid in self.srow]
        if not self.S or not shown:
            return
        md.para("`/metrics/layer_entropy` (the notebook's `compute_layer_entropy`) of each "
                "variant that `/summary` covers (`/summary/prompt_index` gives their rows); "
                "the last row is the notebook's \"last layer entropy\".")
        rows = []
        for li in range(L):
            rows.append([lays[li]] + [fmt(e[li]) for _, e in shown])
        md.table(f"layer_entropy:{g}", ["layer"] + [md_escape(self.variant_of(p))
                                                    for p, _ in shown], rows)

    # 3. sensitivity ------------------------------------------------------------------------
    def sec_sensitivity(self, g0):
        md = self.md
        md.add("## 3. Which layers are most prompt-sensitive?", "")
        if not self.S:
            self.skip("Layer prompt-sensitivity", "needs `/summary`")
            return
        G = self.S.get("groups", {})
        cands = [g for g, d in G.items() if len(d.get("variant", [])) >= 2
                 and "js_divergence" in d]
        if not cands:
            self.skip("Layer prompt-sensitivity", "no group has 2 or more done variants")
            return
        cands.sort(key=lambda g: g != g0)   # the report's group first
        shown = cands[:MAX_SENS_GROUPS]
        L = len(G[shown[0]]["js_divergence"])
        pid0 = self.group_members(shown[0])[0]
        lays = self.model_layers(pid0, L)
        fig, axes = subplots(1, 2, figsize=(13, 4.8))
        w = 0.8 / len(shown)
        x = np.arange(L)
        for i, g in enumerate(shown):
            d = G[g]
            off = (i - (len(shown) - 1) / 2) * w
            axes[0].bar(x + off, d["js_divergence"], w, label=g)
            axes[1].bar(x + off, d["layer_entropy_std"], w, label=g)
        axes[0].set_title("Mean pairwise Jensen-Shannon divergence\nof the last-row "
                          "attention on the shared question tokens")
        axes[0].set_ylabel("JS divergence (nats, max ln 2)")
        axes[1].set_title("Std of the layer entropy across variants")
        axes[1].set_ylabel("entropy std (nats)")
        step = max(1, L // 16)
        for ax, key in zip(axes, ("js_divergence", "layer_entropy_std")):
            if all(np.isnan(G[g][key]).all() for g in shown):
                ax.set_xlim(-0.5, L - 0.5)
                ax.text(0.5, 0.5, "NaN for every layer\n(the variants share no tokens, or a "
                        "group has\nfewer than 2 variants: docs/METRICS.md)",
                        transform=ax.transAxes, ha="center", va="center", fontsize=11,
                        color="0.35")
            ax.set_xlabel("Layer")
            ax.set_xticks(x[::step])
            ax.set_xticklabels([lays[i] for i in range(0, L, step)])
            ax.grid(True, axis="y", alpha=0.3)
            ax.legend(fontsize=9, title="group")
        fig.suptitle("Layer prompt-sensitivity (higher = the variants differ more)")
        self.save(fig, "sensitivity.png", "layer prompt-sensitivity")
        if len(cands) > len(shown):
            md.para(f"(figure: first {len(shown)} of {len(cands)} groups; tables below: all)")
        md.para("From `/summary`, one row per group (`/summary/group`): `js_divergence` "
                "compares the variants' head-mean last-row attention on the question tokens "
                "they share (`n_shared_tokens`); `layer_entropy_std` is the spread of the layer "
                "entropy. The rank tables (`sensitivity_rank_*`) list layers from most to least "
                "sensitive.")
        for g in cands:
            d = G[g]
            L = len(d["js_divergence"])
            lays = self.model_layers(self.group_members(g)[0], L)
            md.add(f"**Group {md_code(g)}** ({len(d['variant'])} variants, "
                   f"{d.get('n_shared_tokens', '?')} shared tokens)", "")
            md.table(f"sensitivity:{g}", ["layer", "JS divergence", "entropy std"],
                     [(lays[i], fmt(d["js_divergence"][i]), fmt(d["layer_entropy_std"][i]))
                      for i in range(L)])
            md.table(f"sensitivity_rank:{g}", ["rank", "layer by JS", "layer by entropy std"],
                     [(r + 1, lays[int(d["sensitivity_rank_js"][r])],
                       lays[int(d["sensitivity_rank_entropy_std"][r])]) for r in range(L)])

    # 4. prefix / question mass -------------------------------------------------------------
    def sec_spans(self, g):
        md = self.md
        md.add("## 4. Does the instruction change where the last token looks?", "")
        d = self.S.get("groups", {}).get(g) if self.S else None
        if d is None or "prefix_mass" not in d:
            self.skip("Instruction effect", "needs `/summary` rows of group %s" % md_code(g))
            return
        V, L = d["prefix_mass"].shape
        nv = min(V, MAX_LINES)
        lays = self.model_layers(self.group_members(g)[0], L)
        fig, axes = subplots(1, 2, figsize=(13, 4.8), sharey=True)
        for i in range(nv):
            axes[0].plot(lays, d["prefix_mass"][i], "o-", label=d["variant"][i])
            axes[1].plot(lays, d["question_mass"][i], "o-", label=d["variant"][i])
        axes[0].set_title("on the instruction prefix")
        axes[1].set_title("on the shared question")
        axes[0].set_ylabel("attention mass of the last token (head mean)")
        for ax in axes:
            ax.set_xlabel("Layer")
            ax.grid(True, alpha=0.3)
            if L <= 32:
                ax.set_xticks(lays)
        axes[1].legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5),
                       title="variant")
        fig.suptitle(f"Where the last token attends, group '{g}'")
        self.save(fig, f"span_mass_{slug(g)}.png", f"prefix and question mass of group {g}")
        md.para("`/summary/prefix_mass` and `question_mass` [member, layer], the rows of group "
                "%s (`group_start`, `group_count`): the head-mean attention mass of the last "
                "query on the text before the shared question (the instruction) and on the "
                "question itself. The rest goes to BOS and the template's other tokens."
                % md_code(g))
        hdr = ["layer"] + [f"prefix: {md_escape(v)}" for v in d["variant"][:nv]] + \
              [f"question: {md_escape(v)}" for v in d["variant"][:nv]]
        rows = []
        for li in range(L):
            rows.append([lays[li]] + [fmt(d["prefix_mass"][i, li]) for i in range(nv)]
                        + [fmt(d["question_mass"][i, li]) for i in range(nv)])
        md.table(f"span_mass:{g}", hdr, rows)

    # 5. few-shot ---------------------------------------------------------------------------
    def sec_fewshot(self):
        md = self.md
        md.add("## 5. Few-shot: attention to the example answers", "")
        if not self.S:
            self.skip("Few-shot", "needs `/summary`")
            return
        fs = [g for g, d in self.S.get("groups", {}).items() if "example_mass" in d]
        if not fs:
            self.skip("Few-shot", "this sweep has no few-shot group (no group declares spans "
                      "named `example_answer*`), so there is no few-shot figure")
            return
        for g in fs:
            d = self.S["groups"][g]
            em = d["example_mass"]                     # [V, L, H]
            V, L, H = em.shape
            ids = self.group_members(g)
            lays = self.model_layers(ids[0], L)
            heads = self.model_heads(ids[0], H)
            hm = em.mean(axis=2)                       # head mean [V, L]
            best = int(np.argmax(em.sum(axis=(1, 2))))
            fig, axes = subplots(1, 2, figsize=(14, 5),
                                     gridspec_kw={"width_ratios": [1.1, 1]})
            ax = axes[0]
            w = 0.8 / V
            x = np.arange(L)
            for i in range(V):
                ax.bar(x + (i - (V - 1) / 2) * w, hm[i], w, label=d["variant"][i])
            step = max(1, L // 16)
            ax.set_xticks(x[::step])
            ax.set_xticklabels([lays[i] for i in range(0, L, step)])
            ax.set_xlabel("Layer")
            ax.set_ylabel("mass on example answers (head mean)")
            ax.set_title("Last token's attention to the example answers")
            ax.grid(True, axis="y", alpha=0.3)
            ax.legend(fontsize=9)
            ax = axes[1]
            im = ax.imshow(em[best], cmap="Oranges", vmin=0, aspect="auto",
                           interpolation="nearest")
            self.head_axes(ax, lays, heads)
            if L * H <= 96:
                self.annotate(ax, im, em[best])
            ax.set_title(f"per head, {d['variant'][best]}")
            fig.colorbar(im, ax=ax, shrink=0.85, label="mass on example answers")
            fig.suptitle(f"Few-shot group '{g}': do the examples create attention shortcuts?")
            self.save(fig, f"fewshot_{slug(g)}.png", f"few-shot attention of group {g}")
            md.para("`/summary/example_mass` [member, layer, head], the rows of group %s, "
                    "is the last query's attention mass on the `example_answer*` spans (e.g. "
                    "\"A: 7\"); "
                    "the table shows its mean over heads (the notebook's \"total attention to "
                    "example answers\" is the last row), then the heads with the most mass "
                    "(`example_top_*`; heads with no mass, e.g. all of a 0-shot prompt's, are left "
                    "out)." % md_code(g))
            md.table(f"example_mass:{g}", ["layer"] + [md_escape(v) for v in d["variant"]],
                     [[lays[li]] + [fmt(hm[i, li]) for i in range(V)] for li in range(L)])
            rows = []
            for i, v in enumerate(d["variant"]):
                for r in range(d["example_top_layer"].shape[1]):
                    la = int(d["example_top_layer"][i, r])
                    if la < 0 or d["example_top_mass"][i, r] == 0:
                        continue
                    rows.append((md_escape(v), r + 1, lays[la],
                                 heads[int(d["example_top_head"][i, r])],
                                 fmt(d["example_top_mass"][i, r])))
            md.table(f"example_top:{g}", ["variant", "rank", "layer", "head", "mass"], rows)

    # 6. head entropy -----------------------------------------------------------------------
    def head_axes(self, ax, lays, heads):
        L, H = len(lays), len(heads)
        ls, hs = max(1, math.ceil(L / 12)), max(1, math.ceil(H / 16))
        ax.set_yticks(range(0, L, ls))
        ax.set_yticklabels([lays[i] for i in range(0, L, ls)])
        ax.set_xticks(range(0, H, hs))
        ax.set_xticklabels([heads[i] for i in range(0, H, hs)])
        ax.set_ylabel("layer")
        ax.set_xlabel("head")

    def annotate(self, ax, im, m):
        """Write each cell's value, black on light colours and white on dark ones."""
        for (i, j), v in np.ndenumerate(m):
            if np.isfinite(v):
                r, g, b, _ = im.cmap(im.norm(v))
                lum = 0.299 * r + 0.587 * g + 0.114 * b
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                        color="black" if lum > 0.5 else "white")

    def head_entropy_data(self, g):
        out = []
        for pid in self.group_members(g):
            e = self.metric(pid, "head_entropy")
            if e is not None:
                out.append((pid, e))
        return out

    def sec_heads(self, g):
        md, args = self.md, self.args
        md.add("## 6. Head specialization", "")
        data = self.head_entropy_data(g)
        if data:
            shown = data[: args.max_variants]
            mean = np.mean([e for _, e in data], axis=0)
            panels = [(f"mean over {len(data)} prompts", mean)] + \
                     [(self.variant_of(p), e) for p, e in shown]
            L, H = mean.shape
            lays = self.model_layers(data[0][0], L)
            heads = self.model_heads(data[0][0], H)
            n = len(panels)
            ncol = min(3, n)
            nrow = math.ceil(n / ncol)
            pw = min(6.0, max(3.5, 0.22 * H + 1.5))
            ph = min(6.0, max(2.8, 0.22 * L + 1.2))
            fig, axes = subplots(nrow, ncol, figsize=(pw * ncol + 1.2, ph * nrow + 0.6),
                                     squeeze=False)
            vals = np.concatenate([m.ravel() for _, m in panels])
            vmin, vmax = float(np.nanmin(vals)), float(np.nanmax(vals))
            for ax, (title, m) in zip(axes.ravel(), panels):
                im = ax.imshow(m, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto",
                               interpolation="nearest")
                self.head_axes(ax, lays, heads)
                if L * H <= 64:
                    self.annotate(ax, im, m)
                ax.set_title(title)
            for ax in axes.ravel()[n:]:
                ax.axis("off")
            fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8,
                         label="entropy of the last query row (nats)")
            fig.suptitle(f"Head entropy, group '{g}' (low = focused, high = distributed)")
            self.save(fig, f"head_entropy_{slug(g)}.png", f"head entropy of group {g}")
            md.para("`/metrics/head_entropy` [prompt, layer, head]: each prompt's entropy of "
                    "the last query row per head (`analyze_head_specialization`); the first "
                    "panel averages the group.")
        else:
            self.skip("Head entropy", f"no metrics for group {md_code(g)}")
        if not self.S:
            return
        lays = None
        if "head_entropy_mean" in self.S:
            L, H = self.S["head_entropy_mean"].shape
            any_pid = next(iter(self.srow), None)
            lays = self.model_layers(any_pid, L) if any_pid else list(range(L))
            heads = self.model_heads(any_pid, H) if any_pid else list(range(H))
        for kind, word in (("focused", "lowest"), ("distributed", "highest")):
            t = self.S.get("overall_most_" + kind)
            if t is None or lays is None:
                continue
            md.add(f"**Most {kind} heads over the whole sweep** ({word} entropy of "
                   "`head_entropy_mean`; token = the head's most frequent focus token)", "")
            md.table(f"{kind}:overall", ["rank", "layer", "head", "entropy", "focus token"],
                     [(r.rank + 1, lays[r.layer], heads[r.head], fmt(r.entropy),
                       md_tok(r.token)) for r in t.itertuples()])
        for pid in self.group_members(g)[: args.max_variants]:
            if pid not in self.srow:
                continue
            for kind in ("focused", "distributed"):
                t = self.S.get("most_" + kind)
                if t is None:
                    continue
                t = t[t["prompt"] == pid]
                md.add(f"**Most {kind} heads, {md_code(pid)}**", "")
                md.table(f"{kind}:{pid}", ["rank", "layer", "head", "entropy", "focus token"],
                         [(r.rank + 1, lays[r.layer], heads[r.head], fmt(r.entropy),
                           md_tok(r.token)) for r in t.itertuples()])

    # 7. head roles -------------------------------------------------------------------------
    def sec_roles(self, g):
        md = self.md
        md.add("## 7. Head roles: attention sinks, previous-token and induction heads", "")
        ids = self.group_members(g)
        specs = [("sink_mean", "BOS / sink: mean_i A[i, 0]"),
                 ("prev_token", "previous token: mean_i A[i, i-1]"),
                 ("induction", "induction score")]
        panels, missing = [], []
        for name, title in specs:
            ms = [self.metric(p, name) for p in ids]
            ms = [m for m in ms if m is not None]
            if not ms and name == "sink_mean":
                ms = [m for m in (self.metric(p, "sink_last") for p in ids) if m is not None]
                if ms:
                    title = "BOS / sink: A[T-1, 0] (last row only)"
                    missing.append("`sink_mean` (using `sink_last`)")
            if ms:
                panels.append((title, np.nanmean(np.stack(ms), axis=0), len(ms)))
            elif name != "sink_mean" or not ms:
                missing.append(f"`{name}`")
        if not panels:
            self.skip("Head roles", f"the prompts of group {md_code(g)} have no head metrics")
            return
        L, H = panels[0][1].shape
        lays, heads = self.model_layers(ids[0], L), self.model_heads(ids[0], H)
        pw = min(6.0, max(3.8, 0.22 * H + 1.8))
        ph = min(6.0, max(2.8, 0.22 * L + 1.2))
        fig, axes = subplots(1, len(panels), figsize=(pw * len(panels), ph + 0.8),
                                 squeeze=False)
        for ax, (title, m, n) in zip(axes.ravel(), panels):
            im = ax.imshow(m, cmap="magma", vmin=0, aspect="auto", interpolation="nearest")
            self.head_axes(ax, lays, heads)
            if L * H <= 64:
                self.annotate(ax, im, m)
            ax.set_title(title, fontsize=10)
            fig.colorbar(im, ax=ax, shrink=0.85)
        fig.suptitle(f"Head roles, mean over the {len(ids)} prompts of group '{g}'")
        self.save(fig, f"head_roles_{slug(g)}.png", f"head roles of group {g}")
        md.para("Per-prompt head metrics (docs/METRICS.md, \"Head metrics\") averaged over the "
                "group: a sink head sends its attention to BOS, a previous-token head to the "
                "token just before the query, an induction head to the token after an earlier "
                "copy of the current token.")
        if missing:
            self.skip("Head roles", "not available for these prompts (they need the full "
                      "attention maps): " + ", ".join(missing))

    # 8. keywords ---------------------------------------------------------------------------
    def sec_keywords(self, g):
        md, sw = self.md, self.sw
        md.add("## 8. Attention to keywords", "")
        ids = self.group_members(g)[: self.args.max_variants]
        any_table = False
        for pid in ids:
            m = sw.metrics(pid)
            t = m.get("keywords_table")
            if t is None or len(m.get("keywords", [])) == 0:
                continue
            if not any_table:
                md.para("From each prompt's stored metrics (`keyword_occ_*`): every occurrence "
                        "of a keyword in the text, the tokens covering it, and the last "
                        "layer's head-mean attention of the last token on them, summed. Unlike "
                        "the notebook's token-substring rule this finds multi-digit numbers "
                        "such as \"15\" (split into \"1\", \"5\").")
                any_table = True
            toks = sw.tokens(pid)
            rows = []
            for r in t.itertuples():
                ts = "".join(toks[r.token_first:r.token_end]) if r.token_first >= 0 else ""
                rows.append((md_escape(r.keyword), f"{r.byte_begin}:{r.byte_end}",
                             f"{r.token_first}:{r.token_end}" if r.token_first >= 0 else "none",
                             md_tok(ts), fmt(r.mass_last_layer)))
            md.add(f"**{md_code(pid)}**", "")
            if rows:
                md.table(f"keywords:{pid}", ["keyword", "bytes [b:e)", "tokens [first:end)",
                                             "token text",
                                             "mass (last layer)"], rows)
            else:
                md.para("(no keyword occurs in this prompt)")
        if not any_table:
            self.skip("Keyword attention", "the sweep declares no `analysis.keywords` (or the "
                      "prompts have no metrics)")

    # -- all -------------------------------------------------------------------------------
    def run(self):
        self.header()
        self.prompt_table()
        g = self.choose_group()
        if g is None:
            self.skip("Figures", "the file has no prompts")
        else:
            self.md.para(f"Per-group sections show group {md_code(g)} "
                         f"({len(self.group_members(g))} done prompts); `--group` picks "
                         "another one. Groups: " + ", ".join(md_code(x) for x in self.groups)
                         + ".")
            self.key_findings(g)
            self.sec_attention(g)
            self.sec_layer_entropy(g)
            self.sec_sensitivity(g)
            self.sec_spans(g)
            self.sec_fewshot()
            self.sec_heads(g)
            self.sec_roles(g)
            self.sec_keywords(g)
        path = os.path.join(self.out, "report.md")
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.md.text())
        return path


def main(argv=None):
    ap = argparse.ArgumentParser(description="Figures and a Markdown report from an attnsweep "
                                 "HDF5 file (docs/ANALYSIS.md).")
    ap.add_argument("file", help="the attnsweep output file (OUT.h5)")
    ap.add_argument("--out", required=True, help="output folder (created if needed)")
    ap.add_argument("--group", help="group for the per-group figures (default: the first "
                    "group with at least 2 done prompts)")
    ap.add_argument("--max-tokens", type=int, default=20,
                    help="tokens shown on the attention maps' axes (default 20)")
    ap.add_argument("--max-variants", type=int, default=4,
                    help="variants in the attention grid and per-prompt panels (default 4)")
    ap.add_argument("--dpi", type=int, default=110, help="PNG resolution (default 110)")
    args = ap.parse_args(argv)
    if args.max_tokens < 1 or args.max_variants < 1 or args.dpi < 20:
        ap.error("--max-tokens and --max-variants must be >= 1, --dpi >= 20")
    try:
        sw = load.open_sweep(args.file)
    except (OSError, ValueError) as e:
        print(f"report.py: cannot read {args.file}: {e}", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    with sw:
        rep = Report(sw, args.out, args)
        path = rep.run()
    print(f"report.py: wrote {path} and {len(rep.figures)} figures")
    for n in rep.notes:
        print(f"report.py: note: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
