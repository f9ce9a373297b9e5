"""Dataset strings made safe for Streamlit Markdown, and links out (IMDb, TMDB).

Every dataset string (titles, genres, tags, error messages) reaches Markdown only through
:func:`escape_markdown`; no page uses ``unsafe_allow_html``.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["positive_int", "escape_markdown", "imdb_url", "tmdb_url"]


# Always escaped: characters that open inline markup anywhere in a line (emphasis, code, links,
# HTML, LaTeX, strikethrough, tables) or escape others.
_MD_ALWAYS = set("\\`*_{}[]<>$~|")
# Escaped at the start of the text only, where they would open a block (list, heading, quote).
_MD_LEADING = set("-+#>=")


def escape_markdown(text: object) -> str:
    """``text`` made safe to embed in Streamlit Markdown, with as few backslashes as possible.

    Backslash-escaped: ``\\ ` * _ { } [ ] < > $ ~ |`` everywhere (emphasis, code, links, HTML,
    LaTeX, strikethrough, tables); ``: `` when a word follows it (emoji and icon shortcodes such
    as ``:smile:``); ``&`` when it could start an HTML entity; a leading ``- + # > =`` and the
    ``.`` or ``)`` of a leading number (lists, headings, quotes). Line breaks become spaces.
    Parentheses, dots and hyphens inside a title stay as they are (no link can form once the
    brackets are escaped), so labels read naturally for screen readers too.
    """
    s = str(text).replace("\r", " ").replace("\n", " ")
    out = []
    n = len(s)
    digits = 0
    while digits < n and s[digits].isdigit():
        digits += 1
    for i, c in enumerate(s):
        nxt = s[i + 1] if i + 1 < n else ""
        if (
            c in _MD_ALWAYS
            or (i == 0 and c in _MD_LEADING)
            or (c == ":" and (nxt.isalnum() or nxt == "_"))
            or (c == "&" and (nxt.isalnum() or nxt == "#"))
            or (0 < digits == i and c in ".)")
        ):
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def positive_int(value) -> int | None:
    """``value`` as a positive int (ids from tables and Plotly), or None when missing or invalid."""
    if value is None or value is pd.NA:
        return None
    try:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def imdb_url(imdb_id) -> str | None:
    """``https://www.imdb.com/title/tt0114709/`` for 114709; None when missing."""
    number = positive_int(imdb_id)
    return None if number is None else f"https://www.imdb.com/title/tt{number:07d}/"


def tmdb_url(tmdb_id) -> str | None:
    """``https://www.themoviedb.org/movie/862`` for 862; None when missing."""
    number = positive_int(tmdb_id)
    return None if number is None else f"https://www.themoviedb.org/movie/{number}"
