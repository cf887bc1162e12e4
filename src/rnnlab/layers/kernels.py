"""Input kernels whose input size may be left open until the first call (as in Keras)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter

from rnnlab.layers.initializers import glorot_uniform_
from rnnlab.limits import is_integer


def check_size(value, argument: str, *, allow_none: bool = False) -> None:
    """Raise unless ``value`` is a positive int (or None, when allowed)."""
    if value is None and allow_none:
        return
    if not is_integer(value):
        raise TypeError(f"`{argument}` must be a positive int, got {value!r}.")
    if value < 1:
        raise ValueError(f"`{argument}` must be a positive int, got {value}.")


def new_kernel(input_size: int | None, columns: int) -> nn.Parameter:
    """A ``(input_size, columns)`` Glorot-uniform kernel, or an uninitialised one (size open)."""
    if input_size is None:
        return UninitializedParameter()
    return nn.Parameter(glorot_uniform_(torch.empty(input_size, columns)))


def build_kernel(kernel: nn.Parameter, input_size: int, columns: int, owner: str) -> None:
    """Materialise an open kernel for ``input_size`` features, or check a built one's size."""
    if isinstance(kernel, UninitializedParameter):
        kernel.materialize((input_size, columns))
        glorot_uniform_(kernel)
    elif kernel.shape[0] != input_size:
        raise ValueError(
            f"{owner} expected inputs with {kernel.shape[0]} features (its `input_size`), "
            f"got {input_size}."
        )


def is_built(kernel: nn.Parameter) -> bool:
    return not isinstance(kernel, UninitializedParameter)
