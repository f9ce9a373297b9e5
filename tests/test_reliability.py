"""Reliability and security: hostile inputs end in the project's own errors, never a crash or hang.

- Every loader file format (ml-100k ``u.data``/``u.item``/``u.genre``, ml-1m and ml-10m
  ``ratings.dat``/``movies.dat``, ml-latest ``movies.csv``/``links.csv``; ml-latest ``ratings.csv``
  is fuzzed in test_loaders.py) under random bytes, truncation, byte flips, wrong separators,
  other encodings, missing or extra columns: a Dataset or a DataFormatError naming a file of the
  release (and a line inside it), under a time guard. Valid rows with duplicates and extreme
  values load to exactly the expected table.
- Fold-in, pure (:class:`recsys.foldin.FoldIn`) and through the shipped ``artifacts/ials``:
  profiles of zero, one and ten thousand ratings, unknown and absurd movie ids, NaN, infinite,
  negative and huge ratings: a correct result or a ConfigError.
- App inputs: ratings in the URL and search strings with markup and regex characters, through the
  pure helpers and one AppTest run; dataset strings are drawn as escaped text, never HTML.
- Files that can hurt: a FAISS index swapped for another valid one (manifest hash recomputed), an
  npz with unexpected keys, a manifest entry that is a symlink to a file outside the directory.
- The deployment settings in ``.streamlit/config.toml``.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tomllib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

import recsys
from pages.ui.profile import decode_profile, encode_profile, scale_values
from pages.ui.search import TitleSearch, parse_query, title_tokens
from pages.ui.text import escape_markdown
from recsys.artifacts import sha256_file
from recsys.datasets import LAYOUTS
from recsys.errors import ArtifactError, ConfigError, DataFormatError, RecsysError
from recsys.foldin import FoldIn
from recsys.loaders import load_movielens

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
IALS = ROOT / "artifacts" / "ials"
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
GUARD_SECONDS = 20


class Hang(Exception):
    """Raised by :func:`time_guard` when the guarded call runs too long."""


@contextlib.contextmanager
def time_guard(seconds: float = GUARD_SECONDS):
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""

    def _alarm(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _n_lines(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") + 1


def load_or_error(directory: Path) -> recsys.Dataset | DataFormatError:
    """Load ``directory``; a DataFormatError is returned (after checks), anything else fails."""
    try:
        with time_guard():
            return load_movielens(directory)
    except DataFormatError as err:
        message = str(err)
        assert err.file is not None or str(directory) in message, message
        if err.file is not None:
            named = Path(err.file)
            assert named == directory or named.parent == directory, message
            assert named.name in message
            if err.line is not None and named.is_file():
                assert 1 <= err.line <= _n_lines(named.read_bytes()), message
        return err


def check_dataset(ds, scale: tuple[float, float, float]) -> None:
    r = ds.ratings
    assert len(r) > 0
    assert r["rating"].between(scale[0], scale[1]).all()
    assert (r["userId"] >= 0).all() and (r["movieId"] >= 0).all()
    assert not r.duplicated(["userId", "movieId"]).any()
    assert set(r["movieId"]) <= set(ds.items["movieId"])


# -- every file of every layout under hostile bytes -------------------------------------------

# (fixture, file, the separators and tokens its lines are made of)
_COMMON = [b"1", b"2", b"10", b"100", b"-1", b"4.5", b"5", b"nan", b"inf", b"1e308", b" ", b"x"]
_COMMON += [b"99999999999999999999", b"\xff", b"\x00", b'"', b"\n", b"\r\n", b"\r", b"\xc3\xa9"]
TARGETS = {
    ("ml-100k", "u.data"): [b"\t", b"::", b","],
    ("ml-100k", "u.item"): [b"|", b"|0", b"|1", b"(1995)", b"\t"],
    ("ml-100k", "u.genre"): [b"|", b"Action", b"|0", b"|1"],
    ("ml-1m", "ratings.dat"): [b"::", b":", b",", b"\t"],
    ("ml-1m", "movies.dat"): [b"::", b"|", b"Drama", b"Title (1999)"],
    ("ml-10m", "ratings.dat"): [b"::", b"0.5", b"3.75"],
    ("ml-10m", "movies.dat"): [b"::", b"|", b"Comedy", b"\xe2\x80"],
    ("ml-latest", "movies.csv"): [b",", b"movieId,title,genres\n", b"(no genres listed)", b'""'],
    ("ml-latest", "links.csv"): [b",", b"movieId,imdbId,tmdbId\n", b"tt01", b"0100001"],
}


def _variants(valid: bytes, tokens: list[bytes]) -> st.SearchStrategy[bytes]:
    n = len(valid)
    lines = valid.splitlines()

    def column_change(args):
        index, extra = args
        changed = list(lines)
        line = changed[index % len(changed)]
        changed[index % len(changed)] = line + extra if extra else line.rsplit(tokens[0], 1)[0]
        return b"\n".join(changed) + b"\n"

    return st.one_of(
        st.binary(max_size=400),  # random bytes, empty files included
        st.integers(0, n).map(lambda k: valid[:k]),  # truncated
        st.tuples(st.integers(0, n - 1), st.binary(min_size=1, max_size=4)).map(
            lambda t: valid[: t[0]] + t[1] + valid[t[0] + 1 :]  # bytes flipped
        ),
        st.lists(st.sampled_from(tokens + _COMMON), max_size=80).map(b"".join),
        st.sampled_from([b",", b";", b" ", b"\t", b"|", b"::"]).map(
            lambda sep: valid.replace(tokens[0], sep)  # wrong separator throughout
        ),
        st.sampled_from(["utf-16", "utf-32", "cp1252"]).map(
            lambda enc: valid.decode("utf-8", "replace").encode(enc, "replace")  # wrong encoding
        ),
        st.tuples(st.integers(0, 100), st.sampled_from([b"", tokens[0] + b"7", tokens[0] * 3])).map(
            column_change  # a missing or extra column on one line
        ),
        st.integers(1, 3).map(lambda k: valid + valid.splitlines(keepends=True)[-1] * k),  # dups
    )


@pytest.mark.parametrize(("fixture", "file"), list(TARGETS), ids=lambda v: str(v))
def test_any_bytes_in_any_file_load_or_raise_data_format_error(fixture: str, file: str) -> None:
    valid = (FIXTURES / fixture / file).read_bytes()
    scale = LAYOUTS[fixture].rating_scale
    outcomes = {"ok": 0, "error": 0}

    @FUZZ
    @given(data=_variants(valid, TARGETS[(fixture, file)]))
    def run(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp) / fixture
            shutil.copytree(FIXTURES / fixture, directory)
            (directory / file).write_bytes(data)
            result = load_or_error(directory)
            if isinstance(result, DataFormatError):
                outcomes["error"] += 1
            else:
                outcomes["ok"] += 1
                check_dataset(result, scale)

    run()
    assert outcomes["error"] > 0  # the strategies do reach the error paths


# -- valid rows, duplicates and extremes: exactly the expected table ---------------------------

_MOVIES = {"ml-100k": [1, 2, 3, 4, 5, 6], "ml-1m": [10, 20, 30, 40], "ml-10m": [100, 200, 300]}
_MOVIES["ml-latest"] = [1, 2, 3, 5, 8]
_RATINGS_FILE = {"ml-100k": "u.data", "ml-1m": "ratings.dat", "ml-10m": "ratings.dat"}
_RATINGS_FILE["ml-latest"] = "ratings.csv"


def _write_rows(fixture: str, rows: list[tuple[int, int, float, int]]) -> bytes:
    sep = {"ml-100k": "\t", "ml-1m": "::", "ml-10m": "::", "ml-latest": ","}[fixture]
    head = "userId,movieId,rating,timestamp\n" if fixture == "ml-latest" else ""
    return (
        head + "".join(sep.join([str(u), str(m), f"{r:g}", str(t)]) + "\n" for u, m, r, t in rows)
    ).encode()


@pytest.mark.parametrize("fixture", list(_RATINGS_FILE))
def test_valid_rows_with_duplicates_and_extremes_load_exactly(fixture: str) -> None:
    lo, hi, step = LAYOUTS[fixture].rating_scale
    n_steps = round((hi - lo) / step)
    row = st.tuples(
        st.sampled_from([0, 1, 2, 2**31 - 1]),
        st.sampled_from(_MOVIES[fixture]),
        st.integers(0, n_steps).map(lambda k: lo + k * step),
        st.sampled_from([-(2**63), -1, 0, 1, 2, 2**63 - 1]),
    )

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(rows=st.lists(row, min_size=1, max_size=25))
    def run(rows):
        expected: dict[tuple[int, int], tuple[float, int]] = {}
        for u, m, r, t in rows:  # the latest timestamp wins; on a tie, the later line
            if (u, m) not in expected or t >= expected[(u, m)][1]:
                expected[(u, m)] = (r, t)
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp) / fixture
            shutil.copytree(FIXTURES / fixture, directory)
            (directory / _RATINGS_FILE[fixture]).write_bytes(_write_rows(fixture, rows))
            with time_guard():
                ds = load_movielens(directory)
        got = {
            (int(u), int(m)): (float(r), int(t))
            for u, m, r, t in ds.ratings[["userId", "movieId", "rating", "timestamp"]].itertuples(
                index=False
            )
        }
        assert got == expected

    run()


@pytest.mark.parametrize("fixture", list(_RATINGS_FILE))
@pytest.mark.parametrize(
    ("field", "value"),
    [
        (0, "-1"), (0, "2147483648"), (0, "1e3"), (1, "99999999999999999999"), (1, ""),
        (2, "nan"), (2, "inf"), (2, "-inf"), (2, "-4"), (2, "1e308"), (2, "0"), (3, "1.5"),
        (3, "18446744073709551616"),
    ],
)  # fmt: skip
def test_bad_value_on_line_three_names_file_line_and_field(fixture, field, value):
    movie = _MOVIES[fixture][0]
    rows = [[1, movie, 4, 5], [2, movie, 4, 5]]
    rows[1][field] = value
    data = _write_rows(fixture, [tuple(r) for r in rows]) if field != 2 else None
    if data is None:  # the rating field is written as given (no %g formatting)
        sep = {"ml-100k": "\t", "ml-1m": "::", "ml-10m": "::", "ml-latest": ","}[fixture]
        head = "userId,movieId,rating,timestamp\n" if fixture == "ml-latest" else ""
        data = (head + "".join(sep.join(str(x) for x in r) + "\n" for r in rows)).encode()
    line = 3 if fixture == "ml-latest" else 2
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / fixture
        shutil.copytree(FIXTURES / fixture, directory)
        (directory / _RATINGS_FILE[fixture]).write_bytes(data)
        err = load_or_error(directory)
    assert isinstance(err, DataFormatError), f"{value!r} in field {field} was accepted"
    assert f"{_RATINGS_FILE[fixture]}, line {line}: " in str(err)
    names = {"ml-100k": ("user id", "item id", "rating", "timestamp")}
    names["ml-latest"] = ("userId", "movieId", "rating", "timestamp")
    fields = names.get(fixture, ("UserID", "MovieID", "Rating", "Timestamp"))
    assert fields[field] in str(err)


# -- fold-in: pure ---------------------------------------------------------------------------

N_ITEMS, DIM = 40, 4


def _pure(method: str) -> FoldIn:
    rng = np.random.default_rng(7)
    q = rng.normal(size=(N_ITEMS, DIM)).astype(np.float32)
    return FoldIn(
        method,
        popularity=rng.integers(0, 50, N_ITEMS).astype(np.float32),
        item_factors=q,
        item_bias=rng.normal(size=N_ITEMS).astype(np.float32) if method == "ridge" else None,
        params={"reg": 0.5, "alpha": 3.0, "unobserved_weight": 0.2, "threshold": 4.0},
    )


_anything_float = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.5, 1.0, 3.0, 4.0, 4.5, 5.0, -1.0, 1e308, -0.0]),
)


@pytest.mark.parametrize("method", ["confidence", "ridge", "popularity"])
def test_pure_fold_in_any_profile_is_correct_or_a_config_error(method: str) -> None:
    fold = _pure(method)

    @FUZZ
    @given(
        codes=st.lists(st.integers(-3, N_ITEMS + 3), max_size=N_ITEMS + 5),
        ratings=st.lists(_anything_float, max_size=N_ITEMS + 5),
    )
    def run(codes, ratings):
        try:
            with time_guard():
                result = fold.fold_in(np.array(codes, np.int64), np.array(ratings, np.float64))
        except ConfigError as err:
            assert any(w in str(err) for w in ("item_codes", "ratings")), str(err)
            return
        assert len(codes) == len(ratings) and len(set(codes)) == len(codes)
        assert all(0 <= c < N_ITEMS for c in codes)
        assert result.scores.shape == (N_ITEMS,)
        assert np.isfinite(result.scores).all()  # every accepted profile gives finite scores
        if method == "confidence" and result.user_vector is not None:
            # The solve's optimality condition, written out from the loss (not from the code):
            # sum_i c_i (x.q_i - p_i) q_i + lam x = 0 over every item.
            q = fold.item_factors.astype(np.float64)
            c = np.full(N_ITEMS, 0.2)
            p = np.zeros(N_ITEMS)
            for code, r in zip(codes, ratings):
                c[code] = 3.0
                p[code] = 1.0 if r >= 4.0 else 0.0
            x = result.user_vector.astype(np.float64)
            grad = q.T @ (c * (q @ x - p)) + 0.5 * x
            assert np.abs(grad).max() < 1e-3 * max(1.0, np.abs(q.T @ (c * p)).max())

    run()


def test_pure_fold_in_ten_thousand_ratings():
    rng = np.random.default_rng(3)
    n = 12_000
    fold = FoldIn(
        "confidence",
        popularity=np.ones(n, np.float32),
        item_factors=rng.normal(size=(n, 8)).astype(np.float32),
    )
    codes = rng.choice(n, 10_000, replace=False)
    ratings = rng.choice([1.0, 3.0, 4.5, 5.0], 10_000)
    with time_guard(10):
        result = fold.fold_in(codes, ratings)
        contrib = fold.contributions(codes, ratings, np.arange(10))
    assert np.isfinite(result.scores).all() and result.user_vector.shape == (8,)
    assert contrib.shape == (10, 10_000) and np.isfinite(contrib).all()


# -- fold-in: through the shipped artifact -----------------------------------------------------


@pytest.fixture(scope="module")
def ials():
    if not (IALS / "manifest.json").exists():
        pytest.skip(f"{IALS} not present")
    return recsys.load(IALS)


def test_artifact_zero_one_and_ten_thousand_ratings(ials):
    ids = [int(m) for m in ials.items["movieId"]]
    empty = ials.recommend({}, k=10)
    assert len(empty.picks) == 10 and empty.fallback
    assert ials.fold_in({}) is None

    one = ials.recommend({ids[0]: 5.0}, k=10)
    assert len(one.picks) == 10 and one.fallback is None
    assert ids[0] not in set(one.picks["movieId"])
    assert np.isfinite(ials.fold_in({ids[0]: 5.0})).all()

    unknown = [10**9 + i for i in range(10_000 - len(ids))]
    many = {m: (5.0 if i % 3 else 2.0) for i, m in enumerate(ids + unknown)}
    assert len(many) == 10_000
    with time_guard(30):  # a hang fails here
        prof = ials.profile(many)
        picks = ials.recommend(many, k=10).picks
        kept = ials.recommend(many, k=10, exclude_rated=False).picks
    assert sorted(prof.unknown_ids) == unknown and len(prof.codes) == len(ids)
    assert np.isfinite(prof.result.scores).all()
    assert len(picks) == 0  # every movie is rated and excluded
    assert len(kept) == 10 and kept["because"].map(bool).all()


@pytest.mark.parametrize(
    "ratings",
    [
        {999_999_999: 5.0},
        {10**30: 5.0},
        {-(10**30): 4.0},
        {-5: 4.0, 0: 4.0},
        {"123456789": 4.0},
    ],
)
def test_artifact_unknown_or_absurd_ids_are_reported_not_fatal(ials, ratings):
    with time_guard():
        rec = ials.recommend(ratings, k=5)
    assert len(rec.picks) == 5 and rec.fallback == "no ratings yet"
    assert len(rec.unknown_ids) == len(ratings)


@pytest.mark.parametrize(
    "ratings",
    [
        {1: float("nan")}, {1: float("inf")}, {1: -4.0}, {1: 1e308}, {1: 6.0}, {1: "five"},
        {1: None}, {"abc": 4.0}, {float("inf"): 4.0}, {float("nan"): 4.0}, {None: 4.0},
    ],
)  # fmt: skip
def test_artifact_bad_values_are_config_errors(ials, ratings):
    for call in (ials.recommend, ials.fold_in, ials.profile):
        with pytest.raises(ConfigError) as err:
            call(ratings)
        assert "movie" in str(err.value)


def test_artifact_any_mapping_is_correct_or_a_config_error(ials):
    catalogue = {int(m) for m in ials.items["movieId"]}
    ids = st.one_of(st.sampled_from(sorted(catalogue)[:200]), st.integers(-(2**70), 2**70))

    @FUZZ
    @given(ratings=st.dictionaries(ids, _anything_float, max_size=30))
    def run(ratings):
        try:
            with time_guard():
                rec = ials.recommend(ratings, k=10)
        except ConfigError as err:
            assert "rating for movie" in str(err)
            assert any(not (math.isfinite(r) and 0.5 <= r <= 5.0) for r in ratings.values())
            return
        assert all(math.isfinite(r) and 0.5 <= r <= 5.0 for r in ratings.values())
        assert set(rec.unknown_ids) == {m for m in ratings if m not in catalogue}
        picks = rec.picks
        assert not set(picks["movieId"]) & set(ratings)
        assert len(picks) == 10 and np.isfinite(picks["score"]).all()

    run()


# -- app inputs: the URL profile and the search box --------------------------------------------

_url_parts = st.one_of(
    st.tuples(st.integers(-5, 10**15), st.sampled_from(["5", "4.5", "0.5", "6", "nan", "1e3"])).map(
        lambda t: f"{t[0]}:{t[1]}"
    ),
    st.sampled_from(["<script>alert(1)</script>", "%3Cb%3E", "1:5:5", ":", "1:", ":5", "١:٥"]),
    st.text(max_size=12),
)


@FUZZ
@given(parts=st.lists(_url_parts, max_size=40), repeat=st.integers(1, 3))
def test_url_profile_never_raises_and_keeps_only_valid_known_ratings(parts, repeat):
    text = ",".join(parts * repeat)
    known = set(range(1, 200))
    with time_guard(5):
        ratings, warnings = decode_profile(text, (0.5, 5.0, 0.5), known_ids=known, max_items=20)
    assert len(ratings) <= 20 and set(ratings) <= known
    assert all(r in scale_values((0.5, 5.0, 0.5)) for r in ratings.values())
    assert all(isinstance(w, str) for w in warnings)
    if ratings:  # what was kept survives the round trip through a link
        assert decode_profile(encode_profile(ratings), (0.5, 5.0, 0.5))[0] == ratings


def test_huge_url_profile_is_cut_quickly(monkeypatch):
    """A 3 MB link is cut at MAX_URL_CHARS before any part is parsed: the work is bounded by
    the cap, not by the link (counted in parsed parts, not timed)."""
    from pages.ui import profile

    parsed = []
    make_parser = profile._rating_parser

    def counting_parser(scale):
        parse = make_parser(scale)

        def count_then_parse(value: str) -> object:
            parsed.append(value)
            return parse(value)

        return count_then_parse

    monkeypatch.setattr(profile, "_rating_parser", counting_parser)
    text = ",".join(f"{i}:4.5" for i in range(1, 400_000)) + ",<b>" * 1000
    ratings, warnings = decode_profile(text, (0.5, 5.0, 0.5), known_ids=range(1, 100))
    # Every part of the cut text is read, nothing past it ("1:4.5," is the shortest part).
    cut = text[: profile.MAX_URL_CHARS]
    assert len(parsed) == cut[: cut.rfind(",")].count(",") + 1
    assert len(parsed) <= profile.MAX_URL_CHARS // len("1:4.5,") + 1
    assert len(ratings) == 99 and any("characters" in w for w in warnings)


TRICKY_TITLES = [
    "[REC] (2007)", "Se7en (a.k.a. Seven) (1995)", ".*+?^$ (2001)", "<img src=x onerror=alert(1)>",
    "Secret of My Succe$s, The (1987)", "*batteries not included (1987)", "C:\\\\path (2000)",
    "(?P<x>a)|b (1999)", "Amélie (2001)", "Back\\slash_under_score (1990)",
]  # fmt: skip


@FUZZ
@given(
    query=st.one_of(st.text(max_size=40), st.sampled_from(["(", "[", ".*", "\\", "$", "<", "|"]))
)
def test_search_takes_any_string_as_plain_text(query):
    index = TitleSearch(TRICKY_TITLES)
    with time_guard(5):
        found = index.search(query, limit=5)
    assert len(found) <= 5 and all(0 <= c < len(TRICKY_TITLES) for c in found)
    for code in found:  # every word of the query really matches a word of the title
        _, _, words = title_tokens(TRICKY_TITLES[code])
        for w in parse_query(query):
            edits = 2 if len(w) >= 8 else 1 if len(w) >= 5 else 0
            assert (
                w in words
                or (len(w) >= 3 and not w.isdigit() and any(t.startswith(w) for t in words))
                or (edits and min(OSA.distance(w, t) for t in words) <= edits)
            ), (query, w, TRICKY_TITLES[code])


@FUZZ
@given(text=st.one_of(st.text(max_size=60), st.sampled_from(TRICKY_TITLES)))
def test_escaped_text_opens_no_markup(text):
    out = escape_markdown(text)
    # Every markup character is preceded by a backslash that is itself not escaped.
    i = 0
    while i < len(out):
        if out[i] == "\\":
            i += 2
            continue
        assert out[i] not in "<>[]`*_$|{}~\n\r", (text, out)
        i += 1


def test_app_with_hostile_link_and_search(monkeypatch, tmp_path):
    from test_app import build_fixture_root, new_app, no_raw_html

    root = build_fixture_root(tmp_path / "artifacts")
    model = recsys.load(root / "ials")
    good = int(model.items["movieId"].iat[10])
    link = ",".join(
        [f"{good}:4.5", "<script>alert(1)</script>", "99999999:5", "1:5:5", "%3Cb%3E"]
        + [f"{10**20 + i}:4" for i in range(3000)]
    )
    at = new_app(monkeypatch, root, {"r": link})
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["ratings"] == {good: 4.5}
    text = " ".join(w.value for w in at.warning)
    assert "<script>" not in text and "characters" in text
    for query in ["<img src=x onerror=alert(1)>", ".*[(", "script", "bold"]:
        at.text_input(key="search_q").set_value(query).run()
        assert not at.exception, at.exception
        no_raw_html(at)
        for md in at.markdown:
            assert "<script" not in md.value and "<img" not in md.value, md.value
        labels = [s.label for s in at.segmented_control if s.key.startswith("search_")]
        assert all("<b>" not in label for label in labels)
        if query in ("script", "bold"):  # the fixture title with HTML in it is found, escaped
            assert any("\\<script\\>" in label for label in labels), labels


# -- files that can hurt ------------------------------------------------------------------------


@pytest.fixture
def art(tmp_path):
    from test_artifacts import make_artifact

    return make_artifact(tmp_path / "a", np.random.default_rng(11))


def _rehash(directory: Path, name: str) -> None:
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["files"][name] = sha256_file(directory / name)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_swapped_faiss_index_is_refused_or_stays_in_bounds(art, tmp_path):
    import faiss

    from recsys.index import ItemIndex

    original = recsys.load(art)
    n, d = original.item_embeddings.shape
    rng = np.random.default_rng(5)
    cases = {
        "more vectors": faiss.IndexFlatIP(d),
        "other dimension": faiss.IndexFlatIP(d + 1),
        "same shape, other vectors": faiss.IndexFlatIP(d),
        "hnsw, same shape": faiss.IndexHNSWFlat(d, 8, faiss.METRIC_INNER_PRODUCT),
        "l2 metric": faiss.IndexFlatL2(d),
    }
    sizes = {"more vectors": (n * 10, d), "other dimension": (n, d + 1)}
    for label, index in cases.items():
        rows, dim = sizes.get(label, (n, d))
        index.add(rng.normal(size=(rows, dim)).astype(np.float32))
        target = tmp_path / label.replace(" ", "_").replace(",", "")
        shutil.copytree(art, target)
        faiss.write_index(index, str(target / "index.faiss"))
        _rehash(target, "index.faiss")
        if rows != n or dim != d:
            with pytest.raises(ArtifactError, match="index.faiss: index holds"):
                recsys.load(target)
            continue
        model = recsys.load(target)
        movie = int(model.items["movieId"].iat[0])
        near = model.similar(movie, k=10)
        assert len(near) == 10 and set(near["movieId"]) <= set(model.items["movieId"])
        # Batched searches go through the planted index: ids still stay inside the catalogue.
        ids, _ = model.index.search(model.index.vectors[:5], 10)
        assert ((ids >= 0) & (ids < n)).all()
        picks = model.recommend({movie: 5.0}, k=10).picks
        assert len(picks) == 10
    assert isinstance(original.index, ItemIndex)


@pytest.mark.parametrize("kind", ["garbage", "truncated", "empty"])
def test_unreadable_faiss_index_with_matching_hash_is_refused(art, kind):
    data = (art / "index.faiss").read_bytes()
    bad = {"garbage": np.random.default_rng(1).bytes(4096), "truncated": data[: len(data) // 2]}
    (art / "index.faiss").write_bytes(bad.get(kind, b""))
    _rehash(art, "index.faiss")
    with pytest.raises(ArtifactError, match="index.faiss: not a readable FAISS index"):
        recsys.load(art)


def _rewrite_npz(directory: Path, change) -> None:
    with np.load(directory / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    with open(directory / "arrays.npz", "wb") as f:
        np.savez(f, **arrays)
    _rehash(directory, "arrays.npz")


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"notes": np.float32(1.0)}, "array 'notes' is not part of the artifact format"),
        ({"notes": np.array(["a"] * 60)}, "array 'notes' is not part of the artifact format"),
        ({"network.w": np.ones((2, 2), np.float32)}, None),  # unused by this fold-in method
        ({"network.w": np.full(2, np.nan, np.float32)}, "array 'network.w' holds NaN"),
        # Artifacts never hold a similarity matrix (only models with embeddings are exported).
        ({"similarity.data": np.ones(1, np.float32)}, "'similarity.data' is not part of"),
        ({"item_bias": np.zeros(3, np.float32)}, r"'item_bias' has shape \(3,\)"),
        ({"projection": np.zeros((60, 3), np.float32)}, r"expected \(60, 2\)"),
        ({"projection": np.zeros(60, np.float32)}, r"expected \(60, 2\)"),
        ({"item_embeddings": np.zeros((59, 8), np.float32)}, r"expected \(60, d\)"),
    ],
)
def test_npz_with_unexpected_keys(art, extra, error):
    _rewrite_npz(art, lambda arrays: arrays.update(extra))
    if error is None:
        model = recsys.load(art)
        assert len(model.recommend({int(model.items["movieId"].iat[0]): 5.0}, k=5).picks) == 5
    else:
        with pytest.raises(ArtifactError, match=error):
            recsys.load(art)


@pytest.mark.parametrize("name", ["items.parquet", "arrays.npz", "index.faiss"])
def test_symlink_in_the_manifest_is_refused(art, tmp_path, name):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(art / name, outside / name)  # same bytes: the hash alone would match
    (art / name).unlink()
    (art / name).symlink_to(outside / name)
    assert sha256_file(art / name) == json.loads((art / "manifest.json").read_text())["files"][name]
    with pytest.raises(ArtifactError, match="symbolic link"):
        recsys.load(art)


def test_manifest_entry_pointing_at_a_device_or_directory_is_refused(art):
    manifest = json.loads((art / "manifest.json").read_text())
    (art / "zero").symlink_to("/dev/zero")
    (art / "sub").mkdir()
    for name in ("zero", "sub", "..", ""):
        manifest["files"] = {**manifest["files"], name: "0" * 64}
        (art / "manifest.json").write_text(json.dumps(manifest))
        with time_guard(10), pytest.raises(RecsysError):
            recsys.load(art)
        del manifest["files"][name]


# -- deployment settings ------------------------------------------------------------------------


def test_streamlit_config_is_locked_down():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server, client = config["server"], config["client"]
    assert server["enableXsrfProtection"] is True
    assert server.get("enableCORS", True) is True
    assert 0 < server["maxUploadSize"] <= 1  # megabytes; the app uploads nothing
    # No headless: a laptop user's browser opens; servers pass --server.headless true.
    assert "headless" not in server and server["runOnSave"] is False
    assert client["showErrorDetails"] in ("none", False)  # no tracebacks for visitors
    assert client["toolbarMode"] == "viewer"
    assert config["browser"]["gatherUsageStats"] is False
    assert config["runner"]["magicEnabled"] is False
