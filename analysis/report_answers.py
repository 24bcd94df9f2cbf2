"""report_answers.py - the report's one-page answers to the sweep's three questions.

Q1  Does "Let's think step by step" change attention to the intermediate tokens?
Q2  Do few-shot examples create attention shortcuts?
Q3  Which layers are most sensitive to the prompt?

Each answer is built from /summary alone (load.Stats: statistics by label, paired contrasts,
layer sensitivity, JS divergence) and is either numbers with their bootstrap intervals or a
sentence saying why this sweep cannot answer. Nothing here plots or writes files: report.py
renders the rows. Every number an answer prints is one table cell, and its ``source`` cell
names the /summary dataset and the positions it was read at, so tests can check it.
"""

import re

import numpy as np

from report_text import fmt, fmt_pct, md_code, md_escape

#: words that mark a chain-of-thought variant / contrast ("cot", "step", "think", ...)
COT_WORDS = {"cot", "step", "steps", "think", "thinking", "chain", "reasoning", "stepbystep"}
#: words that mark a plain / baseline variant
PLAIN_WORDS = {"plain", "base", "baseline", "none", "control", "direct", "vanilla"}
#: span names whose mass is attention to few-shot example answers (docs/METRICS.md)
EXAMPLE_PREFIX = "example_answer"
#: rows per quantity in an answer (the layers with the largest effect)
TOP_LAYERS = 3
#: fewer pairs (contrast) than this: the answer gives the numbers but no yes / no
MIN_PAIRS = 5


def words(s):
    return set(re.split(r"[^a-z0-9]+", str(s).lower())) - {""}


def is_cot(s):
    return bool(words(s) & COT_WORDS) or "step by step" in str(s).lower()


def is_plain(s):
    return bool(words(s) & PLAIN_WORDS)


def is_fewshot(s):
    s = str(s).lower()
    return bool(re.search(r"few|shot|example", s))


class Row:
    """One answer row: what was measured, for whom, on which tokens and layer, the value and
    its interval, and where in /summary it was read (stem, positions)."""

    def __init__(self, what, who, tokens, layer, value, lo=None, hi=None, same=None, n=None,
                 source=None, index=()):
        self.what, self.who, self.tokens, self.layer = what, who, tokens, layer
        self.value, self.lo, self.hi, self.same, self.n = value, lo, hi, same, n
        self.source, self.index = source, tuple(int(i) for i in index)

    def interval(self):
        return "" if self.lo is None else f"[{fmt(self.lo)}, {fmt(self.hi)}]"

    def ci(self):
        """value [lo, hi] as the verdict quotes it."""
        return fmt(self.value) + ("" if self.lo is None else " " + self.interval())

    def cells(self):
        src = f"`{self.source}` [{', '.join(str(i) for i in self.index)}]"
        return [md_escape(self.what), self.who, md_escape(self.tokens), self.layer,
                fmt(self.value), self.interval(), "" if self.same is None else fmt_pct(self.same),
                "" if self.n is None else int(self.n), src]


HEADER = ["measure", "label / contrast / group", "tokens", "layer", "value", "interval",
          "same sign", "n", "source"]


class Answer:
    """What report.py prints for one question: a verdict (Markdown), the rows behind it, and
    notes (what was left out, or why the sweep cannot answer)."""

    def __init__(self, key, title):
        self.key, self.title = key, title
        self.verdict = []
        self.rows = []
        self.notes = []
        self.answered = False

    def cannot(self, why):
        self.verdict.append("**The sweep cannot answer this:** " + why[:1].upper() + why[1:])
        return self


def plural(n, word):
    n = int(n)
    return f"{n} {word}" + ("" if n == 1 else "s")


def excludes_zero(lo, hi):
    return bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))


def top_layers(v, k=TOP_LAYERS, key=np.abs):
    """Positions of the k largest key(v) (NaN last, ties to the lower layer)."""
    v = np.asarray(v, np.float64)
    s = np.where(np.isfinite(v), key(v), -np.inf)
    order = np.argsort(-s, kind="stable")
    return [int(i) for i in order[:k] if np.isfinite(v[i])]


class Context:
    """What the answers read: load.Stats, the stored layers' model ids, the options."""

    def __init__(self, stats, layers, args):
        self.st = stats
        self.layers = [int(x) for x in layers]
        self.args = args
        self.conf = int(round(100 * (stats.confidence if stats is not None else 0.95)))

    def lay(self, i):
        return self.layers[i] if 0 <= i < len(self.layers) else i

    def label_name(self, li):
        lab = self.st.labels.iloc[li]
        return md_code(f"{lab['column']}={lab['value']}")


