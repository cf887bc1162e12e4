"""``memory``: which cells can carry information across long lags, measured on two tasks.

- The **adding problem** (Hochreiter and Schmidhuber, 1997): two marked values among ``T``
  must be summed, the first of them more than ``T/2`` steps before the answer. Scored by the
  held-out mean squared error; the input-blind answer 1.0 scores ``1/6``.
- A **long-lag copy task**: ``K = 3`` symbols of 8 are shown first and must be output, in
  order, after a delay of ``T`` steps (``rnnlab.data.claims.copy_task``). Scored by the
  held-out exact match (all ``K`` symbols right); guessing scores ``8^-3 = 0.2%``.

Every cell (SimpleRNN, LSTM, GRU; ``tanh``, Keras's initialisers, the same width) is trained
from the same seed with the same budget at every length: ``train_steps`` Adam steps on fresh
batches (``rnnlab.experiments.claim_tasks.train_on_task``), then scored on a held-out set.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from rnnlab.experiments.claim_tasks import (
    CELLS,
    CLAIM_TASKS,
    build_claim_model,
    evaluate_on_task,
    train_on_task,
    validation_set,
)
from rnnlab.limits import check_int, is_integer
from rnnlab.plots.figures import png_bytes, pyplot, save_result
from rnnlab.training.callbacks import Callback
from rnnlab.training.resources import check_fits
from rnnlab.training.workers import StepProgress, run_all


@dataclass(frozen=True)
class MemoryConfig:
    """Everything that defines a ``memory`` run."""

    tasks: tuple[str, ...] = ("adding", "copy")  # names from CLAIM_TASKS
    lengths: tuple[int, ...] = (10, 25, 50, 100, 200)  # adding: T; copy: the delay
    cells: tuple[str, ...] = CELLS
    units: int = 64  # H, the same for every cell
    train_steps: int = 1000  # Adam steps per model, the same budget for every cell
    batch_size: int = 32  # fresh sequences per step
    learning_rate: float = 1e-2
    val_samples: int = 500  # held-out sequences per task and length
    seed: int = 0  # weights (the same for every cell and length), data

    def memory_bytes(self, jobs: int = 1) -> int:
        """A generous estimate of the run's memory: per run training at once, a batch's gates,
        states and their gradients at every step of the longest sequence (16 floats a unit;
        the copy task's sequences are about twice its delay), and the held-out sequences."""
        steps = 2 * max(self.lengths)
        per_run = 4 * steps * (16 * self.batch_size * self.units + 8 * self.val_samples)
        runs = len(self.tasks) * len(self.lengths) * len(self.cells)
        return min(jobs, runs) * per_run

    def __post_init__(self) -> None:
        for name in ("units", "train_steps", "batch_size", "val_samples"):
            check_int(name, getattr(self, name))
        if not self.tasks or any(t not in CLAIM_TASKS for t in self.tasks):
            raise ValueError(f"`tasks` must be some of {list(CLAIM_TASKS)}, got {self.tasks}.")
        if not self.cells or any(c not in CELLS for c in self.cells):
            raise ValueError(f"`cells` must be some of {list(CELLS)}, got {list(self.cells)}.")
        if not self.lengths or not all(is_integer(n) and n >= 2 for n in self.lengths):
            raise ValueError(f"`lengths` must be integers >= 2, got {list(self.lengths)}.")
        if not self.learning_rate > 0:
            raise ValueError(f"`learning_rate` must be > 0, got {self.learning_rate}.")


@dataclass
class MemoryResult:
    config: MemoryConfig
    # scores[task][cell] is one dict per length: the task's score plus train_seconds, final_loss
    scores: dict[str, dict[str, list[dict]]] = field(default_factory=dict)

    def metric(self, task: str, cell: str) -> list[float]:
        key = CLAIM_TASKS[task].metric
        return [s[key] for s in self.scores[task][cell]]

    def to_dict(self) -> dict:
        from rnnlab.version import __version__

        tasks = {}
        for name, cells in self.scores.items():
            task = CLAIM_TASKS[name]
            tasks[name] = {
                "metric": task.metric,
                "baseline": task.baseline,
                "baseline_name": task.baseline_name,
                "length_means": "sequence length T" if name == "adding" else "delay T",
                "lengths": list(self.config.lengths),
                "cells": {
                    cell: {task.metric: self.metric(name, cell), "runs": runs}
                    for cell, runs in cells.items()
                },
            }
        return {
            "config": {
                **asdict(self.config),
                "tasks": list(self.config.tasks),
                "lengths": list(self.config.lengths),
                "cells": list(self.config.cells),
            },
            "tasks": tasks,
            "versions": {"rnnlab": __version__, "torch": torch.__version__},
        }

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write ``memory.json`` and ``memory.png`` into ``out_dir`` (each atomically)."""
        return save_result(out_dir, "memory.json", self.to_dict(), "memory.png", self.plot_png())

    def plot_png(self) -> bytes:
        """One panel per task: the held-out metric against length, one line per cell."""
        plt = pyplot()

        names = list(self.scores)
        fig, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 4.4), squeeze=False)
        lengths = list(self.config.lengths)
        for ax, name in zip(axes[0], names, strict=True):
            task = CLAIM_TASKS[name]
            for cell in self.scores[name]:
                ax.plot(lengths, self.metric(name, cell), marker="o", label=cell)
            ax.axhline(task.baseline, color="grey", ls="--", label=task.baseline_name)
            ax.set_xscale("log")
            ax.set_xticks(lengths, [str(n) for n in lengths])
            ax.minorticks_off()
            if task.metric == "mse":
                ax.set_yscale("log")
                ax.set_ylabel("held-out mean squared error (lower is better)")
                ax.set_xlabel("sequence length T")
                ax.set_title("adding problem")
            else:
                ax.set_ylim(-0.03, 1.03)
                ax.set_ylabel("held-out exact match (higher is better)")
                ax.set_xlabel("delay T (steps between the symbols and their recall)")
                ax.set_title("copy 3 symbols after a delay")
            ax.grid(True, which="major", alpha=0.3)
            ax.legend()
        cfg = self.config
        fig.suptitle(
            f"rnnlab memory: H={cfg.units}, tanh, the same budget for every cell "
            f"({cfg.train_steps} Adam steps x {cfg.batch_size} sequences, seed {cfg.seed})"
        )
        fig.tight_layout()
        return png_bytes(fig, dpi=90)


def run_memory(
    config: MemoryConfig = MemoryConfig(), *, progress=None, jobs: int = 1
) -> MemoryResult:
    """Train and score every (task, length, cell), ``jobs`` runs at a time in worker
    processes (``rnnlab.training.workers``; each run is seeded alone and runs on one
    thread, so the scores do not depend on ``jobs``); ``progress(what, done, total)`` as
    the training steps advance."""
    check_fits(
        config.memory_bytes(jobs),
        f"training {len(config.cells)} cells of {config.units:,} units on sequences of up to "
        f"{max(config.lengths):,} steps",
        "reduce `units`, `lengths`, `batch_size` or `val_samples`",
    )
    result = MemoryResult(config)
    cases = [
        (name, length, cell)
        for name in config.tasks
        for length in config.lengths
        for cell in config.cells
    ]
    counter = StepProgress(progress, len(cases) * config.train_steps)

    def callbacks_for(index: int) -> list[Callback]:
        name, length, cell = cases[index]
        return [counter.callback(f"{name} T={length} {cell}")] if progress is not None else []

    validation = {  # held-out sets, made once here; the workers inherit them
        (name, length): validation_set(CLAIM_TASKS[name], length, config.val_samples, config.seed)
        for name in config.tasks
        for length in config.lengths
    }
    runs = [_scoring(config, *case, validation[case[:2]]) for case in cases]
    outcomes = run_all(runs, jobs=jobs, callbacks_for=callbacks_for)
    for name in config.tasks:
        result.scores[name] = {cell: [] for cell in config.cells}
    for (name, _, cell), score in zip(cases, outcomes, strict=True):
        result.scores[name][cell].append(score)
    return result


def _scoring(config: MemoryConfig, name: str, length: int, cell: str, val):
    """One run: train ``cell`` on task ``name`` at ``length`` and score it on ``val``."""

    def run(callbacks) -> dict:
        task = CLAIM_TASKS[name]
        model = build_claim_model(cell, task, config.units, config.seed)
        start = time.perf_counter()
        losses = train_on_task(
            model,
            task,
            length,
            steps=config.train_steps,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            seed=config.seed,
            callbacks=callbacks,
        )
        seconds = time.perf_counter() - start
        score = evaluate_on_task(model, task, val)
        tail = losses[-max(1, len(losses) // 10) :]
        return {
            "length": length,
            **score,
            "final_train_loss": sum(tail) / len(tail),
            "train_seconds": seconds,
        }

    return run
