"""Sequence tagger: a recurrent layer that returns every step, and a per-step Dense head.

The tutorial's first two models (seed models 1 and 2) are taggers:
``LSTM(64, relu, return_sequences)`` (optionally ``Bidirectional``) + ``TimeDistributed(Dense(1))``.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnlab.layers import Bidirectional, Dense, TimeDistributed
from rnnlab.layers.recurrent import recurrent_layer


class Tagger(nn.Module):
    """One output per input step: ``(N, T, I) -> (N, T, O)``.

    Args:
        input_size: features per input step ``I`` (1 for the tutorial's raw numbers).
        units: recurrent units ``H`` (64).
        output_size: outputs per step ``O`` (1: a regressed number).
        cell: ``"lstm"`` (default), ``"gru"`` or ``"rnn"``.
        activation: the recurrent layer's activation (the tutorial's ``"relu"`` by default).
        bidirectional: wrap the recurrent layer in ``Bidirectional`` (seed model 2).
        merge_mode: the bidirectional merge mode (``"concat"``).
        vocab_size: for the token formulation: inputs are ids ``(N, T)`` embedded in
            ``embedding_dim`` features, and the head gives ``vocab_size`` logits per step
            (``output_size`` is then ignored). None (default): raw values in and out.
        embedding_dim: the embedding size of the token formulation (16).

    Example::

        >>> Tagger()(torch.zeros(2, 5, 1)).shape
        torch.Size([2, 5, 1])
    """

    def __init__(
        self,
        *,
        input_size: int = 1,
        units: int = 64,
        output_size: int = 1,
        cell: str = "lstm",
        activation: str = "relu",
        bidirectional: bool = False,
        merge_mode: str = "concat",
        vocab_size: int | None = None,
        embedding_dim: int = 16,
    ) -> None:
        super().__init__()
        self.embedding = None
        if vocab_size is not None:
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
            input_size, output_size = embedding_dim, vocab_size
        layer = recurrent_layer(
            cell, units, input_size=input_size, activation=activation, return_sequences=True
        )
        self.recurrent = Bidirectional(layer, merge_mode=merge_mode) if bidirectional else layer
        width = 2 * units if bidirectional and merge_mode == "concat" else units
        self.head = TimeDistributed(Dense(output_size, input_size=width))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.embedding is not None:
            x = self.embedding(x)  # (N, T) ids -> (N, T, E)
        return self.head(self.recurrent(x, mask=mask))  # (N, T, O)
