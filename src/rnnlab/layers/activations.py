"""Activation functions by name: the one place that lists and dispatches them."""

from __future__ import annotations

from collections.abc import Callable

import torch

Activation = Callable[[torch.Tensor], torch.Tensor]


def _hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    # Keras 3's hard_sigmoid: relu6(x + 3) / 6.
    return torch.clamp(x / 6.0 + 0.5, 0.0, 1.0)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "hard_sigmoid": _hard_sigmoid,
    "linear": lambda x: x,
}


def get_activation(name: str, argument: str = "activation") -> Activation:
    """The activation called ``name``; ``argument`` names the option in the error."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"`{argument}` must be one of {sorted(ACTIVATIONS)}, got {name!r}."
        ) from None
