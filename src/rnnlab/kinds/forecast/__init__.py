"""Kind ``forecast``: the next ``--horizon`` values of one series or of thousands, with one
global model, always measured beside the classical baselines on the same backtest.

Data: a CSV file, long or wide (``rnnlab.data.series``), or a set that ships with statsmodels
or aeon (``--task``, ``rnnlab.data.series_sets``). The season length is ``--season`` or
follows from the time column. Two models (``--model``, ``auto`` by default):

- ``hybrid`` (``hybrid.py``; ``rnnlab.models.hybrid``): each series' level and season
  smoothed with learned per-series coefficients (``rnnlab.layers.smoothing``), one LSTM over
  the windows divided by them (``rnnlab.data.series_histories``), for positive series;
- ``rnn`` (``kind.py``): each series scaled by its training part
  (``rnnlab.data.series_windows``), windows of ``--lookback`` steps from every series
  (``rnnlab.models.forecaster``).

Both give the whole horizon at once, the median and the ``--quantiles`` trained with the
quantile loss (``--ensemble K`` averages K seeds); windows of a series shorter than the
lookback are left-padded (``defaults.py``).

Backtest: the last ``--backtest W`` windows of ``H`` steps of every series are held out of
training (a series too short for them trains on all its values and is not scored); rnnlab and
the baselines (naive, seasonal naive, Theta, ETS, auto ETS; ``rnnlab.models.statistical``)
forecast each from the history before it, and each is scored by MASE (scaled by that
history's seasonal naive error), sMAPE, and, for rnnlab's intervals, coverage. The validation
loss the trainer logs is in-sample (each series' last training window): the backtest is the
out-of-sample measure.
"""

from rnnlab.kinds.forecast.backtest import Backtest, backtest_table
from rnnlab.kinds.forecast.calibration import conformal_widths
from rnnlab.kinds.forecast.config import ForecastConfig
from rnnlab.kinds.forecast.kind import ForecastKind
from rnnlab.kinds.forecast.objective import QuantileForecasting
from rnnlab.kinds.forecast.run import ForecastRun

__all__ = [
    "Backtest",
    "ForecastConfig",
    "ForecastKind",
    "ForecastRun",
    "QuantileForecasting",
    "backtest_table",
    "conformal_widths",
]
