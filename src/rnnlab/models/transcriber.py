r"""A transcriber: a sequence of feature vectors (acoustic frames, say) to scores over labels
at every step, for connectionist temporal classification (CTC; Graves et al., 2006).

A convolutional front end (``rnnlab.layers.frontend``: a kernel-7 block, then one stride-2
block per halving) reads the frames and subsamples time by ``reduction``; ``layers`` stacked
recurrent layers (bidirectional by default; one way, for streaming, with
``bidirectional=False``) read what it gives; a linear layer scores the ``labels`` and the
blank at every step. The output is log-probabilities ``(N, T', labels + 1)``, the blank at
index 0 (``BLANK``), with the mask of the steps that are real; CTC's loss and decoders
(``rnnlab.models.ctc``) read them.

Padding never reaches a real step (the front end zeroes it and normalises over real steps
only, the recurrent layers are masked), so a padded batch gives each sequence what it gives
alone. A sequence of ``L`` frames leaves ``ceil(L / reduction)`` steps.

Legend: ``N`` sequences, ``T`` frames, ``F`` features a frame, ``H`` units, ``K`` labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from rnnlab.layers.bidirectional import stacked_layers
from rnnlab.layers.frontend import ConvFrontEnd
from rnnlab.layers.recurrent import RECURRENT_LAYERS


@dataclass(frozen=True)
class TranscriberConfig:
    """The transcriber's shape; every field is saved with the weights."""

    features: int  # F
    labels: int  # K, without the blank
    units: int = 128
    layers: int = 2
    cell: str = "lstm"
    bidirectional: bool = True
    dropout: float = 0.2
    frontend: str = "conv"  # or "none"
    reduction: int = 1  # frames in per step out (a power of two)
    channels: int = 128  # the front end's output width

    def __post_init__(self) -> None:
        if self.features < 1 or self.labels < 1:
            raise ValueError(
                f"`features` and `labels` must be >= 1, got {self.features} and {self.labels}."
            )
        if self.cell not in RECURRENT_LAYERS:
            raise ValueError(
                f"`cell` must be one of {sorted(RECURRENT_LAYERS)}, got {self.cell!r}."
            )
        if self.frontend not in ("conv", "none"):
            raise ValueError(f"`frontend` must be 'conv' or 'none', got {self.frontend!r}.")
        if self.frontend == "none" and self.reduction != 1:
            raise ValueError("`reduction` > 1 needs the convolutional `frontend`.")
        if self.reduction < 1 or self.reduction & (self.reduction - 1):
            raise ValueError(f"`reduction` must be a power of two, got {self.reduction}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), got {self.dropout}.")

    def steps(self, frames: int) -> int:
        """The steps the recurrent layers read (and CTC aligns) for ``frames`` frames."""
        return max(1, -(-frames // self.reduction))

    def activation_bytes(self, batch: int, frames: int) -> int:
        """An estimate of one training batch's activations (bytes, float32)."""
        gates = {"lstm": 4, "gru": 3, "rnn": 1}[self.cell]
        directions = 2 if self.bidirectional else 1
        steps = self.steps(frames)
        front = 0
        if self.frontend == "conv":
            front = 3 * self.channels * frames * (1 + int(math.log2(self.reduction)))
        recurrent = self.layers * directions * (gates + 3) * self.units * steps
        return 2 * 4 * batch * (front + recurrent + (self.labels + 1) * steps)


class Transcriber(nn.Module):
    """Frames ``(N, T, F)`` and their mask ``(N, T)`` to log-probabilities ``(N, T', K + 1)``
    over the blank and the labels, and the mask ``(N, T')`` of the real output steps.

    Example::

        >>> m = Transcriber(TranscriberConfig(features=13, labels=10, units=8, reduction=2))
        >>> scores, mask = m(torch.zeros(3, 9, 13), torch.ones(3, 9, dtype=torch.bool))
        >>> tuple(scores.shape), tuple(mask.shape)
        ((3, 5, 11), (3, 5))
    """

    def __init__(self, config: TranscriberConfig) -> None:
        super().__init__()
        c = self.config = config
        width = c.features
        self.frontend = None
        if c.frontend == "conv":
            self.frontend = ConvFrontEnd(c.features, c.channels, c.reduction, "conv")
            width = c.channels
        self.recurrent = stacked_layers(
            c.cell, c.units, c.layers, width, bidirectional=c.bidirectional
        )
        self.dropout = nn.Dropout(c.dropout)
        self.output = nn.Linear((2 if c.bidirectional else 1) * c.units, c.labels + 1)

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor):
        x = inputs
        if self.frontend is not None:
            x, mask = self.frontend(x, mask)  # (N, T', C): fewer, richer steps
        for layer in self.recurrent:
            x = layer(self.dropout(x), mask=mask)  # (N, T', D*H)
        scores = self.output(self.dropout(x)).log_softmax(-1)  # (N, T', K + 1)
        return scores, mask
