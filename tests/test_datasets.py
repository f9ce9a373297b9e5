"""The table of releases and layouts: every entry has what the loaders, the downloader and the CLI
read from it, and detection picks each layout from its own files."""

from __future__ import annotations

import argparse
import codecs
import re
from pathlib import Path

import pytest

from recsys.cli import build_parser
from recsys.datasets import BASE_URL, LAYOUTS, RELEASES
from recsys.errors import DataFormatError
from recsys.loaders import detect_format, load_movielens, resolve_dataset_dir


@pytest.mark.parametrize("name", list(RELEASES))
def test_release_entry(name: str) -> None:
    release = RELEASES[name]
    assert release.name == name
    assert release.layout in LAYOUTS
    # download() fetches <url> and <url>.md5; a base_url override appends <name>.zip.
    assert release.url == f"{BASE_URL}/{name}.zip" and release.url.startswith("https://")
    assert release.md5 is None or re.fullmatch(r"[0-9a-fA-F]{32}", release.md5)


def test_current_grouplens_releases_are_listed() -> None:
    for name in ("ml-latest-small", "ml-latest", "ml-100k", "ml-1m", "ml-10m"):
        assert name in RELEASES
    for name in ("ml-20m", "ml-25m", "ml-32m"):  # the ml-25m CSV layout
        assert RELEASES[name].layout == "ml-latest"


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_layout_entry(name: str, fixtures_dir: Path) -> None:
    layout = LAYOUTS[name]
    assert layout.name == name
    assert layout.ratings.file in layout.required
    known = set(layout.required) | set(layout.optional)
    assert layout.markers and set(layout.markers) <= known
    assert set(layout.tells_apart) <= set(layout.required)
    lo, hi, step = layout.rating_scale
    assert 0 < lo < hi and step > 0
    assert abs((hi - lo) / step - round((hi - lo) / step)) < 1e-9
    assert len(layout.ratings.fields) == 4
    assert layout.ratings.header in (None, layout.ratings.fields)
    codecs.lookup(layout.ratings.encoding)
    # A fixture of every layout loads, with the layout's scale.
    ds = load_movielens(fixtures_dir / name)
    assert ds.format == name and ds.rating_scale == layout.rating_scale
    assert ds.ratings["rating"].between(lo, hi).all()


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_a_directory_of_a_layouts_required_files_is_detected_as_it(
    name: str, tmp_path: Path
) -> None:
    for file in LAYOUTS[name].required:
        (tmp_path / file).touch()
    assert detect_format(tmp_path) == name


def test_download_choices_come_from_the_table() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    download = sub.choices["download"]
    name = next(a for a in download._actions if a.dest == "name")
    assert list(name.choices) == list(RELEASES)


@pytest.mark.parametrize("name", ["ml-20m", "ml-32m"])
def test_every_release_name_is_a_data_name(name: str, tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=f"recsys download {name}"):
        resolve_dataset_dir(name, cache_dir=tmp_path)
    (tmp_path / name).mkdir()
    assert resolve_dataset_dir(name, cache_dir=tmp_path) == (tmp_path / name, name)
