"""Keras's default initialisers, for weights laid out as Keras lays them out.

Kernels are ``(fan_in, fan_out)``: ``(input_size, gates * units)`` for a recurrent kernel,
``(units, gates * units)`` for a recurrent one.
"""

from __future__ import annotations

import math

import torch


@torch.no_grad()
def glorot_uniform_(tensor: torch.Tensor) -> torch.Tensor:
    """Uniform in ``[-l, l]`` with ``l = sqrt(6 / (fan_in + fan_out))`` (Keras's default)."""
    fan_in, fan_out = tensor.shape[0], tensor.shape[1]
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return tensor.uniform_(-limit, limit)


@torch.no_grad()
def orthogonal_(tensor: torch.Tensor) -> torch.Tensor:
    """A (semi-)orthogonal matrix, Keras's default for recurrent kernels."""
    return torch.nn.init.orthogonal_(tensor)
