"""Losses by name."""

from __future__ import annotations

from collections.abc import Callable

import torch


def mean_squared_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of ``(pred - target)^2`` over every element, padding included (as Keras's MSE)."""
    return torch.mean((pred - target) ** 2)


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": mean_squared_error,
}


def get_loss(name: str):
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"`loss` must be one of {sorted(LOSSES)}, got {name!r}.") from None
