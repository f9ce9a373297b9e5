"""Search spaces as plain data: each model declares the ranges tuning may explore beside its Config.

A space maps a hyper-parameter name to one of the three kinds below; fold-in parameters are named
``"fold_in.<field>"``. :mod:`recsys.tune` turns a space into Optuna suggestions; nothing here
imports Optuna, so the app and the models stay free of it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FloatParam", "IntParam", "Choice", "Param"]


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
