"""The forecast kind's hybrid model (``--model hybrid``, ``rnnlab.models.hybrid``): its
windows prepared, its loss, its conformalised intervals and its forecasts.

The series are divided by the geometric mean of their training part (the model is
multiplicative, so this changes nothing but the numbers' range) and need positive values.
Every series with at least ``LEAST + horizon`` training values gives windows, the shortest
ones left-padded to the lookback; one too short for the backtest trains on all its values and
is not scored.
"""

from __future__ import annotations

import numpy as np
import torch

from rnnlab.data.files import InputFileError
from rnnlab.data.series import Series, SeriesSet
from rnnlab.data.series_histories import LEAST, HistoryWindows, history_batch
from rnnlab.kinds.base import Phase, Prepared
from rnnlab.kinds.forecast.backtest import backtest_cuts
from rnnlab.kinds.forecast.calibration import calibration, conformal_widths, second_model
from rnnlab.kinds.forecast.config import LEAST_EPOCHS, MOST_EPOCHS, TRAIN_STEPS, ForecastConfig
from rnnlab.kinds.forecast.defaults import hybrid_lookback
from rnnlab.kinds.forecast.objective import QuantileForecasting, pinball
from rnnlab.models.hybrid import HybridConfig, HybridEnsemble
from rnnlab.training.devices import model_device

SEASONS_READ, HORIZONS_READ = 20, 4  # the smoothing reads the last 20 seasons or 4 windows


def history_limit(season: int, lookback: int, horizon: int) -> int:
    """The most values the smoothing runs over, at training and at prediction alike (as
    Smyl cut long series): enough for the level and season to settle before the windows."""
    return max(SEASONS_READ * season, HORIZONS_READ * (lookback + horizon))


def level_penalty(config: ForecastConfig, season: int) -> float:
    """The weight of the level's wiggle in the loss: ``config.level_penalty``, or by default
    none without a season (as Smyl's yearly models) and 50 with one (his monthly models')."""
    if config.level_penalty is not None:
        return config.level_penalty
    return 0.0 if season == 1 else 50.0


def geometric_mean(values: np.ndarray) -> float:
    return float(np.exp(np.mean(np.log(values))))


def window_ends(lengths: list[int], horizon: int) -> list[tuple[int, int]]:
    """Each history's windows: every cut from ``LEAST`` observed values (fewer where the
    history has no more) to the last that leaves ``horizon`` targets."""
    return [(min(LEAST, max(1, n - horizon)), n - horizon) for n in lengths]


class HybridForecasting(QuantileForecasting):
    """Every member's quantile loss on ``z`` (``pinball``) plus the level's wiggle times
    ``penalty``; the mean over members."""

    def __init__(self, levels: list[float], penalty: float) -> None:
        super().__init__(levels)
        self.penalty = penalty

    def loss(self, model, batch) -> torch.Tensor:
        batch = batch.to(model_device(model))
        total = 0.0
        for outputs, normalised in model(batch):
            target = normalised.target(batch, outputs.shape[1])
            total = total + pinball(target, outputs, self.levels) + self.penalty * normalised.wiggle
        return total / len(model.members)

    def predict(self, model, data: HistoryWindows, batch_size: int) -> torch.Tensor:
        """The members' ``z`` forecasts of every window, ``(N, H, Q)``."""
        device = model_device(model)
        return torch.cat([model.forecast(b.to(device))[0].cpu() for b in data.batches(batch_size)])


def prepare_hybrid(
    config: ForecastConfig, data: SeriesSet, season: int, lookback: int
) -> tuple[Prepared, list[str]]:
    """The hybrid's windows, shape and state, and the series too short for the backtest."""
    horizon = config.horizon
    cuts, short = backtest_cuts(
        [len(s) for s in data.series], config.backtest * horizon, LEAST, horizon
    )
    most = history_limit(season, lookback, horizon)
    parts = [s.values[max(0, cut - most) : cut] for s, cut in zip(data.series, cuts, strict=True)]
    means = [geometric_mean(part) for part in parts]
    histories = [part / m for part, m in zip(parts, means, strict=True)]
    lengths = [len(h) for h in histories]
    train = HistoryWindows(histories, horizon, season, window_ends(lengths, horizon))
    if not len(train):
        longest = max(data.series, key=len)
        raise InputFileError(
            f"{data.source}: no series holds a window: the longest, {longest.name!r}, has "
            f"{len(longest)} values; horizon {horizon} needs at least {LEAST + horizon} "
            "before any held-out part (give a shorter --horizon or --backtest)"
        )
    val = HistoryWindows(
        histories,
        horizon,
        season,
        [(n - horizon, n - horizon) if n - horizon >= 1 else (1, 0) for n in lengths],
    )
    shape = HybridConfig(
        series=len(data.series),
        season=season,
        horizon=horizon,
        lookback=lookback,
        outputs=len(config.levels),
        units=config.units,
        layers=config.layers,
        cell=config.cell,
        dropout=config.dropout,
        members=config.ensemble,
    )
    state = {
        "forecaster": "hybrid",
        "series": data.names(),
        "season": season,
        "lookback": lookback,
        "lookback_note": "",
        "lags": [],
        "frequency": data.frequency,
        "covariate_names": [],
        "levels": config.levels,
        "means": means,
        "level_penalty": level_penalty(config, season),
        "source": data.source,
    }
    prepared = Prepared(
        train=train,
        val=val,
        objective=HybridForecasting(config.levels, level_penalty(config, season)),
        model_config=shape,
        build=HybridEnsemble,
        state=state,
        activation_bytes=shape.activation_bytes(config.batch_size, max(lengths)),
        sizes=f"in batches of {config.batch_size} windows of {lookback} steps",
    )
    return prepared, [data.series[i].name for i in short]


