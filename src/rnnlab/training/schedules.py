"""Learning-rate schedules by name: a function of the step, so resuming needs no state."""

from __future__ import annotations

import functools
import math

WARMUP = 0.02  # the fraction of a cosine schedule's steps spent warming up, by default


def constant(step: int, total: int, warmup: float = WARMUP) -> float:
    return 1.0


def cosine(step: int, total: int, warmup: float = WARMUP) -> float:
    """A linear warm-up over the first ``warmup`` of the steps (at least one), then a cosine
    decay to 5% of the peak."""
    warm = max(1, math.floor(total * warmup + 1e-9))  # 1e-9: 0.02 * 150 is 3, not 2.99...
    if step < warm:
        return (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))


SCHEDULES = {"constant": constant, "cosine": cosine}


def get_schedule(name: str, warmup: float = WARMUP):
    """The schedule ``name`` as a function ``(step, total) -> factor of the peak rate``."""
    try:
        schedule = SCHEDULES[name]
    except KeyError:
        raise ValueError(f"`schedule` must be one of {sorted(SCHEDULES)}, got {name!r}.") from None
    return functools.partial(schedule, warmup=warmup)
