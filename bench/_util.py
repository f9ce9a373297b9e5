"""Shared helpers for the bench/ scripts: peak-memory sampling, machine facts, JSON + table out."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import resource
import sys
import threading
import time
from pathlib import Path

try:
    import psutil
except ImportError:  # the `bench` extra is not installed: fall back to getrusage only
    psutil = None

GIB = 1024**3
DEFAULT_DATA = "/tmp/recsys-synth-25m"


def rss() -> int:
    """Resident set size of this process now, bytes."""
    if psutil is not None:
        return psutil.Process().memory_info().rss
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """Context manager sampling RSS every ``interval`` s; ``.peak`` is the highest seen (bytes),
    ``.start`` the RSS on entry, ``.seconds`` the wall time of the block."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.peak = 0
        self.start = 0
        self.seconds = 0.0
        self._stop = threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            self._stop.wait(self.interval)

    def __enter__(self):
        self.start = rss()
        self.peak = self.start
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._t0
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())
        return False

    @property
    def peak_gib(self) -> float:
        return round(self.peak / GIB, 3)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of ``values`` by nearest rank, unrounded; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def max_rss_gib() -> float:
    """Lifetime peak RSS of this process (getrusage; Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 3)


def machine() -> dict:
    model = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
    }
    try:
        info["loadavg_1_5_15_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    if psutil is not None:
        info["ram_gib"] = round(psutil.virtual_memory().total / GIB, 1)
    return info


def gpu_note() -> dict:
    try:
        import torch
    except ImportError:
        return {"gpu": None, "note": "torch not installed: no GPU numbers"}
    if torch.cuda.is_available():
        return {"gpu": torch.cuda.get_device_name(0)}
    return {"gpu": None, "note": "no GPU available (torch.cuda.is_available() is False)"}


def emit(result: dict, json_path: str | None, rows: list[list], header: list[str]) -> None:
    """Print a short table then the JSON document; also write the JSON to ``json_path``."""
    widths = [
        max(len(str(h)), *(len(_fmt(r[i])) for r in rows)) if rows else len(str(h))
        for i, h in enumerate(header)
    ]
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(_fmt(v).ljust(w) for v, w in zip(r, widths)))
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(text + "\n")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
