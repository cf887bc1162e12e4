"""The contract every task kind implements: a ``Kind`` (data, defaults, model, measures) and
the ``Run`` it restores (predictions and measures on files).

``rnnlab.kinds.runs.train`` drives a kind through one run, always in this order:

1. ``read(config)``: the data as read (files, or a generated task);
2. ``resolve(config, data)``: the config with every default that depends on the data
   filled in; this is what ``config.json`` records, and what a resumed run starts from;
3. ``prepare(config, data)``: a ``Prepared``, the data sets, the objective, the model's
   shape and what to save beside the weights;
4. training, then ``calibrate`` (a second fit some kinds make after the first, shown and
   checkpointed as a phase of its own);
5. ``report(finished)`` and ``pictures(finished)``: measures and PNGs of the ``Finished``
   run, which holds the run, its data as read, its history and its metrics, so nothing is
   read or computed twice.

``load`` asks the kind to ``build`` an untrained model of the recorded shape and to
``restore`` the ``Run``. A ``Run`` reads its kind's files and writes its kind's output:
``predict_file``, ``evaluate_file``, ``describe`` and ``summary``, with the options that
``predict_options`` and ``evaluate_options`` name; no command asks which kind it holds.

Adding a kind: see the README's "Adding a kind".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from torch import nn

from rnnlab.kinds.baselines import Baselines
from rnnlab.training import Callback, Trainer
from rnnlab.training.config import DEFAULT_BUDGET
from rnnlab.training.devices import Placement
from rnnlab.training.run_folder import CHECKPOINT, has_checkpoint, read_checkpoint, write_checkpoint
from rnnlab.training.trainer import format_epochs


@dataclass
class Prepared:
    """A kind's data and model for one run, ready to train.

    ``state`` is saved in ``config.json`` beside the model's configuration (vocabularies,
    label sets, scalers, limits): with it and the weights, ``Kind.restore`` rebuilds the run.
    """

    train: Any  # a data set with ``batches(...)`` and ``len``
    val: Any
    objective: Any  # an ``rnnlab.training.objectives.Objective``
    model_config: Any  # a dataclass; ``build(model_config)`` makes the model
    build: Callable[[Any], nn.Module]
    state: dict = field(default_factory=dict)
    monitor: str = "val_loss"
    activation_bytes: int = 0  # an estimate for one batch of the longest sequences
    sizes: str = ""  # what the estimate is of, for its message
    placement: Placement = field(default_factory=Placement)  # where the run trains


@dataclass
class Phase:
    """A fit after training (a calibration, say), shown and checkpointed as a phase of its
    own: its callbacks hear ``on_phase(name)`` before it starts, its trainer's state is
    written after every epoch to ``checkpoint.NAME`` in the run folder, and a run
    interrupted during it resumes there."""

    name: str
    callbacks: list = field(default_factory=list)
    out: Path | None = None  # the run folder (None: nothing is written, as on ranks > 0)
    group: Any = None  # the processes of a distributed run (None: this one)
    max_time: float | None = None  # what the run's budget leaves for this phase, in seconds

    @property
    def checkpoint(self) -> str:
        return f"{CHECKPOINT}.{self.name}"

    def fit(self, trainer: Trainer, data, epochs: int):
        """``trainer.fit(data, epochs)``, resumed from this phase's checkpoint if there is
        one, checkpointed after every epoch."""
        for callback in self.callbacks:
            callback.on_phase(self.name)
        saved = None
        if self.out is not None and has_checkpoint(self.out, self.checkpoint):
            saved = read_checkpoint(self.out, self.checkpoint)
        if self.group is not None:
            saved = self.group.from_main(saved)
        if saved is not None:
            trainer.load_state(*saved)
        trainer.callbacks = [*trainer.callbacks, *self.callbacks]
        if self.out is not None:
            trainer.callbacks.append(Checkpointer(self.out, trainer, self.checkpoint))
        if self.max_time is not None:
            trainer.max_time = self.max_time
        return trainer.fit(data, epochs=epochs)


class Checkpointer(Callback):
    """Writes ``trainer``'s state to ``out/name`` after every epoch."""

    def __init__(self, out: Path, trainer: Trainer | None = None, name: str = CHECKPOINT):
        self.out, self.trainer, self.name = out, trainer, name

    def on_epoch_end(self, epoch, logs):
        write_checkpoint(self.out, *self.trainer.state(), name=self.name)


