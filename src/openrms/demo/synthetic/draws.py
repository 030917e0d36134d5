"""Seeded drawing helpers shared by every phase of the synthetic population.

Each phase draws from its own `random.Random`, seeded from a string (hashed with SHA-512, never `hash()`), so
the output is the same in every process and one phase's draws do not shift another's.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any


class Weighted:
    """Weighted choice with precomputed cumulative weights (random.choices re-sums them on every call)."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.items = [item for item, _ in pairs]
        self.cum = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.items[min(bisect_right(self.cum, rng.random() * self.total), len(self.items) - 1)]


def phase_rng(seed: int, phase: str) -> random.Random:
    """The stream of one phase: a str seed is hashed with SHA-512, not hash(), so every process agrees."""
    return random.Random(f"openrms-synthetic/{seed}/{phase}")


def iso(moment: dt.datetime) -> str:
    """A UTC moment as a record writes it: '2024-05-01T13:45:00Z' (moments here are whole seconds)."""
    return moment.isoformat()[:19] + "Z"


def date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    """A day from `start` to `end` inclusive; `start` when the range is empty (no draw is made then)."""
    return start if end <= start else start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def unique(pool: set[str], make: Callable[..., str], *args: Any) -> str:
    """A value from `make(*args)` not yet in `pool` (drawing again on a collision), added to the pool."""
    value = make(*args)
    while value in pool:
        value = make(*args)
    pool.add(value)
    return value
