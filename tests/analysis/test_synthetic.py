#!/usr/bin/python3
"""test_synthetic.py WORKDIR - load.Stats and report.py on the hand-made files of
make_synthetic.py (the issue-12 /summary layout with hand-chosen numbers; no attnsweep run).

Checks, against truth written in this file or in make_synthetic.HAND (never against earlier
output of the code under test):
- load.Stats reads labels, by-label statistics, contrasts, sensitivity and js_pairs as
  written; span_mass_layer / keyword_mass_layer equal sums computed here from the synthetic
  attention formula (A[l, h, k] proportional to (k + 1)^(l + h));
- the answers: the exact verdicts for the hand-chosen numbers, and each "cannot answer"
  reason (no contrast, zero pairs, no example spans, a single label);
- check_report.py passes (every table number equals the file) and fails when one number of
  report.md is changed, in a table or in the prose of an answer;
- the figures: attention maps end with the last token on both axes and cut from the front
  (the "earlier" column), whitespace shows as ␣ / ↵ / →, score and probability maps have
  the fixed 0..1 scale, the layer-entropy figure draws one line and one band per shown label
  (at most --max-labels) and names the labels left out, every group gets its maps, and the
  difference map equals the hand-computed aligned difference.
Exit 0 when every check passes.
"""
import os
import re
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SRC", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "analysis"))
sys.path.insert(0, HERE)
import load  # noqa: E402
import make_synthetic as syn  # noqa: E402
import report  # noqa: E402

PY = sys.executable
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)
    else:
        print("ok  ", msg)


def build(work, variant):
    path = os.path.join(work, f"syn_{variant}.h5")
    syn.build(path, variant)
    return path


# ------------------------------------------------------------------------------------------
def test_load(path):
    sw = load.open_sweep(path)
    st = sw.stats()
    check(list(zip(st.labels["column"], st.labels["value"])) == syn.LABELS, "Stats.labels")
    check(list(st.labels["count"]) == syn.LABEL_COUNT, "Stats.labels count")
    check(st.by_columns == ["group", "style"], "Stats.by_columns")
    check(st.span_names == syn.SPANS and st.keywords == syn.KEYWORDS, "span_name / keyword")
    check((st.resamples, st.seed, st.confidence, st.js_min_shared) == (1000, 20260131, 0.95, 4),
          "bootstrap attributes")
    b = st.by("layer_entropy")
    check(np.array_equal(b["mean"], np.array(syn.LE_MEAN)) and b["hi"][1, 1] == 2.25 + 0.15
          and np.isnan(b["lo"][2]).all(), "by(layer_entropy)")
    check(np.array_equal(st.by_count("span_mass"), np.array(syn.HAND["by_span_count"])),
          "by_count(span_mass)")
    check(st.label_index("style").tolist() == [3, 4, 5, 6, 7], "label_index")
    check(st.label_of("style", "cot") == 6 and st.label_of("style", "nope") is None, "label_of")
    C = st.contrasts
    check(list(C["name"]) == ["cot-plain", "2shot-0shot"] and list(C["a"]) == ["cot", "2-shot"]
          and list(C["n_pairs"]) == [12, 6], "Stats.contrasts")
    c = st.contrast("span_mass")
    check(c["lo"][0, 0, 1] == -0.41 and np.isnan(c["mean"][0, 1, 0]), "contrast(span_mass)")
    check(st.contrast_count("span_mass")[0].tolist() == [12, 0, 0, 12], "contrast_count")
    check(st.contrast("nope") is None, "contrast of an unknown quantity is None")
    s = st.sensitivity()
    check(s["rank"].tolist() == syn.HAND["sensitivity_rank"] and s["hi"][0, 1] == 20.5,
          "sensitivity()")
    # rank [2, 0, 1] gives each layer its rank: layer 1 first, then 2, then 0
    check(st.sensitivity_order(0) == [1, 2, 0] and st.sensitivity_order(1) == [0, 2, 1],
          "sensitivity_order inverts sensitivity_rank")
    j = st.js()
    check(j["pairs"].tolist() == [15, 3, 0] and j["divergence"][0, 0] == 0.1, "js()")
    # per-prompt span and keyword masses against the synthetic formula
    names, m = sw.span_mass_layer()
    check(names == ["question", "example_answer_1", "example_answer_2", "prefix"],
          f"span_mass_layer names {names}")
    kws, km = sw.keyword_mass_layer()
    ok_s = ok_k = True
    for i, (g, v, _, _, text) in enumerate(syn.PROMPTS):
        toks = syn.tokenize(text)
        rows = lrm(len(toks))

        def mass(b, e):
            hit = [t for t, (_, tb, te) in enumerate(toks) if te > tb and tb < e and te > b]
            return rows[:, hit].sum(axis=1)

        q = text.rfind("What is")
        want = {"question": mass(q if q >= 0 else 0, len(text))}
        if q > 0:
            want["prefix"] = mass(0, q)
        if g == "fewshot":
            for n, sub in (("example_answer_1", "A: 7"), ("example_answer_2", "A: 15")):
                p = text.find(sub)
                if p >= 0:
                    want[n] = mass(p, p + len(sub))
        for si, n in enumerate(names):
            got = m[i, si]
            if n in want:
                ok_s &= bool(np.allclose(got, want[n], atol=1e-12))
            else:
                ok_s &= bool(np.isnan(got).all())
        for ki, kw in enumerate(kws):
            occ = [mm.span() for mm in re.finditer(re.escape(kw), text, flags=re.I)]
            if occ:
                ok_k &= bool(np.allclose(km[i, ki], sum(mass(b, e) for b, e in occ)))
            else:
                ok_k &= bool(np.isnan(km[i, ki]).all())
    check(ok_s, "span_mass_layer equals the hand-computed span sums (NaN where absent)")
    check(ok_k, "keyword_mass_layer equals the hand-computed occurrence sums")
    sw.close()


