"""The ``forecast`` kind's options (``ForecastConfig``) and where its series come from."""

from __future__ import annotations

from dataclasses import dataclass

from rnnlab.config import option, override
from rnnlab.data.series import FILLS, SeriesSet, read_series_csv
from rnnlab.data.series_sets import SERIES_SETS, series_set
from rnnlab.data.series_windows import (
    TRANSFORMS,
)
from rnnlab.limits import is_integer
from rnnlab.models.encoder_config import RecurrentConfig
from rnnlab.models.forecaster import DECODERS
from rnnlab.training.config import TrainingConfig

TRAIN_STEPS = 300  # the default epochs make about this many updates ...
LEAST_EPOCHS, MOST_EPOCHS = 30, 1000  # ... and read every window 30 to 1,000 times
INTERVALS = ("auto", "conformal", "quantile")
MODELS = ("auto", "hybrid", "rnn")


@dataclass(frozen=True)
class ForecastConfig(RecurrentConfig, TrainingConfig):
    """Everything that defines a ``forecast`` run."""

    task: str | None = option(
        "a series set that ships with statsmodels or aeon", default=None, choices=SERIES_SETS
    )
    data: str | None = option("a CSV file of series, long or wide", value="path")
    horizon: int | None = option("steps to forecast", value="int")
    model: str = option(
        "hybrid: exponential smoothing per series with one recurrent network for all (ES-RNN); "
        "rnn: a recurrent network over scaled windows; auto: hybrid where every value is "
        "positive and there are neither covariates nor --lags, else rnn",
        choices=MODELS,
        default="auto",
    )
    season: int | None = option(
        "season length", value="int", auto="from the time column: monthly 12, quarterly 4, ..."
    )
    lookback: int | None = option(
        "steps the model reads",
        value="length",
        auto="hybrid: 2 seasons or a horizon, at least 12; rnn: 3 seasons or 3 horizons, at "
        "least 12, as far as the shortest series allows",
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
    ensemble: int | None = option(
        "forecasters trained side by side from different initial weights, averaged",
        value="layers",
        auto="3 for the hybrid, 1 for the rnn",
    )
    level_penalty: float | None = option(
        "the hybrid's penalty on a level that wiggles (its second difference)",
        value="positive",
        auto="0 without a season, else 50",
    )
    decoder: str = option(
        "all steps from the last state at once, or a recurrent decoder",
        choices=DECODERS,
        default="direct",
    )
    highway: bool = option(
        "no linear map from the window to the forecast beside the recurrent encoder (rnn; the "
        "hybrid has none)",
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
