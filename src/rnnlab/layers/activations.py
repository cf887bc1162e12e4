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


def _relu_grad(y: torch.Tensor) -> torch.Tensor:
    return (y > 0).to(y.dtype)


def _hard_sigmoid_grad(y: torch.Tensor) -> torch.Tensor:
    # Slope 1/6 strictly inside the ramp; a saturated output (0 or 1) passes no gradient.
    return ((y > 0) & (y < 1)).to(y.dtype) / 6.0


# Each activation's derivative written in terms of its *output* y = f(x), which is what the
# hand-written backward pass (rnnlab.layers.scan) keeps from the forward pass.
DERIVATIVES: dict[str, Activation] = {
    "tanh": lambda y: 1.0 - y * y,
    "sigmoid": lambda y: y * (1.0 - y),
    "relu": _relu_grad,
    "hard_sigmoid": _hard_sigmoid_grad,
    "linear": torch.ones_like,
}


def get_activation(name: str, argument: str = "activation") -> Activation:
    """The activation called ``name``; ``argument`` names the option in the error."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"`{argument}` must be one of {sorted(ACTIVATIONS)}, got {name!r}."
        ) from None