@dataclass
class Finished:
    """A finished run, as its kind's ``report`` and ``pictures`` receive it."""

    run: Run
    data: Any  # as ``Kind.read`` gave it
    prepared: Prepared
    history: dict  # name -> one value an epoch
    metrics: dict  # ``metrics.json`` so far
    results: dict = field(default_factory=dict)  # what ``report`` computed for ``pictures``


@dataclass
class Predictions:
    """What ``Run.predict_file`` gives: the output text, warnings for the user, and named
    pictures asked for (``attention``: the first input's attention weights, say)."""

    text: str
    warnings: list[str] = field(default_factory=list)
    pictures: dict[str, bytes] = field(default_factory=dict)


class Kind(ABC):
    """A task kind. Subclasses set ``name``, ``config`` (a ``rnnlab.config.Config``
    dataclass) and ``description``, and implement the abstract methods; ``calibrate``,
    ``report`` and ``pictures`` have defaults."""

    name: ClassVar[str]
    config: ClassVar[type]
    description: ClassVar[str] = ""
    trainable: ClassVar[bool] = True  # False: made otherwise (an import), not by ``train``
    # a run given no epochs trains until validation stops improving for ``default_patience``
    # epochs (None: every epoch trains), at most ``default_epochs`` (where ``resolve`` does
    # not size them to the data), within ``DEFAULT_BUDGET`` unless a ``max_time`` is given
    default_epochs: ClassVar[int] = 10
    default_patience: ClassVar[int | None] = 3

    @abstractmethod
    def read(self, config) -> Any:
        """The data ``config`` names, as read (errors name the file and line)."""

    @abstractmethod
    def resolve(self, config, data):
        """``config`` with each default that depends on ``data`` filled in (a config whose
        defaults are filled comes back unchanged)."""

    @abstractmethod
    def prepare(self, config, data) -> Prepared:
        """The data sets, objective and model shape of a resolved ``config``."""

    @abstractmethod
    def build(self, saved: dict) -> nn.Module:
        """An untrained model of the shape ``config.json`` records."""

    @abstractmethod
    def restore(self, config, model: nn.Module, saved: dict, metrics: dict) -> Run:
        """The trained run of ``config`` from its weights and ``config.json``."""

    def ready(self, config) -> tuple[Any, Any, Prepared]:
        """``read``, ``resolve`` and ``prepare`` in turn: the resolved config, the data as
        read and the ``Prepared`` run."""
        data = self.read(config)
        open_ended = config.epochs is None
        config = self.resolve(config, data)
        if open_ended:
            defaults = {"epochs": self.default_epochs, "patience": self.default_patience}
            config = config.with_defaults({**defaults, "max_time": DEFAULT_BUDGET})
        return config, data, self.prepare(config, data)

    def data_summary(self, data, prepared: Prepared, config) -> list[str]:
        """What was read, in a few lines for the summary printed before training (see
        ``rnnlab.kinds.summary``); the run adds the model and the plan."""
        return [
            f"data: {len(prepared.train):,} training and {len(prepared.val):,} validation examples"
        ]

    def calibration_share(self, config) -> float:
        """The share of a run's time budget its ``calibrate`` phase needs (0: none)."""
        return 0.0

    def calibrate(self, model: nn.Module, prepared: Prepared, config, phase: Phase) -> dict:
        """State that only the trained model gives (calibrated interval widths, say), saved
        in ``config.json`` beside ``prepared.state``; a second fit goes through
        ``phase.fit``, so that it is shown and resumed as a phase of its own."""
        return {}

    def report(self, finished: Finished) -> dict:
        """Measures of the finished run beyond the objective's (added to ``metrics.json``);
        what ``pictures`` will draw again goes into ``finished.results``."""
        return {}

    def baselines(self, finished: Finished) -> Baselines | None:
        """The run's headline figure beside a trivial and a classical baseline, fitted on
        the training data and scored on the same data as the run (``rnnlab.kinds.baselines``)."""
        return None

    def pictures(self, finished: Finished) -> dict[str, bytes]:
        """The PNGs of a finished run (name -> bytes)."""
        return {}


