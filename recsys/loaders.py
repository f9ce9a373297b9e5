"""Read MovieLens releases, in the file layouts GroupLens publishes, into a :class:`Dataset`.

Four layouts are recognised (``detect_format`` picks one from the files present; their files,
ratings syntax and star scales are the table :data:`recsys.datasets.LAYOUTS`):

``ml-100k``
    ``u.data``: ``user id<TAB>item id<TAB>rating<TAB>timestamp``, no header, ratings 1..5.
    ``u.item`` (latin-1): ``movie id|title|release date|video release date|IMDb URL|`` then one
    0/1 flag per genre in the order ``u.genre`` (``name|index`` lines) gives. ``u.user`` is not
    needed. The genre ``unknown`` means "no genre" and gives an empty list, like
    ``(no genres listed)`` in the newer releases.
``ml-1m``
    ``ratings.dat``: ``UserID::MovieID::Rating::Timestamp``, ratings 1..5; ``movies.dat``
    (latin-1): ``MovieID::Title::Genres`` with ``|``-joined genres. ``users.dat`` is not needed.
``ml-10m``
    As ``ml-1m`` plus ``tags.dat`` (``UserID::MovieID::Tag::Timestamp``, which tells the two
    apart); half-star ratings 0.5..5;
    ``movies.dat`` is UTF-8 where it decodes as such, latin-1 otherwise.
``ml-latest`` (ml-latest-small, ml-20m, ml-25m, ml-32m, ml-latest)
    CSV with a header, UTF-8, LF or CRLF: ``ratings.csv`` (userId,movieId,rating,timestamp),
    ``movies.csv`` (movieId,title,genres; titles may be quoted), optional ``links.csv``
    (movieId,imdbId,tmdbId; either id may be empty), optional ``tags.csv``
    (userId,movieId,tag,timestamp; tags may be quoted). Half-star ratings 0.5..5.

Ratings files can hold 25 million rows, so they are parsed by pyarrow in one pass. Only when that
fast pass fails (or its vectorised checks find a bad value) does a slower line-by-line pass run,
so the error can name the first offending line (1-based, counting the header). Every problem
ends in a :class:`~recsys.errors.DataFormatError` naming the file, the line and what was expected.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .data import Dataset
from .datasets import LAYOUTS, RELEASES, RatingsFile
from .download import default_cache_dir
from .errors import DataFormatError
from .hashing import sha256_file

__all__ = [
    "detect_format",
    "load_movielens",
    "load_dataset",
    "resolve_dataset_dir",
    "ML100K_GENRES",
]

log = logging.getLogger(__name__)

# The genre order of u.item's flag columns when u.genre is absent (as in the 100K README).
ML100K_GENRES: tuple[str, ...] = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip

_NO_GENRES = {"(no genres listed)", "unknown", ""}

_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1

# What pyarrow's converters accept (checked against pyarrow 14+): surrounding spaces/tabs are
# trimmed, ints take an optional '-', floats also '+', exponents and nan/inf spellings. The slow
# pass must accept exactly the same text, or it could blame a line the fast pass was happy with.
_INT_RE = re.compile(r"[ \t]*-?[0-9]+[ \t]*")
_FLOAT_RE = re.compile(
    r"[ \t]*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:nan|inf|infinity))[ \t]*"
)

_READ_CHUNK = 1 << 22

# Column names of the ratings table every layout is read into (Dataset.ratings' columns).
_COLUMNS = ("userId", "movieId", "rating", "timestamp")


# -- public API ---------------------------------------------------------------------------------


def detect_format(path: str | os.PathLike) -> str:
    """The MovieLens layout of directory ``path``: ``ml-latest``, ``ml-10m``, ``ml-1m`` or ``ml-100k``.

    Decided by which ratings/movies files are present (``tags.dat`` tells 10M from 1M). Raises
    :class:`DataFormatError` when the directory is missing or holds no known layout.
    """
    directory = Path(path)
    if not directory.exists():
        raise DataFormatError(
            "directory does not exist; expected an unpacked MovieLens release", directory
        )
    if not directory.is_dir():
        raise DataFormatError(
            "is a file, not a directory; pass the directory that holds the MovieLens files",
            directory,
        )
    present = {p.name for p in _safe_iterdir(directory)}
    for layout in LAYOUTS.values():
        if present.intersection(layout.markers) and present.issuperset(layout.tells_apart):
            return layout.name

    needs = "; ".join(
        f"{name}: {', '.join(lay.required)}"
        + (f" (optional {', '.join(lay.optional)})" if lay.optional else "")
        for name, lay in LAYOUTS.items()
    )
    hint = ""
    # A common slip is passing the folder the zip was unpacked into rather than the release.
    nested = [p.name for p in _safe_iterdir(directory) if p.is_dir() and _looks_like_release(p)]
    if nested:
        hint = f" (did you mean {directory / nested[0]}?)"
    raise DataFormatError(
        f"no known MovieLens layout found{hint}; expected the files of one of: {needs}",
        directory,
    )


def load_movielens(
    path: str | os.PathLike, *, name: str | None = None, skip_bad_lines: bool = False
) -> Dataset:
    """Parse the MovieLens release in directory ``path`` (any layout :func:`detect_format` knows).

    ``name`` defaults to the directory's name. The result's ``source_files`` maps each file read
    to its sha256. Raises :class:`DataFormatError` on any missing file or malformed line; with
    ``skip_bad_lines``, malformed lines of the ratings file are skipped, logged and counted in
    ``Dataset.skipped_lines`` instead.
    """
    directory = Path(path)
    fmt = detect_format(directory)
    required = LAYOUTS[fmt].required
    for file in required:
        if not (directory / file).is_file():
            raise DataFormatError(
                f"required file missing; a {fmt} release needs {', '.join(required)}",
                directory / file,
            )
    name = name or directory.resolve().name
    layout = LAYOUTS[fmt].ratings
    scale = LAYOUTS[fmt].rating_scale

    ratings_path = directory / layout.file
    ratings, skipped = _read_ratings(ratings_path, layout, scale, skip_bad_lines)
    links = None
    if fmt == "ml-latest":
        movies_path = directory / "movies.csv"
        movies = _read_movies_csv(movies_path)
        links_path = directory / "links.csv"
        if links_path.is_file():
            links = _read_links_csv(links_path)
        else:
            log.info("%s: no links.csv; items get no imdbId/tmdbId", directory)
            links_path = None
        read = [ratings_path, movies_path] + ([links_path] if links_path else [])
    elif fmt in ("ml-1m", "ml-10m"):
        movies_path = directory / "movies.dat"
        movies = _read_movies_dat(movies_path, utf8_first=fmt == "ml-10m")
        read = [ratings_path, movies_path]
    else:
        movies_path = directory / "u.item"
        genre_path = directory / "u.genre"
        if genre_path.is_file():
            genres = _read_u_genre(genre_path)
            read = [ratings_path, movies_path, genre_path]
        else:
            log.info("%s: no u.genre; using the standard 19-genre order", directory)
            genres = list(ML100K_GENRES)
            read = [ratings_path, movies_path]
        movies = _read_u_item(movies_path, genres)
    tags_file = LAYOUTS[fmt].tags
    tags_path = directory / tags_file if tags_file else None
    tags = _read_tags(tags_path) if tags_path is not None and tags_path.is_file() else None
    read += [tags_path] if tags is not None else []

    dataset = Dataset.from_frames(
        name=name,
        format=fmt,
        ratings=ratings,
        movies=movies,
        links=links,
        rating_scale=scale,
        source_files={p.name: _sha256(p) for p in read},
        ratings_file=str(ratings_path),
        movies_file=str(movies_path),
        skipped_lines={ratings_path.name: [n for n, _ in skipped]} if skipped else None,
        tags=tags,
    )
    log.info(
        "loaded %s (%s): %d users, %d items, %d ratings",
        name,
        fmt,
        dataset.n_users,
        dataset.n_items,
        len(dataset.ratings),
    )
    return dataset


def resolve_dataset_dir(
    dir_or_name: str | os.PathLike, *, cache_dir: str | os.PathLike | None = None
) -> tuple[Path, str | None]:
    """The directory ``--data`` names, and the release name when it came from the cache.

    An existing directory always wins; a known release name (``"ml-100k"``...) is looked up in
    the download cache. Anything else raises :class:`DataFormatError` saying how to fix it.
    """
    path = Path(dir_or_name)
    if path.is_dir():
        return path, None
    key = str(dir_or_name)
    if key in RELEASES:
        cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        cached = cache / key
        if cached.is_dir():
            return cached, key
        raise DataFormatError(
            f"dataset {key!r} is not downloaded (looked in {cached}); run "
            f"`python -m recsys download {key}` first, or pass --data DIR with the directory of "
            "an unpacked MovieLens release"
        )
    if path.exists():
        raise DataFormatError(
            "is a file, not a directory; pass the directory that holds the MovieLens files",
            path,
        )
    raise DataFormatError(
        f"{dir_or_name}: no such directory, and not a known release name (known: "
        f"{', '.join(RELEASES)}); pass --data DIR with an unpacked MovieLens release"
    )


def load_dataset(
    dir_or_name: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    skip_bad_lines: bool = False,
) -> Dataset:
    """Load a MovieLens directory, or a release name (``"ml-100k"``...) from the download cache.

    An existing directory always wins. A known name not yet downloaded raises
    :class:`DataFormatError` saying how to fetch it (see :func:`resolve_dataset_dir`).
    """
    path, name = resolve_dataset_dir(dir_or_name, cache_dir=cache_dir)
    return load_movielens(path, name=name, skip_bad_lines=skip_bad_lines)


# -- ratings ------------------------------------------------------------------------------------


def _read_ratings(
    path: Path,
    layout: RatingsFile,
    scale: tuple[float, float, float],
    skip_bad_lines: bool = False,
) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """The ratings table and the (line, problem) of every line skipped.

    Strict by default: the first bad line raises. With ``skip_bad_lines``, bad data lines are
    dropped and reported instead (the file as a whole must still be valid: header, not empty).
    """
    try:
        return _read_ratings_strict(path, layout, scale), []
    except DataFormatError as exc:
        if not skip_bad_lines or exc.line is None or (exc.line == 1 and layout.header):
            raise
    skipped: list[tuple[int, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp) / path.name
        with open(clean, "wb") as out:
            for lineno, line in _iter_lines(path):
                if lineno == 1 and layout.header is not None:
                    out.write(line + b"\n")
                    continue
                problem = _line_problem(line, layout, scale) if line else None
                if problem:
                    skipped.append((lineno, problem))
                else:
                    out.write(line + b"\n")
        table = _read_ratings_strict(clean, layout, scale)
    shown = "; ".join(f"line {n}: {why}" for n, why in skipped[:5])
    log.warning("%s: skipped %d bad line(s) (%s)", path, len(skipped), shown)
    return table, skipped


def _read_ratings_strict(
    path: Path, layout: RatingsFile, scale: tuple[float, float, float]
) -> pd.DataFrame:
    """The ratings file as a DataFrame (userId, movieId int32; rating float32; timestamp int64)."""
    _check_not_empty(path, f"expected {layout.sep_name}-separated {', '.join(layout.fields)} rows")
    if layout.header is not None:
        _check_header(path, layout.header)

    names = list(_COLUMNS)
    types = {"userId": pa.int32(), "movieId": pa.int32(), "rating": pa.float64()}
    types["timestamp"] = pa.int64()
    if layout.sep == "::":
        # pyarrow splits on single characters: "a::b" reads as a, <empty>, b. The filler columns
        # are typed null so anything but an empty string there fails the fast pass.
        names = ["userId", "_f1", "movieId", "_f2", "rating", "_f3", "timestamp"]
        types.update({f"_f{i}": pa.null() for i in (1, 2, 3)})
        delimiter = ":"
    else:
        delimiter = layout.sep
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=1 if layout.header else 0,
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                null_values=[""],
                strings_can_be_null=False,
                include_columns=names,
            ),
        )
    except (pa.ArrowException, ValueError) as exc:
        _raise_first_bad_line(path, layout, scale, exc)
    except OSError as exc:
        raise DataFormatError(f"cannot read file ({exc})", path) from None

    if table.num_rows == 0:
        what = "a header but no rating rows" if layout.header else "no rating rows"
        raise DataFormatError(
            f"file has {what}; expected {layout.sep_name}-separated "
            f"{', '.join(layout.fields)} rows",
            path,
        )

    # Move columns out of the Arrow table one at a time, dropping each from the table as it
    # goes, so at most one column exists twice (25M rows: ~0.6 GB table).
    cols: dict[str, np.ndarray] = {}
    first_bad = table.num_rows
    for col in _COLUMNS:
        arr = table.column(col)
        if arr.null_count:  # an empty field: fill it and let the slow pass describe it
            nulls = arr.is_null().to_numpy(zero_copy_only=False)
            first_bad = min(first_bad, int(np.argmax(nulls)))
            arr = arr.fill_null(0)
        cols[col] = arr.to_numpy()
        del arr
        table = table.drop_columns([col])
    del table
    first_bad = min(first_bad, _first_bad_row(cols, scale))
    if first_bad < len(cols["rating"]):
        _raise_at_row(path, layout, scale, first_bad)

    cols["rating"] = cols["rating"].astype(np.float32)
    # copy=False keeps the four arrays as they are (no consolidation into a 2-D block).
    return pd.DataFrame(cols, copy=False)


def _first_bad_row(cols: dict[str, np.ndarray], scale: tuple[float, float, float]) -> int:
    """Index of the first row with a negative id or an off-scale rating; the row count if none.

    Works in slices so the temporaries stay small on 25M-row files.
    """
    lo, hi, step = scale
    n = len(cols["rating"])
    chunk = 1 << 20
    for start in range(0, n, chunk):
        part = slice(start, start + chunk)
        rating = cols["rating"][part]
        with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf/1e308 are flagged below
            steps = (rating - lo) / step
            bad = ~np.isfinite(rating) | (rating < lo) | (rating > hi) | (steps != np.round(steps))
        bad |= cols["userId"][part] < 0
        bad |= cols["movieId"][part] < 0
        if bad.any():
            return start + int(np.argmax(bad))
    return n


def _line_problem(
    line: bytes, layout: RatingsFile, scale: tuple[float, float, float]
) -> str | None:
    """What is wrong with one ratings line (terminator removed), or None if it is valid."""
    try:
        text = line.decode(layout.encoding)
    except UnicodeDecodeError as exc:
        return (
            f"undecodable bytes at column {exc.start + 1}; expected {layout.encoding} text with "
            f"{layout.sep_name}-separated {', '.join(layout.fields)}"
        )
    fields = text.split(layout.sep)
    if len(fields) != 4:
        return (
            f"expected 4 {layout.sep_name}-separated fields ({', '.join(layout.fields)}), "
            f"found {len(fields)}: {_clip(text)!r}"
        )
    user_f, movie_f, rating_f, ts_f = layout.fields
    for label, value in ((user_f, fields[0]), (movie_f, fields[1])):
        if value == "":
            return f"{label} is empty; expected a non-negative integer id"
        if not _INT_RE.fullmatch(value):
            return f"{label} {_clip(value)!r} is not an integer; expected a non-negative integer id"
        if _too_many_digits(value):
            return f"{label} {_clip(value)!r} is too large; expected an id below 2**31"
        number = int(value)
        if number < 0:
            return f"{label} {number} is negative; expected a non-negative integer id"
        if number > _INT32_MAX:
            return f"{label} {number} is too large; expected an id below 2**31"
    lo, hi, step = scale
    expected = f"expected a number from {lo:g} to {hi:g} in steps of {step:g}"
    value = fields[2]
    if value == "":
        return f"{rating_f} is empty; {expected}"
    if not _FLOAT_RE.fullmatch(value):
        return f"{rating_f} {_clip(value)!r} is not a number; {expected}"
    rating = float(value)
    if not math.isfinite(rating):
        return f"{rating_f} {value.strip()!r} is NaN or infinite; {expected}"
    if rating < lo or rating > hi:
        return f"{rating_f} {rating:g} is outside the scale; {expected}"
    steps = (rating - lo) / step
    if steps != round(steps):
        return f"{rating_f} {rating:g} is off the rating step; {expected}"
    value = fields[3]
    if (
        value == ""
        or not _INT_RE.fullmatch(value)
        or _too_many_digits(value)
        or not -_INT64_MAX - 1 <= int(value) <= _INT64_MAX
    ):
        return f"{ts_f} {_clip(value)!r} is not an integer; expected unix seconds"
    return None


def _data_lines(path: Path, layout: RatingsFile) -> Iterator[tuple[int, bytes]]:
    """(line number, content) of each data line: the header and empty lines are skipped,
    as pyarrow skips them."""
    for lineno, line in _iter_lines(path):
        if lineno == 1 and layout.header is not None:
            continue
        if line:
            yield lineno, line


def _raise_first_bad_line(path: Path, layout: RatingsFile, scale, exc: Exception):
    """Slow pass after the fast parser failed: raise for the first invalid line."""
    try:
        for lineno, line in _data_lines(path, layout):
            problem = _line_problem(line, layout, scale)
            if problem:
                raise DataFormatError(problem, path, lineno)
    except OSError as err:
        raise DataFormatError(f"cannot read file ({err})", path) from None
    # The slow pass accepts everything the converters do, so this is not expected; still report.
    detail = _clip(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 200)
    raise DataFormatError(
        f"could not be parsed ({detail}); expected {layout.sep_name}-separated "
        f"{', '.join(layout.fields)} rows",
        path,
    ) from None


def _raise_at_row(path: Path, layout: RatingsFile, scale, row: int):
    """Raise for data row ``row`` (0-based), which the vectorised checks found invalid."""
    try:
        for index, (lineno, line) in enumerate(_data_lines(path, layout)):
            if index == row:
                problem = _line_problem(line, layout, scale)
                raise DataFormatError(problem or "invalid value", path, lineno)
    except OSError as err:
        raise DataFormatError(f"cannot read file ({err})", path) from None
    raise DataFormatError(f"invalid value in data row {row + 1}", path)


def _check_header(path: Path, expected: tuple[str, ...]) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError as exc:
        raise DataFormatError(f"cannot read file ({exc})", path) from None
    first = _strip_eol(head.splitlines(keepends=True)[0]) if head else b""
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    names = [n.strip() for n in text.split(",")] if text is not None else None
    if names != list(expected):
        found = _clip(text) if text is not None else "undecodable bytes"
        raise DataFormatError(
            f"expected the header {','.join(expected)!r}, found {found!r}", path, 1
        )


# -- movies and links ---------------------------------------------------------------------------


def _read_movies_csv(path: Path) -> pd.DataFrame:
    """movies.csv: movieId,title,genres with a header; titles may be quoted."""
    rows = _csv_rows(path, ("movieId", "title", "genres"))
    ids, titles, genres = [], [], []
    for lineno, (movie_id, title, genre_text) in rows:
        ids.append(_parse_id(movie_id, "movieId", path, lineno))
        titles.append(_parse_title(title, path, lineno))
        genres.append(_split_genres(genre_text))
    return _movies_frame(ids, titles, genres, path)


def _read_links_csv(path: Path) -> pd.DataFrame:
    """links.csv: movieId,imdbId,tmdbId; imdbId keeps leading zeros in the file, either may be
    empty."""
    rows = _csv_rows(path, ("movieId", "imdbId", "tmdbId"), allow_empty=True)
    ids, imdb, tmdb = [], [], []
    for lineno, (movie_id, imdb_id, tmdb_id) in rows:
        ids.append(_parse_id(movie_id, "movieId", path, lineno))
        imdb.append(_parse_id(imdb_id, "imdbId", path, lineno) if imdb_id.strip() else None)
        tmdb.append(_parse_id(tmdb_id, "tmdbId", path, lineno) if tmdb_id.strip() else None)
    return pd.DataFrame(
        {
            "movieId": np.asarray(ids, dtype=np.int64),
            "imdbId": pd.array(imdb, dtype="Int64"),
            "tmdbId": pd.array(tmdb, dtype="Int64"),
        }
    )


def _read_tags(path: Path) -> pd.DataFrame:
    """tags.csv (userId,movieId,tag,timestamp; header, UTF-8, tags may be quoted) or tags.dat
    (UserID::MovieID::Tag::Timestamp; UTF-8, else latin-1) as a frame userId, movieId, tag.

    A tag is kept as written (it may hold commas, quotes, ``::`` or any Unicode); an empty tag is
    kept too (:mod:`recsys.features` drops it). Ids and the timestamp must be integers.
    """
    if path.suffix == ".csv":
        rows = _csv_rows(path, ("userId", "movieId", "tag", "timestamp"), allow_empty=True)
        fields = ("userId", "movieId", "timestamp")
    else:
        fields = ("UserID", "MovieID", "Timestamp")
        rows = []
        for lineno, line in _text_lines(_decode(path, _read_bytes(path), ("utf-8", "latin-1"))):
            # Ids off the left, the timestamp off the right: the tag between may hold '::'.
            head = line.split("::", 2)
            tail = head[2].rsplit("::", 1) if len(head) == 3 else []
            if len(tail) != 2:
                raise DataFormatError(
                    f"expected 4 '::'-separated fields (UserID::MovieID::Tag::Timestamp), "
                    f"found {line.count('::') + 1}: {_clip(line)!r}",
                    path,
                    lineno,
                )
            rows.append((lineno, [head[0], head[1], tail[0], tail[1]]))
    users, movies, tags = [], [], []
    for lineno, (user, movie, tag, stamp) in rows:
        users.append(_parse_id(user, fields[0], path, lineno))
        movies.append(_parse_id(movie, fields[1], path, lineno))
        if not _INT_RE.fullmatch(stamp):
            raise DataFormatError(
                f"{fields[2]} {_clip(stamp)!r} is not an integer; expected unix seconds",
                path,
                lineno,
            )
        tags.append(tag)
    return pd.DataFrame(
        {
            "userId": np.asarray(users, dtype=np.int64),
            "movieId": np.asarray(movies, dtype=np.int64),
            "tag": pd.Series(tags, dtype=object),
        }
    )


def _csv_rows(
    path: Path, header: tuple[str, ...], *, allow_empty: bool = False
) -> list[tuple[int, list[str]]]:
    """(line number, fields) of each data row of a small UTF-8 CSV file with ``header``."""
    _check_not_empty(path, f"expected a header {','.join(header)!r} and rows")
    text = _decode(path, _read_bytes(path), ("utf-8-sig",))
    # newline="" keeps quoted line breaks intact and splits lines the way pyarrow does.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        first = next(reader, None)
        if first is None or [f.strip() for f in first] != list(header):
            found = ",".join(first) if first else ""
            raise DataFormatError(
                f"expected the header {','.join(header)!r}, found {_clip(found)!r}", path, 1
            )
        start = reader.line_num + 1
        for fields in reader:
            if not fields:  # an empty line
                start = reader.line_num + 1
                continue
            if len(fields) != len(header):
                raise DataFormatError(
                    f"expected {len(header)} comma-separated fields ({','.join(header)}), "
                    f"found {len(fields)}: {_clip(','.join(fields))!r}",
                    path,
                    start,
                )
            rows.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataFormatError(
            f"malformed CSV ({exc}); expected {','.join(header)} rows", path, reader.line_num
        ) from None
    if not rows and not allow_empty:
        raise DataFormatError(f"file has a header but no rows; expected {','.join(header)}", path)
    return rows


def _read_movies_dat(path: Path, *, utf8_first: bool) -> pd.DataFrame:
    """movies.dat: MovieID::Title::Genres (1M: latin-1; 10M: UTF-8, else latin-1)."""
    _check_not_empty(path, "expected MovieID::Title::Genres lines")
    encodings = ("utf-8", "latin-1") if utf8_first else ("latin-1",)
    text = _decode(path, _read_bytes(path), encodings)
    ids, titles, genres = [], [], []
    for lineno, line in _text_lines(text):
        # Split the id off the left and the genres off the right, so a title that itself
        # contains ':' (even next to a separator) stays whole.
        head = line.split("::", 1)
        tail = head[1].rsplit("::", 1) if len(head) == 2 else []
        if len(tail) != 2:
            raise DataFormatError(
                f"expected 3 '::'-separated fields (MovieID::Title::Genres), "
                f"found {line.count('::') + 1}: {_clip(line)!r}",
                path,
                lineno,
            )
        ids.append(_parse_id(head[0], "MovieID", path, lineno))
        titles.append(_parse_title(tail[0], path, lineno))
        genres.append(_split_genres(tail[1]))
    if not ids:
        raise DataFormatError("no movie lines; expected MovieID::Title::Genres lines", path)
    return _movies_frame(ids, titles, genres, path)


def _read_u_genre(path: Path) -> list[str]:
    """u.genre: ``name|index`` lines; returns the names in index order."""
    text = _decode(path, _read_bytes(path), ("latin-1",))
    by_index: dict[int, str] = {}
    for lineno, line in _text_lines(text):
        parts = line.split("|")
        if len(parts) != 2 or not parts[0].strip() or not _INT_RE.fullmatch(parts[1]):
            raise DataFormatError(
                f"expected 'genre name|index', found {_clip(line)!r}", path, lineno
            )
        if _too_many_digits(parts[1]):
            raise DataFormatError(f"genre index {_clip(parts[1])!r} is too large", path, lineno)
        index = int(parts[1])
        if index in by_index or index < 0:
            raise DataFormatError(f"genre index {index} is repeated or negative", path, lineno)
        by_index[index] = parts[0].strip()
    if sorted(by_index) != list(range(len(by_index))) or not by_index:
        raise DataFormatError(
            f"genre indices must run 0..n-1 without gaps, found {sorted(by_index)}", path
        )
    return [by_index[i] for i in range(len(by_index))]


def _read_u_item(path: Path, genre_names: list[str]) -> pd.DataFrame:
    """u.item: id|title|release date|video release date|IMDb URL|<one 0/1 flag per genre>."""
    _check_not_empty(path, "expected pipe-separated movie lines")
    text = _decode(path, _read_bytes(path), ("latin-1",))
    n_genres = len(genre_names)
    n_fields = 5 + n_genres
    ids, titles, genres = [], [], []
    for lineno, line in _text_lines(text):
        parts = line.split("|")
        if len(parts) < n_fields:
            raise DataFormatError(
                f"expected {n_fields} '|'-separated fields (movie id|title|release date|"
                f"video release date|IMDb URL|{n_genres} genre flags), found {len(parts)}",
                path,
                lineno,
            )
        flags = [f.strip() for f in parts[-n_genres:]]
        if any(f not in ("0", "1") for f in flags):
            raise DataFormatError(
                f"genre flags must be 0 or 1, found {'|'.join(flags)!r}", path, lineno
            )
        ids.append(_parse_id(parts[0], "movie id", path, lineno))
        # Join any extra fields back into the title: only a '|' inside a title can make them.
        titles.append(_parse_title("|".join(parts[1 : len(parts) - n_genres - 3]), path, lineno))
        genres.append([g for g, f in zip(genre_names, flags) if f == "1" and g not in _NO_GENRES])
    if not ids:
        raise DataFormatError("no movie lines; expected pipe-separated movie lines", path)
    return _movies_frame(ids, titles, genres, path)


def _movies_frame(ids: list[int], titles: list[str], genres: list[list[str]], path: Path):
    return pd.DataFrame(
        {
            "movieId": np.asarray(ids, dtype=np.int64),
            "title": pd.Series(titles, dtype=object),
            "genres": pd.Series(genres, dtype=object),
        }
    )


def _parse_id(value: str, label: str, path: Path, lineno: int) -> int:
    if not _INT_RE.fullmatch(value):
        raise DataFormatError(
            f"{label} {_clip(value)!r} is not an integer; expected a non-negative integer id",
            path,
            lineno,
        )
    if _too_many_digits(value):
        raise DataFormatError(
            f"{label} {_clip(value)!r} is too large; expected a 64-bit id", path, lineno
        )
    number = int(value)
    if number < 0:
        raise DataFormatError(
            f"{label} {number} is negative; expected a non-negative integer id", path, lineno
        )
    if number > _INT64_MAX:
        raise DataFormatError(f"{label} {number} is too large; expected a 64-bit id", path, lineno)
    return number


def _parse_title(value: str, path: Path, lineno: int) -> str:
    title = value.strip()
    if not title:
        raise DataFormatError("title is empty; expected a movie title", path, lineno)
    return title


def _split_genres(value: str) -> list[str]:
    value = value.strip()
    if value in _NO_GENRES:
        return []
    return [g.strip() for g in value.split("|") if g.strip() and g.strip() not in _NO_GENRES]


# -- file helpers -------------------------------------------------------------------------------


def _iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(1-based number, content without its terminator) of each line of a binary file.

    Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``, as in pyarrow's CSV reader, so line
    numbers agree with the rows it reports. Read in chunks: files can be gigabytes.
    """
    lineno = 0
    pending = b""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_READ_CHUNK)
            if not chunk:
                break
            lines = (pending + chunk).splitlines(keepends=True)
            # The last piece may continue in the next chunk (no terminator yet, or a '\r'
            # whose '\n' has not been read).
            pending = lines.pop()
            if pending.endswith(b"\n"):
                lines.append(pending)
                pending = b""
            for line in lines:
                lineno += 1
                yield lineno, _strip_eol(line)
    if pending:
        yield lineno + 1, _strip_eol(pending)