# ------------------------------------------------------------------------------------------
def contrast_rows(cx, ans, ci, q, what, tok_axis=None, tok=None, k=TOP_LAYERS):
    """Rows of the k layers with the largest |a - b| of contrast ci, quantity q (span or
    keyword tok). Returns (rows, layers whose interval excludes 0, L) or None."""
    st = cx.st
    c = st.contrast(q)
    if c is None or "lo" not in c:
        return None
    if tok_axis is None:
        idx = (ci,)
    else:
        names = st.span_names if tok_axis == "span" else st.keywords
        if tok not in names:
            return None
        idx = (ci, names.index(tok))
    m, lo, hi = c["mean"][idx], c["lo"][idx], c["hi"][idx]
    same = c.get("same_sign")
    sig = [i for i in range(len(m)) if excludes_zero(lo[i], hi[i])]
    rows = []
    name = st.contrasts["name"].iloc[ci]
    cnt = st.contrast_count(q)
    n = int(cnt[idx]) if cnt is not None else int(st.contrasts["n_pairs"].iloc[ci])
    for li in top_layers(m, k):
        rows.append(Row(what, md_code(name), tok or "", cx.lay(li), m[li], lo[li], hi[li],
                        None if same is None else same[idx + (li,)], n, f"contrast_{q}_*",
                        idx + (li,)))
    return rows, sig, len(m)


def find_contrast(cx, option, test):
    """(position, others) of the contrast named by the option, else of the first contrast
    whose name or values pass test; None when there is none. Raises LookupError for an
    option that names no contrast."""
    C = cx.st.contrasts
    if C is None or not len(C):
        return None
    if option:
        hit = [i for i, n in enumerate(C["name"]) if n == option]
        if not hit:
            raise LookupError(f"no contrast named {md_code(option)}; the file has "
                              + ", ".join(md_code(n) for n in C["name"]))
        return hit[0], []
    hit = [i for i in range(len(C)) if test(C["name"].iloc[i]) or test(C["a"].iloc[i])
           or test(C["b"].iloc[i])]
    if not hit:
        return None
    return hit[0], hit[1:]


def describe_contrast(cx, ci):
    C = cx.st.contrasts.iloc[ci]
    return (f"contrast {md_code(C['name'])} ({md_code(C['column'])}: {md_code(C['a'])} − "
            f"{md_code(C['b'])}, {plural(C['n_pairs'], 'pair')})")


def no_stats_reason():
    return ("`/summary` has no statistics by label or contrast (the file was reduced by an "
            "attnsweep without them); run `attnsweep reduce FILE` with this attnsweep.")


# ------------------------------------------------------------------------------------------
def q1(cx):
    ans = Answer("q1", "Does \"Let's think step by step\" change attention to the "
                 "intermediate tokens?")
    st = cx.st
    if st is None or (st.contrasts is None and st.labels is None):
        return ans.cannot(no_stats_reason())
    span = cx.args.q1_span
    try:
        found = find_contrast(cx, cx.args.q1_contrast, is_cot)
    except LookupError as e:
        return ans.cannot(str(e))
    if found is not None:
        ci, others = found
        C = st.contrasts.iloc[ci]
        if int(C["n_pairs"]) == 0:
            return ans.cannot(f"{describe_contrast(cx, ci)} pairs no prompts: no "
                              f"{md_code(C['a'])} prompt has a {md_code(C['b'])} partner "
                              "with the same `pair_on` values.")
        parts = []
        have_span = span in st.span_names
        if have_span:
            parts.append(("span_mass", f"mass on the {span} tokens", "span", span))
        if "prefix" in st.span_names and span != "prefix":
            parts.append(("span_mass", "mass on the instruction (prefix)", "span", "prefix"))
        parts.append(("layer_entropy", "layer entropy (nats)", None, None))
        primary = None
        for q, what, axis, tok in parts:
            r = contrast_rows(cx, ans, ci, q, what, axis, tok)
            if r is None:
                continue
            ans.rows += r[0]
            if primary is None and r[0]:
                primary = (what, tok, r)
        if primary is None:
            return ans.cannot(f"`/summary` has no interval for {describe_contrast(cx, ci)} "
                              f"(no `contrast_span_mass_*` on {md_code(span)} and no "
                              "`contrast_layer_entropy_*`).")
        what, tok, (rows, sig, L) = primary
        best = rows[0]
        who = f"{md_code(C['a'])} − {md_code(C['b'])}"
        if best.n is not None and best.n < MIN_PAIRS:
            ans.verdict.append(
                f"**Too few pairs to tell.** {describe_contrast(cx, ci)[:1].upper()}"
                f"{describe_contrast(cx, ci)[1:]} has {plural(best.n, 'pair')} with {what}; "
                f"the largest difference is layer {best.layer}, {who} = {best.ci()}, but an "
                f"interval over fewer than {MIN_PAIRS} pairs is no answer.")
        elif sig:
            ans.verdict.append(
                f"**Yes.** For {describe_contrast(cx, ci)}, the {cx.conf}% interval of the "
                f"paired difference in {what} excludes 0 in {len(sig)} of {L} layers. The "
                f"largest: layer {best.layer}, {who} = {best.ci()}"
                + (f", the same sign in {fmt_pct(best.same)} of the pairs." if best.same
                   is not None else "."))
        else:
            ans.verdict.append(
                f"**No detectable change.** For {describe_contrast(cx, ci)}, every {cx.conf}% "
                f"interval of the paired difference in {what} includes 0; the largest is "
                f"layer {best.layer}, {who} = {best.ci()}.")
        if not have_span:
            ans.notes.append(f"no span named {md_code(span)} in `/summary/span_name` "
                             "(`--q1-span` picks another)")
        if others:
            ans.notes.append("other chain-of-thought contrasts (`--q1-contrast` picks one): "
                             + ", ".join(md_code(st.contrasts['name'].iloc[i]) for i in others))
        ans.answered = True
        return ans
    return q1_unpaired(cx, ans, span)


