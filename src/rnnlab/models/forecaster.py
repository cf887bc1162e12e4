"""Forecasters: a recurrent encoder over a lookback window, and the whole horizon at once.

Legend: ``N`` windows (batch), ``L`` lookback steps, ``F`` inputs a step, ``C`` covariates,
``H`` horizon steps, ``Q`` outputs a step (the median, then each interval quantile), ``K``
ensemble members.

The encoder (stacked LSTM/GRU/SimpleRNN layers) reads the window ``(N, L, F)``; its last
state makes the forecast:

- ``decoder="direct"``: one linear map from the state (and the future covariates, when there
  are any) to all ``H x Q`` outputs (direct multi-step forecasting, as in MQ-RNN's global
  head);
- ``decoder="recurrent"``: a recurrent decoder started from the encoder's state runs ``H``
  steps over the future covariates (zeros without them) and maps each step to its ``Q``
  outputs (a sequence-to-sequence forecaster, without feeding its own outputs back, so that
  errors do not compound).

``ForecastEnsemble`` holds ``K`` such models started from different seeds; it returns every
member's outputs (``(K, N, H, Q)``) for training, and their mean is the forecast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from rnnlab.layers.recurrent import RECURRENT_LAYERS, recurrent_layer

DECODERS = ("direct", "recurrent")


@dataclass(frozen=True)
class ForecasterConfig:
    """A forecaster's shape; every field is saved with the weights."""

    inputs: int  # F: values a lookback step holds (the series' features and its covariates)
    horizon: int
    covariates: int = 0  # C: future covariates a horizon step holds
    outputs: int = 1  # Q
    units: int = 64
    layers: int = 1
    cell: str = "lstm"
    dropout: float = 0.0
    decoder: str = "direct"
    members: int = 1  # K
    highway: int = 0  # L for a linear map from the window's changes to the outputs (0: none)

    def __post_init__(self) -> None:
        for name in ("inputs", "horizon", "outputs", "units", "layers", "members"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {getattr(self, name)}.")
        if self.cell not in RECURRENT_LAYERS:
            raise ValueError(
                f"`cell` must be one of {sorted(RECURRENT_LAYERS)}, got {self.cell!r}."
            )
        if self.decoder not in DECODERS:
            raise ValueError(f"`decoder` must be one of {list(DECODERS)}, got {self.decoder!r}.")

    def activation_bytes(self, batch: int, lookback: int) -> int:
        """A generous estimate of what one training step keeps for its backward pass."""
        gates = {"lstm": 4, "gru": 3, "rnn": 1}[self.cell]
        steps = lookback + (self.horizon if self.decoder == "recurrent" else 0)
        return 2 * 4 * self.members * batch * steps * self.layers * (gates + 3) * self.units


class Forecaster(nn.Module):
    """``window (N, L, F)`` [and ``future (N, H, C)``] -> outputs ``(N, H, Q)``."""

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__()
        c = self.config = config
        self.encoder = nn.ModuleList(
            recurrent_layer(
                c.cell,
                c.units,
                input_size=c.inputs if i == 0 else c.units,
                return_sequences=i < c.layers - 1,
                return_state=i == c.layers - 1,
            )
            for i in range(c.layers)
        )
        self.dropout = nn.Dropout(c.dropout)
        if c.decoder == "direct":
            self.head = nn.Linear(c.units + c.horizon * c.covariates, c.horizon * c.outputs)
        else:
            self.decoder = recurrent_layer(
                c.cell,
                c.units,
                input_size=max(c.covariates, 1),
                return_sequences=True,
            )
            self.head = nn.Linear(c.units, c.outputs)
        if c.highway:
            self.highway = nn.Linear(c.highway, c.horizon * c.outputs)
        bound = 1.0 / math.sqrt(c.units)  # torch.nn.LSTM's initialisation
        with torch.no_grad():
            for layer in [*self.encoder, *([self.decoder] if c.decoder != "direct" else [])]:
                for p in layer.parameters():
                    p.uniform_(-bound, bound)

    def forward(self, window: torch.Tensor, future: torch.Tensor | None = None) -> torch.Tensor:
        c = self.config
        x = window
        for layer in self.encoder[:-1]:
            x = self.dropout(layer(x))
        _, *state = self.encoder[-1](x)
        n = window.shape[0]
        if c.decoder == "direct":
            last = self.dropout(state[0])
            if c.covariates:
                last = torch.cat([last, future.flatten(1)], dim=1)
            outputs = self.head(last).view(n, c.horizon, c.outputs)
        else:
            steps = future if c.covariates else window.new_zeros(n, c.horizon, 1)
            outputs = self.head(self.dropout(self.decoder(steps, initial_state=state)))
        if c.highway:
            outputs = outputs + self.highway(window[:, -c.highway :, 0]).view(outputs.shape)
        return outputs


class ForecastEnsemble(nn.Module):
    """``members`` forecasters of one shape, each started from its own draw of the weights."""

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(Forecaster(config) for _ in range(config.members))

    def forward(self, window: torch.Tensor, future: torch.Tensor | None = None) -> torch.Tensor:
        """Every member's outputs, ``(K, N, H, Q)``."""
        return torch.stack([m(window, future) for m in self.members])

    @torch.no_grad()
    def forecast(self, window: torch.Tensor, future: torch.Tensor | None = None) -> torch.Tensor:
        """The members' mean, ``(N, H, Q)`` (quantiles sorted, so that intervals never
        cross the median)."""
        return self(window, future).mean(0).sort(dim=-1).values