def _strip_eol(line: bytes) -> bytes:
    if line.endswith(b"\r\n"):
        return line[:-2]
    if line.endswith((b"\n", b"\r")):
        return line[:-1]
    return line


def _text_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, content) of each non-blank line of decoded text (\\n, \\r\\n or \\r)."""
    for lineno, line in enumerate(io.StringIO(text, newline=""), 1):
        line = line.rstrip("\r\n")
        if line.strip():
            yield lineno, line


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataFormatError(f"cannot read file ({exc})", path) from None


def _decode(path: Path, data: bytes, encodings: tuple[str, ...]) -> str:
    """``data`` decoded with the first encoding that fits; else an error at the bad line."""
    error = None
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            error = error or exc
    assert error is not None
    raise DataFormatError(
        f"undecodable bytes {data[error.start : error.start + 4]!r}; expected "
        f"{' or '.join(encodings).replace('utf-8-sig', 'utf-8')} text",
        path,
        _line_of_offset(data, error.start),
    )


def _line_of_offset(data: bytes, offset: int) -> int:
    """1-based line number holding byte ``offset`` of ``data``."""
    pieces = data[:offset].splitlines(keepends=True)
    if not pieces or pieces[-1].endswith((b"\n", b"\r")):
        return len(pieces) + 1
    return len(pieces)


def _check_not_empty(path: Path, expected: str) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataFormatError(f"cannot read file ({exc})", path) from None
    if size == 0:
        raise DataFormatError(f"file is empty; {expected}", path)


def _sha256(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError as exc:
        raise DataFormatError(f"cannot read file ({exc})", path) from None


def _safe_iterdir(directory: Path) -> list[Path]:
    try:
        return list(directory.iterdir())
    except OSError as exc:
        raise DataFormatError(f"cannot list directory ({exc})", directory) from None


def _looks_like_release(directory: Path) -> bool:
    try:
        names = {p.name for p in directory.iterdir()}
    except OSError:
        return False
    return any(set(layout.required) <= names for layout in LAYOUTS.values())


def _too_many_digits(value: str) -> bool:
    """Whether integer text has more digits than any 64-bit value: such text is refused before
    ``int()``, which raises its own ValueError beyond Python's 4,300-digit limit."""
    return len(value.strip().lstrip("+-").lstrip("0")) > 19


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
