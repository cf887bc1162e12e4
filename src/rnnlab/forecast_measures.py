"""Forecast accuracy: MASE, sMAPE and interval coverage (Hyndman and Koehler, 2006; the M4
competition's definitions). Plain numpy, without torch, so that the series' scaling
(``rnnlab.data.series_windows``), the forecast kind and the ONNX runner
(``rnnlab.interop.onnx``) share one definition."""

from __future__ import annotations

import numpy as np


def mase_scale(history: np.ndarray, season: int) -> float:
    """The in-sample mean absolute error of the seasonal naive forecast (of the naive one
    when the history is no longer than a season or that error is 0); NaN for a constant
    history."""
    history = np.asarray(history, float)
    for lag in dict.fromkeys((season, 1)):
        if len(history) > lag:
            scale = float(np.mean(np.abs(history[lag:] - history[:-lag])))
            if scale > 0:
                return scale
    return float("nan")


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """Mean absolute error over the in-sample seasonal naive error ``scale``."""
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast)))) / scale


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric mean absolute percentage error, in percent (0 where both are 0)."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(
        2 * np.abs(actual - forecast),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return 100.0 * float(np.mean(ratio))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """The fraction of actual values inside ``[lower, upper]``."""
    actual = np.asarray(actual)
    return float(np.mean((actual >= lower) & (actual <= upper)))
