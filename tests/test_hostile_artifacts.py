"""Regression tests for issue 12: nothing lost, nothing hung, one bad artifact never hides the rest.

Each case of the issue is built here as a hostile fixture, numbered as in the issue:

1. ``train --out`` never deletes what it did not write: a non-artifact directory, the data
   directory (or one inside or above it), a folder of artifacts, ``.``, the working directory and
   a file are refused with one ``error:`` line before any data is loaded.
3. Artifact discovery isolates failures: a FIFO named ``manifest.json``, a deeply nested or huge
   manifest and ``fold_in.params`` of the wrong type are listed as broken; the rest keep serving.
4. Artifacts are known by their directory: a copy ``ials.bak`` is its own entry.
5. ``load`` checks content, not only hashes (ids, scale, parameter types, shapes, finite values).
6. Every CLI failure ends in one ``error:`` line (5,000-digit integers, ``info`` on unreadable or
   incomplete artifacts, a full disk during export).
7. Degenerate data is refused with a message saying what the protocol needs.
8. The ``--skip-bad-lines`` hint only for ratings files; a file as ``--data``; a link naming a
   model that fails to load falls back to the default model.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_artifacts import make_artifact
from test_reliability import _rehash, _rewrite_npz, time_guard

import recsys
from recsys.artifacts import check_output_dir, list_artifacts
from recsys.artifacts.format import MAX_SCALE_VALUES, check_rating_scale
from recsys.cli import main
from recsys.errors import ArtifactError, ConfigError

FIXTURES = Path(__file__).resolve().parent / "fixtures"


# -- helpers ------------------------------------------------------------------------------------


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(["-q", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    """The one ``error:`` line of a failed command (and nothing else on stderr)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def edit_manifest(directory: Path, change) -> None:
    mpath = directory / "manifest.json"
    manifest = json.loads(mpath.read_text())
    change(manifest)
    mpath.write_text(json.dumps(manifest))


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def art(tmp_path) -> Path:
    return make_artifact(tmp_path / "toy", np.random.default_rng(3))


@pytest.fixture
def data_copy(synthetic_dir, tmp_path) -> Path:
    return Path(shutil.copytree(synthetic_dir, tmp_path / "data" / "synth"))


@pytest.fixture
def no_loading(monkeypatch):
    """Fail the test if the command loads any data (the --out check must come first)."""
    import recsys.loaders

    def refuse(*args, **kwargs):
        raise AssertionError("data was loaded before --out was checked")

    monkeypatch.setattr(recsys.loaders, "load_movielens", refuse)


def train_args(data: Path, out: object) -> list[str]:
    return [
        "train",
        "--data",
        str(data),
        "--model",
        "ials",
        "--out",
        str(out),
        "--eval",
        "",
        "--projection",
        "pca",
        "--params",
        '{"iterations": 2, "factors": 8}',
    ]


# -- 1. --out never deletes what it did not write ----------------------------------------------


def _mydocs(tmp_path: Path) -> Path:
    docs = tmp_path / "mydocs"
    (docs / "chapters").mkdir(parents=True)
    (docs / "thesis.txt").write_text("three years of work")
    (docs / "chapters" / "one.txt").write_text("chapter one")
    return docs


def test_out_refuses_a_directory_that_is_not_an_artifact(tmp_path, data_copy, capsys, no_loading):
    docs = _mydocs(tmp_path)
    before = snapshot(docs)
    code, _, err = run_cli(capsys, *train_args(data_copy, docs))
    assert code == 2
    assert "exists and is not an artifact" in error_line(err)
    assert snapshot(docs) == before


@pytest.mark.parametrize("where", ["same", "inside", "above"])
def test_out_refuses_the_data_directory(tmp_path, data_copy, capsys, no_loading, where):
    out = {"same": data_copy, "inside": data_copy / "ials", "above": data_copy.parent}[where]
    before = snapshot(data_copy)
    code, _, err = run_cli(capsys, *train_args(data_copy, out))
    assert code == 2
    assert "is the data directory" in error_line(err)
    assert snapshot(data_copy) == before and not (data_copy / "ials").exists()


