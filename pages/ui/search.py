"""Title search for the app: typed the way people type, matched the way MovieLens writes titles.

:func:`normalize_text` folds case, accents and punctuation; :func:`deinvert_title` turns
MovieLens's "Matrix, The (1999)" into "The Matrix (1999)"; :func:`title_tokens` and
:func:`parse_query` turn both sides into the same words; :class:`TitleSearch` ranks a catalogue's
titles for a query. Queries are plain text, never compiled as patterns.

What a visitor may type and still find the film:

- typos: "godfahter", "shawshenk" (one typo in a word of 5+ letters, two from 8 letters;
  rapidfuzz's optimal string alignment distance);
- roman numerals or digits: "godfather part 2" finds "Part II", "star wars 5" finds "Episode V";
  a number matches a whole number in the title (or its year) exactly, so 5 never matches 2005;
- initialisms: "e.t." and "E T" find "E.T.", "lotr" finds "The Lord of the Rings" (the
  initials of a title's main part, before its subtitle, with or without its article);
- the start of a word ("toy sto", "matr").

Work is bounded whatever is typed: a query is cut to :data:`MAX_QUERY_CHARS` characters and
:data:`MAX_QUERY_WORDS` words before anything else, and each word costs one pass over the
catalogue's vocabulary (about ten thousand distinct words for MovieLens latest-small).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from rapidfuzz import process
from rapidfuzz.distance import OSA

from recsys.onboarding import normalize_text

__all__ = [
    "normalize_text",
    "deinvert_title",
    "title_tokens",
    "parse_query",
    "TitleSearch",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_WORDS",
]

MAX_QUERY_CHARS = 100  # what a title search reads of a query (the text box allows no more)
MAX_QUERY_WORDS = 8  # the longest MovieLens title main parts have fewer words that matter
_MAX_WORD = 40  # characters kept of one word
PREFIX_MIN_LEN = 3  # "sto" finds "story"; two letters would find thousands of words
FUZZY_MIN_LEN = 5  # shorter words match only exactly or as the start of a word
# Typos allowed (optimal string alignment distance: one insertion, deletion, substitution or
# swap of neighbours each): 1 in a word of 5-7 letters, 2 from 8 letters. A ratio cutoff would
# also let "godfather" match "father" (ratio 80).
FUZZY_MAX_EDITS = ((5, 1), (8, 2))
SCORE_EXACT, SCORE_PREFIX, SCORE_TYPO = 100.0, 90.0, 85.0  # minus 5 per typo beyond the first


_NOT_ALNUM = re.compile(r"[\W_]+")  # runs of characters that are not letters or digits


# Articles MovieLens moves to the end of a title: "Matrix, The (1999)", "Avventura, L' (1960)".
_ARTICLES = (
    "The", "A", "An", "Les", "La", "Le", "L'", "Il", "Lo", "Gli", "I", "Der", "Die", "Das",
    "Ein", "Eine", "El", "Los", "Las", "Un", "Une", "De", "Het", "Den", "Det", "O", "Os", "As",
)  # fmt: skip


_INVERTED = re.compile(
    r"^(?P<body>.+?), (?P<art>"
    + "|".join(re.escape(a) for a in _ARTICLES)
    + r")(?P<rest>(?: \(.*)?)$"
)


def deinvert_title(title: str) -> str:
    """``"Matrix, The (1999)"`` -> ``"The Matrix (1999)"``; other titles are returned unchanged.

    The pattern is fixed (built from a list of articles); it is applied to dataset titles, never
    to what a visitor types.
    """
    m = _INVERTED.match(str(title))
    if not m:
        return str(title)
    art = m.group("art")
    sep = "" if art.endswith("'") else " "
    return f"{art}{sep}{m.group('body')}{m.group('rest')}"


# Roman numerals as titles use them (sequels, episodes, parts), read as numbers on both sides.
_ROMAN = {
    r: str(n)
    for n, r in enumerate(
        "i ii iii iv v vi vii viii ix x xi xii xiii xiv xv xvi xvii xviii xix xx".split(), start=1
    )
}
_LEADING_ARTICLES = {"the", "a", "an"}
_SUBTITLE = re.compile(r":| - |\(")


def _words(normalized: str) -> list[str]:
    """Words of normalised text, as search compares them: a run of two or more single letters is
    one word ("e t" -> "et", from "E.T."), then roman numerals become digits ("ii" -> "2")."""
    out: list[str] = []
    run: list[str] = []
    for w in normalized.split():
        if len(w) == 1 and w.isalpha():
            run.append(w)
            continue
        if run:
            out.append("".join(run) if len(run) > 1 else run[0])
            run = []
        out.append(w)
    if run:
        out.append("".join(run) if len(run) > 1 else run[0])
    return [_ROMAN.get(w, w)[:_MAX_WORD] for w in out]


def _initialisms(deinverted: str) -> set[str]:
    """Initials of a (de-inverted) title's main part (before its subtitle or year), with and
    without a leading article, when it has three words or more: "The Lord of the Rings: ..." ->
    tlotr, lotr."""
    main = _SUBTITLE.split(deinverted, maxsplit=1)[0]
    words = normalize_text(main).split()
    out = set()
    for ws in (words, words[1:] if words and words[0] in _LEADING_ARTICLES else []):
        if len(ws) >= 3:
            out.add("".join(w[0] for w in ws))
    return out


def title_tokens(title: str) -> tuple[list[str], list[str], set[str]]:
    """``(words as written, words de-inverted, every word the title answers to)`` for one title:
    the words (:func:`_words`) of both forms, plus its initialisms."""
    deinverted = deinvert_title(title)
    ordered = _words(normalize_text(title))
    alt = ordered if deinverted == title else _words(normalize_text(deinverted))
    return ordered, alt, set(ordered) | set(alt) | _initialisms(deinverted)


def parse_query(query: str) -> list[str]:
    """The words a query is searched by: at most :data:`MAX_QUERY_CHARS` characters of it are
    read and at most :data:`MAX_QUERY_WORDS` words kept (the first ones), so the work is bounded
    whatever is typed. A query whose only words are single letters finds nothing (an "a" would
    match half the catalogue)."""
    words = _words(normalize_text(str(query)[:MAX_QUERY_CHARS]))[:MAX_QUERY_WORDS]
    if not any(len(w) > 1 or w.isdigit() for w in words):
        return []
    return words


class TitleSearch:
    """Search a catalogue's titles the way people type them.

    A title matches when every word of the query (:func:`parse_query`) matches one of the title's
    words (:func:`title_tokens`): exactly (score 100), as the start of a word when it has
    :data:`PREFIX_MIN_LEN`+ letters (90), or, with :data:`FUZZY_MIN_LEN`+ letters, within
    :data:`FUZZY_MAX_EDITS` typos (85, 80). Numbers and short words match only exactly. Results are
    ranked by the mean score of the query's words, then by tier (the title starts with the
    query's words, contains them as consecutive whole words, or contains them as text), then the
    most-rated first.
    """

    def __init__(self, titles: Sequence[str], popularity: Sequence[float] | None = None):
        titles = [str(t) for t in titles]
        ordered, alts, word_sets = [], [], []
        for t in titles:
            words, alt, answers_to = title_tokens(t)
            ordered.append(words)
            alts.append(alt)
            word_sets.append(answers_to)
        self._vocab = sorted(set().union(*word_sets)) if word_sets else []
        position = {w: j for j, w in enumerate(self._vocab)}
        rows = np.repeat(np.arange(len(titles)), [len(ws) for ws in word_sets])
        cols = np.fromiter((position[w] for ws in word_sets for w in ws), np.int64, len(rows))
        # (vocabulary, titles): row j lists the titles that answer to word j.
        self._titles_of = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (cols, rows)), shape=(len(self._vocab), len(titles))
        )
        self._text = [" ".join(ws) for ws in ordered]
        self._alt = [" ".join(ws) for ws in alts]
        pop = np.zeros(len(titles)) if popularity is None else np.asarray(popularity, np.float64)
        self._pop = pop

    def __len__(self) -> int:
        return len(self._text)

    def _vocab_scores(self, word: str) -> np.ndarray:
        """Score (0-100) of every vocabulary word for one query word; 0: no match."""
        scores = np.zeros(len(self._vocab), np.float32)
        lo = bisect.bisect_left(self._vocab, word)
        if lo < len(self._vocab) and self._vocab[lo] == word:
            scores[lo] = SCORE_EXACT
        if word.isdigit() or len(word) < PREFIX_MIN_LEN:
            return scores
        hi = bisect.bisect_left(self._vocab, word + "\U0010ffff")
        scores[lo:hi] = np.maximum(scores[lo:hi], SCORE_PREFIX)
        edits = max((e for n, e in FUZZY_MAX_EDITS if len(word) >= n), default=0)
        if edits:
            dist = process.cdist(
                [word], self._vocab, scorer=OSA.distance, score_cutoff=edits, dtype=np.int32
            )[0]
            typo = SCORE_TYPO - 5.0 * (dist - 1)
            scores = np.where((dist <= edits) & (typo > scores), typo, scores).astype(np.float32)
        return scores

    def _title_scores(self, word: str) -> np.ndarray:
        """Best score of each title's words for one query word, shape (n_titles,)."""
        vocab_scores = self._vocab_scores(word)
        hits = np.flatnonzero(vocab_scores)
        out = np.zeros(len(self._text), np.float32)
        if len(hits):
            sub = self._titles_of[hits]
            per_entry = np.repeat(vocab_scores[hits], np.diff(sub.indptr))
            np.maximum.at(out, sub.indices, per_entry)
        return out

    def search(self, query: str, limit: int = 10, exclude: Iterable[int] = ()) -> np.ndarray:
        """Item codes (row positions) of the best ``limit`` matches for ``query``, best first.

        ``exclude``: codes to leave out. A query without a word of two letters or a number
        matches nothing.
        """
        words = parse_query(query)
        if not words or limit <= 0 or not len(self._text):
            return np.array([], np.int64)
        total = np.zeros(len(self._text), np.float32)
        matched = np.ones(len(self._text), bool)
        for word in words:
            scores = self._title_scores(word)
            matched &= scores > 0
            total += scores
        for code in exclude:
            if 0 <= int(code) < len(matched):
                matched[int(code)] = False
        codes = np.flatnonzero(matched)
        if len(codes) == 0:
            return codes.astype(np.int64)
        q = " ".join(words)
        padded = f" {q} "
        tier = np.fromiter(
            (
                2 * (a.startswith(q) or b.startswith(q))
                + 2 * (padded in f" {a} " or padded in f" {b} ")
                + (q in a or q in b)
                for a, b in ((self._text[c], self._alt[c]) for c in codes)
            ),
            np.int64,
            len(codes),
        )
        mean = np.round(total[codes] / len(words), 1)
        order = np.lexsort((codes, -self._pop[codes], -tier, -mean))
        return codes[order][:limit].astype(np.int64)