def q1_unpaired(cx, ans, span):
    """No chain-of-thought contrast: compare a cot-like label with a plain-like label of the
    same `by` column, unpaired, on the span's mass."""
    st = cx.st
    L = st.labels
    bs = st.by("span_mass")
    cnt = st.by_count("span_mass")
    if L is None or bs is None or "lo" not in bs or span not in st.span_names:
        return ans.cannot("no contrast compares a chain-of-thought variant (a contrast named "
                          "like `cot-plain`, or `--q1-contrast NAME`), and `/summary` has no "
                          f"by-label mass on {md_code(span)} to compare labels with. Declare "
                          "`analysis.contrasts: [{name: cot-plain, column: variant, a: cot, "
                          "b: plain, pair_on: [...]}]`.")
    si = st.span_names.index(span)
    for col in st.by_columns:
        pos = [int(i) for i in st.label_index(col) if cnt is None or cnt[i, si] > 0]
        cot = [i for i in pos if is_cot(L["value"].iloc[i])]
        plain = [i for i in pos if is_plain(L["value"].iloc[i])]
        if cot and plain:
            a, b = cot[0], plain[0]
            d = bs["mean"][a, si] - bs["mean"][b, si]
            li = top_layers(d, 1)
            if not li:
                continue
            li = li[0]
            for x in (a, b):
                ans.rows.append(Row(f"mass on the {span} tokens", cx.label_name(x), span,
                                    cx.lay(li), bs["mean"][x, si, li], bs["lo"][x, si, li],
                                    bs["hi"][x, si, li], None,
                                    None if cnt is None else cnt[x, si], "by_span_mass_*",
                                    (x, si, li)))
            ra, rb = ans.rows[-2], ans.rows[-1]
            overlap = not (ra.lo > rb.hi or rb.lo > ra.hi)
            ans.verdict.append(
                f"**Unpaired comparison** (no chain-of-thought contrast is declared): at "
                f"layer {ra.layer}, where the two labels differ most, the last token puts "
                f"{ra.ci()} of its attention on the {span} tokens for {ra.who} and "
                f"{rb.ci()} for {rb.who}; the {cx.conf}% intervals "
                + ("overlap, so this sweep shows no clear change."
                   if overlap else "do not overlap: **yes**, the attention changes."))
            ans.notes.append("a paired contrast (`analysis.contrasts`) gives a sharper "
                             "answer than comparing label means")
            ans.answered = True
            return ans
    return ans.cannot("no contrast compares a chain-of-thought variant (name one like "
                      "`cot-plain`, or pass `--q1-contrast NAME`), and no `by` column has both "
                      "a chain-of-thought label (cot / step / think) and a plain one with "
                      f"{md_code(span)} tokens.")


