"""Training callbacks: how the trainer reports progress without printing anything itself."""

from __future__ import annotations


class Callback:
    """Hooks called by ``Trainer.fit``; ``logs`` is a dict of the numbers so far."""

    def on_phase(self, name: str) -> None:
        """A phase after training begins (``calibrate``, say): the fits that follow are
        its own."""

    def on_train_begin(self, *, epochs: int, steps_per_epoch: int) -> None: ...

    def on_epoch_begin(self, epoch: int) -> None: ...

    def on_batch_end(self, step: int, logs: dict) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...

    def on_train_end(self, logs: dict) -> None: ...
