"""Training progress on the terminal: a bar with ETA per model and a Keras-style line per epoch."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

from rnnlab.training import Callback


def _format(logs: dict) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


def _is_terminal(stream) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


class ProgressBar(Callback):
    """Shows steps, loss and ETA while training, then one line per finished epoch."""

    def __init__(self, label: str = "", stream=None, shown=("loss", "val_loss")) -> None:
        self.label = label
        self.shown = shown  # the numbers of each epoch's line
        self.stream = stream if stream is not None else sys.stderr  # the one current now
        self.bar: tqdm | None = None

    def on_train_begin(self, *, epochs, steps_per_epoch):
        self.epochs, self.steps = epochs, steps_per_epoch
        self.bar = tqdm(
            total=epochs * steps_per_epoch,
            desc=self.label,
            unit="step",
            file=self.stream,
            leave=False,
            dynamic_ncols=True,
            mininterval=0.2,
            disable=not _is_terminal(self.stream),  # logs get the epoch lines only
        )

    def on_epoch_begin(self, epoch):
        self.epoch_start = time.perf_counter()
        self.bar.set_description(f"{self.label} epoch {epoch + 1}/{self.epochs}".strip())

    def on_batch_end(self, step, logs):
        self.bar.update(1)
        self.bar.set_postfix_str(_format(logs), refresh=False)

    def on_epoch_end(self, epoch, logs):
        seconds = time.perf_counter() - self.epoch_start
        per_step = 1000 * seconds / self.steps
        shown = {k: v for k, v in logs.items() if k in self.shown}
        tqdm.write(
            f"Epoch {epoch + 1}/{self.epochs} {self.steps}/{self.steps} "
            f"{seconds:.2f}s {per_step:.1f}ms/step - {_format(shown)}",
            file=self.stream,
        )

    def on_train_end(self, logs):
        self.bar.close()