# ------------------------------------------------------------------------------------------
def q2(cx):
    ans = Answer("q2", "Do few-shot examples create attention shortcuts?")
    st = cx.st
    if st is None or (st.labels is None and st.contrasts is None):
        return ans.cannot(no_stats_reason())
    ex = [s for s in st.span_names if s.startswith(EXAMPLE_PREFIX)]
    if not ex:
        return ans.cannot("no prompt declares an `example_answer*` span (`spans:` in "
                          "docs/SWEEP.md), so there are no few-shot examples to measure.")
    bs = st.by("span_mass")
    cnt = st.by_count("span_mass")
    if bs is None or "lo" not in bs:
        return ans.cannot("`/summary` has no `by_span_mass_*` intervals.")
    best = []
    for s in ex[:2]:
        si = st.span_names.index(s)
        pos = [i for i in range(len(st.labels)) if cnt is None or cnt[i, si] > 0]
        peak = {i: np.nanmax(bs["mean"][i, si]) if np.isfinite(bs["mean"][i, si]).any()
                else -np.inf for i in pos}
        # the labels with an interval (2 or more prompts) if any; the largest first, then the
        # highest peak (stable: ties keep the label order)
        with_ci = [i for i in pos if np.isfinite(bs["lo"][i, si]).any()]
        pos = with_ci or pos
        pos.sort(key=lambda i: (-(cnt[i, si] if cnt is not None else 0), -peak[i]))
        for x in pos[:TOP_LAYERS]:
            li = top_layers(bs["mean"][x, si], 1, key=lambda v: v)
            if not li:
                continue
            li = li[0]
            r = Row("mass on the example answers", cx.label_name(x), s, cx.lay(li),
                    bs["mean"][x, si, li], bs["lo"][x, si, li], bs["hi"][x, si, li], None,
                    None if cnt is None else cnt[x, si], "by_span_mass_*", (x, si, li))
            ans.rows.append(r)
            best.append(r)
    if not best:
        return ans.cannot("the `example_answer*` spans cover no token of any summarized "
                          "prompt (`by_span_count` is 0).")
    top = max(best, key=lambda r: (r.lo is not None and np.isfinite(r.lo),
                                   r.value if np.isfinite(r.value) else -np.inf))
    ans.verdict.append(
        f"The last token puts up to {top.ci()} of its attention on the example answers "
        f"({md_code(top.tokens)}, {top.who}, layer {top.layer}, "
        f"{plural(top.n, 'prompt') if top.n is not None else 'all prompts'}).")
    try:
        found = find_contrast(cx, cx.args.q2_contrast, is_fewshot)
    except LookupError as e:
        ans.notes.append(str(e))
        found = None
    if found is None:
        ans.verdict.append("No contrast pairs few-shot prompts with zero-shot ones (a contrast "
                           "named like `2shot-0shot`, or `--q2-contrast NAME`), so the sweep "
                           "cannot say whether this is a shortcut rather than ordinary "
                           "attention to the context.")
        ans.answered = True
        return ans
    ci, _ = found
    C = st.contrasts.iloc[ci]
    if int(C["n_pairs"]) == 0:
        ans.verdict.append(f"{describe_contrast(cx, ci)} pairs no prompts, so there is no "
                           "paired comparison with the zero-shot prompts.")
        ans.answered = True
        return ans
    shown = None
    for q, what in (("induction", "induction score (head mean)"),
                    ("layer_entropy", "layer entropy (nats)")):
        r = contrast_rows(cx, ans, ci, q, what)
        if r is None or not r[0]:
            continue
        ans.rows += r[0]
        if shown is None:
            shown = (what, r)
    if shown is None:
        ans.notes.append(f"`/summary` has no induction or entropy interval for "
                         f"{describe_contrast(cx, ci)}")
    else:
        what, (rows, sig, L) = shown
        b = rows[0]
        if b.n is not None and b.n < MIN_PAIRS:
            ans.verdict.append(
                f"Paired with their zero-shot partners in {describe_contrast(cx, ci)}, the "
                f"{what} changes by {b.ci()} at layer {b.layer}, but {plural(b.n, 'pair')} "
                f"are too few to tell (at least {MIN_PAIRS}).")
            ans.answered = True
            return ans
        ans.verdict.append(
            f"Paired with their zero-shot partners in {describe_contrast(cx, ci)}, the "
            f"{what} changes by {b.ci()} at layer {b.layer}; "
            + (f"**yes**: the {cx.conf}% interval excludes 0 in {len(sig)} of {L} layers, "
               "the examples change how the last token attends."
               if sig else f"every {cx.conf}% interval includes 0: **no detectable shortcut**."))
    ans.answered = True
    return ans


