"""What a forecaster reads: series scaled one by one, cut into lookback windows.

``SeriesScaling`` centres each series on its training part's mean and divides it by that
part's mean absolute seasonal difference (the MASE scale, so that an absolute error of 1 in
scaled units is a MASE of 1), and inverts that on forecasts; it is saved in the run folder.
With ``transform="log"`` it does so to the logarithm of each (positive) series, so that a
season or noise that grows with the level becomes one of constant size.

A window ending at step ``t`` of a series holds, for each of its ``L`` steps, the scaled
value minus the window's last value, the scaled value itself, the value ``lag`` steps
before for each of the ``lags`` (minus the last value too), and the covariates; its target
is the next ``H`` scaled values minus that last value. Forecasts are made relative to the
last value, so a trend or a level the training part never reached is no extrapolation.

Padded windows (``padded=True``: some series are shorter than the window) read one more
input a step, whether it is observed: a window of a series shorter than the lookback is
left-padded with zeros there (its steps, lags and covariates), so that every series reads what
it has and the lookback is not cut to the shortest series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rnnlab.forecast_measures import mase_scale
from rnnlab.forecast_windows import window_features

SERIES_FEATURES = 2  # a window step's own inputs, before lags and covariates: change, level


TRANSFORMS = ("none", "log")


@dataclass
class SeriesScaling:
    """Per-series centre and scale (of the values, or of their logarithm), and per-covariate
    mean and spread."""

    centres: list[float]
    scales: list[float]
    covariate_means: list[float]
    covariate_scales: list[float]
    transform: str = "none"

    @classmethod
    def fit(
        cls, parts: list[np.ndarray], season: int, covariates=None, transform: str = "none"
    ) -> SeriesScaling:
        """Fitted on each series' training part (and the covariates' training rows)."""
        centres, scales = [], []
        for values in parts:
            values = transformed(values, transform)
            scale = mase_scale(values, season)
            if not np.isfinite(scale):  # a constant series: any positive scale will do
                scale = max(abs(float(values[0])), 1.0)
            centres.append(float(np.mean(values)))
            scales.append(float(scale))
        means, spreads = [], []
        if covariates:
            stacked = np.concatenate(covariates)
            means = stacked.mean(0).tolist()
            spreads = [float(s) if s > 0 else 1.0 for s in stacked.std(0)]
        return cls(centres, scales, means, spreads, transform)

    def scale(self, i: int, values: np.ndarray) -> np.ndarray:
        return (transformed(values, self.transform) - self.centres[i]) / self.scales[i]

    def unscale(self, i: int, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, float) * self.scales[i] + self.centres[i]
        return np.exp(values) if self.transform == "log" else values

    def with_series(self, values: np.ndarray, season: int) -> tuple[SeriesScaling, int]:
        """A scaling that also holds a series it was not fitted on (fitted on its own
        values), and that series' index in it."""
        own = SeriesScaling.fit([values], season, transform=self.transform)
        return (
            SeriesScaling(
                [*self.centres, own.centres[0]],
                [*self.scales, own.scales[0]],
                self.covariate_means,
                self.covariate_scales,
                self.transform,
            ),
            len(self.centres),
        )

    def scale_covariates(self, values: np.ndarray) -> np.ndarray:
        return (values - np.asarray(self.covariate_means)) / np.asarray(self.covariate_scales)

    def to_dict(self) -> dict:
        return {
            "centres": self.centres,
            "scales": self.scales,
            "covariate_means": self.covariate_means,
            "covariate_scales": self.covariate_scales,
            "transform": self.transform,
        }


def transformed(values: np.ndarray, transform: str) -> np.ndarray:
    values = np.asarray(values, float)
    return np.log(values) if transform == "log" else values


@dataclass
class WindowBatch:
    window: torch.Tensor  # (N, L, F)
    future: torch.Tensor | None  # (N, H, C): the covariates of the steps to forecast
    target: torch.Tensor  # (N, H), relative to each window's last value
    series: torch.Tensor  # (N,) which series each window is of

    def __len__(self) -> int:
        return len(self.target)


