"""The small layers around recurrent ones: Dense, TimeDistributed, RepeatVector."""

from __future__ import annotations

import torch
from torch import nn

from rnnlab.layers.activations import get_activation
from rnnlab.layers.kernels import build_kernel, check_size, is_built, new_kernel


class Dense(nn.Module):
    """``y = activation(x W + b)`` on the last axis, with Keras's initialisers.

    Args:
        units: output features ``U``.
        input_size: input features ``I``; inferred at the first call when None (default).
        activation: an activation name, or None (default) for none.
        use_bias: add ``b`` (zeros at first). Default True.

    Shapes: ``(*, I) -> (*, U)``; ``kernel`` is ``(I, U)`` (Glorot uniform).
    """

    def __init__(
        self,
        units: int,
        *,
        input_size: int | None = None,
        activation: str | None = None,
        use_bias: bool = True,
    ) -> None:
        super().__init__()
        check_size(units, "units")
        check_size(input_size, "input_size", allow_none=True)
        self.units = units
        self.activation_name = activation
        self.activation = None if activation is None else get_activation(activation)
        self.kernel = new_kernel(input_size, units)
        self.bias = nn.Parameter(torch.zeros(units)) if use_bias else None

    @property
    def input_size(self) -> int | None:
        return self.kernel.shape[0] if is_built(self.kernel) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        build_kernel(self.kernel, x.shape[-1], self.units, "Dense")
        y = x @ self.kernel
        if self.bias is not None:
            y = y + self.bias
        return y if self.activation is None else self.activation(y)

    def extra_repr(self) -> str:
        return f"units={self.units}, input_size={self.input_size}"


class TimeDistributed(nn.Module):
    """Apply ``layer`` to every time step on its own: ``(N, T, *) -> (N, T, *')``."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3:
            raise ValueError(
                f"TimeDistributed expected input of shape (batch, time, ...), got {tuple(x.shape)}."
            )
        n, t = x.shape[:2]
        y = self.layer(x.reshape(n * t, *x.shape[2:]))  # (N*T, *')
        return y.reshape(n, t, *y.shape[1:])


class RepeatVector(nn.Module):
    """Repeat a vector ``n`` times along a new time axis: ``(N, F) -> (N, n, F)``."""

    def __init__(self, n: int) -> None:
        super().__init__()
        check_size(n, "n")
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ValueError(
                f"RepeatVector expected input of shape (batch, features), got {tuple(x.shape)}."
            )
        return x.unsqueeze(1).expand(-1, self.n, -1)

    def extra_repr(self) -> str:
        return f"n={self.n}"
