"""The ``forecast`` kind's defaults that depend on the series: the intervals, the lookback
and the epochs (``ForecastKind.resolve``)."""

from __future__ import annotations

from rnnlab.data.files import InputFileError
from rnnlab.data.series import SeriesSet
from rnnlab.kinds.forecast.calibration import calibration
from rnnlab.kinds.forecast.config import ForecastConfig


def auto_intervals(config: ForecastConfig, data: SeriesSet, season: int) -> str:
    """Conformal intervals where the shortest series holds a calibration window beside the
    lookback that quantile intervals would have, else quantile ones."""
    quantile = config.replace(intervals="quantile")
    try:
        lookback, _ = choose_lookback(quantile, data, season)
        conformal = config.replace(intervals="conformal", lookback=lookback)
        choose_lookback(conformal, data, season)
    except InputFileError:
        return "quantile"
    return "conformal"


def default_lookback(season: int, horizon: int) -> int:
    return max(3 * season, 3 * horizon, 12)


def choose_lookback(config: ForecastConfig, data: SeriesSet, season: int) -> tuple[int, str]:
    """The lookback window (and a note when the shortest series made it shorter than the
    default); a series too short for any window is an error naming it."""
    horizon, held = config.horizon, (config.backtest + calibration(config)) * config.horizon
    held += max(config.lags, default=0)  # history read before the window
    shortest = min(data.series, key=len)
    room = len(shortest) - held - horizon  # the longest window the shortest series allows
    wanted = config.lookback or default_lookback(season, horizon)
    if config.lookback is not None and room >= wanted:
        return wanted, ""
    if config.lookback is None and room >= 1:
        if room >= wanted:
            return wanted, ""
        return room, f"lookback {room} (series {shortest.name!r} allows no more)"
    least = config.lookback or 1
    backtest = f", --backtest {config.backtest}" if config.backtest else ""
    backtest += f", lags up to {max(config.lags)}" if config.lags else ""
    backtest += " and a conformal calibration window" if calibration(config) else ""
    raise InputFileError(
        f"{data.source}: series {shortest.name!r} has {len(shortest)} values; a lookback of "
        f"{least}, horizon {horizon}{backtest} need at least {least + horizon + held} (give a "
        "shorter --lookback, --horizon or --backtest, or leave the series out)"
    )
