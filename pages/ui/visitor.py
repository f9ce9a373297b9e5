"""One visitor's state: ratings, settings that survive page switches, and the link that holds them.

- A visitor's ratings live in ``st.session_state["ratings"]`` ({movieId: rating}); nothing
  per-visitor is ever stored at module level, so two visitors never see each other's ratings.
- Ratings change only in widget callbacks, which run before the script, so the picks, the map
  and the URL of the same run already reflect the change.
- Widgets are page-scoped in Streamlit (a page's widget is forgotten on another page): values
  that must survive a page switch are kept outside the widgets (:func:`setting`).
- The profile and model are read from the link once per session (:func:`read_url_once`) and
  written back on every run (:func:`sync_url`).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

import streamlit as st

import recsys

from .artifacts import Ctx, default_name
from .profile import decode_judgements, decode_profile, encode_judgements, encode_profile

RATINGS = "ratings"  # session key: {movieId: rating}, insertion order = order rated
CHANGED = "_ratings_changed"  # session key: set by a rating callback, popped by the pick list
JUDGED = "judged"  # session key: {movieId: True (would watch) / False (not for me)}
PROFILE = "profile"  # fragment key of the sidebar's profile summary (:func:`profile_summary`)


# -- ratings ------------------------------------------------------------------------------------


def ratings() -> dict[int, float]:
    """This visitor's ratings ({movieId: rating}), in the order they were given."""
    if RATINGS not in st.session_state:
        st.session_state[RATINGS] = {}
    return st.session_state[RATINGS]


def set_rating(movie_id: int, value: float | None) -> None:
    """Rate (or, with None, un-rate) one movie."""
    r = ratings()
    if value is None:
        r.pop(int(movie_id), None)
    else:
        r[int(movie_id)] = float(value)
    st.session_state[CHANGED] = True


def rate_many(movie_ids, value: float, rerun: tuple[str, ...] = ()) -> None:
    """Callback: rate several movies at once (an onboarding group); movies the visitor already
    rated keep their rating."""
    r = ratings()
    for m in movie_ids:
        if int(m) not in r:
            set_rating(m, value)
    rerun_fragments(rerun)


def remove_rating(movie_id: int, rerun: tuple[str, ...] = ()) -> None:
    """Callback: un-rate one movie."""
    set_rating(movie_id, None)
    rerun_fragments(rerun)


def clear_ratings(rerun: tuple[str, ...] = ()) -> None:
    """Callback: forget every rating."""
    st.session_state[RATINGS] = {}
    st.session_state[CHANGED] = True
    rerun_fragments(rerun)


def rerun_fragments(keys: tuple[str, ...]) -> None:
    """From a widget callback: re-run only the fragments named ``keys`` (``st.fragment(key=)``
    on the landing page) instead of the interaction's default. () leaves the default."""
    if keys:
        st.rerun(list(keys))


def judgements() -> dict[int, bool]:
    """This visitor's judgements of picks ({movieId: would watch}), in the order given."""
    if JUDGED not in st.session_state:
        st.session_state[JUDGED] = {}
    return st.session_state[JUDGED]


def set_judgement(movie_id: int, value: bool | None) -> None:
    """Judge one pick "would watch" (True) or "not for me" (False); None forgets the judgement.
    Judgements never change the ratings or the picks."""
    j = judgements()
    if value is None:
        j.pop(int(movie_id), None)
    else:
        j[int(movie_id)] = bool(value)


# -- settings -----------------------------------------------------------------------------------


def setting(name: str, default, valid=None):
    """Keyword arguments that make a widget's value survive page switches.

    Streamlit forgets the state of widgets a page does not draw; the value is therefore kept
    under ``_settings`` and copied into the widget's key before it is drawn. ``valid`` maps a
    stored value onto one the widget accepts now (e.g. a year range for another catalogue).
    """
    store = st.session_state.setdefault("_settings", {})
    key = f"w_{name}"
    value = st.session_state[key] if key in st.session_state else store.get(name, default)
    if valid is not None:
        try:
            value = valid(value)
        except (TypeError, ValueError, IndexError):
            value = default
    if key not in st.session_state or st.session_state[key] != value:
        st.session_state[key] = value
    return {"key": key, "on_change": _store_setting, "args": (name, key)}


def _store_setting(name: str, key: str) -> None:
    st.session_state.setdefault("_settings", {})[name] = st.session_state[key]


def get_setting(name: str, default):
    """A setting's current value, whether or not its widget is on this page."""
    key = f"w_{name}"
    if key in st.session_state:
        return st.session_state[key]
    return st.session_state.get("_settings", {}).get(name, default)


@dataclass(frozen=True)
class PickSettings:
    """The visitor's pick filters, as ``Artifact.recommend`` takes them."""

    k: int = 10
    genres: tuple[str, ...] = ()
    years: tuple[int, int] | None = None
    min_ratings: int = 0
    popularity: float = 0.0