@dataclass
class Run(ABC):
    """A trained model of some kind, with what it needs to read inputs and write outputs.

    ``predict(inputs)`` takes what the kind's files hold, in the Python types its readers
    give; ``predict_file`` and ``evaluate_file`` read the files themselves.
    """

    kind: Kind
    config: Any
    model: nn.Module
    state: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    # the options of ``rnnlab predict`` and ``rnnlab evaluate`` this kind takes (``dest``s)
    predict_options: ClassVar[tuple[str, ...]] = ()
    evaluate_options: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def predict(self, inputs) -> list:
        """One prediction an input, in order."""

    @abstractmethod
    def predict_file(self, path: Path | None, **options) -> Predictions:
        """``rnnlab predict``'s output for the file ``path`` (None: standard input)."""

    @abstractmethod
    def evaluate_file(self, path: Path, **options) -> dict:
        """The kind's measures on a file of its kind (``rnnlab evaluate --data``)."""

    def describe(self, measures: dict) -> str:
        """``evaluate``'s measures as text: one line, fractions as percentages."""
        return measures_line(measures)

    def evaluation_pictures(self, measures: dict) -> dict[str, bytes]:
        """The PNGs of ``evaluate_file``'s measures (name -> bytes), for ``evaluate --out``."""
        return {}

    def summary(self) -> str:
        """The finished run's figures, for the command line."""
        return measures_line(self.metrics)

    def epochs_text(self) -> str:
        """The epochs the run trained, as its summary gives them: a fraction where a budget
        ended the last part-way (runs from before budgets: the epochs logged)."""
        m = self.metrics
        return format_epochs(m.get("epochs_trained", m["epochs"]))


def run_trainer(
    model: nn.Module, prepared: Prepared, config, *, callbacks=(), early_stopping: bool = True
) -> Trainer:
    """The trainer of a run of ``config`` (a ``TrainingConfig``): its step size, batch,
    seed, clip, schedule, weight average and (with ``early_stopping``) patience."""
    placement = prepared.placement
    return Trainer(
        model,
        prepared.objective,
        device=placement.device,
        precision=placement.precision,
        group=placement.group,
        monitor=prepared.monitor,
        patience=config.patience if early_stopping else None,
        callbacks=list(callbacks),
        **config.trainer_options(),
    )


def check_saved_sizes(sizes: dict[str, tuple[int, int | None]]) -> None:
    """Refuse a run folder whose saved state does not fit its weights: ``sizes`` maps each
    entry of ``config.json`` (``'labels'``) to (its length, the size the model was built
    with; None: no size to check)."""
    for name, (held, expected) in sizes.items():
        if expected is not None and held != expected:
            raise ValueError(
                f"'{name}' holds {held} entries; the model's weights were made for {expected}"
            )


def measures_line(measures: dict) -> str:
    """Measures as one readable line: fractions as percentages; lists and NaN left out."""
    parts = []
    for key, value in measures.items():
        if isinstance(value, list | dict) or value != value:  # a matrix; NaN: nothing measured
            continue
        if isinstance(value, float) and key != "loss" and 0.0 <= value <= 1.0:
            parts.append(f"{key.replace('_', ' ')} {value:.2%}")
        elif isinstance(value, float):
            parts.append(f"{key.replace('_', ' ')} {value:.4f}")
        else:
            parts.append(f"{value} {key}" if isinstance(value, int) else f"{key} {value}")
    return ", ".join(parts)