def test_out_refuses_a_folder_of_artifacts(tmp_path, data_copy, capsys, no_loading, rng):
    root = tmp_path / "artifacts"
    make_artifact(root / "ials", rng)
    make_artifact(root / "bpr", rng)
    before = snapshot(root)
    code, _, err = run_cli(capsys, *train_args(data_copy, root))
    line = error_line(err)
    assert code == 2 and "is a folder of artifacts (bpr, ials)" in line
    assert str(root / "ials") in line  # says what to give instead
    assert snapshot(root) == before


@pytest.mark.parametrize("out", [".", "CWD", "..", "FILE", "UNDER_FILE"])
def test_out_refuses_the_working_directory_and_files(
    tmp_path, data_copy, capsys, no_loading, monkeypatch, out
):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("keep me")
    monkeypatch.chdir(work)
    target = {
        "CWD": str(work),
        "FILE": str(work / "notes.txt"),
        "UNDER_FILE": str(work / "notes.txt" / "ials"),
    }.get(out, out)
    code, _, err = run_cli(capsys, *train_args(data_copy, target))
    line = error_line(err)
    assert code == 2
    expected = {
        "FILE": "is a file, not a directory",
        "UNDER_FILE": "notes.txt is a file, so no directory can be made there",
    }.get(out, "current directory")
    assert expected in line
    assert (work / "notes.txt").read_text() == "keep me"


def test_out_refuses_an_artifact_with_extra_files_or_a_failed_hash(tmp_path, art):
    (art / "my-notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="does not list: my-notes.txt"):
        check_output_dir(art)
    (art / "my-notes.txt").unlink()
    check_output_dir(art)  # a verified artifact may be replaced
    with open(art / "arrays.npz", "ab") as f:
        f.write(b"x")
    with pytest.raises(ConfigError, match=r"arrays\.npz: sha256"):
        check_output_dir(art)


def test_save_artifact_itself_never_replaces_a_non_artifact(tmp_path, rng):
    docs = _mydocs(tmp_path)
    before = snapshot(docs)
    with pytest.raises(ConfigError, match="exists and is not an artifact"):
        make_artifact(docs, rng)
    assert snapshot(docs) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mydocs.")
                and "lock" not in p.name]  # fmt: skip


def test_out_accepts_a_new_directory_and_an_existing_artifact(tmp_path, data_copy, capsys, art):
    old = recsys.load(art)
    code, out, err = run_cli(capsys, *train_args(data_copy, art))
    assert code == 0, err
    new = recsys.load(art)
    assert len(new.items) != len(old.items)  # replaced by the synthetic data's model
    assert check_output_dir(tmp_path / "new" / "dir") == tmp_path / "new" / "dir"


# -- 3. one bad directory never hides the others -----------------------------------------------


def _nested(depth: int) -> dict:
    node: dict = {}
    for _ in range(depth):
        node = {"x": node}
    return node


def build_hostile_root(root: Path, rng) -> dict[str, str]:
    """Two good artifacts and one broken directory per hostile case; returns name -> error."""
    make_artifact(root / "good", rng, default=True)
    make_artifact(root / "other", rng)
    cases = {
        "fifo": "not a regular file",
        "deep": "nested too deeply",
        "deep_valid": "nested too deeply",
        "huge": "larger than",
        "params_list": "fold_in.params",
        "params_string": "fold_in.params.reg",
        "not_utf8": "not valid JSON",
        "huge_int": "not valid JSON (Exceeds the limit (4300 digits)",
        "link": "not a regular file",
        "no_model": "missing field 'model'",
    }
    for name in cases:
        (root / name).mkdir()
    os.mkfifo(root / "fifo" / "manifest.json")
    (root / "deep" / "manifest.json").write_text("[" * 200_000 + "]" * 200_000)
    (root / "deep_valid" / "manifest.json").write_text(json.dumps(_nested(60)))
    (root / "huge" / "manifest.json").write_text(json.dumps({"pad": "x" * (9 << 20)}))
    (root / "not_utf8" / "manifest.json").write_bytes(b"\xff\xfe{}")
    (root / "huge_int" / "manifest.json").write_text('{"format_version": ' + "1" * 5000 + "}")
    (root / "link" / "manifest.json").symlink_to("/dev/zero")
    for name, change in (
        ("params_list", lambda m: m["fold_in"].update(params=[1, 2])),
        ("params_string", lambda m: m["fold_in"]["params"].update(reg="0.5")),
        ("no_model", lambda m: m.pop("model")),
    ):
        shutil.rmtree(root / name)
        shutil.copytree(root / "other", root / name)
        edit_manifest(root / name, change)
    return cases


