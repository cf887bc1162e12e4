"""The long-memory tasks of the claim experiments, and one training loop for all of them.

A task turns a batch of model outputs ``(N, T, O)`` into a loss and a score. The model is a
``Tagger`` (a recurrent layer with ``tanh`` and Keras's initialisers, then a per-step Dense
head): the adding problem reads its last step, the copy task its last ``K`` steps.

Training is online: every step draws a fresh batch from a seeded generator, so a budget is a
number of steps (each of ``batch_size`` sequences) and no model sees a validation sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from rnnlab.data.claims import adding_problem, copy_task
from rnnlab.models import Tagger
from rnnlab.training import Adam, Callback

Batch = tuple[torch.Tensor, torch.Tensor]

COPY_SYMBOLS = 3  # K, symbols to remember
COPY_ALPHABET = 8  # A, distinct symbols


def _adding_batch(n: int, length: int, rng: np.random.Generator) -> Batch:
    x, y = adding_problem(n, length, seed=rng)
    return torch.from_numpy(x), torch.from_numpy(y)


def _adding_loss(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.mean((outputs[:, -1, 0] - y) ** 2)


def _adding_score(outputs: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    return {"mse": _adding_loss(outputs, y).item()}


def _copy_batch(n: int, length: int, rng: np.random.Generator) -> Batch:
    x, y = copy_task(n, length, symbols=COPY_SYMBOLS, alphabet=COPY_ALPHABET, seed=rng)
    return torch.from_numpy(x), torch.from_numpy(y)


def _copy_loss(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = outputs[:, -y.shape[1] :]  # (N, K, A): the recall steps
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def _copy_score(outputs: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    predicted = outputs[:, -y.shape[1] :].argmax(-1)  # (N, K)
    right = predicted == y
    return {
        "exact_match": right.all(dim=1).float().mean().item(),
        "token_accuracy": right.float().mean().item(),
        "loss": _copy_loss(outputs, y).item(),
    }


@dataclass(frozen=True)
class ClaimTask:
    """How to draw, score and learn one task. ``metric`` is the headline number of ``score``."""

    name: str
    input_size: int
    output_size: int
    batch: Callable[[int, int, np.random.Generator], Batch]
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    score: Callable[[torch.Tensor, torch.Tensor], dict[str, float]]
    metric: str  # "mse" (lower is better) or "exact_match" (higher is better)
    baseline: float  # the metric of the best input-blind answer
    baseline_name: str


CLAIM_TASKS: dict[str, ClaimTask] = {
    "adding": ClaimTask(
        name="adding",
        input_size=2,
        output_size=1,
        batch=_adding_batch,
        loss=_adding_loss,
        score=_adding_score,
        metric="mse",
        baseline=1 / 6,
        baseline_name="always 1.0 (MSE 1/6)",
    ),
    "copy": ClaimTask(
        name="copy",
        input_size=COPY_ALPHABET + 2,
        output_size=COPY_ALPHABET,
        batch=_copy_batch,
        loss=_copy_loss,
        score=_copy_score,
        metric="exact_match",
        baseline=COPY_ALPHABET**-COPY_SYMBOLS,
        baseline_name=f"guessing ({COPY_ALPHABET}^-{COPY_SYMBOLS})",
    ),
}

CELLS = ("rnn", "lstm", "gru")


def build_claim_model(cell: str, task: ClaimTask, units: int, seed: int) -> Tagger:
    """A ``tanh`` tagger for ``task`` with Keras's initialisers, its weights drawn from ``seed``
    (without changing PyTorch's global random state)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Tagger(
            input_size=task.input_size,
            units=units,
            output_size=task.output_size,
            cell=cell,
            activation="tanh",
        )


def train_on_task(
    model: Tagger,
    task: ClaimTask,
    length: int,
    *,
    steps: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    clip_norm: float = 1.0,
    callbacks: Sequence[Callback] = (),
) -> list[float]:
    """Train ``model`` online on ``task`` at ``length`` (``train_online``); returns the loss
    of every step."""
    return train_online(
        model,
        lambda rng: task.batch(batch_size, length, rng),
        lambda m, x, y: task.loss(m(x), y),
        steps=steps,
        learning_rate=learning_rate,
        seed=seed,
        clip_norm=clip_norm,
        callbacks=callbacks,
    )


def train_online(
    model: torch.nn.Module,
    draw: Callable[[np.random.Generator], Batch],
    loss: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    steps: int,
    learning_rate: float,
    seed: int,
    clip_norm: float = 1.0,
    callbacks: Sequence[Callback] = (),
) -> list[float]:
    """``steps`` Adam steps, each on a fresh batch ``draw(rng)`` with ``loss(model, x, y)``;
    returns the loss of every step. ``callbacks`` hear of the run as of one epoch of
    ``steps`` steps (progress bars).

    The batches come from ``seed``'s generator (stream 1: training; stream 2 is the
    validation set's). The gradient's global norm is clipped to ``clip_norm`` (the same for
    every model: it only stops the rare exploding step, which would otherwise hit the plain
    RNN hardest).
    """
    rng = np.random.default_rng([seed, 1])
    optimizer = Adam(model.parameters(), learning_rate=learning_rate)
    params = [p for p in model.parameters() if p.requires_grad]
    losses = []
    model.train()
    for cb in callbacks:
        cb.on_train_begin(epochs=1, steps_per_epoch=steps)
    for step in range(steps):
        x, y = draw(rng)
        value = loss(model, x, y)
        optimizer.zero_grad()
        value.backward()
        _clip_grad_norm(params, clip_norm)
        optimizer.step()
        losses.append(value.item())
        for cb in callbacks:
            cb.on_batch_end(step, {"loss": losses[-1]})
    for cb in callbacks:
        cb.on_train_end({"loss": losses[-1]} if losses else {})
    return losses


def validation_set(task: ClaimTask, length: int, samples: int, seed: int) -> Batch:
    """A fixed held-out set (its own random stream, never used for training)."""
    return task.batch(samples, length, np.random.default_rng([seed, 2]))


@torch.no_grad()
def evaluate_on_task(model: Tagger, task: ClaimTask, data: Batch) -> dict[str, float]:
    model.eval()
    x, y = data
    return task.score(model(x), y)


@torch.no_grad()
def _clip_grad_norm(params: list[torch.Tensor], max_norm: float) -> None:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    if total > max_norm:
        for g in grads:
            g.mul_(max_norm / (total + 1e-6))