# ------------------------------------------------------------------------------------------
def q3(cx, old_js=None):
    """old_js: for files without js_pairs, {group index: n_shared_tokens} (the legacy JS is
    quoted only for groups sharing at least js_min_shared tokens)."""
    ans = Answer("q3", "Which layers are most sensitive to the prompt?")
    st = cx.st
    if st is None:
        return ans.cannot(no_stats_reason())
    sens = st.sensitivity()
    said = False
    if sens is not None:
        ratio = sens["ratio"]
        cols = st.by_columns if st.by_columns else [f"by {i}" for i in range(len(ratio))]
        for bi, col in enumerate(cols[:len(ratio)][:3]):
            r = ratio[bi]
            if not np.isfinite(r).any():
                nlab = 0
                if st.labels is not None:
                    idx = st.label_index(col)
                    nlab = int((st.labels["count"].to_numpy()[idx] > 0).sum())
                why = (f"it has only {nlab} label with prompts" if nlab < 2 else
                       "no label has 2 or more prompts (no within-label variance)")
                ans.notes.append(f"no sensitivity for {md_code(col)}: {why}")
                continue
            order = st.sensitivity_order(bi)
            rows = []
            for k, li in enumerate(order[:TOP_LAYERS]):
                if not (0 <= li < len(r)) or np.isnan(r[li]):
                    continue
                rows.append(Row(f"sensitivity ratio, #{k + 1}", md_code(col), "", cx.lay(li),
                                r[li], sens["lo"][bi, li] if "lo" in sens else None,
                                sens["hi"][bi, li] if "hi" in sens else None, None, None,
                                "sensitivity_*", (bi, li)))
            if not rows:
                continue
            ans.rows += rows
            t = rows[0]
            rest = ", ".join(str(x.layer) for x in rows[1:])
            then = (f" (then layer{'s' if len(rows) > 2 else ''} {rest})" if rest else "")
            if t.value > 1 and (t.lo is None or t.lo > 1):
                ans.verdict.append(
                    f"Split by {md_code(col)}, layer **{t.layer}** is the most "
                    "prompt-sensitive: its between-label / within-label variance ratio of the "
                    f"layer entropy is {t.ci()}{then}.")
            elif t.value > 1:
                ans.verdict.append(
                    f"Split by {md_code(col)}, layer {t.layer} has the largest variance ratio, "
                    f"{t.ci()}{then}, but its interval reaches below 1: this sweep cannot tell "
                    "whether any layer is more sensitive than prompts within a label vary (more "
                    "prompts per label would).")
            else:
                ans.verdict.append(
                    f"Split by {md_code(col)}, no layer stands out: the largest variance "
                    f"ratio, layer {t.layer}'s {t.ci()}, is at most 1 (labels differ no more "
                    "than prompts within a label do).")
            said = True
    js = st.js()
    if js is not None:
        d, pairs = js["divergence"], js["pairs"]
        G = d.shape[0]
        usable = []
        left = 0
        for gi in range(G):
            if pairs is not None:
                ok = pairs[gi] > 0
            else:
                ok = old_js is not None and old_js.get(gi, 0) >= st.js_min_shared
            if ok and np.isfinite(d[gi]).any():
                usable.append(gi)
            else:
                left += 1
        usable.sort(key=lambda g: -(pairs[g] if pairs is not None else 0))
        rows = []
        for gi in usable[:TOP_LAYERS]:
            li = top_layers(d[gi], 1, key=lambda v: v)[0]
            name = st.groups[gi] if gi < len(st.groups) else str(gi)
            rows.append(Row("JS divergence (nats), top layer", md_code(name), "", cx.lay(li),
                            d[gi, li], None, None, None,
                            None if pairs is None else pairs[gi], "js_divergence", (gi, li)))
        ans.rows += rows
        if rows:
            t = max(rows, key=lambda r: r.value)
            ans.verdict.append(
                f"Between the variants of a group, the head-mean last rows diverge most in "
                f"layer **{t.layer}** (group {t.who}: JS = {fmt(t.value)} nats"
                + (f" over {plural(t.n, 'pair')})." if t.n is not None else ")."))
            said = True
        if left:
            ans.notes.append(
                f"{plural(left, 'group')} without a usable JS divergence: pairs share "
                f"fewer than {st.js_min_shared} tokens at their ends (`js_min_shared`), or "
                "the group has a single prompt")
    if not said:
        why = "; ".join(ans.notes) if ans.notes else \
            "no `sensitivity_ratio` and no usable `js_divergence`"
        ans.notes = []
        return ans.cannot("`/summary` has no layer-sensitivity statistics this sweep can "
                          f"use: {why}.")
    if sens is None:
        ans.notes.append("`/summary` has no `sensitivity_ratio` (no intervals); run "
                         "`attnsweep reduce FILE` with this attnsweep")
    ans.answered = True
    return ans
