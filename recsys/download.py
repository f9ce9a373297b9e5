"""Fetch MovieLens releases from GroupLens into a local cache, verified and unpacked atomically.

``download("ml-100k")`` returns ``CACHE/ml-100k``; the releases and their URLs are the table
:data:`recsys.datasets.RELEASES`. The zip is streamed to a temporary file, its md5 checked against
the release's pinned md5 or else the ``.md5`` file GroupLens publishes beside each zip, unpacked into a temporary
directory inside the cache and only then renamed into place, so an interrupted or failed run never
leaves a half-written directory under the final name. Archive members with absolute paths, ``..``
components or symlinks are refused.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import shutil
import stat
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path

from tqdm import tqdm

from .datasets import RELEASES
from .errors import DownloadError

__all__ = ["default_cache_dir", "download"]

log = logging.getLogger(__name__)

CACHE_ENV = "RECSYS_DATA_DIR"

_CHUNK = 1 << 20
_MD5_RE = re.compile(rb"\b([0-9a-fA-F]{32})\b")
_USER_AGENT = "recsys-embeddings-explorer (python urllib)"


def default_cache_dir() -> Path:
    """Where releases are unpacked: ``$RECSYS_DATA_DIR`` if set, else ``~/.cache/recsys``."""
    env = os.environ.get(CACHE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "recsys"


def download(
    name: str,
    cache_dir: str | os.PathLike | None = None,
    *,
    base_url: str | None = None,
    show_progress: bool = True,
    timeout: float = 20.0,
) -> Path:
    """Download, verify and unpack release ``name``; return its directory (``CACHE/name``).

    ``name`` is a key of :data:`recsys.datasets.RELEASES`. Returns at once if it is already
    unpacked. ``base_url`` replaces the GroupLens folder the zip and its ``.md5`` are fetched from
    (tests point it at a local server). ``timeout`` bounds the
    connection and each read, so an unreachable host fails fast. Raises :class:`DownloadError`.
    """
    release = RELEASES.get(name)
    if release is None:
        raise DownloadError(f"unknown dataset {name!r}; known: {', '.join(RELEASES)}")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = cache / name
    if target.is_dir():
        log.info("%s already unpacked at %s", name, target)
        return target

    zip_url = f"{base_url.rstrip('/')}/{name}.zip" if base_url else release.url
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the cache directory {cache}: {exc}") from None

    # The published checksum is tiny: fetching it first tells quickly whether the host is
    # reachable. A checksum pinned in the table is trusted instead.
    if release.md5 is not None:
        expected, source = release.md5.lower(), "recsys.datasets.RELEASES"
    else:
        expected, source = _fetch_md5(zip_url + ".md5", name, timeout), f"{zip_url}.md5"
    part: Path | None = None
    unpack_dir: Path | None = None
    try:
        try:
            fd, part_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".zip.part", dir=cache)
        except OSError as exc:
            raise DownloadError(f"cannot write to the cache directory {cache}: {exc}") from None
        part = Path(part_name)
        with os.fdopen(fd, "wb") as out:
            actual = _fetch_zip(zip_url, out, name, timeout, show_progress)
        if actual != expected:
            raise DownloadError(
                f"checksum mismatch for {zip_url}: md5 {actual}, expected {expected} (from "
                f"{source}); the download is corrupt or was tampered with, try again"
            )
        log.info("%s: md5 %s verified", name, actual)

        try:
            unpack_dir = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".unpacking", dir=cache))
        except OSError as exc:
            raise DownloadError(f"cannot write to the cache directory {cache}: {exc}") from None
        _safe_extract(part, unpack_dir, zip_url)
        root = _release_root(unpack_dir, zip_url)
        try:
            os.rename(root, target)
        except OSError as exc:
            if not target.is_dir():  # another run may have finished first: that is fine
                raise DownloadError(f"cannot move the unpacked files to {target}: {exc}") from None
    finally:
        if part is not None:
            part.unlink(missing_ok=True)
        if unpack_dir is not None:
            shutil.rmtree(unpack_dir, ignore_errors=True)
    log.info("%s unpacked at %s", name, target)
    return target


def _open(url: str, name: str, timeout: float):
    """urlopen with errors turned into a DownloadError that says what to do instead."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise DownloadError(
            f"{url} answered HTTP {exc.code} {exc.reason}; " + _manual_hint(url, name)
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        host = urllib.parse.urlsplit(url).netloc or url
        raise DownloadError(
            f"could not reach {host} ({reason}); " + _manual_hint(url, name)
        ) from None


def _manual_hint(url: str, name: str) -> str:
    zip_url = url.removesuffix(".md5")
    return (
        f"if this machine is offline or the host is blocked, download {zip_url} by other means "
        f"(a browser, curl), unzip it and pass --data /path/to/{name} instead"
    )


def _fetch_md5(url: str, name: str, timeout: float) -> str:
    """The hex md5 from a GroupLens ``.md5`` file (``<hex>  name.zip`` or just ``<hex>``)."""
    with _open(url, name, timeout) as response:
        try:
            text = response.read(4096)
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(
                f"reading {url} failed ({exc}); " + _manual_hint(url, name)
            ) from None
    match = _MD5_RE.search(text)
    if not match:
        raise DownloadError(
            f"{url} holds no md5 checksum (expected 32 hex digits), so the zip cannot be "
            "verified; " + _manual_hint(url, name)
        )
    return match.group(1).decode().lower()


def _fetch_zip(url: str, out, name: str, timeout: float, show_progress: bool) -> str:
    """Stream ``url`` into file object ``out``; return the md5 of what was written."""
    md5 = hashlib.md5()
    with _open(url, name, timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        received = 0
        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"{name}.zip",
            disable=not show_progress,
        ) as bar:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise DownloadError(
                        f"download of {url} failed ({exc}); " + _manual_hint(url, name)
                    ) from None
                if not chunk:
                    break
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise DownloadError(f"cannot write the download: {exc}") from None
                md5.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise DownloadError(
            f"download of {url} ended after {received} of {total} bytes; try again, or "
            + _manual_hint(url, name)
        )
    return md5.hexdigest()


def _safe_extract(archive: Path, dest: Path, url: str) -> None:
    """Unpack ``archive`` into ``dest`` after checking every member name and type."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for info in members:
                member = info.filename
                parts = member.replace("\\", "/").split("/")
                if member.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", member):
                    raise DownloadError(
                        f"refusing to unpack {url}: member {member!r} has an absolute path"
                    )
                if ".." in parts:
                    raise DownloadError(
                        f"refusing to unpack {url}: member {member!r} has a '..' component"
                    )
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise DownloadError(f"refusing to unpack {url}: member {member!r} is a symlink")
            if not members:
                raise DownloadError(f"{url} is an empty archive")
            zf.extractall(dest)
    except DownloadError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DownloadError(f"{url} is not a valid zip archive ({exc})") from None
    except OSError as exc:
        raise DownloadError(f"cannot unpack {url} into {dest}: {exc}") from None


def _release_root(unpacked: Path, url: str) -> Path:
    """The release directory inside the unpacked tree (GroupLens zips hold one top folder)."""
    entries = [p for p in unpacked.iterdir() if p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    if not entries:
        raise DownloadError(f"{url} unpacked to nothing")
    return unpacked
