r"""``gradients``: how strongly the loss at the last step depends on each earlier input.

For a recurrent model reading ``x_1 .. x_T`` and a loss :math:`L` on its output at step
:math:`T`, the chain rule gives

.. math::
    \frac{\partial L}{\partial x_{T-k+1}} = \frac{\partial L}{\partial h_T}
    \Big(\prod_{s=T-k+2}^{T} \frac{\partial h_s}{\partial h_{s-1}}\Big)
    \frac{\partial h_{T-k+1}}{\partial x_{T-k+1}},

a product of ``k - 1`` state-to-state Jacobians for the input at **lag** ``k`` (lag 1 is the
last input). If those Jacobians shrink vectors by a factor :math:`\rho` on average, the
gradient norm falls like :math:`\rho^{k}`: the vanishing gradient. We measure
:math:`g(k) = \operatorname{mean} \lVert \partial L_i / \partial x_{i, T-k+1} \rVert_2`,
the mean over a batch of adding-problem sequences ``i`` and over several weight seeds, for
SimpleRNN, LSTM and GRU taggers of the same width (``tanh``, Keras's initialisers), at
initialisation and optionally after training on the adding problem. The fitted decay per
step is :math:`\rho = \exp(\text{slope})` of the least-squares line through
:math:`(k, \ln g(k))`.

The state ``h`` of an LSTM is ``(h, c)``; the Jacobians are of the whole state. Gradients
are taken in float64 so that values far below float32's range stay exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from rnnlab.experiments.claim_tasks import (
    CELLS,
    CLAIM_TASKS,
    build_claim_model,
    evaluate_on_task,
    train_on_task,
    validation_set,
)
from rnnlab.layers import GRUCell, LSTMCell, SimpleRNNCell
from rnnlab.limits import check_int
from rnnlab.plots.figures import png_bytes, pyplot, save_result
from rnnlab.training.resources import check_fits
from rnnlab.training.workers import StepProgress, run_all

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass(frozen=True)
class GradientsConfig:
    """Everything that defines a ``gradients`` run."""

    cells: tuple[str, ...] = CELLS  # "rnn", "lstm", "gru"
    units: int = 64  # H, the same for every cell
    length: int = 100  # T: lags 1..T are measured
    batch_size: int = 32  # adding-problem sequences per measurement
    seeds: int = 3  # weight initialisations averaged over
    seed: int = 0  # first weight seed; data seed
    trained: bool = False  # also measure after training on the adding problem
    train_steps: int = 1000  # Adam steps per trained model
    train_batch_size: int = 64
    learning_rate: float = 1e-2
    val_samples: int = 500  # held-out sequences to score each trained model

    def memory_bytes(self, jobs: int = 1) -> int:
        """A generous estimate of the run's memory: per model measured or trained at once, a
        batch's gates, states and their gradients at every step (16 numbers a unit; float64
        for the measurement, float32 in training), and the held-out sequences."""
        batch_bytes = max(8 * self.batch_size, 4 * self.train_batch_size)
        per_run = 16 * batch_bytes * self.length * self.units + 8 * self.val_samples * self.length
        return min(jobs, len(self.cells) * self.seeds) * per_run

    def __post_init__(self) -> None:
        for name in ("units", "batch_size", "seeds", "train_steps", "train_batch_size"):
            check_int(name, getattr(self, name))
        check_int("val_samples", self.val_samples)
        check_int("length", self.length, least=2)
        check_int("seed", self.seed, least=0)
        if not self.cells or any(c not in CELLS for c in self.cells):
            raise ValueError(f"`cells` must be some of {list(CELLS)}, got {list(self.cells)}.")
        if not self.learning_rate > 0:
            raise ValueError(f"`learning_rate` must be > 0, got {self.learning_rate}.")


def input_gradient_norms(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    r"""``g[k-1] = mean_i || d L_i / d x_{i, T-k+1} ||`` for lags ``k = 1..T``.

    ``L_i = (\hat y_i - y_i)^2`` is sequence ``i``'s squared error at the last step; since it
    depends on that sequence's inputs only, one backward pass of :math:`\sum_i L_i` gives
    every per-sequence gradient. ``x``: ``(N, T, I)``, ``y``: ``(N,)``; returns ``(T,)``.
    """
    x = x.detach().clone().requires_grad_(True)
    prediction = model(x)[:, -1, 0]  # (N,)
    (grad,) = torch.autograd.grad(((prediction - y) ** 2).sum(), x)  # (N, T, I)
    return grad.norm(dim=-1).mean(dim=0).flip(0).detach().cpu().numpy()  # lag 1 first


def fit_decay(lags: np.ndarray, norms: np.ndarray) -> float:
    """The decay per step ``exp(slope)`` of the least-squares line through ``(lag, ln g)``."""
    keep = norms > 0
    if keep.sum() < 2:
        return float("nan")
    slope = np.polyfit(lags[keep], np.log(norms[keep]), 1)[0]
    return float(math.exp(slope))


@torch.no_grad()
def gate_statistic(layer: torch.nn.Module, x: torch.Tensor) -> dict[str, float | str]:
    """The mean over batch, steps and units of the quantity that sets the carry per step.

    SimpleRNN: ``tanh'(a_t) = 1 - h_t^2``, the factor on each Jacobian ``diag(1 - h_t^2) U``;
    LSTM: the forget gate ``f_t``, the factor on ``dc_t / dc_{t-1}``; GRU: the update gate
    ``z_t``, the share of ``h_{t-1}`` carried unchanged into ``h_t``.
    """
    cell = layer.cell
    xp = cell.project_inputs(x)  # (N, T, G*H)
    state = cell.initial_state(x)
    values = []
    for xp_t in xp.unbind(1):
        out, new_state = cell.step(xp_t, state)
        values.append(_GATES[type(cell)][1](cell, xp_t, state, out))
        state = new_state
    return {"name": _GATES[type(cell)][0], "mean": torch.stack(values).mean().item()}


def _lstm_forget(cell, xp_t, state, out):
    return cell.gates_of(xp_t + state[0] @ cell.recurrent_kernel, state[1]).forget_gate


def _gru_update(cell, xp_t, state, out):
    rec = state[0] @ cell.recurrent_kernel + (cell.bias[1] if cell.bias is not None else 0)
    return cell.recurrent_activation(xp_t.chunk(3, dim=1)[0] + rec.chunk(3, dim=1)[0])


_GATES = {
    SimpleRNNCell: ("tanh'(a) = 1 - h^2", lambda cell, xp_t, state, out: 1 - out**2),
    LSTMCell: ("forget gate f", _lstm_forget),
    GRUCell: ("update gate z", _gru_update),
}


@dataclass
class CellGradients:
    """The measurement of one cell in one condition (initialised or trained)."""

    cell: str
    per_seed: list[list[float]]  # g(k) for k = 1..T, one list per weight seed
    gate: list[dict]  # gate_statistic per seed
    val_mse: list[float] | None = None  # adding-problem MSE per seed (trained models only)

    @property
    def grad_norm(self) -> np.ndarray:
        return np.mean(np.asarray(self.per_seed), axis=0)

    @property
    def lags(self) -> np.ndarray:
        return np.arange(1, len(self.per_seed[0]) + 1)

    @property
    def decay_per_step(self) -> float:
        return fit_decay(self.lags, self.grad_norm)

    @property
    def fold(self) -> float:
        """``g(1) / g(T)``: how many times smaller the gradient of the first input is."""
        g = self.grad_norm
        return float(g[0] / g[-1]) if g[-1] > 0 else float("inf")

    def to_dict(self) -> dict:
        d = {
            "lag": self.lags.tolist(),
            "grad_norm": self.grad_norm.tolist(),
            "grad_norm_per_seed": self.per_seed,
            "decay_per_step": self.decay_per_step,
            "fold_first_to_last_lag": self.fold,
            "gate": self.gate[0]["name"],
            "gate_mean": float(np.mean([g["mean"] for g in self.gate])),
        }
        if self.val_mse is not None:
            d["val_mse"] = self.val_mse
            d["val_mse_mean"] = float(np.mean(self.val_mse))
        return d


@dataclass
class GradientsResult:
    config: GradientsConfig
    initial: dict[str, CellGradients] = field(default_factory=dict)
    trained: dict[str, CellGradients] = field(default_factory=dict)

    def to_dict(self) -> dict:
        from rnnlab.version import __version__

        return {
            "config": {**asdict(self.config), "cells": list(self.config.cells)},
            "loss": "squared error of the adding-problem prediction at the last step",
            "cells": {name: c.to_dict() for name, c in self.initial.items()},
            "trained": {name: c.to_dict() for name, c in self.trained.items()} or None,
            "versions": {"rnnlab": __version__, "torch": torch.__version__},
        }

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write ``gradients.json`` and ``gradients.png`` into ``out_dir`` (each atomically)."""
        return save_result(
            out_dir, "gradients.json", self.to_dict(), "gradients.png", self.plot_png()
        )

    def plot_png(self) -> bytes:
        """Gradient norm against lag on a log scale, one line per cell (one panel per state)."""
        plt = pyplot()

        panels = [("at initialisation", self.initial)]
        if self.trained:
            panels.append(("after training on the adding problem", self.trained))
        fig, axes = plt.subplots(
            1, len(panels), figsize=(6.5 * len(panels) + 1.5, 4.6), sharey=True, squeeze=False
        )
        for ax, (title, cells) in zip(axes[0], panels, strict=True):
            for name, c in cells.items():
                label = f"{name}: x{c.decay_per_step:.3f} per step"
                ax.plot(c.lags, c.grad_norm, label=label)
            ax.set_yscale("log")
            ax.set_title(title)
            ax.set_xlabel("lag k (steps back from the loss; 1 = last input)")
            ax.grid(True, which="major", alpha=0.3)
            ax.legend(title="cell: fitted decay")
        axes[0][0].set_ylabel("mean ‖∂L/∂x at lag k‖")
        cfg = self.config
        fig.suptitle(
            f"rnnlab gradients: H={cfg.units}, T={cfg.length}, tanh, Keras initialisers\n"
            f"mean over {cfg.seeds} seed(s) x {cfg.batch_size} adding-problem sequences"
        )
        fig.tight_layout()
        return png_bytes(fig, dpi=90)


