r"""A convolutional front end: a long series of feature vectors turned into fewer, richer steps
before a recurrent layer reads it.

A recurrent network carries its gradient through every step it reads (the tutorial's
vanishing-gradient problem), so a series of hundreds of steps is hard to learn from when each
step is one reading. Convolutions over short windows, with a stride, summarise the local shape
of the series (a rise, a spike, a plateau) into a vector per window and shorten the series the
recurrent layer reads by their stride.

``conv``: a block of ``kernel`` 7, stride 1, then one block of kernel 5, stride 2 per halving
(``reduction`` a power of two), each convolution followed by batch normalisation and a ReLU,
as the fully convolutional networks of time series classification do. ``patch``: the series
cut into non-overlapping patches of ``reduction`` steps, each projected to ``channels``
values, normalised and passed through a ReLU (as vision and time-series transformers embed
patches).

Padding never reaches what a real step reads: every block zeroes the padded steps of its
input, the convolutions pad the edges with zeros (so a step near the end of a short series in
a padded batch reads the zeros it would read alone), and batch normalisation's statistics are
taken over the real steps only. A sequence of length ``L`` leaves ``ceil(L / reduction)``
steps (at least one).

Legend: ``N`` sequences, ``T`` steps, ``F`` features, ``C`` channels; ``batch_first``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

FRONTENDS = ("none", "conv", "patch")


class MaskedBatchNorm1d(nn.Module):
    """Batch normalisation over ``(N, C, T)`` with statistics over the real steps only."""

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[:, None, :].to(x.dtype)  # (N, 1, T)
        if self.training:
            count = m.sum().clamp_min(1.0)
            mean = (x * m).sum((0, 2)) / count  # (C,)
            var = ((x - mean[None, :, None]).square() * m).sum((0, 2)) / count
            with torch.no_grad():
                unbiased = var * count / (count - 1).clamp_min(1.0)
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(unbiased, self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.weight / torch.sqrt(var + self.eps)
        y = (x - mean[None, :, None]) * scale[None, :, None] + self.bias[None, :, None]
        return y * m


class _Block(nn.Module):
    """Convolution, masked batch normalisation, ReLU; the mask follows the stride."""

    def __init__(self, inputs: int, channels: int, kernel: int, stride: int, pad: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(inputs, channels, kernel, stride=stride, padding=pad)
        self.norm = MaskedBatchNorm1d(channels)
        self.kernel, self.stride, self.pad = kernel, stride, pad

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        x = self.conv(x * mask[:, None, :].to(x.dtype))  # (N, C, T')
        lengths = mask.sum(1)
        kept = torch.div(lengths + 2 * self.pad - self.kernel, self.stride, rounding_mode="floor")
        steps = torch.arange(x.shape[-1], device=x.device)
        mask = steps[None, :] < (kept + 1)[:, None]  # (N, T')
        return torch.relu(self.norm(x, mask)), mask


class ConvFrontEnd(nn.Module):
    """``(N, T, F)`` vectors and their mask ``(N, T)`` to ``(N, T', C)`` and ``(N, T')``,
    ``T' = ceil(T / reduction)``.

    Example::

        >>> f = ConvFrontEnd(features=2, channels=8, reduction=4)
        >>> x, mask = f(torch.zeros(3, 10, 2), torch.ones(3, 10, dtype=torch.bool))
        >>> tuple(x.shape), tuple(mask.shape)
        ((3, 3, 8), (3, 3))
    """

    def __init__(self, features: int, channels: int, reduction: int, mode: str = "conv") -> None:
        super().__init__()
        if mode not in FRONTENDS[1:]:
            raise ValueError(f"`mode` must be 'conv' or 'patch', got {mode!r}.")
        if reduction < 1 or (mode == "conv" and reduction & (reduction - 1)):
            raise ValueError(f"`reduction` must be a power of two >= 1, got {reduction}.")
        self.mode, self.reduction = mode, reduction
        if mode == "patch":
            # a patch of ``reduction`` steps to one vector: kernel = stride, no overlap; the
            # end is padded with zeros up to a whole patch
            self.blocks = nn.ModuleList([_Block(features, channels, reduction, reduction, 0)])
        else:
            halvings = int(math.log2(reduction))
            blocks = [_Block(features, channels, 7, 1, 3)]
            blocks += [_Block(channels, channels, 5, 2, 2) for _ in range(halvings)]
            self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        x = (x * mask[..., None].to(x.dtype)).transpose(1, 2)  # (N, F, T), padding zeroed
        if self.mode == "patch":  # whole patches: pad the end to a multiple of the patch
            extra = -x.shape[-1] % self.reduction
            x = nn.functional.pad(x, (0, extra))
            mask = nn.functional.pad(mask, (0, extra))
            # a partial last patch counts as a real step
            lengths = (mask.sum(1) + self.reduction - 1) // self.reduction * self.reduction
            mask = torch.arange(x.shape[-1], device=x.device)[None, :] < lengths[:, None]
        for block in self.blocks:
            x, mask = block(x, mask)
        return x.transpose(1, 2), mask
