"""The ``forecast`` kind's defaults that depend on the series (``ForecastKind.resolve``): the
recurrent network's windows (lookback, padding, where each series' training part ends) and
intervals, and the hybrid's lookback."""

from __future__ import annotations

from dataclasses import dataclass

from rnnlab.data.files import InputFileError
from rnnlab.data.series import Series, SeriesSet
from rnnlab.kinds.forecast.backtest import backtest_cuts
from rnnlab.kinds.forecast.calibration import calibration
from rnnlab.kinds.forecast.config import ForecastConfig

PADDED_LEAST = 2  # the fewest observed values a left-padded window reads


def default_lookback(season: int, horizon: int) -> int:
    return max(3 * season, 3 * horizon, 12)


def hybrid_lookback(season: int, horizon: int) -> int:
    """The hybrid's: two seasons or a horizon, at least 12 (left-padded for shorter series;
    chosen on M1, airline and co2, docs/forecast.md)."""
    return max(2 * season, horizon, 12)


@dataclass
class WindowPlan:
    """The recurrent network's windows over ``data``."""

    lookback: int
    reach: int  # the history a window reads: the lookback and the longest lag before it
    padded: bool  # some series are shorter than a window: windows are left-padded
    least: int  # the fewest observed values a window reads
    cuts: list[int]  # where each series' training part ends
    short: list[int]  # the series too short for the backtest (indices)

    def note(self, horizon: int) -> str:
        """What ``train`` says of the padding, or nothing."""
        if not self.padded:
            return ""
        shorter = sum(cut - horizon < self.reach for cut in self.cuts)
        return (
            f"lookback {self.lookback}: {shorter:,} series shorter than a window of "
            f"{self.reach} and the {horizon} steps it forecasts read it left-padded"
        )


def plan_windows(config: ForecastConfig, data: SeriesSet, season: int) -> WindowPlan:
    """The default lookback (or ``--lookback``), padded where a series' training part (before
    its backtest and calibration windows) holds no whole window; a series too short for the
    backtest trains on every value. Refused, naming the longest series, where no series holds
    a window at all."""
    horizon = config.horizon
    lookback = config.lookback or default_lookback(season, horizon)
    reach = lookback + max(config.lags, default=0)
    held, calibrating = config.backtest * horizon, calibration(config) * horizon
    lengths = [len(s) for s in data.series]
    full = all(n - held - calibrating >= reach + horizon for n in lengths)
    least = reach if full else min(reach, PADDED_LEAST)
    cuts, short = backtest_cuts(lengths, held, least, horizon + calibrating)
    if not any(cut - calibrating - horizon >= least for cut in cuts):
        longest = max(data.series, key=len)
        backtest = f", --backtest {config.backtest}" if config.backtest else ""
        backtest += " and a conformal calibration window" if calibrating else ""
        raise InputFileError(
            f"{data.source}: no series holds a window: the longest, {longest.name!r}, has "
            f"{len(longest)} values; horizon {horizon}{backtest} need at least "
            f"{least + horizon + held + calibrating} (give a shorter --horizon or --backtest)"
        )
    return WindowPlan(lookback, reach, not full, least, cuts, short)


def auto_intervals(config: ForecastConfig, data: SeriesSet, season: int) -> str:
    """Conformal intervals where some series can spare a calibration window (the widths are
    in MASE units, so they carry over to the others), else quantile ones."""
    plan = plan_windows(config.replace(intervals="quantile"), data, season)
    horizon = config.horizon
    spare = any(cut - 2 * horizon >= plan.least for cut in plan.cuts)
    return "conformal" if spare else "quantile"


def not_positive(data: SeriesSet) -> Series | None:
    """The first series with a value <= 0 (the hybrid model's are positive), or None."""
    return next((s for s in data.series if not (s.values > 0).all()), None)


def choose_model(config: ForecastConfig, data: SeriesSet) -> str:
    """``config.model``, or for ``auto`` the hybrid where every value is positive and there
    are neither covariates nor lags, else the recurrent network; ``hybrid`` on other data
    is refused."""
    negative = not_positive(data)
    problem = None
    if negative is not None:
        problem = f"{data.source}: series {negative.name!r} has values <= 0"
    elif data.covariate_names:
        problem = f"{data.source}: the file has covariates ({', '.join(data.covariate_names)})"
    elif config.lags:
        problem = f"--lags {','.join(map(str, config.lags))} given"
    if config.model == "hybrid" and problem:
        raise InputFileError(
            f"{problem}; --model hybrid expected positive series without covariates or lags "
            "(give --model rnn)"
        )
    if config.model != "auto":
        return config.model
    return "rnn" if problem else "hybrid"
