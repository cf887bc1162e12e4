"""Kind ``forecast``: the next ``--horizon`` values of one series or of thousands, with one
global model, always measured beside the classical baselines on the same backtest.

Data: a CSV file, long or wide (``rnnlab.data.series``), or a set that ships with statsmodels
or aeon (``--task``, ``rnnlab.data.series_sets``). The season length is ``--season`` or
follows from the time column. Each series is scaled by its training part
(``rnnlab.data.series_windows``); windows of ``--lookback`` steps are drawn from every series
(``rnnlab.models.forecaster``: an LSTM/GRU encoder, the whole horizon at once, the median
and the ``--quantiles`` trained with the quantile loss; ``--ensemble K`` averages K seeds).

Backtest: the last ``--backtest W`` windows of ``H`` steps of every series are held out of
training; rnnlab and the baselines (naive, seasonal naive, Theta, ETS; ``rnnlab.models.
statistical``) forecast each from the history before it, and each is scored by MASE (scaled
by that history's seasonal naive error), sMAPE, and, for rnnlab's intervals, coverage. The
validation loss the trainer logs is in-sample (each series' last training window): the
backtest is the out-of-sample measure.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from rnnlab.config import option, override
from rnnlab.data.files import InputFileError
from rnnlab.data.series import FILLS, Series, SeriesSet, csv_field, read_series_csv
from rnnlab.data.series_sets import SERIES_SETS, series_set
from rnnlab.data.series_windows import (
    SERIES_FEATURES,
    TRANSFORMS,
    SeriesScaling,
    SeriesWindows,
    window_inputs,
)
from rnnlab.forecast_measures import coverage, mase, mase_scale, smape
from rnnlab.kinds.base import Finished, Kind, Predictions, Prepared, Run, run_trainer
from rnnlab.limits import is_integer
from rnnlab.models.encoder_config import RecurrentConfig
from rnnlab.models.forecaster import DECODERS, ForecastEnsemble, ForecasterConfig
from rnnlab.models.statistical import BASELINES, Baselines, require_statsmodels
from rnnlab.plots.figures import png_bytes, pyplot
from rnnlab.training.config import TrainingConfig
from rnnlab.training.devices import model_device

TRAIN_STEPS = 300  # the default epochs make about this many updates ...
LEAST_EPOCHS, MOST_EPOCHS = 30, 1000  # ... and read every window 30 to 1,000 times
INTERVALS = ("auto", "conformal", "quantile")
BASELINE_NAMES = {
    "naive": "naive",
    "seasonal_naive": "seasonal naive",
    "theta": "Theta",
    "ets": "ETS",
}


@dataclass(frozen=True)
class ForecastConfig(RecurrentConfig, TrainingConfig):
    """Everything that defines a ``forecast`` run."""

    task: str | None = option(
        "a series set that ships with statsmodels or aeon", default=None, choices=SERIES_SETS
    )
    data: str | None = option("a CSV file of series, long or wide", value="path")
    horizon: int | None = option("steps to forecast", value="int")
    season: int | None = option(
        "season length", value="int", auto="from the time column: monthly 12, quarterly 4, ..."
    )
    lookback: int | None = option(
        "steps the model reads",
        value="length",
        auto="3 seasons or 3 horizons, at least 12, as far as the shortest series allows",
    )
    lags: tuple[int, ...] | None = option(
        "target lags each step also reads beside its value (none: no lags)",
        value="ints",
        auto="the season, when it is longer than 1",
    )
    backtest: int = option(
        "windows of --horizon steps held out at the end of every series and forecast (0: none)",
        value="count",
        default=1,
    )
    transform: str = option(
        "forecast the logarithm of each series (positive values only)",
        choices=TRANSFORMS,
        default="none",
    )
    fill: str | None = option(
        "fill missing values (default: refuse them)", choices=FILLS, default=None
    )
    quantiles: tuple[float, ...] = option(
        "the prediction interval's lower and upper quantiles", value="floats", default=(0.1, 0.9)
    )
    intervals: str = option(
        "conformal: widths from the errors of a second model on the last training window of "
        "each series, which it did not see; quantile: the model's quantile outputs; auto: "
        "conformal where every series is long enough",
        choices=INTERVALS,
        default="auto",
    )
    ensemble: int = option(
        "forecasters trained side by side from different initial weights, averaged",
        value="layers",
        default=1,
    )
    decoder: str = option(
        "all steps from the last state at once, or a recurrent decoder",
        choices=DECODERS,
        default="direct",
    )
    highway: bool = option(
        "no linear map from the window to the forecast beside the recurrent encoder",
        flag="--no-highway",
        default=True,
    )
    dropout: float = override(
        RecurrentConfig, "dropout", 0.2, help="dropout on the encoder's output"
    )
    epochs: int | None = override(
        TrainingConfig,
        "epochs",
        None,
        auto=f"about {TRAIN_STEPS} updates, {LEAST_EPOCHS}-{MOST_EPOCHS} epochs",
    )
    batch_size: int = override(TrainingConfig, "batch_size", 64, help="windows per step")

    def check(self) -> None:
        if (self.task is None) == (self.data is None):
            raise ValueError("give either `task` (a built-in series set) or `data` (a CSV file).")
        if self.horizon is None:
            raise ValueError("give `horizon`: how many steps to forecast.")
        if self.lookback == 0:
            raise ValueError("`lookback` must be at least 1 (or left out: the default).")
        quantiles = tuple(self.quantiles)
        if len(quantiles) != 2 or not 0.0 < quantiles[0] < 0.5 < quantiles[1] < 1.0:
            raise ValueError(
                f"`quantiles` must be two numbers, lower in (0, 0.5) and upper in (0.5, 1); "
                f"got {','.join(map(str, quantiles))}"
            )
        object.__setattr__(self, "quantiles", quantiles)
        if self.lags is not None:
            lags = tuple(self.lags)
            if not all(is_integer(lag) and lag >= 1 for lag in lags):
                shown = ",".join(map(str, lags))
                raise ValueError(f"`lags` must be positive integers, got {shown}")
            object.__setattr__(self, "lags", lags)

    @property
    def levels(self) -> list[float]:
        """The quantile levels the model outputs, in order (the median among them)."""
        return sorted({0.5, *self.quantiles})


def load_series(config: ForecastConfig) -> SeriesSet:
    if config.task is not None:
        return series_set(config.task)
    return read_series_csv(config.data, fill=config.fill)


def _to(tensor: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return None if tensor is None else tensor.to(device)


class QuantileForecasting:
    """The quantile (pinball) loss of every member's outputs at every level, doubled so that
    the median's part is the mean absolute error."""

    metrics = ()
    lower_is_better = ()
    unit = "windows"

    def __init__(self, levels: list[float]) -> None:
        self.levels = torch.tensor(levels)

    def loss(self, model, batch) -> torch.Tensor:
        device = model_device(model)
        outputs = model(batch.window.to(device), _to(batch.future, device))  # (K, N, H, Q)
        error = batch.target.to(device)[None, :, :, None] - outputs
        levels = self.levels.to(outputs.device)
        return 2 * torch.maximum(levels * error, (levels - 1) * error).mean()

    def evaluate(self, model, data: SeriesWindows, batch_size: int) -> dict[str, float]:
        total, count = 0.0, 0
        for batch in data.batches(batch_size):
            total += self.loss(model, batch).item() * len(batch)
            count += len(batch)
        return {"loss": total / max(count, 1)}

    def predict(self, model, data: SeriesWindows, batch_size: int) -> torch.Tensor:
        device = model_device(model)
        return torch.cat(
            [
                model.forecast(b.window.to(device), _to(b.future, device)).cpu()
                for b in data.batches(batch_size)
            ]
        )


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


