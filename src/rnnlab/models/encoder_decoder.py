"""The tutorial's encoder-decoder (seed model 3), bridged by a repeated context vector.

The encoder reads the whole source and keeps its last output ``h_T`` and its state
``(h_T, c_T)``. The decoder is fed ``h_T`` at every one of ``output_steps`` steps
(``RepeatVector``) and starts from the encoder's state; a per-step Dense layer reads its
outputs. The whole source therefore reaches the decoder through one context vector.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnlab.layers import Dense, RepeatVector, TimeDistributed
from rnnlab.layers.recurrent import recurrent_layer


class EncoderDecoder(nn.Module):
    """``(N, T, I) -> (N, T', O)`` through one context vector.

    Args:
        input_size: features per source step ``I`` (1).
        units: units ``H`` of the encoder and the decoder (64).
        output_size: outputs per target step ``O`` (1).
        output_steps: target length ``T'`` (5).
        cell: ``"lstm"`` (default), ``"gru"`` or ``"rnn"``, for both sides.
        activation: the recurrent layers' activation (``"tanh"``: the tutorial keeps the
            default here).
        vocab_size, embedding_dim: the token formulation, as in ``Tagger``.

    Example::

        >>> EncoderDecoder()(torch.zeros(2, 5, 1)).shape
        torch.Size([2, 5, 1])
    """

    def __init__(
        self,
        *,
        input_size: int = 1,
        units: int = 64,
        output_size: int = 1,
        output_steps: int = 5,
        cell: str = "lstm",
        activation: str = "tanh",
        vocab_size: int | None = None,
        embedding_dim: int = 16,
    ) -> None:
        super().__init__()
        self.embedding = None
        if vocab_size is not None:
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
            input_size, output_size = embedding_dim, vocab_size
        self.encoder = recurrent_layer(
            cell, units, input_size=input_size, activation=activation, return_state=True
        )
        self.repeat = RepeatVector(output_steps)
        self.decoder = recurrent_layer(
            cell, units, input_size=units, activation=activation, return_sequences=True
        )
        self.head = TimeDistributed(Dense(output_size, input_size=units))

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        """Returns the context vector ``(N, H)`` and the encoder's final state tensors."""
        if self.embedding is not None:
            x = self.embedding(x)  # (N, T) ids -> (N, T, E)
        context, *state = self.encoder(x, mask=mask)
        return context, state

    def decode(self, context: torch.Tensor, state) -> torch.Tensor:
        """From the context ``(N, H)`` and a start state to outputs ``(N, T', O)``."""
        return self.head(self.decoder(self.repeat(context), initial_state=state))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(*self.encode(x, mask=mask))
