"""Search spaces as plain data: each model declares the ranges tuning may explore beside its Config.

A space maps a hyper-parameter name to one of the three kinds below; fold-in parameters are named
``"fold_in.<field>"``. :mod:`recsys.tune` turns a space into Optuna suggestions; nothing here
imports Optuna, so the app and the models stay free of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["FloatParam", "IntParam", "Choice", "Param", "range_position", "nest", "flatten"]


@dataclass(frozen=True)
class FloatParam:
    """A real value in [low, high]; ``log`` samples it on a log scale (low must be > 0)."""

    low: float
    high: float
    log: bool = True


@dataclass(frozen=True)
class IntParam:
    """An integer in [low, high]; ``log`` samples it on a log scale (low must be >= 1)."""

    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class Choice:
    """One of a few values (strings, numbers or booleans)."""

    values: tuple


Param = FloatParam | IntParam | Choice


def range_position(param: Param, value: Any) -> float | None:
    """Where ``value`` lies in ``param``'s range: 0 at ``low``, 1 at ``high``; None for a Choice.

    Measured on a log scale for log ranges, as the sampler draws them, so 1e-3 in [1e-4, 1e-2]
    sits at 0.5.
    """
    if isinstance(param, Choice):
        return None
    lo, hi, v = float(param.low), float(param.high), float(value)
    if param.log:
        lo, hi, v = math.log(lo), math.log(hi), math.log(max(v, 1e-300))
    return 0.5 if hi == lo else (v - lo) / (hi - lo)


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"fold_in": {"reg": 1}}`` -> ``{"fold_in.reg": 1}`` (nested dicts to dotted names)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def nest(params: dict[str, Any]) -> dict[str, Any]:
    """Dotted names to nested dicts, merging with nested dicts given as such:
    ``{"fold_in.reg": 1, "fold_in": {"alpha": 2}}`` -> ``{"fold_in": {"reg": 1, "alpha": 2}}``."""
    out: dict[str, Any] = {}
    for key, value in flatten(params).items():
        *heads, last = key.split(".")
        node = out
        for head in heads:
            node = node.setdefault(head, {})
        node[last] = value
    return out
