"""Forecasts by statsforecast's automatic models, run in statsforecast's own environment
(``benchmarks.forecast --statsforecast-python PY`` starts this file with that interpreter):
nothing of rnnlab is imported, so it needs only numpy and statsforecast.

    PY benchmarks/statsforecast_runner.py IN.json OUT.json

``IN.json``: ``{"season": m, "horizon": H, "histories": [[...], ...]}``. ``OUT.json``: for
each model (``auto_arima``, ``auto_theta``, ``auto_ets_sf``), ``mean``, ``lower`` and
``upper`` (the 80% interval), a list a history, and ``fallbacks``: the fits that failed or
gave non-finite numbers and were replaced by the naive forecast, as fev's own statsforecast
runs fall back to a seasonal naive one. Each model is given the season length (``AutoETS``
and ``AutoTheta`` test and drop a season they do not find, as in fev).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np


def main(source: str, target: str) -> int:
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    with open(source) as f:
        task = json.load(f)
    season, horizon = task["season"], task["horizon"]
    models = {
        "auto_arima": lambda: AutoARIMA(season_length=season),
        "auto_theta": lambda: AutoTheta(season_length=season),
        "auto_ets_sf": lambda: AutoETS(season_length=season),
    }
    out = {}
    for name, make in models.items():
        means, lowers, uppers, fallbacks = [], [], [], 0
        start = time.perf_counter()
        for history in task["histories"]:
            y = np.asarray(history, float)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = make().forecast(y=y, h=horizon, level=[80])
                mean, lower, upper = (
                    np.asarray(result[k], float) for k in ("mean", "lo-80", "hi-80")
                )
                if not (np.isfinite(mean).all() and np.isfinite(lower).all()):
                    raise ValueError("non-finite forecast")
                if not np.isfinite(upper).all():
                    raise ValueError("non-finite interval")
            except Exception:  # statsforecast raises bare Exception for some fits
                fallbacks += 1
                mean = lower = upper = np.full(horizon, y[-1])
            means.append(mean.tolist())
            lowers.append(lower.tolist())
            uppers.append(upper.tolist())
        out[name] = {
            "mean": means,
            "lower": lowers,
            "upper": uppers,
            "fallbacks": fallbacks,
            "seconds": time.perf_counter() - start,
        }
    with open(target, "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
