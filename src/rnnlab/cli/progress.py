"""Training progress on the terminal: a bar with ETA per model and a Keras-style line per epoch."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from rnnlab.training import Callback

if TYPE_CHECKING:
    from tqdm import tqdm


def _format(logs: dict) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


def _is_terminal(stream) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


EPOCH_LINES = 100  # a run of more epochs prints every k-th epoch's line (and the last)


class ProgressBar(Callback):
    """Shows steps, loss and ETA while training, then one line per finished epoch (the
    first, every k-th and the last, when there are more than ``EPOCH_LINES``: a forecaster
    on one series trains hundreds of epochs of one step each).

    Several bars can run at once (models trained side by side): each gets its own ``row``
    on the terminal, and a ``label`` that starts its epoch lines.
    """

    def __init__(self, label: str = "", stream=None, shown=None, row: int | None = None) -> None:
        self.label = label
        # the numbers of each epoch's line (None: the trainer's ``shown``, when a run sets
        # ``trainer``; else the losses)
        self.shown = shown
        self.trainer = None
        self.stream = stream if stream is not None else sys.stderr  # the one current now
        self.row = row
        self.bar: tqdm | None = None
        self.epoch = 0
        self.told_plan = False  # whether the budget's plan was shown
        self.done = 0  # the epoch's steps so far: fewer than all where a budget ends it

    def announce(self, lines):
        """The run's summary, before it trains (``rnnlab.kinds.runs.announce``)."""
        for line in lines:
            self.stream.write(line + "\n")
        self.stream.flush()

    def on_phase(self, name):
        self.label = name  # its epoch lines begin with the phase's name
        self.told_plan = False

    def on_train_begin(self, *, epochs, steps_per_epoch):
        from tqdm import tqdm  # here, not at start-up: importing it takes 0.03 s

        self.epochs, self.steps = epochs, steps_per_epoch
        if self.shown is None:
            self.shown = self.trainer.shown if self.trainer is not None else ("loss", "val_loss")
        self.bar = tqdm(
            total=epochs * steps_per_epoch,
            desc=self.label,
            unit="step",
            file=self.stream,
            leave=False,
            dynamic_ncols=True,
            mininterval=0.2,
            position=self.row,
            disable=not _is_terminal(self.stream),  # logs get the epoch lines only
        )

    def on_epoch_begin(self, epoch):
        self.epoch, self.epoch_start = epoch, time.perf_counter()
        self.done = 0
        self.bar.set_description(f"{self.label} epoch {epoch + 1}/{self.epochs}".strip())

    def on_batch_end(self, step, logs):
        trainer = self.trainer
        planned = not self.told_plan and getattr(trainer, "planned", None) is not None
        if planned and step + 1 >= min(20, self.steps):  # a pace measured over a few steps
            self._tell_plan(trainer)
        # Absolute, not +1: relayed progress (rnnlab.training.workers) skips steps.
        self.done = step + 1
        self.bar.update(self.epoch * self.steps + step + 1 - self.bar.n)
        self.bar.set_postfix_str(_format(logs), refresh=False)

    def on_epoch_end(self, epoch, logs):
        every = -(-self.epochs // EPOCH_LINES)
        if epoch and (epoch + 1) % every and epoch + 1 != self.epochs:
            return
        seconds = time.perf_counter() - self.epoch_start
        done = self.done or self.steps
        per_step = 1000 * seconds / done
        shown = {k: v for k, v in logs.items() if k in self.shown}
        label = f"{self.label}: " if self.label else ""
        self.bar.write(
            f"{label}Epoch {epoch + 1}/{self.epochs} {done}/{self.steps} "
            f"{seconds:.2f}s {per_step:.1f}ms/step - {_format(shown)}",
            file=self.stream,
        )

    def _tell_plan(self, trainer) -> None:
        """One line, once the budget's plan is first made: the steps it allows."""
        from rnnlab.training.trainer import format_seconds

        self.told_plan = True
        steps, allowed = trainer.total_steps, trainer.planned
        budget = format_seconds(trainer.max_time)
        pace = f"{1000 * trainer.step_seconds():.0f} ms/step"
        if allowed > steps:
            told = f"the {self.epochs} epochs fit the {budget} budget at {pace}"
        else:
            self.bar.total = steps
            epochs = steps / max(1, self.steps)
            told = f"{steps:,} steps ({epochs:.3g} epochs) fit the {budget} budget at {pace}"
        self.bar.write(f"plan: {told}", file=self.stream)

    def on_train_end(self, logs):
        self.bar.close()
