"""The hybrid forecaster: exponential smoothing per series and one recurrent network shared by
all of them (Smyl's ES-RNN, the M4 competition's winner), in rnnlab's terms.

Legend: ``G`` histories, ``N`` windows, ``L`` lookback, ``H`` horizon, ``Q`` quantile levels,
``K`` ensemble members.

Each member holds a ``SeriesSmoothing`` layer (a level coefficient, and a seasonal one when
the season is longer than 1, for every training series) and a ``Forecaster``. The smoothing
runs over each history; a window cut at step ``c`` (its first forecast step) reads, for each
of its ``L`` steps ``k``, ``log(y_k / (l_{c-1} s_k))`` (the series over its last level and its
seasonal factor) and whether the step is observed (0 where the history is shorter than the
window: left padding); it forecasts ``z_h = log(y_{c+h} / (l_{c-1} s_{c+h}))``, the future
over the last level and the seasonal factor of its phase (the last one known at the cut). The
forecast is ``exp(z) l s``: the network learns the trend and the shape from every series at
once, the smoothing takes each series' level and season out of what it reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rnnlab.data.series_histories import HistoryBatch
from rnnlab.layers.smoothing import SeriesSmoothing, level_wiggle
from rnnlab.models.forecaster import Forecaster, ForecasterConfig

RATIO_RANGE = (1e-6, 1e6)  # y / (l s) is clamped into this range before its logarithm


@dataclass(frozen=True)
class HybridConfig:
    """A hybrid forecaster's shape; every field is saved with the weights."""

    series: int  # rows of per-series coefficients
    season: int
    horizon: int
    lookback: int
    outputs: int = 1  # Q
    units: int = 32
    layers: int = 1
    cell: str = "lstm"
    dropout: float = 0.0
    members: int = 1  # K

    def __post_init__(self) -> None:
        for name in ("series", "season", "horizon", "lookback", "outputs", "members"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {getattr(self, name)}.")

    def forecaster(self) -> ForecasterConfig:
        return ForecasterConfig(
            inputs=2,  # the step over the level and season, and whether it is observed
            horizon=self.horizon,
            outputs=self.outputs,
            units=self.units,
            layers=self.layers,
            cell=self.cell,
            dropout=self.dropout,
        )

    def activation_bytes(self, batch: int, steps: int) -> int:
        return self.forecaster().activation_bytes(batch, self.lookback) * self.members + (
            2 * 4 * 8 * batch * steps
        )


@dataclass
class Normalised:
    """A member's view of a batch: its windows ``(N, L, 2)``, the base each window's
    forecast multiplies (``l_{c-1} s_{c+h}``, ``(N, H)``) and the level's wiggle."""

    window: torch.Tensor
    base: torch.Tensor
    wiggle: torch.Tensor
    levels: torch.Tensor  # (N,) the last level before each window's cut

    def target(self, batch: HistoryBatch, horizon: int) -> torch.Tensor:
        """``z``: the ``H`` values after each cut over their base, logged ``(N, H)``."""
        ahead = batch.cuts[:, None] + torch.arange(horizon, device=batch.cuts.device)
        return _log_ratio(batch.values[batch.history[:, None], ahead], self.base)


def _log_ratio(values: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    return (values / base).clamp(*RATIO_RANGE).log()


class Hybrid(nn.Module):
    """One member: per-series smoothing and a forecaster over the normalised windows."""

    def __init__(self, config: HybridConfig) -> None:
        super().__init__()
        self.config = config
        self.smoothing = SeriesSmoothing(config.series, config.season)
        self.forecaster = Forecaster(config.forecaster())

    def normalise(self, batch: HistoryBatch) -> Normalised:
        c = self.config
        levels, factors = self.smoothing(batch.values, batch.rows, batch.factors)
        history, cuts = batch.history, batch.cuts
        last = levels[history, cuts - 1]  # (N,)
        steps = torch.arange(-c.lookback, 0, device=cuts.device)
        past = cuts[:, None] + steps  # (N, L)
        observed = past >= 0
        past = past.clamp(min=0)
        rows = history[:, None]
        ratio = _log_ratio(batch.values[rows, past], last[:, None] * factors[rows, past])
        window = torch.stack([ratio * observed, observed.to(ratio.dtype)], dim=-1)
        # the future's seasonal factors: the last known one of each phase
        phase = torch.arange(c.horizon, device=cuts.device) % c.season
        base = last[:, None] * factors[rows, cuts[:, None] + phase]
        return Normalised(window, base, level_wiggle(levels, batch.lengths), last)

    def forward(self, batch: HistoryBatch) -> tuple[torch.Tensor, Normalised]:
        """``z`` forecasts ``(N, H, Q)`` and the normalised batch they are relative to."""
        normalised = self.normalise(batch)
        return self.forecaster(normalised.window), normalised


class HybridEnsemble(nn.Module):
    """``members`` hybrids of one shape, each from its own draw of the weights."""

    def __init__(self, config: HybridConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(Hybrid(config) for _ in range(config.members))

    def forward(self, batch: HistoryBatch) -> list[tuple[torch.Tensor, Normalised]]:
        return [member(batch) for member in self.members]

    @torch.no_grad()
    def forecast(self, batch: HistoryBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """The members' mean ``z`` forecast ``(N, H, Q)`` (quantiles sorted) and the mean
        base ``(N, H)`` it multiplies once exponentiated (a geometric mean of the members'
        forecasts)."""
        outputs = self(batch)
        z = torch.stack([o for o, _ in outputs]).mean(0).sort(dim=-1).values
        base = torch.stack([n.base.log() for _, n in outputs]).mean(0).exp()
        return z, base
