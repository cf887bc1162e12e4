"""fit / evaluate / predict for any model, given an objective that knows the data's form.

The trainer knows no architecture: it takes a model, an objective (its loss and metrics),
an optimiser, and callbacks for progress. It also owns what a resumed run must get back
exactly: the optimiser's moments, the shuffling generator, the global RNG (dropout), the
early-stopping record and the history (see ``state`` and ``load_state``).

It also owns where the steps run: the model goes to the trainer's ``device``, the forward
passes run in its ``precision`` (``rnnlab.training.devices``), and with a ``group`` the steps
are shared by several processes (``rnnlab.training.distributed``: DDP over shards of the same
global batches, giving the steps one process would take).
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Sequence

import torch
from torch import nn

from rnnlab.limits import check_int
from rnnlab.training import distributed
from rnnlab.training.callbacks import Callback
from rnnlab.training.devices import (
    DeviceMemoryError,
    Precision,
    is_device_out_of_memory,
    model_device,
)
from rnnlab.training.history import History
from rnnlab.training.objectives import Objective
from rnnlab.training.optimizers import make_optimizer
from rnnlab.training.schedules import WARMUP, get_schedule


class NonFiniteLossError(ValueError):
    """The training loss became infinite or NaN (``epoch`` and ``step`` count from 0): the
    steps diverged, and training stops before the weights are updated with it."""

    def __init__(self, epoch: int, step: int, value: float) -> None:
        super().__init__(
            f"epoch {epoch + 1}, step {step + 1}: the training loss is {value}; training "
            "diverged and stopped (a smaller `learning_rate` usually helps)"
        )
        self.epoch, self.step, self.value = epoch, step, value


class BudgetTooShortError(ValueError):
    """``max_time`` is shorter than one training step."""

    def __init__(self, budget: float, step_seconds: float) -> None:
        super().__init__(
            f"`max_time` {format_seconds(budget)} is too short: one training step took "
            f"{step_seconds:.2f} s; give a budget of at least {format_seconds(10 * step_seconds)}"
        )
        self.budget, self.step_seconds = budget, step_seconds


def format_seconds(seconds: float) -> str:
    """``5 min``, ``1 h 30 min``, ``90 s``, ``2.5 s``: a duration as the messages give it."""
    if seconds < 10:
        return f"{seconds:.3g} s"
    if seconds < 120 and seconds % 60:
        return f"{seconds:.0f} s"
    if seconds < 600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min" + (f" {rest} s" if rest else "")
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


def format_epochs(epochs: float) -> str:
    """``22``, ``3.4``, ``1,250``: epochs as the messages give them (a tenth where a budget
    ended one part-way)."""
    return f"{epochs:,.1f}".removesuffix(".0")


class Trainer:
    """Train and evaluate ``model`` on a data set (``SequenceDataset`` or ``TokenPairs``).

    Args:
        model: the model to train.
        objective: its loss, metrics and predictions (an ``Objective``: ``ValueRegression``
            for the tutorial's formulation, ``SequenceGeneration``, ``TokenTagging``, ...).
        optimizer: an optimiser name (``"adam"``, Keras's Adam).
        learning_rate: the peak step size (``1e-3``).
        batch_size: examples per step (32).
        eval_batch_size: examples per forward pass in ``evaluate`` and ``predict`` (None: the
            ``batch_size``; as Keras's ``validation_batch_size``). Larger is faster; the
            numbers do not depend on it beyond floating-point rounding.
        shuffle: reshuffle the training set every epoch (True).
        seed: seed of the shuffling (a local generator; None for a random one).
        clip_norm: clip the gradients' global norm to this (None: no clipping).
        schedule: ``"constant"`` (default) or ``"cosine"`` learning rate over the run.
        warmup: the fraction of the steps a cosine schedule warms up over (0.02).
        monitor: the validation number early stopping watches (default ``"val_exact_match"``;
            ``val_`` and one of the objective's ``metrics``, or ``val_loss``); whether lower
            is better comes from the objective.
        patience: stop after this many epochs without improvement of ``monitor`` and restore
            the best epoch's weights (None: train every epoch, keep the last weights).
        max_time: a time budget in seconds (None: none). The trainer measures its speed as it
            goes (steps, and the validation passes) and plans the number of steps that fits
            the budget; the learning-rate schedule runs over that number, so it has decayed
            when the time is up. Training stops at a step boundary (mid-epoch if need be),
            validates, and keeps the best weights by validation. ``epochs`` still caps it.
            A resumed run keeps its plan and the time it has left.
        average: keep an exponential moving average of the weights with this decay per step
            (Polyak averaging; e.g. 0.999); validation, early stopping and the weights the
            model ends with are the average's. None (default): the weights as trained.
        callbacks: ``Callback``s told of every step and epoch. While they hear of an epoch's
            end, ``trainer.timing`` holds its ``epoch_seconds`` (the training steps) and
            ``throughput`` (the loss's units a second over all processes: tokens, or
            examples, as the objective's ``unit`` says).
        device: where the model and its batches go (None: where the model is).
        precision: ``"fp32"``, or ``"bf16"``/``"fp16"`` mixed precision (a ``Precision``).
        group: the processes that share each step (a ``distributed.Group``; None: this one).
    """

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        *,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        shuffle: bool = True,
        seed: int | None = None,
        clip_norm: float | None = None,
        schedule: str = "constant",
        warmup: float = WARMUP,
        monitor: str = "val_exact_match",
        patience: int | None = None,
        average: float | None = None,
        max_time: float | None = None,
        callbacks: Sequence[Callback] = (),
        device: torch.device | str | None = None,
        precision: str | Precision = "fp32",
        group: distributed.Group | None = None,
    ) -> None:
        check_int("batch_size", batch_size)
        if eval_batch_size is not None and (
            isinstance(eval_batch_size, bool)
            or not isinstance(eval_batch_size, int)
            or eval_batch_size < 1
        ):
            raise ValueError(
                f"`eval_batch_size` must be a positive int or None, got {eval_batch_size!r}."
            )
        if clip_norm is not None and not clip_norm > 0:
            raise ValueError(f"`clip_norm` must be > 0 or None, got {clip_norm!r}.")
        if patience is not None and (not isinstance(patience, int) or patience < 1):
            raise ValueError(f"`patience` must be a positive int or None, got {patience!r}.")
        if average is not None and not 0.0 < average < 1.0:
            raise ValueError(f"`average` must be in (0, 1) or None, got {average!r}.")
        if max_time is not None and not (_is_number(max_time) and max_time > 0):
            raise ValueError(f"`max_time` must be a number of seconds > 0, got {max_time!r}.")
        known = ("val_loss", *(f"val_{name}" for name in objective.metrics))
        if patience is not None and monitor not in known:
            raise ValueError(
                f"`monitor` must be one of {list(known)} (what the objective reports), "
                f"got {monitor!r}."
            )
        distributed.check_batch(batch_size, group)
        self.device = torch.device(device) if device is not None else model_device(model)
        self.model = model.to(self.device)
        self.objective = objective
        if not isinstance(precision, Precision):
            precision = Precision(precision, self.device)
        self.precision = precision
        self.group = group
        self._step_module: nn.Module | None = None  # what the steps call (DDP with a group)
        self.timing: dict[str, float] = {}  # the last epoch's seconds and throughput
        self.optimizer = make_optimizer(optimizer, model.parameters(), learning_rate)
        self.learning_rate = learning_rate
        self.schedule = get_schedule(schedule, warmup)
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.shuffle = shuffle
        self.clip_norm = clip_norm
        self.monitor, self.patience = monitor, patience
        self.callbacks = list(callbacks)
        if group is not None and seed is None:
            raise ValueError("a run of several processes needs a `seed` (they shuffle alike)")
        self.seed = seed
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)
        else:
            self.generator.seed()
        self.history = History()
        self.best: dict = {"value": None, "epoch": None, "weights": None}
        self.seconds = 0.0  # the epochs' time so far, validation included, across resumes
        self.average = average
        self.averaged: list[torch.Tensor] | None = None  # the average of each parameter
        self.max_time = max_time
        self.clock = time.perf_counter  # what the budget is measured with
        self.planned: int | None = None  # the steps the budget allows (None: not planned)
        self.stopped: str | None = None  # why ``fit`` ended early: "budget" or "patience"
        self._pace = [0.0, 0, 0.0]  # seconds of steps, steps, seconds of one validation
        self._steps_per_epoch = self._cap = self._total_steps = 0  # set by ``fit``

    @property
    def steps_per_epoch(self) -> int:
        return self._steps_per_epoch

    @property
    def epochs_trained(self) -> float:
        """The epochs trained, a fraction where the budget ended one part-way."""
        return self.optimizer.iterations / max(1, self._steps_per_epoch)

    def step_seconds(self) -> float:
        """The mean time of a training step so far, as the budget's plan measured it."""
        return self._pace[0] / max(1, self._pace[1])

    @property
    def total_steps(self) -> int:
        """The steps the run will take: the epochs', or fewer where the budget says so."""
        return self._total_steps

    # -- training ---------------------------------------------------------------------------

    @property
    def shown(self) -> tuple[str, ...]:
        """The numbers an epoch's progress line shows: the losses and the validation
        measures the objective headlines (its ``shown``)."""
        return ("loss", "val_loss", *(f"val_{m}" for m in getattr(self.objective, "shown", ())))

    def fit(self, train, *, epochs: int = 10, validation=None) -> History:
        """Train until ``epochs`` epochs are done (counting those of a resumed run) or early
        stopping ends it; returns the per-epoch ``History``.

        Logged each epoch: ``loss`` (the mean training loss over the epoch's batches, as Keras
        reports it), ``lr``, and with ``validation`` its metrics prefixed ``val_``.
        """
        check_int("epochs", epochs)
        if self.patience is not None and validation is None:
            raise ValueError("early stopping (`patience`) needs `validation` data.")
        steps = -(-len(train) // self.batch_size)
        self._steps_per_epoch, self._cap = steps, epochs * steps
        self._total_steps = min(self._cap, self.planned or self._cap)
        self._validated = validation is not None
        self._val_ratio = len(validation) / max(1, len(train)) if validation is not None else 0
        if self.group is not None and self._step_module is None:
            self._step_module = distributed.wrap(self.model, self.objective, self.group)
        for cb in self.callbacks:
            cb.on_train_begin(epochs=epochs, steps_per_epoch=steps)
        first = self.history.epochs
        if first and (
            self._stopped_after(first - 1) or self.optimizer.iterations >= self._total_steps
        ):
            first = epochs  # a resumed run that had stopped early: nothing more to train
        elif self.max_time is not None and self.seconds >= self.max_time:
            raise ValueError(
                f"`max_time`: the run has used its budget of {format_seconds(self.max_time)} "
                f"after {self.epochs_trained:.3g} epochs; give a larger `max_time` to go on"
            )
        for epoch in range(first, epochs):
            for cb in self.callbacks:
                cb.on_epoch_begin(epoch)
            if self.group is not None:
                # each rank's dropout draws its own numbers, from the seed, the epoch and the
                # rank: what a resumed run's ranks draw again, however many there were
                torch.manual_seed(distributed.dropout_seed(self.seed, epoch, self.group.rank))
            began = self._began_epoch = self.clock()
            loss, units = self._train_epoch(train, epoch)
            trained = self.clock()
            seconds = trained - began
            logs = {"loss": loss, "lr": self.optimizer.learning_rate}
            with self.averaged_weights():
                if validation is not None:
                    logs.update({f"val_{k}": v for k, v in self.evaluate(validation).items()})
                if self.group is not None:  # rank 0's numbers, so that every rank decides alike
                    logs = self.group.from_main(logs)
                self.history.append(logs)
                stop = self._update_best(epoch, logs)
            if self.optimizer.iterations >= self._total_steps < self._cap:
                stop, self.stopped = True, "budget"
            elif stop:
                self.stopped = "patience"
            ended = self.clock()
            self.seconds += ended - began
            if validation is not None:
                self._pace[2] = ended - trained  # an epoch's validation, for the plan
            self.timing = {"epoch_seconds": seconds, "throughput": units / max(seconds, 1e-9)}
            for cb in self.callbacks:
                cb.on_epoch_end(epoch, logs)
            if stop:
                break
        restore = self.patience is not None or self.stopped == "budget"
        if restore and self.best["weights"] is not None:
            self.model.load_state_dict(self.best["weights"])
        elif self.averaged is not None:
            with torch.no_grad():
                torch._foreach_copy_(self._parameters(), self.averaged)
        for cb in self.callbacks:
            cb.on_train_end(self.history.last())
        return self.history

    def best_epoch(self) -> int:
        """The epoch (from 0) with the best validation ``monitor``: early stopping's record,
        or else the history's (the first of equals); the last epoch without validation."""
        if self.best["epoch"] is not None:
            return self.best["epoch"]
        values = self.history.history.get(self.monitor, [])
        scored = [(v, i) for i, v in enumerate(values) if _is_number(v) and v == v]  # not NaN
        if not scored:
            return max(0, self.history.epochs - 1)
        lower = self.monitor == "val_loss" or self.monitor[4:] in self.objective.lower_is_better
        if lower:
            return min(scored)[1]
        return min((-v, i) for v, i in scored)[1]

    def _stopped_after(self, epoch: int) -> bool:
        """Whether early stopping ended training after ``epoch``: ``patience`` epochs after
        the monitored number last improved."""
        since = self.best.get("since", self.best["epoch"])
        return self.patience is not None and since is not None and epoch - since >= self.patience

    def best_at(self) -> float:
        """Where the best epoch ended, in epochs (a fraction for a last part-epoch)."""
        return min(self.best_epoch() + 1, self.epochs_trained) if self.history.epochs else 0.0

    def _update_best(self, epoch: int, logs: dict) -> bool:
        """Record the best epoch (with early stopping or a budget, which keep its weights);
        True when early stopping should end training.

        A tie in the monitored number (a saturated accuracy: 100% of the validation pairs
        exact) goes to the epoch of the lower validation loss, so that a saturated measure
        does not keep an under-trained model; the patience still counts from the epoch the
        monitored number last improved, so ties do not prolong training. Until the number
        first moves from its first epoch's value (an exact match still 0% while a model
        learns its first sequences), a lower validation loss counts as progress too."""
        if (self.patience is None and self.max_time is None) or self.monitor not in logs:
            return False  # nothing to keep, or no validation
        value = logs[self.monitor]
        lower = self.monitor == "val_loss" or self.monitor[4:] in self.objective.lower_is_better
        best = self.best["value"]
        loss = logs.get("val_loss", math.inf)
        improved = best is None or (value < best if lower else value > best)
        tied = not improved and value == best and loss < self.best.get("loss", math.inf)
        first = value if best is None else self.best.get("first")  # the first epoch's number
        if improved or tied:
            weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            moving = improved or best == first  # a lower loss is progress until it first moves
            since = epoch if moving else self.best.get("since", self.best["epoch"])
            self.best = {
                "value": value,
                "epoch": epoch,
                "weights": weights,
                "loss": loss,
                "since": since,
                "first": first,
            }
        return self._stopped_after(epoch)

    def _train_epoch(self, train, epoch: int) -> tuple[float, float]:
        """One epoch's steps; returns the mean training loss and the loss's units trained
        on (summed over the processes)."""
        self.model.train()
        total, seen, units = 0.0, 0, 0.0
        batches = train.batches(self.batch_size, shuffle=self.shuffle, generator=self.generator)
        stepped = self._began_epoch
        for step, batch in enumerate(batches):
            if self.optimizer.iterations >= self._total_steps:
                break  # the budget's plan is done (mid-epoch)
            scale = self.schedule(self.optimizer.iterations, self._total_steps)
            self.optimizer.learning_rate = self.learning_rate * scale
            with self._memory(len(batch), f"epoch {epoch + 1}, step {step + 1}"):
                value, weight = self._step(batch)
            if not math.isfinite(value):
                raise NonFiniteLossError(epoch, step, value)
            total += value * len(batch)
            seen += len(batch)
            units += weight
            for cb in self.callbacks:
                cb.on_batch_end(step, {"loss": total / seen})
            if self.max_time is not None:  # the pace: from one step's end to the next's
                now = self.clock()
                self._plan(now - stepped, now)
                stepped = now
        return total / max(seen, 1), units

    def _plan(self, step_seconds: float, now: float) -> None:
        """Fit the planned steps (and with them the schedule) to what is left of the
        budget, at the pace measured so far: the steps' mean time, and an epoch's
        validation pass."""
        pace = self._pace
        pace[0] += step_seconds
        pace[1] += 1
        if pace[1] == 1 and not self.history.epochs and step_seconds >= self.max_time:
            raise BudgetTooShortError(self.max_time, step_seconds)
        if self.group is not None and pace[1] % 10:
            return  # the processes plan together, every 10 steps
        per_step = pace[0] / pace[1]
        validation = pace[2]
        if not validation and self._validated:  # not timed yet: as long as training on as
            # many examples (a forward pass is cheaper), and at most 3% of the budget
            guess = per_step * self._steps_per_epoch * self._val_ratio
            validation = min(guess, 0.03 * self.max_time)
        elapsed = self.seconds + now - self._began_epoch
        left = self.max_time - elapsed - validation  # the last validation is kept time for
        per_step += validation / self._steps_per_epoch if self._validated else 0.0
        planned = self.optimizer.iterations + max(0, math.floor(left / per_step))
        if self.group is not None:
            planned = self.group.from_main(planned)
        self.planned = planned
        self._total_steps = min(self._cap, planned)

    def _step(self, batch) -> tuple[float, float]:
        """One update on ``batch`` (this process's rows of it, with a group); returns the
        batch's mean loss and its weight (the count the mean is over), both global."""
        weight_of = getattr(self.objective, "loss_weight", len)
        if self.group is None:
            with self.precision.autocast():
                loss = self.objective.loss(self.model, batch)
            value, weight = loss.item(), float(weight_of(batch))
        else:
            part, has_rows = distributed.shard(batch, self.group.rank, self.group.world)
            with self.precision.autocast(), distributed.collective("a training step"):
                loss = self._step_module(part)
            mine = float(weight_of(part)) if has_rows else 0.0
            weight, weighted = self.group.sum([mine, mine * loss.item()], self.device)
            value = weighted / weight if weight > 0 else math.nan
            # DDP averages the gradients over the processes: scaled so, the average is the
            # gradient of the global batch's mean loss
            loss = loss * (self.group.world * mine / weight)
        if not weight > 0:  # a batch without anything to learn from (no real tokens)
            value = math.nan
        if not math.isfinite(value):
            return value, weight
        shared = self.group is not None
        with distributed.collective("averaging the gradients") if shared else _nothing():
            self._update(loss)
        return value, weight

    def _update(self, loss: torch.Tensor) -> None:
        """The backward pass (DDP averages the gradients in it) and the optimiser's step."""
        self.optimizer.zero_grad()
        scaler = self.precision.scaler
        if scaler is None:
            loss.backward()
        else:
            scaler.scale(loss).backward()
            scaler.unscale_(self.optimizer)
        if self.clip_norm is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm)
        if scaler is None:
            self.optimizer.step()
        else:
            scaler.step(self.optimizer)  # skipped where the gradients overflowed
            scaler.update()
        if self.average is not None:
            self._update_average()

    def _parameters(self) -> list[torch.Tensor]:
        return [p for p in self.model.parameters() if p.requires_grad]

    @torch.no_grad()
    def _update_average(self) -> None:
        params = [p.detach() for p in self._parameters()]
        if self.averaged is None:
            self.averaged = [p.clone() for p in params]
            return
        # early on the average forgets faster (as TensorFlow's ExponentialMovingAverage with
        # num_updates), so that it does not stay near the random initial weights
        step = self.optimizer.iterations
        decay = min(self.average, (1 + step) / (10 + step))
        torch._foreach_lerp_(self.averaged, params, 1.0 - decay)

    @contextlib.contextmanager
    def averaged_weights(self):
        """Within the block, the model holds the averaged weights (when there are any)."""
        if self.averaged is None:
            yield
            return
        params = self._parameters()
        trained = [p.detach().clone() for p in params]
        with torch.no_grad():
            torch._foreach_copy_(params, self.averaged)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_(params, trained)

    # -- evaluation -------------------------------------------------------------------------

    @torch.no_grad()
    def predict(self, data):
        """The objective's predictions for every example (model outputs, or token ids)."""
        self.model.eval()
        with self.precision.autocast(), self._memory(self.eval_batch_size, "predicting"):
            return self.objective.predict(self.model, data, self.eval_batch_size)

    @torch.no_grad()
    def evaluate(self, data) -> dict[str, float]:
        """The objective's metrics on ``data`` (``loss`` and accuracies)."""
        self.model.eval()
        with self.precision.autocast(), self._memory(self.eval_batch_size, "evaluating"):
            return self.objective.evaluate(self.model, data, self.eval_batch_size)

    @contextlib.contextmanager
    def _memory(self, batch_size: int, where: str):
        """The device out of memory within the block as a ``DeviceMemoryError`` that names
        the batch size and where (a training step, or evaluating)."""
        try:
            yield
        except RuntimeError as exc:
            if is_device_out_of_memory(exc):
                raise DeviceMemoryError(self.device, batch_size, where) from None
            raise

    # -- resuming ---------------------------------------------------------------------------

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Everything a resumed run needs, as (tensors, JSON-able numbers)."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        opt = self.optimizer.state_dict()
        tensors.update({f"optimizer.m.{i}": m for i, m in enumerate(opt["m"])})
        tensors.update({f"optimizer.v.{i}": v for i, v in enumerate(opt["v"])})
        tensors["rng.shuffle"] = self.generator.get_state()
        tensors["rng.torch"] = torch.get_rng_state()
        if self.device.type == "cuda":  # dropout's numbers on a GPU
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        if self.best["weights"] is not None:
            tensors.update({f"best.{k}": v for k, v in self.best["weights"].items()})
        if self.averaged is not None:
            tensors.update({f"average.{i}": v for i, v in enumerate(self.averaged)})
        numbers = {
            "iterations": opt["iterations"],
            **(
                {"loss_scaler": self.precision.scaler.state_dict()} if self.precision.scaler else {}
            ),
            "history": self.history.history,
            "best_value": self.best["value"],
            "best_epoch": self.best["epoch"],
            "best_loss": _finite_or_none(self.best.get("loss")),
            "best_since": self.best.get("since"),
            "seconds": self.seconds,
            "planned": self.planned,
        }
        return {k: v.detach().contiguous().cpu() for k, v in tensors.items()}, numbers

    def load_state(self, tensors: dict[str, torch.Tensor], numbers: dict) -> None:
        """Restore what ``state`` returned, so that training continues as if never stopped.
        Numbers of the wrong type or shape (an edited checkpoint) are a ``ValueError``."""
        _check_state_numbers(numbers)
        self.model.load_state_dict(_strip(tensors, "model."))
        n = len(self.optimizer.m)
        self.optimizer.load_state_dict(
            {
                "iterations": numbers["iterations"],
                "m": [tensors[f"optimizer.m.{i}"] for i in range(n)],
                "v": [tensors[f"optimizer.v.{i}"] for i in range(n)],
            }
        )
        self.generator.set_state(tensors["rng.shuffle"])
        torch.set_rng_state(tensors["rng.torch"])
        if self.device.type == "cuda" and "rng.cuda" in tensors:  # not when it ran on a CPU
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        scaler, saved = self.precision.scaler, numbers.get("loss_scaler")
        if scaler is not None and isinstance(saved, dict):  # none when it ran in fp32
            fresh = scaler.state_dict()
            if set(saved) != set(fresh) or not all(_is_number(v) for v in saved.values()):
                raise ValueError("'loss_scaler' is not a GradScaler's state")
            scaler.load_state_dict(saved)
        self.history = History(copy.deepcopy(numbers["history"]))
        self.seconds = float(numbers.get("seconds", 0.0))  # none in older checkpoints
        self.planned = numbers.get("planned")
        best = _strip(tensors, "best.") or None
        averaged = _strip(tensors, "average.")
        if averaged:
            shapes = [p.shape for p in self._parameters()]
            self.averaged = [
                averaged[str(i)].to(self.device, copy=True) for i in range(len(shapes))
            ]
            if [a.shape for a in self.averaged] != shapes:
                raise ValueError("the averaged weights do not fit the model")
        self.best = {
            "value": numbers["best_value"],
            "epoch": numbers["best_epoch"],
            "weights": best,
            "loss": numbers.get("best_loss") if numbers.get("best_loss") is not None else math.inf,
            "since": numbers.get("best_since", numbers["best_epoch"]),
            "first": (self.history.history.get(self.monitor) or [None])[0],
        }


_nothing = contextlib.nullcontext


def _finite_or_none(value):
    return value if value is not None and math.isfinite(value) else None


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_state_numbers(numbers: dict) -> None:
    iterations = numbers.get("iterations")
    if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 0:
        raise ValueError(f"'iterations' must be an integer >= 0, got {iterations!r}")
    history = numbers.get("history")
    if not isinstance(history, dict) or not all(
        isinstance(v, list) and all(_is_number(x) or x is None for x in v) for v in history.values()
    ):
        raise ValueError("'history' must map each logged name to a list of numbers")
    if len({len(v) for v in history.values()}) > 1:
        raise ValueError("'history' lists must all have one number an epoch")
    seconds = numbers.get("seconds", 0.0)
    if not _is_number(seconds) or not seconds >= 0:
        raise ValueError(f"'seconds' must be a number >= 0, got {seconds!r}")
    for name in ("best_loss", "best_since"):
        if not (numbers.get(name) is None or _is_number(numbers[name])):
            raise ValueError(f"'{name}' must be a number or null, got {numbers[name]!r}")
    planned = numbers.get("planned")
    if not (planned is None or (isinstance(planned, int) and not isinstance(planned, bool))):
        raise ValueError(f"'planned' must be an integer or null, got {planned!r}")
    best, epoch = numbers.get("best_value"), numbers.get("best_epoch")
    if not (best is None or _is_number(best)):
        raise ValueError(f"'best_value' must be a number or null, got {best!r}")
    if not (
        epoch is None or (isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0)
    ):
        raise ValueError(f"'best_epoch' must be an integer >= 0 or null, got {epoch!r}")


def _strip(tensors: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