def test_discovery_lists_bad_directories_as_broken_and_serves_the_rest(tmp_path, rng):
    root = tmp_path / "artifacts"
    cases = build_hostile_root(root, rng)
    with time_guard(20):
        entries = list_artifacts(root)
    assert [e["name"] for e in entries] == sorted(["good", "other", *cases])
    broken = {e["name"]: e["error"] for e in entries if "error" in e}
    assert set(broken) == set(cases)
    for name, message in cases.items():
        assert message in broken[name], (name, broken[name])
    assert recsys.default_artifact(root) == "good"
    for name in cases:
        with time_guard(10), pytest.raises(ArtifactError):
            recsys.load(root / name)
    assert len(recsys.load(root / "good").items) == 60


def test_info_on_a_fifo_manifest_ends_in_an_error_line(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    os.mkfifo(tmp_path / "a" / "manifest.json")
    with time_guard(10):
        code, _, err = run_cli(capsys, "info", tmp_path / "a")
    assert code == 2 and "not a regular file" in error_line(err)


def test_app_survives_a_hostile_artifacts_root(monkeypatch, tmp_path):
    from test_app import REPORT, build_fixture_root, new_app

    root = build_fixture_root(tmp_path / "artifacts")
    cases = build_hostile_root(tmp_path / "hostile", np.random.default_rng(1))
    for name in cases:
        os.replace(tmp_path / "hostile" / name, root / name)
    at = new_app(monkeypatch, root)
    with time_guard(60):
        at.run()
        assert not at.exception, at.exception
        ctx = at.session_state["_ctx"]
        assert ctx.names == ["bpr", "ials"] and ctx.name == "ials"
        assert len(ctx.problems) == len(cases)
        at.switch_page(REPORT).run()
    assert not at.exception, at.exception
    assert len(at.dataframe[0].value) == 2


# -- 4. artifacts are known by their directory --------------------------------------------------


def test_a_copied_artifact_does_not_shadow_the_retrained_one(monkeypatch, tmp_path):
    from test_app import REPORT, build_fixture_root, new_app
    from test_app import make_artifact as make_app_artifact

    root = build_fixture_root(tmp_path / "artifacts")
    shutil.copytree(root / "ials", root / "ials.bak")
    make_app_artifact(root, "ials", seed=9, default=True, metrics={})  # retrained in place
    entries = list_artifacts(root)
    assert [e["name"] for e in entries] == ["bpr", "ials", "ials.bak"]
    retrained = recsys.load(root / "ials")
    old = recsys.load(root / "ials.bak")
    assert retrained.name == "ials" and old.name == "ials.bak"
    assert not np.array_equal(retrained.item_embeddings, old.item_embeddings)
    at = new_app(monkeypatch, root)
    at.run()
    assert not at.exception, at.exception
    ctx = at.session_state["_ctx"]
    assert ctx.names == ["bpr", "ials", "ials.bak"] and ctx.name == "ials"
    np.testing.assert_array_equal(ctx.model.item_embeddings, retrained.item_embeddings)
    at.switch_page(REPORT).run()
    assert not at.exception and len(at.dataframe[0].value) == 3


# -- 5. load checks content, not only hashes ----------------------------------------------------


def _edit_items(directory: Path, change) -> None:
    items = pd.read_parquet(directory / "items.parquet")
    items = change(items)
    items.to_parquet(directory / "items.parquet", index=False)
    _rehash(directory, "items.parquet")


def _set(frame: pd.DataFrame, column: str, values) -> pd.DataFrame:
    frame[column] = values
    return frame


def _nan_row(key: str):
    def change(arrays):
        arrays[key] = arrays[key].copy()
        arrays[key][3] = np.nan

    return change


ITEMS_CASES = {
    "duplicate ids": (
        lambda t: _set(t, "movieId", np.r_[t["movieId"].iat[1], t["movieId"].iloc[1:]]),
        r"items\.parquet: column 'movieId' repeats id\(s\) \[20\]",
    ),
    "null id": (
        lambda t: _set(t, "movieId", pd.array([None, *t["movieId"].iloc[1:]], "Int64")),
        r"items\.parquet: column 'movieId' must hold integers without nulls",
    ),
    "string ids": (
        lambda t: _set(t, "movieId", t["movieId"].astype(str)),
        r"items\.parquet: column 'movieId' must hold integers",
    ),
    "negative counts": (
        lambda t: _set(t, "n_ratings", -t["n_ratings"]),
        r"items\.parquet: column 'n_ratings' must hold non-negative integers",
    ),
    "null title": (
        lambda t: _set(t, "title", [None, *t["title"].iloc[1:]]),
        r"items\.parquet: column 'title' must hold strings",
    ),
}
ARRAY_CASES = {
    "nan factors": (_nan_row("item_factors"), r"arrays\.npz: array 'item_factors' holds NaN"),
    "nan embeddings": (_nan_row("item_embeddings"), r"'item_embeddings' holds NaN"),
    "inf popularity": (
        lambda a: a.update(popularity=np.full(60, np.inf, np.float32)),
        r"'popularity' holds NaN or infinite",
    ),
    "projection (n, 3)": (
        lambda a: a.update(projection=np.zeros((60, 3), np.float32)),
        r"arrays\.npz: array 'projection' has shape \(60, 3\).*expected \(60, 2\)",
    ),
    "factors of other width": (
        lambda a: a.update(item_factors=np.ones((60, 3), np.float32)),
        r"arrays\.npz: folding in one rating gives a user vector of shape \(3,\)",
    ),
}
MANIFEST_CASES = {
    "2-value scale": (
        lambda m: m["dataset"].update(rating_scale=[0.5, 5.0]),
        r"'dataset\.rating_scale' must be \[lowest, highest, step\]",
    ),
    "tiny step": (
        lambda m: m["dataset"].update(rating_scale=[0.5, 5.0, 1e-7]),
        r"'dataset\.rating_scale' has 45000001 values; at most 100",
    ),
    "reversed scale": (
        lambda m: m["dataset"].update(rating_scale=[5.0, 0.5, 0.5]),
        r"lowest < highest",
    ),
    "step not dividing": (
        lambda m: m["dataset"].update(rating_scale=[0.5, 5.0, 0.7]),
        r"step 0\.7 does not divide",
    ),
    "string scale": (
        lambda m: m["dataset"].update(rating_scale="0.5-5"),
        r"'dataset\.rating_scale' must be",
    ),
    "string fold-in param": (
        lambda m: m["fold_in"]["params"].update(alpha="2.0"),
        r"manifest\.json: field 'fold_in\.params\.alpha' must be a finite number, got '2\.0'",
    ),
    "fold-in params as a list": (
        lambda m: m["fold_in"].update(params=[1, 2]),
        r"field 'fold_in\.params' must be a JSON object",
    ),
    "nested hyper-parameter": (
        lambda m: m["model"]["params"].update(factors={"n": 8}),
        r"field 'model\.params\.factors' must be a number, string, boolean",
    ),
    "nested fold-in hyper-parameter": (
        lambda m: m["model"]["params"].update(fold_in={"reg": {"deeper": 1}}),
        r"field 'model\.params\.fold_in\.reg' must be a number, string, boolean",
    ),
    "negative min_support": (
        lambda m: m.update(serving={"min_support": -1}),
        r"field 'serving\.min_support' must be a non-negative integer",
    ),
    "unknown fold-in method": (
        lambda m: m["fold_in"].update(method="magic"),
        r"field 'fold_in': unknown fold-in method 'magic'",
    ),
}


@pytest.mark.parametrize("case", list(ITEMS_CASES))
def test_load_refuses_malformed_items(art, case):
    change, message = ITEMS_CASES[case]
    _edit_items(art, change)
    with pytest.raises(ArtifactError, match=message):
        recsys.load(art)


@pytest.mark.parametrize("case", list(ARRAY_CASES))
def test_load_refuses_malformed_arrays(art, case):
    change, message = ARRAY_CASES[case]
    _rewrite_npz(art, change)
    with pytest.raises(ArtifactError, match=message):
        recsys.load(art)


@pytest.mark.parametrize("case", list(MANIFEST_CASES))
def test_load_refuses_malformed_manifest_fields(art, case):
    change, message = MANIFEST_CASES[case]
    edit_manifest(art, change)
    with time_guard(10), pytest.raises(ArtifactError, match=message):
        recsys.load(art)
    entry = next(e for e in list_artifacts(art.parent) if e["name"] == art.name)
    if case != "unknown fold-in method":  # only load() builds the fold-in
        assert "error" in entry  # listed as broken: the app skips it and serves the rest


def test_rating_scale_sizes():
    assert check_rating_scale([0.5, 5.0, 0.5]) == (0.5, 5.0, 0.5)
    assert check_rating_scale((1, 5, 1)) == (1.0, 5.0, 1.0)
    assert check_rating_scale([0, MAX_SCALE_VALUES - 1, 1])[1] == MAX_SCALE_VALUES - 1
    for bad in ([0, MAX_SCALE_VALUES, 1], [0, 1, 0], [0, 1, float("nan")], [True, 2, 1]):
        with pytest.raises(ValueError):
            check_rating_scale(bad)


# -- 6. one error line for every CLI failure ----------------------------------------------------


def _with_line(tmp_path: Path, file: str, line: int, text: str) -> Path:
    data = Path(shutil.copytree(FIXTURES / "ml-latest", tmp_path / f"ml-{file}"))
    lines = (data / file).read_text().splitlines()
    lines[line - 1] = text
    (data / file).write_text("\n".join(lines) + "\n")
    return data


BIG = "9" * 5000  # beyond Python's 4,300-digit int-string limit


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("ratings.csv", f"{BIG},1,4.0,964982703", "ratings.csv, line 3: userId '999"),
        ("ratings.csv", f"1,{BIG},4.0,964982703", "ratings.csv, line 3: movieId '999"),
        ("ratings.csv", f"1,3,4.0,{BIG}", "ratings.csv, line 3: timestamp '999"),
        ("movies.csv", f"{BIG},Huge (1999),Drama", "movies.csv, line 3: movieId '999"),
        ("links.csv", f"2,{BIG},5002", "links.csv, line 3: imdbId '999"),
    ],
)
def test_integers_beyond_the_int_string_limit(tmp_path, capsys, file, text, message):
    data = _with_line(tmp_path, file, 3, text)
    code, _, err = run_cli(capsys, "info", data)
    line = error_line(err)
    assert code == 2 and message in line
    assert "not an integer" in line or "too large" in line


