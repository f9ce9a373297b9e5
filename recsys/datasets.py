"""The MovieLens releases recsys knows, in one table read by the loaders, the downloader and the CLI.

Two tables, plain data:

- :data:`LAYOUTS`: the file layouts GroupLens has published (``ml-latest``, ``ml-10m``,
  ``ml-1m``, ``ml-100k``): which files a directory needs, how its ratings file is written and
  the star scale. :func:`recsys.loaders.detect_format` picks one from the files present.
- :data:`RELEASES`: release name (what ``python -m recsys download NAME`` and ``--data NAME``
  take) -> its layout, zip URL and, where known, md5.

A release in a known layout (a new ``ml-40m`` in the CSV layout, say) is one entry in
:data:`RELEASES`. A new layout is one entry in :data:`LAYOUTS` plus its movies-file parser in
:mod:`recsys.loaders`.

Checksums: ``md5`` is left out (None) for every release. Each one would have to be checked
against the real zip, which cannot be done from the machine this table was written on (no
internet), and a checksum written from memory would be worse than none. Without it, a download
is verified against the ``.md5`` file GroupLens publishes beside each zip (``<url>.md5``),
fetched at download time; whether that file exists for ml-10m, ml-20m, ml-32m and ml-latest
was not checked from here either (a missing one fails the download with a clear message).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RatingsFile", "Layout", "Release", "LAYOUTS", "RELEASES", "BASE_URL"]

BASE_URL = "https://files.grouplens.org/datasets/movielens"


@dataclass(frozen=True)
class RatingsFile:
    """How a layout writes its ratings file (one rating per line)."""

    file: str
    sep: str  # field separator as written ("::" for the .dat files)
    sep_name: str  # for messages
    header: tuple[str, ...] | None  # expected header names, or None when there is no header line
    fields: tuple[str, str, str, str]  # user, movie, rating, timestamp names, in file order
    encoding: str


@dataclass(frozen=True)
class Layout:
    """One file layout: the files it needs, its ratings file and its star scale."""

    name: str
    ratings: RatingsFile
    required: tuple[str, ...]
    optional: tuple[str, ...]
    rating_scale: tuple[float, float, float]  # (lowest, highest, step) stars
    # Detection: any of ``markers`` present selects this layout, provided every file of
    # ``tells_apart`` is present too (tags.dat tells ml-10m from ml-1m). Layouts are tried in
    # table order.
    markers: tuple[str, ...]
    tells_apart: tuple[str, ...] = ()
    # The tag applications file the loader reads when present (None: the layout has none).
    tags: str | None = None


@dataclass(frozen=True)
class Release:
    """One downloadable release: its layout, its zip and the zip's md5 where known."""

    name: str
    layout: str  # a key of LAYOUTS
    url: str
    # Pinned md5 of the zip (hex); None: verify against the .md5 file published beside it.
    md5: str | None = None


_CSV_FIELDS = ("userId", "movieId", "rating", "timestamp")
_DAT_FIELDS = ("UserID", "MovieID", "Rating", "Timestamp")
_U_DATA_FIELDS = ("user id", "item id", "rating", "timestamp")
_HALF_STARS = (0.5, 5.0, 0.5)
_WHOLE_STARS = (1.0, 5.0, 1.0)

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        # ml-latest-small, ml-latest, ml-20m, ml-25m, ml-32m: CSV with a header, UTF-8.
        Layout(
            "ml-latest",
            RatingsFile("ratings.csv", ",", "comma", _CSV_FIELDS, _CSV_FIELDS, "utf-8"),
            required=("ratings.csv", "movies.csv"),
            optional=("links.csv", "tags.csv"),
            rating_scale=_HALF_STARS,
            markers=("ratings.csv", "movies.csv", "links.csv"),
            tags="tags.csv",
        ),
        Layout(
            "ml-10m",
            RatingsFile("ratings.dat", "::", "'::'", None, _DAT_FIELDS, "utf-8"),
            required=("ratings.dat", "movies.dat", "tags.dat"),
            optional=(),
            rating_scale=_HALF_STARS,
            markers=("ratings.dat", "movies.dat"),
            tells_apart=("tags.dat",),
            tags="tags.dat",
        ),
        Layout(
            "ml-1m",
            RatingsFile("ratings.dat", "::", "'::'", None, _DAT_FIELDS, "latin-1"),
            required=("ratings.dat", "movies.dat"),
            optional=("users.dat",),
            rating_scale=_WHOLE_STARS,
            markers=("ratings.dat", "movies.dat"),
        ),
        Layout(
            "ml-100k",
            RatingsFile("u.data", "\t", "tab", None, _U_DATA_FIELDS, "latin-1"),
            required=("u.data", "u.item"),
            optional=("u.genre", "u.user"),
            rating_scale=_WHOLE_STARS,
            markers=("u.data", "u.item"),
        ),
    )
}

# Release name -> release. Each zip holds one top folder (ml-10m's is "ml-10M100K"), unpacked
# under the release name. The numbers in a name are ratings (100k, 1m...); the ``download``
# command lists them in this order.
RELEASES: dict[str, Release] = {
    release.name: release
    for release in (
        Release(name, layout, f"{BASE_URL}/{name}.zip")
        for name, layout in (
            ("ml-latest-small", "ml-latest"),  # a small sample of ml-latest; changes over time
            ("ml-100k", "ml-100k"),
            ("ml-1m", "ml-1m"),
            ("ml-10m", "ml-10m"),
            ("ml-20m", "ml-latest"),
            ("ml-25m", "ml-latest"),
            ("ml-32m", "ml-latest"),
            ("ml-latest", "ml-latest"),  # the full current release; changes over time
        )
    )
}