class SeriesWindows:
    """Every window of ``lookback`` steps whose ``horizon`` targets lie in the given parts.

    Args:
        scaled: each series' scaled values (at least ``lookback + horizon`` of them).
        covariates: each series' scaled covariates, ``(T_i, C)`` with at least the rows of
            its values (None without covariates).
        ends: where each series' windows may end, as ``(first, last)`` positions of the step
            after the window (the first target's step); every position between is a window
            (the first at least ``lookback + max(lags)``, unless ``padded``: at least 1).
        lags: target lags read beside each step.
        padded: windows may start before their series (left-padded, with an observed flag).
    """

    def __init__(
        self,
        scaled: list[np.ndarray],
        covariates: list[np.ndarray] | None,
        lookback: int,
        horizon: int,
        ends: list[tuple[int, int]],
        lags: tuple[int, ...] = (),
        padded: bool = False,
    ) -> None:
        self.lookback, self.horizon, self.lags = lookback, horizon, tuple(lags)
        self.padded = padded
        self.values = np.concatenate(scaled).astype(np.float32)
        self.lengths = [len(s) for s in scaled]
        offsets = np.cumsum([0] + [len(s) for s in scaled])[:-1]
        self.covariates = None
        if covariates is not None:
            # a series' covariates may run past its values (the future); keep the first rows
            rows = [c[: len(s)] for c, s in zip(covariates, scaled, strict=True)]
            self.covariates = np.concatenate(rows).astype(np.float32)
        cuts, series = [], []
        for i, (first, last) in enumerate(ends):
            positions = np.arange(first, last + 1)
            cuts.append(offsets[i] + positions)
            series.append(np.full(len(positions), i))
        self.cuts = np.concatenate(cuts).astype(np.int64) if cuts else np.zeros(0, np.int64)
        self.series = np.concatenate(series) if series else np.zeros(0, np.int64)
        self.starts = offsets[self.series].astype(np.int64)  # each window's series' first step

    def __len__(self) -> int:
        return len(self.cuts)

    def batch(self, rows: np.ndarray) -> WindowBatch:
        cuts = self.cuts[rows]
        past = cuts[:, None] + np.arange(-self.lookback, 0)
        ahead = cuts[:, None] + np.arange(self.horizon)
        last = self.values[cuts - 1][:, None]
        window = window_features(
            self.values, past, self.starts[rows][:, None], self.lags, self.padded, self.covariates
        )
        future = None
        if self.covariates is not None:
            future = torch.from_numpy(self.covariates[ahead])
        return WindowBatch(
            torch.from_numpy(window),
            future,
            torch.from_numpy(self.values[ahead] - last),
            torch.from_numpy(self.series[rows]),
        )

    def batches(self, batch_size: int, shuffle: bool = False, generator=None):
        order = torch.randperm(len(self), generator=generator) if shuffle else range(len(self))
        order = np.asarray(order, dtype=np.int64)
        for start in range(0, len(order), batch_size):
            yield self.batch(order[start : start + batch_size])


def window_inputs(
    scaled: np.ndarray,
    lookback: int,
    covariates: np.ndarray | None = None,
    future: np.ndarray | None = None,
    lags: tuple[int, ...] = (),
    padded: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None, float]:
    """The window that ends at the last of ``scaled`` (``(1, L, F)``; left-padded where
    ``padded``), the future covariates (``(1, H, C)`` or None) and the last scaled value that
    forecasts are relative to."""
    scaled = np.asarray(scaled, np.float32)
    past = len(scaled) + np.arange(-lookback, 0)[None]
    window = window_features(scaled, past, np.zeros((1, 1), np.int64), lags, padded, covariates)
    ahead = None if future is None else torch.from_numpy(future.astype(np.float32))[None]
    return torch.from_numpy(window), ahead, float(scaled[-1])