def pick_settings(ctx: Ctx) -> PickSettings:
    """The visitor's pick filters (set on the landing page), valid for the current model."""
    d = ctx.derived()
    genres = tuple(g for g in get_setting("genres", []) if g in d.genres)
    years = get_setting("years", None)
    if years is not None and d.years is not None:
        lo, hi = max(int(years[0]), d.years[0]), min(int(years[1]), d.years[1])
        years = None if (lo, hi) == d.years or lo > hi else (lo, hi)
    else:
        years = None
    return PickSettings(
        k=int(get_setting("k", 10)),
        genres=genres,
        years=years,
        min_ratings=int(get_setting("min_ratings", 0)),
        popularity=float(get_setting("popularity", 0.0)),
    )


def picks(
    model: recsys.Artifact, settings: PickSettings, explain: bool = True
) -> recsys.Recommendations:
    """This visitor's picks with their filters and popularity knob; ``explain=False`` leaves
    the "because" column empty (for callers that use only the ids)."""
    return model.recommend(
        ratings(),
        k=settings.k,
        genres=list(settings.genres) or None,
        years=settings.years,
        min_ratings=settings.min_ratings,
        popularity=float(settings.popularity),
        explain=explain,
    )


# -- the URL ------------------------------------------------------------------------------------


def read_url_once(ctx: Ctx) -> None:
    """On a session's first run, take the profile and model from the link (``?r=...&model=...``).

    Malformed parts, ratings off the scale and unknown ids are dropped; each kind is reported
    in ``_url_warnings`` (shown by the frame). Later runs never read the URL again: the
    session's ratings are the truth and :func:`sync_url` writes them back.
    """
    if st.session_state.get("_url_read"):
        return
    st.session_state["_url_read"] = True
    warnings: list[str] = []
    url_model = st.query_params.get("model")
    if url_model is not None and url_model != ctx.name:  # build_context chose it if it could
        warnings.append(
            f"The link asks for model {url_model[:40]!r}, which is not available here; "
            f"using {ctx.name!r}."
        )
    raw = st.query_params.get("r")  # the last of repeated r= parameters
    repeated = len(st.query_params.get_all("r"))
    if repeated > 1:
        warnings.append(
            f"The link holds {repeated} sets of ratings (r=...); only the last one was read."
        )
    if raw and ctx.model is not None:
        found, problems = decode_profile(raw, ctx.model.rating_scale, known_ids=ctx.derived().ids)
        warnings.extend(problems)
        if found:
            ratings().update(found)
    raw_j = st.query_params.get("j")
    if raw_j and ctx.model is not None:
        found_j, problems = decode_judgements(raw_j, known_ids=ctx.derived().ids)
        warnings.extend(problems)
        judgements().update(found_j)
    st.session_state["_url_warnings"] = warnings


def share_query(ctx: Ctx) -> dict[str, str]:
    """The query parameters that reproduce this visitor's picks."""
    out = {}
    r = ratings()
    if r:
        out["r"] = encode_profile(r)
    j = judgements()
    if j:
        out["j"] = encode_judgements(j)
    default = default_name(str(ctx.root))
    if ctx.name and (r or j or ctx.name != default):
        out["model"] = ctx.name
    return out


def sync_url(ctx: Ctx) -> None:
    """Write the ratings, judgements and model into the address bar (only what changed). Also
    called at the end of the landing page's fragment, whose reruns skip the frame."""
    wanted = share_query(ctx)
    for key in ("r", "j", "model"):
        if key in wanted:
            if st.query_params.get_all(key) != [wanted[key]]:  # also when repeated
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]


def share_link(ctx: Ctx) -> str:
    """A full link to this profile when the app's URL is known, else just the query string."""
    query = urllib.parse.urlencode(share_query(ctx), safe=":,")
    base = ""
    try:
        url = st.context.url
    except Exception:  # no browser (tests): fall back to the query string alone
        url = None
    if url:
        parts = urllib.parse.urlsplit(url)
        base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return f"{base}?{query}" if query else (base or "")


@st.fragment(key=PROFILE)
def profile_summary(ctx: Ctx) -> None:
    """The sidebar's profile summary: how many ratings, and the share link.

    A fragment of its own (key :data:`PROFILE`), drawn by the frame on every page: the landing
    page's rating callbacks re-run it with the picks (:func:`rerun_fragments`), since a fragment
    rerun skips the frame that drew it.
    """
    n = len(ratings())
    st.caption(
        f"{n} rating{'s' if n != 1 else ''} in your profile. They live only in this browser "
        "session and in the link below."
    )
    link = share_link(ctx)
    if n and link:
        st.code(link, language=None, wrap_lines=True)
        st.caption("Share this link to reproduce the same picks.")
