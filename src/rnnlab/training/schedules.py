"""Learning-rate schedules by name: a function of the step, so resuming needs no state."""

from __future__ import annotations

import math


def constant(step: int, total: int) -> float:
    return 1.0


def cosine(step: int, total: int) -> float:
    """A linear warm-up over the first 2% of steps, then a cosine decay to 5% of the peak."""
    warmup = max(1, total // 50)
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))


SCHEDULES = {"constant": constant, "cosine": cosine}


def get_schedule(name: str):
    try:
        return SCHEDULES[name]
    except KeyError:
        raise ValueError(f"`schedule` must be one of {sorted(SCHEDULES)}, got {name!r}.") from None