def lrm(T):
    """The synthetic file's head-mean last rows [L, T]: A[l, h, k] ~ (k + 1)^(l + h)."""
    k = np.arange(T, dtype=float)
    return np.stack([np.mean([(k + 1) ** (l + h) / ((k + 1) ** (l + h)).sum()
                              for h in range(syn.H)], axis=0) for l in range(syn.L)])


# ------------------------------------------------------------------------------------------
class Captured:
    """What report.py drew, read from the live figures before they are closed."""

    def __init__(self):
        self.figs = {}
        orig = report.Report.save

        def save(rep, fig, name, alt):
            axes = []
            for ax in fig.axes:
                if ax.get_label() == "<colorbar>":
                    continue
                axes.append({
                    "title": ax.get_title(),
                    "x": [t.get_text() for t in ax.get_xticklabels()],
                    "y": [t.get_text() for t in ax.get_yticklabels()],
                    "images": [(np.ma.getdata(im.get_array()).copy(), im.get_clim())
                               for im in ax.get_images()],
                    "lines": [ln for ln in ax.get_lines() if ln.get_label()[:1] != "_"],
                    "bands": len(ax.collections),
                })
            self.figs[name] = axes
            return orig(rep, fig, name, alt)

        report.Report.save = save


def run_report(path, out, *opts):
    orig = report.Report.save
    cap = Captured()
    try:
        rc = report.main([path, "--out", out] + list(opts))
    finally:
        report.Report.save = orig
    check(rc == 0, f"report.py {os.path.basename(path)} {' '.join(opts)} exits 0")
    return cap.figs, open(os.path.join(out, "report.md"), encoding="utf-8").read()