def test_info_on_an_unreadable_directory(tmp_path, capsys, monkeypatch):
    target = tmp_path / "locked"
    target.mkdir()
    real_iterdir = Path.iterdir

    def iterdir(self):  # as root, chmod 000 would not stop reading: simulate the refusal
        if self == target:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    code, _, err = run_cli(capsys, "info", target)
    assert code == 2 and "cannot list directory" in error_line(err)


@pytest.mark.parametrize("key", ["dataset", "model", "fold_in"])
def test_info_on_a_manifest_missing_a_section(art, capsys, key):
    edit_manifest(art, lambda m: m.pop(key))
    code, _, err = run_cli(capsys, "info", art)
    assert code == 2 and f"missing field {key!r}" in error_line(err)


def test_disk_full_during_export_keeps_the_old_artifact(data_copy, art, capsys, monkeypatch):
    before = snapshot(art)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    code, _, err = run_cli(capsys, *train_args(data_copy, art))
    line = error_line(err)
    assert code == 2 and "No space left on device" in line and "unchanged" in line
    assert snapshot(art) == before
    assert not [p for p in art.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    recsys.load(art)


# -- 7. degenerate data -------------------------------------------------------------------------


def _write_release(directory: Path, ratings: list[tuple[int, int, float]]) -> Path:
    directory.mkdir(parents=True)
    movies = sorted({m for _, m, _ in ratings})
    (directory / "movies.csv").write_text(
        "movieId,title,genres\n" + "".join(f"{m},Movie {m} (2000),Drama\n" for m in movies)
    )
    (directory / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n"
        + "".join(f"{u},{m},{r},{1000 + i}\n" for i, (u, m, r) in enumerate(ratings))
    )
    return directory


DEGENERATE = {
    "one user": ([(1, m, 5.0) for m in range(1, 30)], "1 user(s) with ratings"),
    "no positives": (
        [(u, m, 3.0) for u in range(1, 20) for m in range(1, 30)],
        "no rating is at or above the positive threshold 4",
    ),
    "no test users": (
        [(1, 1, 5.0), (1, 2, 1.0), (2, 1, 5.0), (2, 2, 1.0)],
        "split left no test user",
    ),
}


@pytest.mark.parametrize("case", list(DEGENERATE))
def test_evaluate_refuses_degenerate_data(tmp_path, capsys, case):
    ratings, message = DEGENERATE[case]
    data = _write_release(tmp_path / "d", ratings)
    code, out, err = run_cli(capsys, "evaluate", "--data", data, "--models", "pop")
    assert code == 2 and message in error_line(err)
    assert "nan" not in out


@pytest.mark.parametrize("case", ["one user", "no positives"])
def test_train_refuses_degenerate_data(tmp_path, capsys, case):
    ratings, message = DEGENERATE[case]
    data = _write_release(tmp_path / "d", ratings)
    code, _, err = run_cli(capsys, *train_args(data, tmp_path / "out"))
    assert code == 2 and message in error_line(err)
    assert not (tmp_path / "out").exists()


# -- 8. smaller ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "text", "hint"),
    [
        ("ratings.csv", "1,3,lots,964982703", True),
        ("movies.csv", "x,Bad (1999),Drama", False),
        ("links.csv", "2,zz,5002", False),
    ],
)
def test_skip_bad_lines_hint_only_for_ratings_files(tmp_path, capsys, file, text, hint):
    data = _with_line(tmp_path, file, 3, text)
    code = main(["-q", "evaluate", "--data", str(data), "--models", "pop"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and f"{file}, line 3" in err
    assert ("--skip-bad-lines" in err) == hint


def test_a_file_as_data_is_not_a_directory(tmp_path, capsys):
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")
    code, _, err = run_cli(capsys, "evaluate", "--data", tmp_path / "ratings.csv")
    line = error_line(err)
    assert code == 2 and "is a file, not a directory" in line and "no such" not in line


def test_a_link_to_a_broken_model_falls_back_to_the_default(monkeypatch, tmp_path):
    from test_app import make_artifact as make_app_artifact
    from test_app import new_app

    root = tmp_path / "artifacts"
    for name, default in (("a", False), ("b", True), ("c", False)):
        make_app_artifact(root, name, seed=len(name), default=default, metrics={})
    with open(root / "c" / "arrays.npz", "ab") as f:
        f.write(b"tampered")
    at = new_app(monkeypatch, root, {"model": "c"})
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["model_name"] == "b"  # the default, not "a" (alphabetically first)
    assert any("arrays.npz" in w.value for w in at.sidebar.warning)
