"""Dataset download: served from a local HTTP server on 127.0.0.1, never the internet."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys import download as dl
from recsys.datasets import RELEASES
from recsys.errors import DownloadError
from recsys.loaders import load_dataset, load_movielens


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(folder served, base URL) of a throwaway HTTP server."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_port}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    path = tmp_path / "cache"
    path.mkdir()
    return path


def publish(
    root: Path,
    name: str,
    members: dict[str, bytes],
    *,
    md5: str | None = None,
    md5_text: str | None = None,
    symlinks: tuple[str, ...] = (),
) -> bytes:
    """Write ``name.zip`` with ``members`` and its ``.md5`` beside it; return the zip bytes."""
    archive = root / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        for member, data in members.items():
            info = zipfile.ZipInfo(member)
            if member in symlinks:
                info.external_attr = 0o120777 << 16
            zf.writestr(info, data)
    data = archive.read_bytes()
    digest = md5 or hashlib.md5(data).hexdigest()
    text = md5_text if md5_text is not None else f"{digest}  {name}.zip\n"
    (root / f"{name}.zip.md5").write_text(text)
    return data


def fixture_members(fixtures_dir: Path, fixture: str, top: str) -> dict[str, bytes]:
    return {f"{top}/{p.name}": p.read_bytes() for p in sorted((fixtures_dir / fixture).iterdir())}


def record_urlopen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float | None]]:
    """(url, timeout) of every request the download module opens from now on (still sent)."""
    opened: list[tuple[str, float | None]] = []
    real = dl.urllib.request.urlopen

    def urlopen(request, *args, timeout=None, **kwargs):
        opened.append((getattr(request, "full_url", request), timeout))
        return real(request, *args, timeout=timeout, **kwargs)

    monkeypatch.setattr(dl.urllib.request, "urlopen", urlopen)
    return opened


def assert_clean(cache: Path, *allowed: str) -> None:
    """Nothing but ``allowed`` in the cache: no partial release, no temporary leftovers."""
    assert sorted(p.name for p in cache.iterdir()) == sorted(allowed)


def test_download_verifies_unpacks_and_loads(
    server: tuple[Path, str], cache: Path, fixtures_dir: Path
) -> None:
    root, url = server
    publish(root, "ml-100k", fixture_members(fixtures_dir, "ml-100k", "ml-100k"))
    path = dl.download("ml-100k", cache, base_url=url, show_progress=False)
    assert path == cache / "ml-100k"
    for f in (fixtures_dir / "ml-100k").iterdir():
        assert (path / f.name).read_bytes() == f.read_bytes()
    assert_clean(cache, "ml-100k")
    ds = load_movielens(path)
    assert (ds.name, len(ds.ratings)) == ("ml-100k", 15)


def test_already_unpacked_returns_without_network(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (cache / "ml-1m").mkdir()
    opened = record_urlopen(monkeypatch)
    path = dl.download("ml-1m", cache, base_url="http://127.0.0.1:9/", show_progress=False)
    assert path == cache / "ml-1m"
    assert opened == []  # no request at all


def test_bare_hex_md5_and_progress_bar(
    server: tuple[Path, str], cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, url = server
    data = b"movieId,title,genres\n"
    archive = publish(root, "ml-latest-small", {"ml-latest-small/movies.csv": data})
    (root / "ml-latest-small.zip.md5").write_text(hashlib.md5(archive).hexdigest().upper())
    path = dl.download("ml-latest-small", cache, base_url=url, show_progress=True)
    assert (path / "movies.csv").read_bytes() == data
    assert "ml-latest-small.zip" in capsys.readouterr().err


def test_zip_without_top_folder(server: tuple[Path, str], cache: Path) -> None:
    root, url = server
    publish(root, "ml-1m", {"ratings.dat": b"1::1::5::1\n", "movies.dat": b"1::A (1999)::Drama\n"})
    path = dl.download("ml-1m", cache, base_url=url, show_progress=False)
    assert sorted(p.name for p in path.iterdir()) == ["movies.dat", "ratings.dat"]
    assert_clean(cache, "ml-1m")


def test_checksum_mismatch_is_refused(server: tuple[Path, str], cache: Path) -> None:
    root, url = server
    publish(root, "ml-100k", {"ml-100k/u.data": b"1\t1\t5\t1\n"}, md5="0" * 32)
    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        dl.download("ml-100k", cache, base_url=url, show_progress=False)
    assert "0" * 32 in str(info.value)
    assert_clean(cache)


def test_missing_checksum_file_is_refused(server: tuple[Path, str], cache: Path) -> None:
    root, url = server
    publish(root, "ml-100k", {"ml-100k/u.data": b"1\t1\t5\t1\n"})
    (root / "ml-100k.zip.md5").unlink()
    with pytest.raises(DownloadError, match="HTTP 404"):
        dl.download("ml-100k", cache, base_url=url, show_progress=False)
    assert_clean(cache)
    publish(root, "ml-100k", {"ml-100k/u.data": b"1\t1\t5\t1\n"}, md5_text="not a checksum\n")
    with pytest.raises(DownloadError, match="no md5 checksum"):
        dl.download("ml-100k", cache, base_url=url, show_progress=False)
    assert_clean(cache)


@pytest.mark.parametrize(
    ("member", "symlink", "expected"),
    [
        ("../evil.txt", False, "'../evil.txt' has a '..' component"),
        ("ml-100k/../../evil.txt", False, "'..' component"),
        ("/abs/evil.txt", False, "'/abs/evil.txt' has an absolute path"),
        ("C:/evil.txt", False, "has an absolute path"),
        ("ml-100k/link", True, "'ml-100k/link' is a symlink"),
    ],
)
def test_unsafe_members_are_refused(
    server: tuple[Path, str],
    cache: Path,
    tmp_path: Path,
    member: str,
    symlink: bool,
    expected: str,
) -> None:
    root, url = server
    members = {"ml-100k/u.data": b"1\t1\t5\t1\n", member: b"/etc/passwd" if symlink else b"x"}
    publish(root, "ml-100k", members, symlinks=(member,) if symlink else ())
    with pytest.raises(DownloadError, match="refusing to unpack") as info:
        dl.download("ml-100k", cache, base_url=url, show_progress=False)
    assert expected in str(info.value)
    assert not (tmp_path / "evil.txt").exists()
    assert not (cache.parent.parent / "evil.txt").exists()
    assert_clean(cache)


def test_corrupt_member_leaves_no_partial_directory(server: tuple[Path, str], cache: Path) -> None:
    root, url = server
    second = b"SECOND-MEMBER-" * 200
    data = publish(root, "ml-100k", {"ml-100k/u.data": b"1\t1\t5\t1\n", "ml-100k/u.item": second})
    # Flip a byte inside the second (stored) member: the first unpacks, then its CRC fails.
    at = data.index(second) + 100
    broken = data[:at] + b"X" + data[at + 1 :]
    (root / "ml-100k.zip").write_bytes(broken)
    (root / "ml-100k.zip.md5").write_text(hashlib.md5(broken).hexdigest())
    with pytest.raises(DownloadError, match="not a valid zip archive"):
        dl.download("ml-100k", cache, base_url=url, show_progress=False)
    assert_clean(cache)


def test_interrupted_unpack_leaves_no_partial_directory(
    server: tuple[Path, str], cache: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, url = server
    publish(root, "ml-100k", fixture_members(fixtures_dir, "ml-100k", "ml-100k"))
    real_extract = zipfile.ZipFile.extract
    calls = []

    def extract_then_interrupt(self, member, path=None, pwd=None):
        calls.append(member)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C half way through
        return real_extract(self, member, path, pwd)

    monkeypatch.setattr(zipfile.ZipFile, "extract", extract_then_interrupt)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", _extract_each)
    with pytest.raises(KeyboardInterrupt):
        dl.download("ml-100k", cache, base_url=url, show_progress=False)
    assert len(calls) == 3
    assert_clean(cache)
    # A later run completes normally.
    monkeypatch.undo()
    assert dl.download("ml-100k", cache, base_url=url, show_progress=False).is_dir()
    assert_clean(cache, "ml-100k")


def _extract_each(self: zipfile.ZipFile, path=None, members=None, pwd=None) -> None:
    for info in self.infolist():
        self.extract(info, path, pwd)


def test_unreachable_host_fails_fast_with_help(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = record_urlopen(monkeypatch)
    with pytest.raises(DownloadError) as info:
        dl.download("ml-25m", cache, base_url="http://127.0.0.1:9/", timeout=2.0)
    # One attempt (the small .md5 first), bounded by the timeout given: no retries, no wait.
    assert opened == [("http://127.0.0.1:9/ml-25m.zip.md5", 2.0)]
    message = str(info.value)
    assert "could not reach 127.0.0.1:9" in message
    assert "download http://127.0.0.1:9/ml-25m.zip by other means" in message
    assert "unzip it and pass --data /path/to/ml-25m instead" in message
    assert_clean(cache)


def test_silent_server_times_out(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Accepts the connection (listen backlog) but never answers.
    opened = record_urlopen(monkeypatch)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        with pytest.raises(DownloadError, match="could not reach .*timed out.*--data"):
            dl.download("ml-100k", cache, base_url=f"http://127.0.0.1:{port}", timeout=0.5)
        # One request, under the timeout given (it bounds the connection and each read).
        assert opened == [(f"http://127.0.0.1:{port}/ml-100k.zip.md5", 0.5)]
    assert_clean(cache)


def test_unknown_name_lists_known(cache: Path) -> None:
    with pytest.raises(DownloadError) as info:
        dl.download("ml-50m", cache)
    for name in RELEASES:
        assert name in str(info.value)


def test_pinned_md5_is_checked_instead_of_the_published_one(
    server: tuple[Path, str], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, url = server
    # The published .md5 matches the zip, but the checksum pinned in the table wins.
    archive = publish(root, "ml-100k", {"ml-100k/u.data": b"1\t1\t5\t1\n"})
    pinned = dataclasses.replace(RELEASES["ml-100k"], md5="f" * 32)
    monkeypatch.setitem(RELEASES, "ml-100k", pinned)
    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        dl.download("ml-100k", cache, base_url=url, show_progress=False)
    assert "expected " + "f" * 32 + " (from recsys.datasets.RELEASES)" in str(info.value)
    assert_clean(cache)
    # Pinned to the right value (upper-case hex is fine), with no .md5 published at all.
    (root / "ml-100k.zip.md5").unlink()
    right = dataclasses.replace(pinned, md5=hashlib.md5(archive).hexdigest().upper())
    monkeypatch.setitem(RELEASES, "ml-100k", right)
    path = dl.download("ml-100k", cache, base_url=url, show_progress=False)
    assert (path / "u.data").read_bytes() == b"1\t1\t5\t1\n"


@pytest.mark.parametrize("name", list(RELEASES))
def test_every_release_downloads_and_loads(
    name: str, server: tuple[Path, str], cache: Path, fixtures_dir: Path
) -> None:
    """Each table entry, served as a zip of its layout's fixture, unpacks and loads by name."""
    root, url = server
    layout = RELEASES[name].layout
    top = "ml-10M100K" if name == "ml-10m" else name  # GroupLens' folder inside ml-10m.zip
    publish(root, name, fixture_members(fixtures_dir, layout, top))
    assert dl.download(name, cache, base_url=url, show_progress=False) == cache / name
    ds = load_dataset(name, cache_dir=cache)
    assert (ds.name, ds.format) == (name, layout)


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RECSYS_DATA_DIR", str(tmp_path / "data"))
    assert dl.default_cache_dir() == tmp_path / "data"
    monkeypatch.delenv("RECSYS_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert dl.default_cache_dir() == tmp_path / ".cache" / "recsys"