def checker(path, out, *extra):
    r = subprocess.run([PY, os.path.join(HERE, "check_report.py"), path, out] + list(extra),
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def section(md, q):
    m = re.search(rf"^### {q}\. .*?(?=^### |^## )", md, flags=re.M | re.S)
    return m.group(0) if m else ""


def test_report_full(path, work):
    out = os.path.join(work, "rep_full")
    figs, md = run_report(path, out, "--max-labels", "3", "--max-tokens", "5")
    q1, q2, q3 = section(md, "Q1"), section(md, "Q2"), section(md, "Q3")
    # hand truth: contrast cot-plain on question: layer 1 = -0.3 [-0.41, -0.2], same sign 1.0
    check("**Yes.** For contrast `cot-plain` (`style`: `cot` − `plain`, 12 pairs), the 95% "
          "interval of the paired difference in mass on the question tokens excludes 0 in 3 of "
          "3 layers. The largest: layer 1, `cot` − `plain` = -0.3 [-0.41, -0.2], the same sign "
          "in 100% of the pairs." in q1, "Q1 verdict from contrast_span_mass")
    check("| mass on the instruction (prefix) | `cot-plain` | prefix | 1 | 0.38 | [0.25, 0.45] | "
          "66.7% | 12 | `contrast_span_mass_*` [0, 3, 1] |" in q1, "Q1 prefix row (same sign 2/3)")
    # Q2: the label with an interval and the most prompts: group=fewshot, peak at layer 1
    check("The last token puts up to 0.5 [0.4, 0.6] of its attention on the example answers "
          "(`example_answer_1`, `group=fewshot`, layer 1, 2 prompts)." in q2, "Q2 peak")
    check("the induction score (head mean) changes by 0.016 [0.01, 0.022] at layer 1; "
          "**yes**: the 95% interval excludes 0 in 2 of 3 layers" in q2, "Q2 paired induction")
    # Q3: by group rank [2, 0, 1]: layer 1 = 12 [6, 20.5], then layers 2, 0; style <= 1
    check("Split by `group`, layer **1** is the most prompt-sensitive: its between-label / "
          "within-label variance ratio of the layer entropy is 12 [6, 20.5] (then layers 2, 0)."
          in q3, "Q3 sensitivity by group, in sensitivity_rank order")
    check("Split by `style`, no layer stands out: the largest variance ratio, layer 0's 0.8 "
          "[0.1, 2], is at most 1" in q3, "Q3 style: ratio at most 1")
    check("layer **0** (group `math`: JS = 0.1 nats over 15 pairs)" in q3, "Q3 JS with js_pairs")
    check("`solo`" not in q3.split("<!-- table")[1] if "<!-- table" in q3 else False,
          "Q3 table leaves out the group with js_pairs = 0")
    rc, log = checker(path, out)
    check(rc == 0, "check_report.py passes on the synthetic report" + ("" if rc == 0 else
                                                                         "\n" + log[-3000:]))
    # the checker must fail when one number changes: a table cell, then an answer's prose
    for what, old, new in (("a by-label table cell", "| 1.75 [1.65, 1.9] |",
                            "| 1.76 [1.65, 1.9] |"),
                           ("an answer's prose", "= -0.3 [-0.41, -0.2], the same",
                            "= -0.31 [-0.41, -0.2], the same"),
                           ("an answer's row", "| 12 | [6, 20.5] |", "| 12.5 | [6, 20.5] |")):
        check(old in md, f"mutation target present: {what}")
        bad = os.path.join(work, "rep_bad")
        subprocess.run(["rm", "-rf", bad])
        subprocess.run(["cp", "-r", out, bad])
        with open(os.path.join(bad, "report.md"), "w", encoding="utf-8") as f:
            f.write(md.replace(old, new, 1))
        rc, log = checker(path, bad)
        check(rc != 0, f"check_report.py fails when {what} changes")
    # figures ---------------------------------------------------------------------------
    for g in ("math", "fewshot", "solo"):
        check(f"attention_{g}.png" in figs, f"attention maps drawn for group {g}")
    att = figs["attention_math.png"]
    T = {r[1]: len(syn.tokenize(r[4])) for r in syn.PROMPTS}
    panel = att[1]                                   # math/cot_1, 18 tokens, last 5 drawn
    check(panel["x"] == ["\u25c2 earlier", "\u2423is", "\u24231", "\u2423plus", "\u24232", "?"],
          f"cot_1 attention map: the last 5 tokens with ␣, after the earlier column {panel['x']}")
    img, clim = panel["images"][0]
    check(img.shape == (syn.L, 6) and clim == (0.0, 1.0),
          "last-row map [layer, 1 + 5], fixed 0..1")
    want = lrm(T["cot_1"])
    check(np.allclose(img[:, 1:], want[:, -5:]) and np.allclose(img[:, 0], want[:, :-5].sum(1)),
          "the map is the last 5 positions plus the summed earlier mass")
    ws = run_report(path, os.path.join(work, "rep_ws"), "--max-tokens", "30")[0]
    labels = [t for ax in ws["attention_math.png"] for t in ax["x"]]
    check("\u21b5" in labels, "a newline token is drawn as ↵")
    labels = [t for ax in ws["attention_solo.png"] for t in ax["x"]]
    check("\u2192" in labels and "\u2423upon" in labels, "a tab is drawn as →, a space as ␣")
    check("''" not in labels and "" not in [t for t in labels], "no empty token label")
    heads = figs["heads_group.png"]
    clims = {ax["title"].split(": ", 1)[1]: ax["images"][0][1] for ax in heads if ax["images"]}
    check(all(clims[k] == (0.0, 1.0) for k in ("sink score A[T-1, 0]", "previous-token score",
                                              "induction score")),
          "sink / previous-token / induction maps use the fixed 0..1 scale (induction 0.016)")
    le = figs["layer_entropy_style.png"][0]
    check(len(le["lines"]) == 3 and le["bands"] == 3,
          f"layer entropy by style: 3 lines and 3 bands with --max-labels 3 "
          f"({len(le['lines'])}, {le['bands']})")
    check([ln.get_label() for ln in le["lines"]] == ["0-shot (n=1)", "cot (n=3)", "plain (n=4)"],
          "the largest labels are drawn (ties in label order)")
    check("Left out of the figure: 2 smaller labels (the largest are drawn), `1-shot`, "
          "`2-shot`." in md, "the left-out labels are named")
    ymean = le["lines"][2].get_ydata()
    check(np.allclose(ymean, syn.HAND["by_layer_entropy_mean"][7]), "the plain line is by_*_mean")
    diff = figs["diff_math.png"]
    check(diff[0]["title"].startswith("cot_1 − plain_1: 6 shared tokens"), "cot_1 − plain_1 "
          "shares 6 tokens")
    check("fewer than 4: no JS" in diff[1]["title"], "a pair sharing 1 token is flagged")
    check("`plain_2` − `plain_1` (1)" in md, "the report names the pair sharing too few tokens")
    # hand-computed aligned difference: both end in "What is 1 plus 2?" (6 tokens)
    A, B = lrm(T["cot_1"]), lrm(T["plain_1"])
    D = A[:, -6:] - B[:, -6:]
    earlier = A[:, :-6].sum(1) - B[:, :-6].sum(1) + D[:, :1].sum(1)
    img, clim = diff[0]["images"][0]
    check(np.allclose(img[:, 1:], D[:, 1:]) and np.allclose(img[:, 0], earlier),
          "difference map = aligned last rows a - b (5 drawn, the 6th folded into earlier)")
    check(clim == (-1.0, 1.0), "difference maps use the fixed -1..1 scale")


def test_variants(work):
    cases = [
        ("no-contrasts", "Q1", "**Unpaired comparison** (no chain-of-thought contrast is "
                               "declared)"),
        ("zero-pairs", "Q1", "**The sweep cannot answer this:** Contrast `cot-plain` (`style`: "
                             "`cot` − `plain`, 0 pairs) pairs no prompts"),
        ("few-pairs", "Q1", "**Too few pairs to tell.** Contrast `cot-plain` (`style`: `cot` − "
                            "`plain`, 2 pairs) has 2 pairs with mass on the question tokens"),
        ("few-pairs", "Q3", "Split by `group`, layer 1 has the largest variance ratio, 12 "
                             "[0.9, 20.5] (then layers 2, 0), but its interval reaches below 1"),
        ("no-examples", "Q2", "**The sweep cannot answer this:** No prompt declares an "
                              "`example_answer*` span"),
        ("one-label", "Q3", "**The sweep cannot answer this:** `/summary` has no "
                            "layer-sensitivity statistics this sweep can use: no sensitivity "
                            "for `group`: it has only 1 label with prompts"),
    ]
    for variant, q, text in cases:
        path = build(work, variant)
        out = os.path.join(work, f"rep_{variant}")
        _, md = run_report(path, out)
        check(text in section(md, q), f"{variant}: {q} says {text[:60]}...")
        rc, log = checker(path, out)
        check(rc == 0, f"{variant}: check_report.py passes" + ("" if rc == 0 else
                                                              "\n" + log[-2000:]))


def main():
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    full = build(work, "full")
    test_load(full)
    test_report_full(full, work)
    test_variants(work)
    if FAILS:
        print(f"{len(FAILS)} check(s) failed")
        return 1
    print("all synthetic checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