def _measure(model, x64, y64) -> tuple[list[float], dict]:
    model = model.double()
    norms = input_gradient_norms(model, x64, y64)
    return norms.tolist(), gate_statistic(model.recurrent, x64)


def _training(config: GradientsConfig, cell: str, seed: int, x64, y64, val):
    """One run: train ``cell`` from ``seed``; its MSE on ``val``, then ``g(k)`` and the gates."""

    def run(callbacks) -> tuple[list[float], dict, float]:
        task = CLAIM_TASKS["adding"]
        model = build_claim_model(cell, task, config.units, seed)
        train_on_task(
            model, task, config.length,
            steps=config.train_steps, batch_size=config.train_batch_size,
            learning_rate=config.learning_rate, seed=seed, callbacks=callbacks,
        )  # fmt: skip
        mse = evaluate_on_task(model, task, val)["mse"]
        norms, gates = _measure(model, x64, y64)
        return norms, gates, mse

    return run


def run_gradients(
    config: GradientsConfig = GradientsConfig(), *, progress=None, jobs: int = 1
) -> GradientsResult:
    """Measure ``g(k)`` for every cell at initialisation (and after training, if asked).

    With ``trained``, the models train ``jobs`` at a time in worker processes
    (``rnnlab.training.workers``; each on one thread and seeded alone, so the numbers do
    not depend on ``jobs``). ``progress(what, done, total)`` is called after each model
    measured or training step.
    """
    check_fits(
        config.memory_bytes(jobs),
        f"measuring {len(config.cells)} cells of {config.units:,} units over {config.length:,} "
        "steps",
        "reduce `units`, `length` or `batch_size`",
    )
    task = CLAIM_TASKS["adding"]
    x, y = validation_set(task, config.length, config.batch_size, config.seed)
    x64, y64 = x.double(), y.double()
    seeds = [config.seed + i for i in range(config.seeds)]
    per_model = config.train_steps if config.trained else 0
    total = len(config.cells) * len(seeds) * (1 + per_model)
    done = 0

    def tick(what: str, n: int = 1) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(what, done, total)

    result = GradientsResult(config)
    for cell in config.cells:
        runs = [_measure(build_claim_model(cell, task, config.units, s), x64, y64) for s in seeds]
        result.initial[cell] = CellGradients(cell, [r[0] for r in runs], [r[1] for r in runs])
        tick(f"{cell} at init", len(seeds))
    if config.trained:
        cases = [(cell, s) for cell in config.cells for s in seeds]
        val = validation_set(task, config.length, config.val_samples, config.seed + 1)
        steps = StepProgress(progress, total, done=done)  # after the models at init
        outcomes = run_all(
            [_training(config, cell, s, x64, y64, val) for cell, s in cases],
            jobs=jobs,
            callbacks_for=lambda i: (
                [steps.callback(f"training {cases[i][0]}")] if progress is not None else []
            ),
        )
        for cell in config.cells:
            mine = [o for (c, _), o in zip(cases, outcomes, strict=True) if c == cell]
            result.trained[cell] = CellGradients(
                cell, [o[0] for o in mine], [o[1] for o in mine], [o[2] for o in mine]
            )
    return result
