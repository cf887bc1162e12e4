"""``ForecastKind``: the series read, the defaults resolved, the windows prepared, the
calibration, the backtest report and the pictures."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rnnlab.data.files import InputFileError
from rnnlab.data.series import SeriesSet
from rnnlab.data.series_histories import LEAST
from rnnlab.data.series_windows import (
    SERIES_FEATURES,
    SeriesScaling,
    SeriesWindows,
)
from rnnlab.kinds.base import Finished, Kind, Phase, Prepared, check_saved_sizes
from rnnlab.kinds.baselines import Baseline, Baselines
from rnnlab.kinds.forecast.backtest import BASELINE_NAMES
from rnnlab.kinds.forecast.calibration import calibrate, calibration
from rnnlab.kinds.forecast.config import (
    LEAST_EPOCHS,
    MOST_EPOCHS,
    TRAIN_STEPS,
    ForecastConfig,
    load_series,
)
from rnnlab.kinds.forecast.defaults import auto_intervals, choose_model, plan_windows
from rnnlab.kinds.forecast.hybrid import calibrate_hybrid, prepare_hybrid, resolve_hybrid
from rnnlab.kinds.forecast.objective import QuantileForecasting
from rnnlab.kinds.forecast.pictures import backtest_png, loss_png
from rnnlab.kinds.forecast.run import ForecastRun
from rnnlab.kinds.summary import spread
from rnnlab.models.forecaster import ForecastEnsemble, ForecasterConfig
from rnnlab.models.hybrid import HybridConfig, HybridEnsemble
from rnnlab.models.statistical import require_statsmodels


@dataclass
class ForecastData:
    """The series as read, and why the lookback is shorter than its default (if it is)."""

    series: SeriesSet
    lookback_note: str = ""
    short: list[str] = field(default_factory=list)  # series too short for the backtest


PICTURED = 4  # series drawn in backtest.png


def _check_scaled(data: SeriesSet, scaling: SeriesScaling, scaled: list) -> None:
    """Refuse, before training, a series whose centre, scale or scaled values overflow (values
    near the largest float), naming it."""
    for i, s in enumerate(data.series):
        finite = np.isfinite(scaling.centres[i]) and np.isfinite(scaling.scales[i])
        if not (finite and np.isfinite(scaled[i]).all()):
            largest = float(np.max(np.abs(s.values)))
            raise InputFileError(
                f"{data.source}: series {s.name!r} has values (up to {largest:.3g}) whose "
                "scale cannot be represented; expected values well below 1e300"
            )


def short_line(names: list[str], config: ForecastConfig, every: bool, least: int) -> str:
    """One line naming the series too short for the backtest (the first 5), or saying that
    there is no backtest (``every`` series is)."""
    windows = config.backtest
    shown = ", ".join(repr(n) for n in names[:5])
    more = f" and {len(names) - 5:,} more" if len(names) > 5 else ""
    if every:
        return (
            f"backtest: none; no series holds a training window once its last {windows} "
            f"window{'s' if windows != 1 else ''} of {config.horizon} are held out, so every "
            "series trains on every value (give a shorter --horizon, or --backtest 0)"
        )
    return (
        f"backtest: {len(names):,} series too short for {windows} window"
        f"{'s' if windows != 1 else ''} of {config.horizon} after {least} values train on "
        f"every value and are not scored: {shown}{more}"
    )


class ForecastKind(Kind):
    name = "forecast"
    config = ForecastConfig
    description = "forecasts of time series, beside naive, seasonal naive, Theta and ETS"
    # the epochs are sized to about ``TRAIN_STEPS`` updates and every one trains: the
    # validation windows (each series' last training window) are too few to stop on, and
    # the calibration's second model trains the same epochs
    default_patience = None

    def calibration_share(self, config: ForecastConfig) -> float:
        return 0.5 if calibration(config) else 0.0  # a second model of the same epochs

    def read(self, config: ForecastConfig) -> ForecastData:
        require_statsmodels()
        return ForecastData(load_series(config))

    def resolve(self, config: ForecastConfig, data: ForecastData) -> ForecastConfig:
        """The model (``auto``: the hybrid for positive series), and for the recurrent
        network the lags (the season's), the intervals (``auto``), the lookback and its
        padding, and the epochs (about ``TRAIN_STEPS`` updates)."""
        season = config.season or data.series.season
        config = config.replace(model=choose_model(config, data.series))
        if config.model == "hybrid":
            return resolve_hybrid(config, data.series, season)
        if config.ensemble is None:
            config = config.replace(ensemble=1)
        if config.lags is None:  # a season's lag: last year's same month, say
            config = config.replace(lags=(season,) if season > 1 else ())
        if config.intervals == "auto":
            config = config.replace(intervals=auto_intervals(config, data.series, season))
        plan = plan_windows(config, data.series, season)  # or refuse
        data.lookback_note = plan.note(config.horizon)
        config = config.replace(lookback=plan.lookback)
        if config.epochs is None:
            windows = sum(max(0, cut - config.horizon - plan.least + 1) for cut in plan.cuts)
            steps = -(-windows // config.batch_size)
            epochs = max(LEAST_EPOCHS, min(MOST_EPOCHS, round(TRAIN_STEPS / steps)))
            config = config.replace(epochs=epochs)
        return config

    def data_summary(self, data: ForecastData, prepared: Prepared, config) -> list[str]:
        series = data.series
        lines = [
            f"data: {series.source or config.data}: {len(series.series):,} series, "
            f"{spread([len(s) for s in series.series], 'steps')}; season "
            f"{config.season or series.season}",
            f"forecast: {config.horizon} steps ahead from {config.lookback} steps back; "
            f"{len(prepared.train):,} training windows",
            f"validation: {len(prepared.val):,} windows (each series' last training window)",
        ]
        if config.model == "hybrid":
            season = "level and season" if prepared.state["season"] > 1 else "level"
            lines.append(
                f"model: hybrid: exponential smoothing of each series' {season}, one "
                f"{config.cell.upper()} for all series (windows left-padded where a series is "
                "shorter); --model rnn for the plain network"
            )
        if data.short:
            every = len(data.short) == len(series.series)
            least = LEAST if config.model == "hybrid" else prepared.state["least"]
            lines.append(short_line(data.short, config, every, least))
        return lines + ([data.lookback_note] if data.lookback_note else [])

    def prepare(self, config: ForecastConfig, read: ForecastData) -> Prepared:
        data, note = read.series, read.lookback_note
        season = config.season or data.season
        if config.model == "hybrid":
            prepared, read.short = prepare_hybrid(config, data, season, config.lookback)
            return prepared
        plan = plan_windows(config, data, season)
        lookback, horizon, cuts = plan.lookback, config.horizon, plan.cuts
        read.short = [data.series[i].name for i in plan.short]
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
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            scaling = SeriesScaling.fit(
                [s.values[:cut] for s, cut in zip(data.series, cuts, strict=True)],
                season,
                [c[:cut] for c, cut in zip(covariates, cuts, strict=True)] if covariates else None,
                config.transform,
            )
            scaled = [scaling.scale(i, s.values) for i, s in enumerate(data.series)]
        _check_scaled(data, scaling, scaled)
        scaled_covariates = None
        if covariates:
            scaled_covariates = [scaling.scale_covariates(c) for c in covariates]
        least = plan.least  # the history a window reads (the reach), or less where padded
        train = SeriesWindows(
            scaled,
            scaled_covariates,
            lookback,
            horizon,
            [(least, c - horizon) for c in cuts],  # each series' windows end where its held-out
            config.lags,  # part (backtest, calibration) starts
            plan.padded,
        )
        val = SeriesWindows(
            scaled,
            scaled_covariates,
            lookback,
            horizon,
            [(c - horizon, c - horizon) if c - horizon >= least else (1, 0) for c in cuts],
            config.lags,
            plan.padded,
        )
        n_covariates = len(data.covariate_names)
        shape = ForecasterConfig(
            inputs=SERIES_FEATURES + plan.padded + len(config.lags) + n_covariates,
            horizon=horizon,
            covariates=n_covariates,
            outputs=len(config.levels),
            **config.encoder(),
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
            "padded": plan.padded,
            "least": least,
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

    def build(self, saved: dict) -> ForecastEnsemble | HybridEnsemble:
        if saved.get("forecaster") == "hybrid":
            return HybridEnsemble(HybridConfig(**saved["model"]))
        return ForecastEnsemble(ForecasterConfig(**saved["model"]))

    def restore(self, config, model, saved, metrics) -> ForecastRun:
        if saved.get("forecaster") == "hybrid":
            series = len(saved["series"])
            check_saved_sizes(
                {
                    "series": (series, model.config.series),
                    "means": (len(saved["means"]), series),
                    "levels": (len(saved["levels"]), model.config.outputs),
                }
            )
            if 0.5 not in saved["levels"]:
                raise ValueError(f"'levels' {saved['levels']} has no median (0.5)")
            return ForecastRun(self, config, model, saved, metrics)
        scaling = SeriesScaling(**saved["scaling"])
        series = len(saved["series"])
        covariates = len(saved["covariate_names"])
        check_saved_sizes(
            {
                "scaling centres": (len(scaling.centres), series),
                "scaling scales": (len(scaling.scales), series),
                "scaling covariate_means": (len(scaling.covariate_means), covariates),
                "scaling covariate_scales": (len(scaling.covariate_scales), covariates),
                "levels": (len(saved["levels"]), model.config.outputs),
            }
        )
        if 0.5 not in saved["levels"]:
            raise ValueError(f"'levels' {saved['levels']} has no median (0.5)")
        if not series:
            raise ValueError("'series' is empty; expected the names of the series trained on")
        return ForecastRun(self, config, model, saved, metrics, scaling=scaling)

    def calibrate(self, model, prepared: Prepared, config, phase: Phase | None = None) -> dict:
        """Conformal interval widths, from a second model (``calibration.calibrate``, or
        ``hybrid.calibrate_hybrid``)."""
        if prepared.state.get("forecaster") == "hybrid":
            return calibrate_hybrid(prepared, config, phase)
        return calibrate(prepared, config, phase)

    def report(self, finished: Finished) -> dict:
        """The lookback and intervals chosen, and the backtest beside the baselines (kept
        in ``finished.results`` for ``backtest.png``)."""
        run, config = finished.run, finished.run.config
        shape = {"model": config.model, "lookback": run.state["lookback"]}
        shape["intervals"] = config.intervals
        if run.state["lookback_note"]:
            shape["lookback_note"] = run.state["lookback_note"]
        if config.backtest == 0:
            return shape
        series = finished.data.series.series
        if len(finished.data.short) == len(series):  # trained on every value: no backtest
            return {**shape, "backtest_skipped": len(series)}
        result = run.backtest(series, config.backtest)
        finished.results["backtest"] = result
        return {**shape, **result.measures()}

    def baselines(self, finished: Finished) -> Baselines | None:
        m = finished.metrics
        if "mase" not in m:  # no backtest
            return None

        def better(*methods: str) -> Baseline:
            scored = [
                (m[f"{k}_mase"], k) for k in methods if m.get(f"{k}_mase") == m.get(f"{k}_mase")
            ]
            value, k = min(scored, default=(math.nan, methods[0]))
            return Baseline(BASELINE_NAMES[k], value)

        trivial = better("naive", "seasonal_naive")
        return Baselines("mase", True, m["mase"], trivial, better("theta", "ets", "auto_ets"))

    def pictures(self, finished: Finished) -> dict[str, bytes]:
        pictures = {"learning_curves.png": loss_png(finished.history)}
        if "backtest" in finished.results and finished.results["backtest"].cuts:
            series = finished.data.series.series
            result = finished.results["backtest"].last_windows(PICTURED)
            pictures["backtest.png"] = backtest_png(
                result, series, clock=finished.data.series.clock
            )
        return pictures
