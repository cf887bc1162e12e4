"""``TrainingConfig``: how every kind trains, declared once.

Each kind's config inherits these fields and states only the defaults that differ
(``rnnlab.config.override``); the command line lists them under "every kind", with each
kind's default.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnlab.config import Config, option
from rnnlab.training.schedules import SCHEDULES, WARMUP

DEFAULT_BUDGET = 600.0  # seconds: the budget of a run given neither epochs nor a budget


@dataclass(frozen=True)
class TrainingConfig(Config):
    """The trainer's options (``rnnlab.training.Trainer``)."""

    seed: int = option("seed of data, weights and shuffling", value="seed", default=0)
    epochs: int | None = option(
        "most epochs",
        value="steps",
        auto="until validation stops improving, within the time budget",
    )
    batch_size: int | None = option("examples per step", value="batch", default=32)
    learning_rate: float | None = option("peak Adam step size", value="rate", default=0.003)
    clip_norm: float = option("gradient norm clip", value="positive", default=1.0)
    schedule: str = option("learning-rate schedule", choices=tuple(SCHEDULES), default="cosine")
    warmup: float = option(
        "fraction of the steps over which a cosine schedule warms up",
        value="fraction",
        default=WARMUP,
    )
    patience: int | None = option(
        "early-stopping patience, in epochs without a better validation score (none: every "
        "epoch trains)",
        value="steps",
    )
    max_time: float | None = option(
        "time budget for training (300, 90s, 5m, 1h30m): the steps and the learning-rate "
        "schedule are planned to fit it, and the best weights by validation are kept",
        value="seconds",
        auto=f"{DEFAULT_BUDGET // 60:.0f} min when --epochs is not given, else none",
    )
    average: float = option(
        "decay per step of the moving average of the weights that is validated and kept "
        "(0: the weights as trained)",
        value="decay",
        default=0.0,
    )

    def trainer_options(self) -> dict:
        """The ``Trainer`` arguments these fields set."""
        return {
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "clip_norm": self.clip_norm,
            "schedule": self.schedule,
            "warmup": self.warmup,
            "average": self.average or None,
            "max_time": self.max_time,
        }
