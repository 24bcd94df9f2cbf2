"""report_plots.py - the drawing primitives of report.py (matplotlib, Agg backend).

- ``ci_lines``: one mean line per label with its interval as a band; at most as many lines as
  the caller picked, never one per prompt.
- ``token_map``: attention of the last rows over the LAST tokens of a prompt (cut from the
  front, so the last query row, the one every metric reads, is always drawn), with the mass
  on the cut-off tokens as a first "◂ earlier" column. Probabilities use a fixed 0..1 scale.
- ``diff_map``: a difference of attention, on a fixed symmetric -1..1 scale (signed square
  root, so that differences of a few percent still show).
- ``head_map``: a layer x head map; scores in [0, 1] (sink, previous-token, induction) on a
  fixed 0..1 scale.
"""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

#: distinct colours for up to 10 lines (report.py never draws more labels per figure)
COLORS = plt.get_cmap("tab10").colors
EARLIER = "\u25c2 earlier"
SCORE_CMAP = "magma"
PROB_CMAP = "Blues"
DIFF_CMAP = "RdBu_r"


def subplots(*args, **kw):
    """plt.subplots with the constrained layout (titles, labels and colorbars never overlap)."""
    kw.setdefault("layout", "constrained")
    return plt.subplots(*args, **kw)


def prob_norm():
    """Attention probabilities and [0, 1] scores: a fixed linear 0..1 scale."""
    return mcolors.Normalize(vmin=0.0, vmax=1.0)


def diff_norm():
    """Differences of probabilities: fixed -1..1, signed square root (0.04 -> 0.2 of the way)."""
    def fwd(x):
        return np.sign(x) * np.sqrt(np.abs(x))

    def inv(y):
        return np.sign(y) * y * y
    return mcolors.FuncNorm((fwd, inv), vmin=-1.0, vmax=1.0)


def crop_last(T, k):
    """First position of the last k of T tokens (0 when k >= T)."""
    return max(0, T - k)


def with_earlier(rows, start):
    """rows [..., T] -> [..., 1 + T - start]: the summed mass on positions < start, then the
    kept positions (only when something was cut)."""
    rows = np.asarray(rows, np.float64)
    if start <= 0:
        return rows
    return np.concatenate([rows[..., :start].sum(axis=-1, keepdims=True), rows[..., start:]],
                          axis=-1)


def ci_lines(ax, x, series, ylabel=None, zero=False):
    """series: [(label, mean [n], lo [n] or None, hi [n] or None[, colour index])]. One line
    and band each; a series without a colour index gets its position's colour."""
    for i, sr in enumerate(series):
        label, m, lo, hi = sr[:4]
        c = COLORS[(sr[4] if len(sr) > 4 else i) % len(COLORS)]
        ax.plot(x, m, "o-", color=c, label=label, linewidth=1.8, markersize=4)
        if lo is not None and hi is not None:
            ax.fill_between(x, lo, hi, color=c, alpha=0.18, linewidth=0)
    if zero:
        ax.axhline(0, color="0.4", linewidth=0.8)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if len(x) <= 32:
        ax.set_xticks(x)


def layer_ticks(ax, lays, axis="x"):
    L = len(lays)
    step = max(1, math.ceil(L / 16))
    pos = list(range(0, L, step))
    if axis == "x":
        ax.set_xticks(pos)
        ax.set_xticklabels([lays[i] for i in pos])
    else:
        ax.set_yticks(pos)
        ax.set_yticklabels([lays[i] for i in pos])


def token_axis(ax, labels, axis="x", fontsize=8):
    n = len(labels)
    if axis == "x":
        ax.set_xticks(range(n))
        ax.set_xticklabels(labels, rotation=60, ha="right", rotation_mode="anchor",
                           fontsize=fontsize)
    else:
        ax.set_yticks(range(n))
        ax.set_yticklabels(labels, fontsize=fontsize)


def token_map(ax, M, xlabels, ylabels=None, ylayers=None, norm=None, cmap=PROB_CMAP,
              earlier=False):
    """Draw M [rows, cols] with token labels on x (and y, or layer ids on y). earlier: the
    first column is the summed mass on the cut-off tokens (a white line separates it)."""
    im = ax.imshow(M, cmap=cmap, norm=norm or prob_norm(), interpolation="nearest",
                   aspect="auto")
    token_axis(ax, xlabels, "x")
    if ylabels is not None:
        token_axis(ax, ylabels, "y")
    elif ylayers is not None:
        layer_ticks(ax, ylayers, "y")
        ax.set_ylabel("layer")
    if earlier:
        ax.axvline(0.5, color="white", linewidth=2)
    return im


def head_map(ax, M, lays, heads, norm=None, cmap=SCORE_CMAP, annotate=None):
    im = ax.imshow(M, cmap=cmap, norm=norm or prob_norm(), aspect="auto",
                   interpolation="nearest")
    L, H = len(lays), len(heads)
    ls, hs = max(1, math.ceil(L / 12)), max(1, math.ceil(H / 16))
    ax.set_yticks(range(0, L, ls))
    ax.set_yticklabels([lays[i] for i in range(0, L, ls)])
    ax.set_xticks(range(0, H, hs))
    ax.set_xticklabels([heads[i] for i in range(0, H, hs)])
    ax.set_ylabel("layer")
    ax.set_xlabel("head")
    if annotate is None:
        annotate = L * H <= 64
    if annotate:
        for (i, j), v in np.ndenumerate(M):
            if np.isfinite(v):
                r, g, b, _ = im.cmap(im.norm(v))
                lum = 0.299 * r + 0.587 * g + 0.114 * b
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if lum > 0.5 else "white")
    return im


def empty_panel(ax, text):
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=10,
            color="0.35", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