def auto_intervals(config: ForecastConfig, data: SeriesSet, season: int) -> str:
    """Conformal intervals where the shortest series holds a calibration window beside the
    lookback that quantile intervals would have, else quantile ones."""
    quantile = dataclasses.replace(config, intervals="quantile")
    try:
        lookback, _ = choose_lookback(quantile, data, season)
        conformal = dataclasses.replace(config, intervals="conformal", lookback=lookback)
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


@dataclass
class ForecastData:
    """The series as read, and why the lookback is shorter than its default (if it is)."""

    series: SeriesSet
    lookback_note: str = ""


def training_windows(config: ForecastConfig, data: SeriesSet) -> int:
    """How many windows of ``config.lookback`` steps the training part of ``data`` holds."""
    held = config.backtest * config.horizon
    reach = config.lookback + max(config.lags, default=0)
    return sum(max(0, len(s) - held - config.horizon - reach + 1) for s in data.series)


PICTURED = 4  # series drawn in backtest.png


class ForecastKind(Kind):
    name = "forecast"
    config = ForecastConfig
    description = "forecasts of time series, beside naive, seasonal naive, Theta and ETS"

    def read(self, config: ForecastConfig) -> ForecastData:
        require_statsmodels()
        return ForecastData(load_series(config))

    def resolve(self, config: ForecastConfig, data: ForecastData) -> ForecastConfig:
        """The lags (the season's), the intervals (``auto``), the lookback (as far as the
        shortest series allows) and the epochs (about ``TRAIN_STEPS`` updates)."""
        season = config.season or data.series.season
        if config.lags is None:  # a season's lag: last year's same month, say
            config = config.replace(lags=(season,) if season > 1 else ())
        if config.intervals == "auto":
            config = config.replace(intervals=auto_intervals(config, data.series, season))
        if config.lookback is None:
            lookback, data.lookback_note = choose_lookback(config, data.series, season)
            config = config.replace(lookback=lookback)
        if config.epochs is None:
            steps = -(-training_windows(config, data.series) // config.batch_size)
            epochs = max(LEAST_EPOCHS, min(MOST_EPOCHS, round(TRAIN_STEPS / steps)))
            config = config.replace(epochs=epochs)
        return config

    def prepare(self, config: ForecastConfig, read: ForecastData) -> Prepared:
        data, note = read.series, read.lookback_note
        season = config.season or data.season
        lookback, _ = choose_lookback(config, data, season)
        horizon = config.horizon
        cuts = [len(s) - config.backtest * horizon for s in data.series]
        covariates = None
        if data.covariate_names:
            covariates = [s.covariates for s in data.series]
        if config.transform == "log":
            for s in data.series:
                if (s.values <= 0).any():
                    raise InputFileError(
                        f"{data.source}: series {s.name!r} has values <= 0; `transform` log "
                        "expected positive values"
                    )
        scaling = SeriesScaling.fit(
            [s.values[:cut] for s, cut in zip(data.series, cuts, strict=True)],
            season,
            [c[:cut] for c, cut in zip(covariates, cuts, strict=True)] if covariates else None,
            config.transform,
        )
        scaled = [scaling.scale(i, s.values) for i, s in enumerate(data.series)]
        scaled_covariates = None
        if covariates:
            scaled_covariates = [scaling.scale_covariates(c) for c in covariates]
        reach = lookback + max(config.lags, default=0)  # the history a window reads
        train = SeriesWindows(
            scaled,
            scaled_covariates,
            lookback,
            horizon,
            [(reach, c - horizon) for c in cuts],  # each series' windows end where its held-out
            config.lags,  # part (backtest, calibration) starts
        )
        val = SeriesWindows(
            scaled,
            scaled_covariates,
            lookback,
            horizon,
            [(c - horizon, c - horizon) for c in cuts],
            config.lags,
        )
        n_covariates = len(data.covariate_names)
        shape = ForecasterConfig(
            inputs=SERIES_FEATURES + len(config.lags) + n_covariates,
            horizon=horizon,
            covariates=n_covariates,
            outputs=len(config.levels),
            units=config.units,
            layers=config.layers,
            cell=config.cell,
            dropout=config.dropout,
            decoder=config.decoder,
            members=config.ensemble,
            highway=lookback if config.highway else 0,
        )
        state = {
            "series": data.names(),
            "season": season,
            "lookback": lookback,
            "lookback_note": note,
            "lags": list(config.lags),
            "frequency": data.frequency,
            "covariate_names": data.covariate_names,
            "levels": config.levels,
            "scaling": scaling.to_dict(),
            "source": data.source,
        }
        return Prepared(
            train=train,
            val=val,
            objective=QuantileForecasting(config.levels),
            model_config=shape,
            build=ForecastEnsemble,
            state=state,
            activation_bytes=shape.activation_bytes(config.batch_size, lookback),
            sizes=f"in batches of {config.batch_size} windows of {lookback} steps",
        )

    def build(self, saved: dict) -> ForecastEnsemble:
        return ForecastEnsemble(ForecasterConfig(**saved["model"]))

    def restore(self, config, model, saved, metrics) -> ForecastRun:
        scaling = SeriesScaling(**saved["scaling"])
        return ForecastRun(self, config, model, saved, metrics, scaling=scaling)

    def calibrate(self, model, prepared: Prepared, config, callbacks=()) -> dict:
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
        reach = lookback + max(lags, default=0)
        ends = [len(s) - config.backtest * h - h for s in scaled]  # the calibration windows
        fit = SeriesWindows(scaled, covariates, lookback, h, [(reach, e - h) for e in ends], lags)
        held = SeriesWindows(scaled, covariates, lookback, h, [(e, e) for e in ends], lags)
        torch.manual_seed(config.seed)
        calibrating = prepared.build(prepared.model_config)
        trainer = run_trainer(
            calibrating, prepared, config, callbacks=callbacks, early_stopping=False
        )
        trainer.fit(fit, epochs=config.epochs)
        calibrating.eval()
        median = config.levels.index(0.5)
        device = next(calibrating.parameters()).device  # where the trainer left it
        errors = []
        for b in held.batches(256):
            future = None if b.future is None else b.future.to(device)
            forecast = calibrating.forecast(b.window.to(device), future)[..., median].cpu()
            errors.append((b.target - forecast).abs().numpy())
        level = config.quantiles[1] - config.quantiles[0]
        return {"interval_widths": conformal_widths(np.concatenate(errors), level)}

    def report(self, finished: Finished) -> dict:
        """The lookback and intervals chosen, and the backtest beside the baselines (kept
        in ``finished.results`` for ``backtest.png``)."""
        run, config = finished.run, finished.run.config
        shape = {"lookback": run.state["lookback"], "intervals": config.intervals}
        if run.state["lookback_note"]:
            shape["lookback_note"] = run.state["lookback_note"]
        if config.backtest == 0:
            return shape
        result = run.backtest(finished.data.series.series, config.backtest)
        finished.results["backtest"] = result
        return {**shape, **result.measures()}

    def pictures(self, finished: Finished) -> dict[str, bytes]:
        pictures = {"learning_curves.png": loss_png(finished.history)}
        if "backtest" in finished.results:
            series = finished.data.series.series[:PICTURED]
            result = finished.results["backtest"].last_windows(len(series))
            pictures["backtest.png"] = backtest_png(result, series)
        return pictures


@dataclass
class Backtest:
    """Forecasts and measures of rnnlab and the baselines on the last windows of series."""

    horizon: int
    windows: int
    forecasts: dict  # method -> list over (series, window) of (H,) arrays
    intervals: list  # over (series, window): ((H,), (H,)) lower and upper
    actuals: list  # over (series, window): (H,) arrays
    scales: list  # over (series, window): the MASE scale
    cuts: list  # over (series, window): (series index, cut)
    fallbacks: dict

    def measures(self) -> dict:
        out = {"backtest_windows": self.windows, "backtest_forecasts": len(self.actuals)}
        for method, forecasts in self.forecasts.items():
            prefix = "" if method == "rnnlab" else f"{method}_"
            scores = [
                mase(a, f, s) for a, f, s in zip(self.actuals, forecasts, self.scales, strict=True)
            ]
            out[f"{prefix}mase"] = (
                float(np.nanmean(scores)) if np.isfinite(scores).any() else math.nan
            )
            out[f"{prefix}smape"] = float(
                np.mean([smape(a, f) for a, f in zip(self.actuals, forecasts, strict=True)])
            )
        lower = np.concatenate([lo for lo, _ in self.intervals])
        upper = np.concatenate([hi for _, hi in self.intervals])
        out["interval_coverage"] = coverage(np.concatenate(self.actuals), lower, upper)
        out["baseline_fallbacks"] = {k: v for k, v in self.fallbacks.items() if v}
        # a constant history has no MASE scale: its forecasts count in sMAPE, not in MASE
        out["mase_undefined"] = int(np.sum(~np.isfinite(self.scales)))
        return out

    def last_windows(self, count: int) -> Backtest:
        """The last window of each of the first ``count`` series alone."""
        rows = [self.windows * (i + 1) - 1 for i in range(count)]
        pick = lambda values: [values[k] for k in rows]  # noqa: E731
        return Backtest(
            self.horizon,
            1,
            {method: pick(values) for method, values in self.forecasts.items()},
            pick(self.intervals),
            pick(self.actuals),
            pick(self.scales),
            pick(self.cuts),
            self.fallbacks,
        )


@dataclass
class ForecastRun(Run):
    """A trained forecaster with its per-series scaling."""

    scaling: SeriesScaling = None

    @property
    def horizon(self) -> int:
        return self.model.config.horizon

    @property
    def lookback(self) -> int:
        return self.state["lookback"]

    @property
    def lags(self) -> tuple[int, ...]:
        return tuple(self.state.get("lags", ()))

    @property
    def reach(self) -> int:
        """The history a forecast reads: the lookback, and the longest lag before it."""
        return self.lookback + max(self.lags, default=0)

    def _scaling_of(self, series: Series, source: str) -> tuple[SeriesScaling, int]:
        """The scaling of a series and its index there: saved for a series of training, else
        fitted on its own history (a global model forecasts new series too)."""
        if self.scaling.transform == "log" and (series.values <= 0).any():
            raise InputFileError(
                f"{source}: series {series.name!r} has values <= 0; the model forecasts the "
                "logarithm (--transform log), so expected positive values"
            )
        names = self.state["series"]
        if series.name and series.name in names:
            return self.scaling, names.index(series.name)
        return self.scaling.with_series(series.values, self.state["season"])

    def forecast(self, series: list[Series], source: str = "the input") -> list[np.ndarray]:
        """For each series, the ``(H, Q)`` forecast of the steps after its last value (the
        columns are the quantile levels, the median among them)."""
        self.model.eval()
        device = model_device(self.model)
        out = []
        n_covariates = self.model.config.covariates
        for s in series:
            if len(s) < self.reach:
                raise InputFileError(
                    f"{source}: series {s.name!r} has {len(s)} values; the model reads the "
                    f"last {self.reach}, so expected at least that many"
                )
            future = None
            covariates = None
            if n_covariates:
                if s.covariates is None or s.covariates.shape[1] != n_covariates:
                    raise InputFileError(
                        f"{source}: series {s.name!r} has no covariates "
                        f"{', '.join(self.state['covariate_names'])}; expected the columns "
                        "the model was trained with"
                    )
                if s.future < self.horizon:
                    raise InputFileError(
                        f"{source}: series {s.name!r} gives the covariates of {s.future} "
                        f"future steps; expected {self.horizon} rows after its last value, "
                        "with the value empty"
                    )
                scaled = self.scaling.scale_covariates(s.covariates)
                covariates = scaled[: len(s)]
                future = scaled[len(s) : len(s) + self.horizon]
            scaling, index = self._scaling_of(s, source)
            values = scaling.scale(index, s.values)
            window, ahead, last = window_inputs(
                values, self.lookback, covariates, future, self.lags
            )
            ahead = None if ahead is None else ahead.to(device)
            outputs = self.model.forecast(window.to(device), ahead)[0].cpu().numpy().astype(float)
            widths = self.state.get("interval_widths")
            if widths is not None:  # conformal: the median plus and minus calibrated widths
                median = outputs[:, self.state["levels"].index(0.5)]
                outputs[:, 0], outputs[:, -1] = median - widths, median + widths
            out.append(scaling.unscale(index, outputs + last))
        return out

    def predict(self, inputs) -> list[np.ndarray]:
        """The median forecast of each input: a ``Series`` (one of training's names uses
        its saved scaling), or a sequence of numbers (scaled by its own history)."""
        series = [x if isinstance(x, Series) else Series("", np.asarray(x, float)) for x in inputs]
        median = self.state["levels"].index(0.5)
        return [f[:, median] for f in self.forecast(series)]

    def backtest(self, series: list[Series], windows: int, baselines=None) -> Backtest:
        """Forecasts of the last ``windows`` windows of ``horizon`` steps of each series, by
        rnnlab and by each baseline, from the history before each window."""
        require_statsmodels()
        fitter = Baselines(baselines or BASELINES)
        h, season = self.horizon, self.state["season"]
        levels = self.state["levels"]
        median, lowest, highest = levels.index(0.5), 0, len(levels) - 1
        forecasts = {"rnnlab": [], **{name: [] for name in fitter.names}}
        intervals, actuals, scales, cuts = [], [], [], []
        for i, s in enumerate(series):
            for w in range(windows, 0, -1):
                cut = len(s) - w * h
                past = Series(s.name, s.values[:cut], s.covariates, len(s) - cut)
                (ours,) = self.forecast([past])
                forecasts["rnnlab"].append(ours[:, median])
                intervals.append((ours[:, lowest], ours[:, highest]))
                for name, values in fitter.forecast(s.values[:cut], h, season).items():
                    forecasts[name].append(values)
                actuals.append(s.values[cut : cut + h])
                scales.append(mase_scale(s.values[:cut], season))
                cuts.append((i, cut))
        return Backtest(h, windows, forecasts, intervals, actuals, scales, cuts, fitter.fallbacks)

    def predict_file(self, path=None) -> Predictions:
        """CSV ``series,step,forecast,lower,upper`` for the steps after each series' end."""
        if path is None:
            raise ValueError("--input: give the CSV file of series to forecast")
        data = self.aligned(read_series_csv(path, fill=self.config.fill))
        levels = self.state["levels"]
        median = levels.index(0.5)
        lines = ["series,step,forecast,lower,upper"]
        for s, f in zip(data.series, self.forecast(data.series, str(path)), strict=True):
            name = csv_field(s.name)
            for step in range(self.horizon):
                row = (f[step, median], f[step, 0], f[step, -1])
                lines.append(f"{name},{step + 1}," + ",".join(f"{v:.10g}" for v in row))
        return Predictions("\n".join(lines) + "\n")

    def aligned(self, data: SeriesSet) -> SeriesSet:
        """``data`` with its covariate columns in the order the model was trained with; a
        file with other covariates is refused."""
        names = self.state["covariate_names"]
        if data.covariate_names == names:
            return data
        if sorted(data.covariate_names) != sorted(names):
            raise InputFileError(
                f"{data.source}: covariates {', '.join(data.covariate_names) or 'none'}; "
                f"expected the ones the model was trained with: {', '.join(names) or 'none'}"
            )
        order = [data.covariate_names.index(n) for n in names]
        for s in data.series:
            s.covariates = s.covariates[:, order]
        data.covariate_names = list(names)
        return data

    def describe(self, measures: dict) -> str:
        return f"{measures['series']} series, horizon {measures['horizon']}\n" + backtest_table(
            measures
        )

    def evaluate_file(self, path) -> dict:
        """The backtest of the file's last ``horizon`` values of every series: rnnlab's and
        the baselines' MASE and sMAPE, and rnnlab's interval coverage."""
        data = self.aligned(read_series_csv(path, fill=self.config.fill))
        for s in data.series:
            if len(s) < self.reach + self.horizon:
                raise InputFileError(
                    f"{path}: series {s.name!r} has {len(s)} values; the backtest of its last "
                    f"{self.horizon} after a window of {self.reach} needs at least "
                    f"{self.reach + self.horizon}"
                )
        result = self.backtest(data.series, 1)
        return {"series": len(data.series), "horizon": self.horizon, **result.measures()}

    def summary(self) -> str:
        m = self.metrics
        lines = [
            f"{m['epochs']} epochs, {m['train_seconds']:.1f} s of training; "
            f"{m.get('lookback_note') or 'lookback ' + str(m['lookback'])}, "
            f"{m['intervals']} intervals"
        ]
        if "mase" in m:
            lines.append(backtest_table(m))
        return "\n".join(lines)


def backtest_table(m: dict) -> str:
    """rnnlab beside each baseline: MASE, sMAPE, and MASE as a ratio to rnnlab's."""
    rows = [("rnnlab", m["mase"], m["smape"])]
    rows += [
        (label, m[f"{key}_mase"], m[f"{key}_smape"])
        for key, label in BASELINE_NAMES.items()
        if f"{key}_mase" in m
    ]
    windows = m["backtest_windows"]
    head = (
        f"backtest: {m['backtest_forecasts']} forecasts ({windows} window"
        f"{'s' if windows != 1 else ''} a series); interval coverage "
        f"{m['interval_coverage']:.0%}"
    )
    lines = [head, f"{'method':<16}{'MASE':>8}{'sMAPE':>9}{'MASE / rnnlab':>15}"]
    for label, mase_value, smape_value in rows:
        ratio = mase_value / m["mase"] if m["mase"] else math.nan
        lines.append(f"{label:<16}{mase_value:>8.3f}{smape_value:>8.2f}%{ratio:>15.2f}")
    return "\n".join(lines)


def loss_png(history: dict) -> bytes:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = range(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], label="training")
    ax.plot(epochs, history["val_loss"], label="last training window of each series")
    ax.set(xlabel="epoch", ylabel="quantile loss (scaled)", title="learning curves")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return png_bytes(fig, dpi=100)