CALIBRATION_WINDOWS = 20  # the fewest calibration windows sought, over all series


def calibration_windows(lengths: list[int], horizon: int) -> list[int]:
    """How many windows of ``horizon`` each history holds out to calibrate: enough for
    about ``CALIBRATION_WINDOWS`` in all (one a series in a large collection, several from a
    single long series), each series keeping at least half its values and ``LEAST`` before
    them."""
    wanted = -(-CALIBRATION_WINDOWS // len(lengths))
    return [max(0, min(wanted, (n // 2) // horizon, (n - LEAST) // horizon)) for n in lengths]


HYBRID_ENSEMBLE = 3


def resolve_hybrid(config: ForecastConfig, data: SeriesSet, season: int) -> ForecastConfig:
    """The hybrid's lookback (the default, left-padded where a series is shorter), its
    intervals (conformal where some series can spare a window) and epochs."""
    horizon = config.horizon
    lookback = config.lookback or hybrid_lookback(season, horizon)
    if config.ensemble is None:  # three seeds: steadier on short single series
        config = config.replace(ensemble=HYBRID_ENSEMBLE)
    cuts, _ = backtest_cuts(
        [len(s) for s in data.series], config.backtest * horizon, LEAST, horizon
    )
    most = history_limit(season, lookback, horizon)
    lengths = [min(cut, most) for cut in cuts]  # what the smoothing reads
    if config.intervals == "auto":
        spare = any(calibration_windows(lengths, horizon))
        config = config.replace(intervals="conformal" if spare else "quantile")
    config = config.replace(lookback=lookback, lags=())
    if config.epochs is None:
        ends = window_ends(lengths, horizon)
        windows = sum(max(0, last - first + 1) for first, last in ends)
        steps = -(-windows // config.batch_size)
        epochs = max(LEAST_EPOCHS, min(MOST_EPOCHS, round(TRAIN_STEPS / max(steps, 1))))
        config = config.replace(epochs=epochs)
    return config


def calibrate_hybrid(prepared: Prepared, config: ForecastConfig, phase: Phase | None) -> dict:
    """Conformalised quantiles (CQR) in ``z``: a second model, of the same shape, seed and
    epochs, trained without the last windows of each history (``calibration_windows``),
    forecasts each of them from the history before it; the score of each step is how far
    the truth lies outside its interval (negative inside), and the corrections, one a step,
    widen every interval by the score that covers the nominal share (``conformal_widths``).
    A correction that would narrow the model's own quantiles is 0: the earlier windows the
    second model is scored on were calmer than the last ones on M1 and co2, and narrowing
    there left 58% and 38% of the held-out points covered (docs/benchmarks.md). ``z`` has
    no units, so the corrections carry over to series that could not spare a window."""
    if not calibration(config):
        return {}
    train, horizon = prepared.train, config.horizon
    held = calibration_windows([len(h) for h in train.histories], horizon)
    if not any(held):
        return {}
    shorter = [h[: len(h) - k * horizon] for h, k in zip(train.histories, held, strict=True)]
    fit = HistoryWindows(
        shorter, horizon, train.season, window_ends([len(h) for h in shorter], horizon)
    )
    calibrating = second_model(prepared, config, fit, phase)
    pasts, rows, truths = [], [], []
    for i, (history, k) in enumerate(zip(train.histories, held, strict=True)):
        for j in range(k, 0, -1):
            origin = len(history) - j * horizon
            pasts.append(history[:origin])
            rows.append(i)
            truths.append(history[origin : origin + horizon])
    batch = history_batch(pasts, rows, train.season)
    z, base = calibrating.forecast(batch.to(model_device(calibrating)))
    actual = np.log(np.clip(np.stack(truths) / base.cpu().numpy(), 1e-6, 1e6))
    z = z.cpu().numpy()
    scores = np.maximum(z[..., 0] - actual, actual - z[..., -1])
    level = config.quantiles[1] - config.quantiles[0]
    widen = np.maximum(conformal_widths(scores, level), 0.0)  # never narrower than the model's
    return {"interval_corrections": widen.tolist()}


def hybrid_forecasts(run, series: list[Series], source: str) -> list[np.ndarray]:
    """The ``(H, Q)`` forecasts of positive series: a training series by its own
    coefficients and mean, a new one by the median coefficients and its own mean."""
    histories, rows, means = [], [], []
    most = history_limit(run.state["season"], run.lookback, run.horizon)
    for s in series:
        if len(s) < 1 or not (s.values > 0).all():
            raise InputFileError(
                f"{source}: series {s.name!r} has values <= 0; the hybrid model (--model "
                "hybrid) forecasts positive series, so expected values above 0"
            )
        row = run.series_index.get(s.name, -1) if s.name else -1
        mean = run.state["means"][row] if row >= 0 else geometric_mean(s.values[-most:])
        histories.append(s.values[-most:] / mean)
        rows.append(row)
        means.append(mean)
    model = run.model
    model.eval()
    batch = history_batch(histories, rows, run.state["season"])
    z, base = model.forecast(batch.to(model_device(model)))
    z, base = z.cpu().numpy().astype(float), base.cpu().numpy().astype(float)
    corrections = run.state.get("interval_corrections")
    if corrections is not None:  # conformalised: each quantile moved by the step's correction
        z[..., 0] -= corrections
        z[..., -1] += corrections
        z.sort(axis=-1)
    forecasts = np.exp(z) * base[..., None] * np.asarray(means)[:, None, None]
    return list(forecasts)
