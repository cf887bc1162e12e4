"""The forecasts a statistician tries first, beside every rnnlab forecast: naive, seasonal
naive, Theta and ETS, fitted by statsmodels on the same history and for the same horizon.

- ``naive``: the last value, repeated.
- ``seasonal_naive``: the value one season before each step (the naive one when the season is
  1).
- ``theta``: statsmodels' ``ThetaModel`` (Assimakopoulos and Nikolopoulos, 2000, as Hyndman
  and Billah formulate it), deseasonalised by its own test when the season is longer than 1.
- ``ets``: Holt-Winters exponential smoothing with a damped additive trend, and an additive
  season when the season is longer than 1 and the history holds two of them
  (``ExponentialSmoothing``, fitted by maximum likelihood).
- ``auto_ets``: the ETS model of least AICc among additive and multiplicative errors, no,
  additive and damped additive trends, and no, additive and multiplicative seasons (as R's
  ``ets`` and statsforecast's ``AutoETS`` choose; multiplicative forms only for positive
  series, seasons only with two of them in the history), by statsmodels' ``ETSModel``.

A fit that fails (statsmodels raises, or gives non-finite numbers), or a history too short or
flat to fit (fewer than 3 values, or one value repeated), falls back to the naive forecast,
and ``fallbacks`` counts it, so that one odd series does not stop a backtest.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np

BASELINES = ("naive", "seasonal_naive", "theta", "ets", "auto_ets")


def require_statsmodels() -> None:
    """Refuse, in one line, to forecast where statsmodels is not installed."""
    if importlib.util.find_spec("statsmodels") is None:
        raise ValueError(
            "the forecast kind needs statsmodels (its baselines and data sets); expected "
            "`pip install 'rnnlab[forecast]'`"
        )


def naive(history: np.ndarray, horizon: int, season: int = 1) -> np.ndarray:
    return np.full(horizon, float(history[-1]))


def seasonal_naive(history: np.ndarray, horizon: int, season: int = 1) -> np.ndarray:
    if season <= 1 or len(history) < season:
        return naive(history, horizon)
    last = history[-season:]
    return np.array([last[h % season] for h in range(horizon)], dtype=float)


def theta(history: np.ndarray, horizon: int, season: int = 1) -> np.ndarray:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    seasonal = season > 1 and len(history) >= 2 * season
    model = ThetaModel(
        np.asarray(history, float), period=season if seasonal else 1, deseasonalize=seasonal
    )
    return np.asarray(model.fit().forecast(horizon), dtype=float)


def ets(history: np.ndarray, horizon: int, season: int = 1) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = season > 1 and len(history) >= 2 * season
    model = ExponentialSmoothing(
        np.asarray(history, float),
        trend="add",
        damped_trend=True,
        seasonal="add" if seasonal else None,
        seasonal_periods=season if seasonal else None,
        initialization_method="estimated",
    )
    return np.asarray(model.fit().forecast(horizon), dtype=float)


def auto_ets(history: np.ndarray, horizon: int, season: int = 1) -> np.ndarray:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = np.asarray(history, float)
    positive = bool((y > 0).all())
    seasons = [None]
    if season > 1 and len(y) >= 2 * season:
        seasons += ["add", "mul"] if positive else ["add"]
    best, forecast = np.inf, None
    for error in ("add", "mul") if positive else ("add",):
        for trend, damped in ((None, False), ("add", False), ("add", True)):
            for seasonal in seasons:
                if error == "add" and seasonal == "mul":
                    continue  # numerically unstable (Hyndman et al.), as R's ets leaves out
                try:
                    with warnings.catch_warnings():  # a fit that does not converge is judged
                        warnings.simplefilter("ignore")  # by its AICc like any other
                        fit = ETSModel(
                            y,
                            error=error,
                            trend=trend,
                            damped_trend=damped,
                            seasonal=seasonal,
                            seasonal_periods=season if seasonal else None,
                        ).fit(disp=False)
                except (ValueError, np.linalg.LinAlgError, ZeroDivisionError, IndexError):
                    continue
                if fit.nobs - fit.df_model - 1 <= 0 or not fit.aicc < best:
                    continue  # too many parameters for the history, or a worse fit
                values = np.asarray(fit.forecast(horizon), dtype=float)
                if np.isfinite(values).all():
                    best, forecast = fit.aicc, values
    if forecast is None:
        raise ValueError("no ETS form fits")
    return forecast


FORECASTERS = {
    "naive": naive,
    "seasonal_naive": seasonal_naive,
    "theta": theta,
    "ets": ets,
    "auto_ets": auto_ets,
}


class Baselines:
    """Forecasts of every baseline; ``fallbacks[name]`` counts the fits that failed."""

    def __init__(self, names=BASELINES) -> None:
        self.names = tuple(names)
        self.fallbacks = dict.fromkeys(self.names, 0)
        # imported here, before warnings are silenced: statsmodels sets its own filters then
        import statsmodels.tsa.exponential_smoothing.ets
        import statsmodels.tsa.forecasting.theta
        import statsmodels.tsa.holtwinters  # noqa: F401

    def forecast(self, history: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
        out = {}
        flat = len(history) < 3 or np.ptp(history) == 0  # nothing for a model to fit
        for name in self.names:
            if flat and name in ("theta", "ets", "auto_ets"):
                self.fallbacks[name] += 1
                out[name] = naive(history, horizon)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    values = FORECASTERS[name](history, horizon, season)
                except (ValueError, np.linalg.LinAlgError, ZeroDivisionError, IndexError):
                    values = None
            if values is None or values.shape != (horizon,) or not np.isfinite(values).all():
                self.fallbacks[name] += 1
                values = naive(history, horizon)
            out[name] = values
        return out
