"""What the hybrid forecaster reads: whole histories of positive series, and the windows to
forecast from them (``rnnlab.models.hybrid``).

The smoothing layer runs over each history before the windows are cut, so a batch holds the
histories of the series its windows are of (each divided by its training part's mean,
right-padded with its last value, ``(G, T)``), each series' row in the model's per-series
parameters and its initial seasonal factors, and, for each window, which history it is of and
its cut: the position of the first step it forecasts (the window reads the ``lookback`` steps
before, left-padded where the history is shorter).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

FIRST_SEASONS = 3  # the seasons the initial factors are averaged over


def seasonal(values: np.ndarray, season: int) -> bool:
    """Whether a series shows its season: the autocorrelation at lag ``season`` outside the
    90% band of a series without one (Bartlett's variance; the test of the Theta method's
    seasonal decomposition), with two seasons at least."""
    y = np.asarray(values, float)
    if season <= 1 or len(y) < 2 * season or np.ptp(y) == 0:
        return False
    y = y - y.mean()
    acf = np.array([np.dot(y[: len(y) - k], y[k:]) for k in range(season + 1)]) / np.dot(y, y)
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(acf[1:season] ** 2)) / len(y))
    return bool(abs(acf[season]) > limit)


def initial_factors(values: np.ndarray, season: int) -> np.ndarray:
    """The first ``season`` seasonal factors of a positive series: each phase's value over
    its season's mean, averaged over the first seasons (so a level that changes from one
    season to the next stays out of them); 1 for every phase of a series without a season
    (``seasonal``)."""
    if not seasonal(values, season):
        return np.ones(season)
    whole = min(FIRST_SEASONS, len(values) // season)
    first = np.asarray(values[: whole * season], float).reshape(whole, season)
    factors = (first / first.mean(1, keepdims=True)).mean(0)
    return factors / factors.mean()


LEAST = 2  # the fewest observed values a window reads
RANGE = (1e-30, 1e30)  # a value over its series' mean is clipped into float32's safe range


def clipped(history: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(history, float), *RANGE).astype(np.float32)


@dataclass
class HistoryBatch:
    values: torch.Tensor  # (G, T) positive, right-padded
    lengths: torch.Tensor  # (G,) real steps of each history
    rows: torch.Tensor  # (G,) each series' row in the per-series parameters (-1: new)
    factors: torch.Tensor  # (G, m) initial seasonal factors
    history: torch.Tensor  # (N,) which history each window is of
    cuts: torch.Tensor  # (N,) the position of each window's first forecast step

    def __len__(self) -> int:
        return len(self.cuts)

    def subset(self, rows: slice) -> HistoryBatch:
        """Windows ``rows`` (the histories are kept: a window reads its whole series)."""
        return replace(self, history=self.history[rows], cuts=self.cuts[rows])

    def to(self, device) -> HistoryBatch:
        return HistoryBatch(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def history_batch(
    histories: list[np.ndarray],
    rows: list[int],
    season: int,
    cuts: list[int] | None = None,
    factors: np.ndarray | None = None,
) -> HistoryBatch:
    """A batch of ``histories`` (positive, already divided by their means) and one window a
    history, cut at ``cuts`` (default: after its last value, to forecast what follows); the
    initial seasonal ``factors`` (``(G, m)``) are found from the histories where not given."""
    histories = [clipped(h) for h in histories]
    if factors is None:
        factors = np.stack([initial_factors(h, season) for h in histories])
    steps = max(len(h) for h in histories)
    values = np.empty((len(histories), steps), np.float32)
    for i, h in enumerate(histories):
        values[i, : len(h)] = h
        values[i, len(h) :] = h[-1]
    cuts = [len(h) for h in histories] if cuts is None else cuts
    return HistoryBatch(
        torch.from_numpy(values),
        torch.tensor([len(h) for h in histories]),
        torch.tensor(rows, dtype=torch.long),
        torch.from_numpy(np.asarray(factors, np.float32).reshape(len(histories), season)),
        torch.arange(len(histories)),
        torch.tensor(cuts, dtype=torch.long),
    )


class HistoryWindows:
    """Every window whose ``horizon`` targets lie in each series' given part.

    Args:
        histories: each series' positive values divided by its training mean, up to where
            its held-out part starts (what the smoothing may read).
        horizon: steps forecast.
        season: the season length (for the initial seasonal factors).
        ends: each series' windows as ``(first, last)`` cuts; none where ``first > last``.
    """

    def __init__(
        self,
        histories: list[np.ndarray],
        horizon: int,
        season: int,
        ends: list[tuple[int, int]],
    ) -> None:
        self.histories = [clipped(h) for h in histories]
        self.horizon, self.season = horizon, season
        # found once: each batch of a series' windows starts its smoothing from them
        self.factors = np.stack([initial_factors(h, season) for h in self.histories])
        series, cuts = [], []
        for i, (first, last) in enumerate(ends):
            positions = np.arange(first, last + 1)
            cuts.append(positions)
            series.append(np.full(len(positions), i))
        self.cuts = np.concatenate(cuts).astype(np.int64) if cuts else np.zeros(0, np.int64)
        self.series = np.concatenate(series).astype(np.int64) if series else self.cuts

    def __len__(self) -> int:
        return len(self.cuts)

    def batch(self, rows: np.ndarray) -> HistoryBatch:
        series, where = np.unique(self.series[rows], return_inverse=True)
        batch = history_batch(
            [self.histories[i] for i in series],
            series.tolist(),
            self.season,
            [0] * len(series),
            self.factors[series],
        )
        return replace(
            batch,
            history=torch.from_numpy(where.reshape(-1).astype(np.int64)),
            cuts=torch.from_numpy(self.cuts[rows]),
        )

    def batches(self, batch_size: int, shuffle: bool = False, generator=None):
        order = torch.randperm(len(self), generator=generator) if shuffle else range(len(self))
        order = np.asarray(order, dtype=np.int64)
        for start in range(0, len(order), batch_size):
            yield self.batch(order[start : start + batch_size])
