"""Exponential smoothing as a layer: each series' level (and seasonal factors), with the
smoothing coefficients learned per series by gradient descent (as in Smyl's ES-RNN).

Legend: ``G`` series in a batch, ``T`` steps (right-padded), ``m`` the season length.

For a series of positive values ``y`` with level coefficient ``alpha`` and seasonal
coefficient ``gamma`` (both ``sigmoid`` of a learned raw value, one row a series):

- seasonal factors ``s_0 .. s_{m-1}`` start from the series' first seasons
  (``rnnlab.data.series_histories.initial_factors``; all 1 when ``m == 1``);
- ``l_0 = y_0 / s_0`` and ``l_t = alpha y_t / s_t + (1 - alpha) l_{t-1}``;
- ``s_{t+m} = gamma y_t / l_t + (1 - gamma) s_t``.

This is multiplicative Holt-Winters without a trend: the network that reads the series
divided by its level and seasonal factors forecasts the trend. A series the layer has no row
for (a new one, at prediction) uses the median of the rows' coefficients.
"""

from __future__ import annotations

import torch
from torch import nn

LEVEL_START, SEASON_START = 0.5, -1.0  # raw starting values: alpha 0.62, gamma 0.27


class SeriesSmoothing(nn.Module):
    """Levels and seasonal factors of ``G`` series, with learned per-series coefficients."""

    def __init__(self, series: int, season: int) -> None:
        super().__init__()
        self.season = season
        self.level = nn.Parameter(torch.full((series,), LEVEL_START))
        self.seasonal = nn.Parameter(torch.full((series,), SEASON_START)) if season > 1 else None

    def coefficients(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``alpha`` and ``gamma`` (``(G,)``) of the series at ``rows`` (-1: a new series,
        given the median coefficients)."""

        def pick(raw: torch.Tensor) -> torch.Tensor:
            known = raw[rows.clamp(min=0)]
            return torch.where(rows >= 0, known, raw.detach().median()).sigmoid()

        return pick(self.level), None if self.seasonal is None else pick(self.seasonal)

    def forward(
        self, values: torch.Tensor, rows: torch.Tensor, factors: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Levels ``(G, T)`` and seasonal factors ``(G, T + m)`` of positive ``values``
        ``(G, T)``, from the initial ``factors`` ``(G, m)``; step ``t`` of each reads values
        up to ``t`` only."""
        alpha, gamma = self.coefficients(rows)
        m, steps = self.season, values.shape[1]
        seasons = list(factors.unbind(1))  # s_t for t < m, then one more a step
        level = values[:, 0] / seasons[0]
        levels = [level]
        if gamma is not None:
            seasons.append(seasons[0])  # s_m: y_0 / l_0 is s_0 itself
        for t in range(1, steps):
            y = values[:, t]
            if gamma is None:
                level = alpha * y + (1 - alpha) * level
            else:
                level = alpha * y / seasons[t] + (1 - alpha) * level
                seasons.append(gamma * y / level + (1 - gamma) * seasons[t])
            levels.append(level)
        if gamma is None:
            return torch.stack(levels, 1), values.new_ones(values.shape[0], steps + m)
        return torch.stack(levels, 1), torch.stack(seasons, 1)


def level_wiggle(levels: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The mean squared second difference of the log levels ``(G, T)`` over each series'
    first ``lengths`` steps (ES-RNN's penalty on a level that wiggles); 0 where no series
    has three steps."""
    log = levels.log()
    change = log[:, 1:] - log[:, :-1]
    second = change[:, 1:] - change[:, :-1]  # (G, T - 2), at steps 2 .. T-1
    steps = torch.arange(2, levels.shape[1], device=levels.device)
    real = steps[None, :] < lengths[:, None]
    count = real.sum()
    if count == 0:
        return levels.new_zeros(())
    return (second.square() * real).sum() / count
