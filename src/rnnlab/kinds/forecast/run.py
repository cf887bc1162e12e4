"""``ForecastRun``: a trained forecaster, with its series' scaling, that forecasts, backtests
and reads and writes the kind's files."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from rnnlab.data.files import InputFileError
from rnnlab.data.series import Series, SeriesSet, csv_field, read_series_csv
from rnnlab.data.series_histories import LEAST
from rnnlab.data.series_windows import (
    SeriesScaling,
    window_inputs,
)
from rnnlab.forecast_measures import mase_scale
from rnnlab.kinds.base import Predictions, Run
from rnnlab.kinds.forecast.backtest import Backtest, backtest_table
from rnnlab.kinds.forecast.hybrid import hybrid_forecasts
from rnnlab.models.statistical import BASELINES, Baselines, require_statsmodels
from rnnlab.training.devices import model_device

AUTO_ETS_MOST = 1000  # backtest forecasts beyond which the automatic ETS is left out


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

    @property
    def hybrid(self) -> bool:
        return self.state.get("forecaster") == "hybrid"

    @property
    def least(self) -> int:
        """The fewest values a history needs: the reach, or fewer where windows are padded
        (the hybrid's always are)."""
        return LEAST if self.hybrid else self.state.get("least", self.reach)

    def _scaling_of(self, series: Series, source: str) -> tuple[SeriesScaling, int]:
        """The scaling of a series and its index there: saved for a series of training, else
        fitted on its own history (a global model forecasts new series too)."""
        if self.scaling.transform == "log" and (series.values <= 0).any():
            raise InputFileError(
                f"{source}: series {series.name!r} has values <= 0; the model forecasts the "
                "logarithm (--transform log), so expected positive values"
            )
        index = self.series_index.get(series.name) if series.name else None
        if index is not None:
            return self.scaling, index
        return self.scaling.with_series(series.values, self.state["season"])

    @functools.cached_property
    def series_index(self) -> dict[str, int]:
        """Each training series' position, by name (a look-up a series, not a search)."""
        index: dict[str, int] = {}
        for i, name in enumerate(self.state["series"]):
            index.setdefault(name, i)
        return index

    def forecast(self, series: list, source: str = "the input") -> list[np.ndarray]:
        """For each series (a ``Series``, or an array or list of numbers, named ``series 0``,
        ``series 1``, ...), the ``(H, Q)`` forecast of the steps after its last value (the
        columns are the quantile levels, the median among them)."""
        series = [_as_series(s, i) for i, s in enumerate(series)]
        if self.hybrid:
            return hybrid_forecasts(self, series, source)
        self.model.eval()
        device = model_device(self.model)
        out = []
        n_covariates = self.model.config.covariates
        for s in series:
            if len(s) < self.least:
                raise InputFileError(
                    f"{source}: series {s.name!r} has {len(s)} values; the model reads the "
                    f"last {self.reach}, so expected at least {self.least}"
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
                values,
                self.lookback,
                covariates,
                future,
                self.lags,
                self.state.get("padded", False),
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
        median = self.state["levels"].index(0.5)
        return [f[:, median] for f in self.forecast(list(inputs))]

    def backtest(self, series: list[Series], windows: int, baselines=None) -> Backtest:
        """Forecasts of the last ``windows`` windows of ``horizon`` steps of each series, by
        rnnlab and by each baseline, from the history before each window; a series too
        short for them (``least`` values before the first) is skipped and named in
        ``skipped``."""
        require_statsmodels()
        h, season = self.horizon, self.state["season"]
        levels = self.state["levels"]
        median, lowest, highest = levels.index(0.5), 0, len(levels) - 1
        pasts, cuts, skipped = [], [], []
        for i, s in enumerate(series):
            if len(s) - windows * h < self.least:
                skipped.append(s.name)
                continue
            for w in range(windows, 0, -1):
                cut = len(s) - w * h
                pasts.append(Series(s.name, s.values[:cut], s.covariates, len(s) - cut))
                cuts.append((i, cut))
        if baselines is None:  # the automatic ETS fits up to 15 models a forecast: left out
            many = len(pasts) > AUTO_ETS_MOST  # of large backtests, which it would slow most
            baselines = [b for b in BASELINES if not (many and b == "auto_ets")]
        fitter = Baselines(baselines)
        ours = self.forecast(pasts) if pasts else []
        forecasts = {"rnnlab": [f[:, median] for f in ours], **{n: [] for n in fitter.names}}
        intervals = [(f[:, lowest], f[:, highest]) for f in ours]
        actuals, scales = [], []
        for i, cut in cuts:
            values = series[i].values
            for name, forecast in fitter.forecast(values[:cut], h, season).items():
                forecasts[name].append(forecast)
            actuals.append(values[cut : cut + h])
            scales.append(mase_scale(values[:cut], season))
        left_out = [b for b in BASELINES if b not in fitter.names]
        return Backtest(
            h,
            windows,
            forecasts,
            intervals,
            actuals,
            scales,
            cuts,
            fitter.fallbacks,
            skipped,
            left_out,
        )

    def predict_file(self, path=None) -> Predictions:
        """CSV ``series,step,forecast,lower,upper`` for the steps after each series' end,
        and ``time`` last, each step's time as the file's time column writes it (a file
        whose series are one time apart, none where the file has a single time)."""
        if path is None:
            raise ValueError("--input: give the CSV file of series to forecast")
        data = self.aligned(read_series_csv(path, fill=self.config.fill))
        levels = self.state["levels"]
        median = levels.index(0.5)
        timed = data.clock is not None
        lines = ["series,step,forecast,lower,upper" + (",time" if timed else "")]
        for s, f in zip(data.series, self.forecast(data.series, str(path)), strict=True):
            name = csv_field(s.name)
            times = data.times_after(s, self.horizon) if timed else None
            for step in range(self.horizon):
                row = ",".join(f"{v:.10g}" for v in (f[step, median], f[step, 0], f[step, -1]))
                when = f",{csv_field(times[step])}" if times else ""
                lines.append(f"{name},{step + 1},{row}{when}")
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
        if all(len(s) < self.least + self.horizon for s in data.series):
            s = max(data.series, key=len)
            raise InputFileError(
                f"{path}: series {s.name!r}, the longest, has {len(s)} values; the backtest "
                f"of its last {self.horizon} after {self.least} values needs at least "
                f"{self.least + self.horizon}"
            )
        result = self.backtest(data.series, 1)
        return {"series": len(data.series), "horizon": self.horizon, **result.measures()}

    def summary(self) -> str:
        m = self.metrics
        lines = [
            f"{self.epochs_text()} epochs, {m['train_seconds']:.1f} s of training; "
            f"{m.get('model', 'rnn')} model, "
            f"{m.get('lookback_note') or 'lookback ' + str(m['lookback'])}, "
            f"{m['intervals']} intervals"
        ]
        if "mase" in m:
            lines.append(backtest_table(m))
        return "\n".join(lines)


def _as_series(values, index: int) -> Series:
    """``values`` as a ``Series``: itself, or numbers named ``series INDEX`` (not a training
    series' name, so scaled by their own history)."""
    if isinstance(values, Series):
        return values
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"series {index}: shape {array.shape}; expected a list of numbers")
    return Series(f"series {index}", array)
