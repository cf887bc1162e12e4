"""Conformal prediction intervals: the widths from the errors of a second model on the last
training window of each series, which it did not see (split conformal prediction)."""

from __future__ import annotations

import math

import numpy as np
import torch

from rnnlab.data.series_windows import (
    SeriesWindows,
)
from rnnlab.kinds.base import Phase, Prepared, run_trainer
from rnnlab.kinds.forecast.backtest import backtest_cuts
from rnnlab.kinds.forecast.config import ForecastConfig


def calibration(config: ForecastConfig) -> int:
    """Windows of ``horizon`` held out of training to calibrate conformal intervals."""
    return 1 if config.intervals == "conformal" else 0


def conformal_widths(errors: np.ndarray, coverage: float) -> list[float]:
    """Half-widths, one a horizon step, that cover ``coverage`` of the absolute ``errors``
    (``(N, H)``, one row a calibration window) by split conformal prediction: the
    ``ceil((N + 1) coverage)``-th smallest error of each step, or, with fewer than 20 windows,
    of all steps' errors over the square root of their step, times that root."""
    n, horizon = errors.shape
    roots = np.sqrt(np.arange(1, horizon + 1))

    def quantile(values: np.ndarray) -> float:
        k = min(len(values), math.ceil((len(values) + 1) * coverage))
        return float(np.sort(values)[k - 1])

    if n >= 20:
        return [quantile(errors[:, h]) for h in range(horizon)]
    pooled = quantile((errors / roots).ravel())
    return (pooled * roots).tolist()


def second_model(prepared: Prepared, config: ForecastConfig, fit, phase: Phase | None):
    """A model of the run's shape, seed and epochs (without early stopping) trained on
    ``fit`` (as a phase of the run where there is one), ready to forecast."""
    torch.manual_seed(config.seed)
    model = prepared.build(prepared.model_config)
    trainer = run_trainer(model, prepared, config, early_stopping=False)
    if phase is None:
        trainer.fit(fit, epochs=config.epochs)
    else:
        phase.fit(trainer, fit, config.epochs)
    return model.eval()


def calibrate(prepared: Prepared, config: ForecastConfig, phase: Phase | None = None) -> dict:
    """Conformal half-widths (scaled units): a second model, of the same shape, seed and
    epochs (without early stopping) but trained without each series' last training
    window, forecasts that window; its errors give the widths (split conformal
    prediction; the trained model's data are unchanged). The series' scaling is the
    trained model's, fitted on that window too: only its mean and spread."""
    if not calibration(config):
        return {}
    train = prepared.train
    scaled = np.split(train.values, np.cumsum(train.lengths)[:-1])
    covariates = None
    if train.covariates is not None:
        covariates = np.split(train.covariates, np.cumsum(train.lengths)[:-1])
    h, lookback, lags = config.horizon, train.lookback, train.lags
    least = prepared.state["least"]
    cuts, _ = backtest_cuts(train.lengths, config.backtest * h, least, 2 * h)
    ends = [cut - h for cut in cuts]  # the calibration windows, where a series has room
    padded = train.padded
    fit = SeriesWindows(
        scaled, covariates, lookback, h, [(least, e - h) for e in ends], lags, padded
    )
    spare = [(e, e) if e >= least else (1, 0) for e in ends]
    held = SeriesWindows(scaled, covariates, lookback, h, spare, lags, padded)
    if not len(held):
        return {}
    calibrating = second_model(prepared, config, fit, phase)
    median = config.levels.index(0.5)
    device = next(calibrating.parameters()).device  # where the trainer left it
    errors = []
    for b in held.batches(256):
        future = None if b.future is None else b.future.to(device)
        forecast = calibrating.forecast(b.window.to(device), future)[..., median].cpu()
        errors.append((b.target - forecast).abs().numpy())
    level = config.quantiles[1] - config.quantiles[0]
    return {"interval_widths": conformal_widths(np.concatenate(errors), level)}
