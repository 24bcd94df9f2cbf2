"""report_text.py - how report.py writes numbers, tokens and Markdown (no plotting, no HDF5).

Numbers are printed with 4 significant digits (``fmt``), intervals as ``m [lo, hi]``
(``fmt_ci``), and every table is preceded by ``<!-- table: NAME -->`` so that tests can parse
it back (tests/analysis/check_report.py is the inverse of these functions).
"""

import hashlib
import math
import re


def fmt(x):
    """A float as the report prints it: 4 significant digits, NaN as "NaN"."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    return format(x, ".4g")


def fmt_ci(m, lo, hi):
    """A mean and its interval as one table cell: ``0.1234 [0.1, 0.15]``."""
    return f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]"


def fmt_pct(x):
    """A fraction as a percentage with 3 significant digits ("NaN" for NaN)."""
    x = float(x)
    return "NaN" if math.isnan(x) else format(100 * x, ".3g") + "%"


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


#: what whitespace looks like on a figure's axis
VISIBLE = {" ": "\u2423", "\n": "\u21b5", "\t": "\u2192", "\r": "\u240d"}
EMPTY_TOKEN = "\u2205"   # a token that decodes to nothing (e.g. a lone byte)


def visible_token(t, width=8):
    """A token as a tick label: spaces as "␣", newlines as "↵", tabs as "→", other control
    characters as \\xNN, "$" escaped (matplotlib math mode), cut to ``width`` characters, and
    "∅" for the empty string. A token that is only whitespace stays visible."""
    out = []
    for ch in t:
        if ch in VISIBLE:
            out.append(VISIBLE[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    s = "".join(out)
    if len(s) > width:
        s = s[:width - 1] + "\u2026"
    if s == "":
        return EMPTY_TOKEN
    return s.replace("$", r"\$")


def token_texts(text, offsets, token_str):
    """The text of each token as it appears in the prompt: the UTF-8 bytes its offsets cover
    (so a word's leading space is kept, which HF decode([id]) drops), else the decoded token
    string (BOS, byte tokens that split a character)."""
    raw = text.encode("utf-8")
    out = []
    for (b, e), t in zip(offsets, token_str):
        b, e = int(b), int(e)
        s = None
        if 0 <= b < e <= len(raw):
            try:
                s = raw[b:e].decode("utf-8")
            except UnicodeDecodeError:
                s = None
        out.append(s if s is not None else str(t))
    return out


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
    """A file-name-safe version of a group / label name (unique: hashed when changed)."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("._")
    if out != s or not out:
        out = (out[:40] or "x") + "-" + hashlib.sha1(s.encode("utf-8")).hexdigest()[:6]
    return out


def name_list(names, limit=12):
    """`a`, `b`, ... and N more."""
    names = list(names)
    shown = ", ".join(md_code(n) for n in names[:limit])
    if len(names) > limit:
        shown += f" and {len(names) - limit} more"
    return shown


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
