"""The project's own exceptions: every failure a user can cause ends in one of these.

Each carries a message that says what was expected and how to fix it; the command line prints the
message (never a traceback) and exits with status 2.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["RecsysError", "DataFormatError", "ArtifactError", "DownloadError", "ConfigError"]


class RecsysError(Exception):
    """Base class of every error this package raises on purpose."""


class DataFormatError(RecsysError):
    """A dataset file is missing, unreadable or not in the expected MovieLens format.

    ``file`` and ``line`` (1-based, counting the header) say where; ``line`` is None when the
    problem is the file as a whole.
    """

    def __init__(self, message: str, file: str | Path | None = None, line: int | None = None):
        self.file = str(file) if file is not None else None
        self.line = line
        where = ""
        if self.file is not None:
            where = f"{self.file}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)


class ArtifactError(RecsysError):
    """An artifact directory is missing, incomplete, tampered with or of another format version."""


class DownloadError(RecsysError):
    """A dataset could not be fetched, verified or unpacked."""


class ConfigError(RecsysError):
    """An argument or hyper-parameter is out of its allowed range or names nothing known."""
