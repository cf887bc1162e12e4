"""``--tensorboard DIR``: a run's numbers as TensorBoard event files, with PyTorch's
``SummaryWriter`` (the ``tensorboard`` package must be installed: ``rnnlab[tensorboard]``).

Scalars, by the step they belong to: ``train/loss`` (the epoch's running mean so far)
every few steps; at each epoch's end ``epoch/...`` for every logged number (``loss``,
``lr``, the ``val_`` metrics), ``epoch/seconds`` and ``epoch/<unit>_per_second`` (the loss's
units, ``tokens`` or examples, over all processes). The event file is made when training
starts, so a command refused before leaves nothing. A resumed run adds a file to the same
directory that purges what the interrupted run logged past its checkpoint (``purge_step``);
TensorBoard joins them.
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.training.callbacks import Callback

STEP_EVERY = 10  # training steps between two points of train/loss


class TensorBoard(Callback):
    """Writes the run's scalars to a new event file in ``logdir``."""

    def __init__(self, logdir: Path | str) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter  # noqa: F401
        except ImportError:
            raise ValueError(
                f"`tensorboard` {logdir}: needs the tensorboard package (pip install "
                "'rnnlab[tensorboard]' or pip install tensorboard)"
            ) from None
        logdir = Path(logdir)
        if logdir.exists() and not logdir.is_dir():
            raise ValueError(f"`tensorboard` {logdir}: not a directory")
        self.logdir = logdir
        self.writer = None
        self.trainer = None  # set by ``rnnlab.kinds.base.train``: its timing and unit
        self.steps = 1
        self.epoch = 0

    def on_train_begin(self, *, epochs, steps_per_epoch):
        from torch.utils.tensorboard import SummaryWriter

        self.steps = steps_per_epoch
        done = self.trainer.history.epochs if self.trainer is not None else 0
        # the steps of a resumed run, and its epochs, start after its checkpoint's
        purge = done * steps_per_epoch + 1 if done else None
        self.writer = SummaryWriter(log_dir=str(self.logdir), purge_step=purge)

    def on_epoch_begin(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, step, logs):
        if step % STEP_EVERY == 0 or step == self.steps - 1:
            self.writer.add_scalar("train/loss", logs["loss"], self.epoch * self.steps + step + 1)

    def on_epoch_end(self, epoch, logs):
        for name, value in logs.items():
            if isinstance(value, int | float) and value == value:  # NaN: nothing measured
                self.writer.add_scalar(f"epoch/{name}", value, epoch + 1)
        timing = getattr(self.trainer, "timing", None) or {}
        if timing:
            unit = getattr(self.trainer.objective, "unit", "examples")
            self.writer.add_scalar("epoch/seconds", timing["epoch_seconds"], epoch + 1)
            self.writer.add_scalar(f"epoch/{unit}_per_second", timing["throughput"], epoch + 1)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