def backtest_png(result: Backtest, series: list[Series], shown: int = 4) -> bytes:
    """History, the held-out window, rnnlab's forecast and interval, Theta's and ETS's."""
    plt = pyplot()
    count = min(shown, len(series))
    fig, axes = plt.subplots(count, 1, figsize=(8, 2.6 * count), squeeze=False)
    for row, (k, (i, cut)) in enumerate(list(enumerate(result.cuts))[:count]):
        ax = axes[row][0]
        s = series[i]
        start = max(0, cut - 4 * result.horizon)
        ax.plot(range(start, cut), s.values[start:cut], color="black", lw=1, label="history")
        steps = range(cut, cut + result.horizon)
        ax.plot(steps, result.actuals[k], color="black", lw=1, ls="--", label="held out")
        lower, upper = result.intervals[k]
        ax.fill_between(steps, lower, upper, color="C0", alpha=0.2, label="rnnlab interval")
        ax.plot(steps, result.forecasts["rnnlab"][k], color="C0", lw=2, label="rnnlab")
        for j, name in enumerate(("theta", "ets")):
            if name in result.forecasts:
                ax.plot(
                    steps,
                    result.forecasts[name][k],
                    color=f"C{j + 1}",
                    lw=1,
                    label=BASELINE_NAMES[name],
                )
        ax.set_title(s.name, fontsize=9)
        ax.grid(True, alpha=0.3)
        if row == 0:
            ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    return png_bytes(fig, dpi=90)
