"""A visitor's profile: the rating scale and the profile in a shareable link (``?r=1:5,260:4.5``).

:func:`scale_values` lists a ``(low, high, step)`` scale; :func:`encode_profile` and
:func:`decode_profile` write and read the link's ``r`` parameter, dropping (and reporting)
anything malformed, off the scale, unknown, repeated or over the caps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

__all__ = [
    "scale_values",
    "group_rating",
    "MAX_URL_RATINGS",
    "MAX_URL_CHARS",
    "encode_profile",
    "decode_profile",
    "encode_judgements",
    "decode_judgements",
]


def scale_values(scale: Sequence[float]) -> list[float]:
    """Every allowed rating of a ``(low, high, step)`` scale: (0.5, 5, 0.5) -> [0.5, 1.0, ..., 5.0]."""
    low, high, step = (float(x) for x in scale)
    if step <= 0 or high < low:
        return [low]
    n = int(round((high - low) / step))
    return [round(low + i * step, 6) for i in range(n + 1)]


def group_rating(scale: Sequence[float]) -> float:
    """The rating a one-click group gives each of its movies: the top of the scale minus one step
    (4.5 on MovieLens's 0.5..5 scale), which is a clear "liked" above the usual 4-star threshold."""
    values = scale_values(scale)
    return values[-2] if len(values) > 1 else values[-1]


def _on_scale(value: float, scale: Sequence[float]) -> bool:
    low, high, step = (float(x) for x in scale)
    if not (math.isfinite(value) and low - 1e-9 <= value <= high + 1e-9):
        return False
    if step <= 0:
        return True
    k = (value - low) / step
    return abs(k - round(k)) < 1e-6


MAX_URL_RATINGS = 500


MAX_URL_CHARS = 8000


def encode_profile(ratings: Mapping[int, float]) -> str:
    """``{1: 5.0, 260: 4.5}`` -> ``"1:5,260:4.5"`` (insertion order kept)."""
    return ",".join(f"{int(m)}:{float(r):g}" for m, r in ratings.items())


def _sample(parts: list[str], n: int = 3) -> str:
    shown = ", ".join(repr(p[:20] + ("…" if len(p) > 20 else "")) for p in parts[:n])
    return shown + (f" and {len(parts) - n} more" if len(parts) > n else "")


class _Pairs(NamedTuple):
    """What :func:`_parse_pairs` read from a link parameter, with what it dropped by kind."""

    values: dict
    truncated: bool
    malformed: list[str]
    invalid: list[str]
    unknown: list[int]
    repeated: list[int]
    over: int


_MALFORMED, _INVALID = object(), object()  # what a value parser returns for a dropped part


def _parse_pairs(
    text: str | None,
    parse_value: Callable[[str], object],
    known_ids: Iterable[int] | None,
    max_items: int,
    max_chars: int,
) -> _Pairs:
    """Read ``"id:value,id:value"`` for both link codecs (ratings ``r``, judgements ``j``).

    Kept are positive integer ids (at most 12 digits) whose value ``parse_value`` accepts;
    ``parse_value`` returns the parsed value, ``_MALFORMED`` (the part is not ``id:value``) or
    ``_INVALID`` (well-formed, but not allowed, e.g. off the rating scale). Ids not in
    ``known_ids`` (when given) are dropped; a repeated id keeps its last value at the later
    position; parts after ``max_items`` kept ids or beyond ``max_chars`` characters (cut at a
    comma) are dropped. Never raises on any input string.
    """
    empty = _Pairs({}, False, [], [], [], [], 0)
    if not text:
        return empty
    text = str(text)
    truncated = len(text) > max_chars
    if truncated:
        cut = text[:max_chars]
        text = cut[: cut.rfind(",")] if "," in cut else ""
    known = None if known_ids is None else {int(m) for m in known_ids}
    found = _Pairs({}, truncated, [], [], [], [], 0)
    over = 0
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        id_s, sep, value_s = part.partition(":")
        id_s = id_s.strip()
        value = parse_value(value_s.strip()) if sep else _MALFORMED
        if (
            value is _MALFORMED
            or not (id_s.isascii() and id_s.isdigit())
            or len(id_s) > 12
            or int(id_s) <= 0
        ):
            found.malformed.append(part)
            continue
        if value is _INVALID:
            found.invalid.append(part)
            continue
        movie_id = int(id_s)
        if known is not None and movie_id not in known:
            found.unknown.append(movie_id)
            continue
        if movie_id in found.values:
            found.repeated.append(movie_id)
            del found.values[movie_id]  # the last value wins and takes the later position
        elif len(found.values) >= max_items:
            over += 1
            continue
        found.values[movie_id] = value
    return found._replace(over=over)


_RATING_CHARS = frozenset("0123456789.")


def _rating_parser(scale: Sequence[float]) -> Callable[[str], object]:
    """A value parser for :func:`_parse_pairs`: plain decimals (no sign, exponent or ``nan``)
    of at most 8 characters, on the ``(low, high, step)`` scale."""

    def parse(text: str) -> object:
        if (
            not text
            or len(text) > 8
            or not set(text) <= _RATING_CHARS
            or text.count(".") > 1
            or text == "."
        ):
            return _MALFORMED
        value = float(text)
        return value if _on_scale(value, scale) else _INVALID

    return parse


def decode_profile(
    text: str | None,
    scale: Sequence[float],
    known_ids: Iterable[int] | None = None,
    max_items: int = MAX_URL_RATINGS,
    max_chars: int = MAX_URL_CHARS,
) -> tuple[dict[int, float], list[str]]:
    """Parse ``"id:rating,id:rating"`` from a link into ``({movieId: rating}, warnings)``.

    Kept: positive integer ids and ratings on ``scale`` (``(low, high, step)``). Dropped, each
    kind with one plain-text warning: malformed parts, ratings off the scale, ids not in
    ``known_ids`` (when given), repeated ids (the last one wins), anything after ``max_items``
    ratings or ``max_chars`` characters. Never raises on any input string.
    """
    found = _parse_pairs(text, _rating_parser(scale), known_ids, max_items, max_chars)
    warnings: list[str] = []
    if found.truncated:
        warnings.append(
            f"The link's ratings were {len(str(text))} characters long; only the first "
            f"{max_chars} characters were read."
        )
    low, high, step = (float(x) for x in scale)
    if found.malformed:
        warnings.append(
            f"Ignored {len(found.malformed)} malformed part(s) of the link "
            f"({_sample(found.malformed)}); each rating must look like movieId:rating, e.g. 260:4.5."
        )
    if found.invalid:
        warnings.append(
            f"Ignored {len(found.invalid)} rating(s) off the {low:g}–{high:g} scale in steps of "
            f"{step:g} ({_sample(found.invalid)})."
        )
    if found.unknown:
        warnings.append(
            f"Ignored {len(found.unknown)} movie id(s) this model does not know "
            f"({_sample([str(u) for u in found.unknown])})."
        )
    if found.repeated:
        warnings.append(
            f"{len(found.repeated)} movie id(s) appeared more than once; the last rating was kept "
            f"({_sample([str(u) for u in found.repeated])})."
        )
    if found.over:
        warnings.append(
            f"The link held more than {max_items} ratings; only the first {max_items} were read."
        )
    return found.values, warnings


# -- judgements of picks ("would watch" / "not for me") ------------------------------------------

JUDGED_YES, JUDGED_NO = "1", "0"  # how a judgement is written in the link


def encode_judgements(judged: Mapping[int, bool]) -> str:
    """``{1: True, 260: False}`` -> ``"1:1,260:0"`` (1 = would watch, 0 = not for me; insertion
    order kept): the link's ``j`` parameter, apart from the ratings' ``r``."""
    return ",".join(f"{int(m)}:{JUDGED_YES if v else JUDGED_NO}" for m, v in judged.items())


def _judgement(text: str) -> object:
    """A value parser for :func:`_parse_pairs`: ``"1"`` -> True, ``"0"`` -> False."""
    return text == JUDGED_YES if text in (JUDGED_YES, JUDGED_NO) else _MALFORMED


def decode_judgements(
    text: str | None,
    known_ids: Iterable[int] | None = None,
    max_items: int = MAX_URL_RATINGS,
    max_chars: int = MAX_URL_CHARS,
) -> tuple[dict[int, bool], list[str]]:
    """Parse ``"id:1,id:0"`` from a link into ``({movieId: would_watch}, warnings)``.

    Validated like :func:`decode_profile`: kept are positive integer ids with the value ``1``
    (would watch) or ``0`` (not for me); dropped, each kind with one plain-text warning, are
    malformed parts, ids not in ``known_ids`` (when given), repeated ids (the last one wins) and
    anything over the caps. Never raises on any input string.
    """
    found = _parse_pairs(text, _judgement, known_ids, max_items, max_chars)
    warnings: list[str] = []
    if found.truncated:
        warnings.append(
            f"The link's judgements of picks were longer than {max_chars} characters; only the "
            "first part was read."
        )
    if found.malformed:
        warnings.append(
            f"Ignored {len(found.malformed)} malformed judgement(s) of picks in the link "
            f"({_sample(found.malformed)}); each must look like movieId:1 (would watch) or "
            "movieId:0 (not for me)."
        )
    if found.unknown:
        warnings.append(
            f"Ignored {len(found.unknown)} judged movie id(s) this model does not know "
            f"({_sample([str(u) for u in found.unknown])})."
        )
    if found.repeated:
        warnings.append(
            f"{len(found.repeated)} judged movie id(s) appeared more than once; the last "
            f"judgement was kept ({_sample([str(u) for u in found.repeated])})."
        )
    if found.over:
        warnings.append(
            f"The link held more than {max_items} judgements; only the first {max_items} were read."
        )
    return found.values, warnings
