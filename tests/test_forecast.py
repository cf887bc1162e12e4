"""Kind ``forecast``: CSV series (long and wide), seasons, scaling and windows, the baselines
and measures, the forecaster, and the commands ``train --kind forecast``, ``predict`` and
``evaluate`` on small generated series."""

import json
import math

import numpy as np
import pytest
import torch
from commands import run_cli as run

import rnnlab
from rnnlab.cli import main
from rnnlab.data.files import InputFileError
from rnnlab.data.series import Series, SeriesSet, infer_season, parse_time, read_series_csv
from rnnlab.data.series_windows import SeriesScaling, SeriesWindows, window_inputs
from rnnlab.forecast_measures import coverage, mase, mase_scale, smape
from rnnlab.kinds.forecast import ForecastConfig, QuantileForecasting
from rnnlab.kinds.runs import train
from rnnlab.models.forecaster import ForecastEnsemble, ForecasterConfig
from rnnlab.models.statistical import Baselines, naive, seasonal_naive

pytest.importorskip("statsmodels")

TINY = ["--units", "16", "--epochs", "30", "--quiet", "--model", "rnn"]


def cycles(n: int = 240, period: float = 10.5, seed: int = 0) -> np.ndarray:
    """A noisy cycle whose amplitude drifts: the naive forecast is poor, the cycle learnable."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (
        50 + 20 * np.sin(2 * np.pi * t / period) * (1 + 0.3 * np.sin(t / 37)) + rng.normal(0, 1, n)
    )


def wide_csv(path, columns: dict[str, np.ndarray], start_year: int = 1800):
    n = max(len(v) for v in columns.values())
    lines = ["year," + ",".join(columns)]
    for i in range(n):
        cells = [f"{columns[c][i]:.4f}" if i < len(columns[c]) else "" for c in columns]
        lines.append(f"{start_year + i}," + ",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def series_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("series")
    return wide_csv(folder / "cycles.csv", {"a": cycles(seed=0), "b": cycles(200, 9.0, seed=1)})


@pytest.fixture(scope="module")
def forecast_run(series_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "forecast"
    args = ["train", "--data", str(series_file), "--horizon", "10", *TINY, "--out", str(out)]
    assert main(args) == 0  # .csv: the forecast kind, without --kind
    return out


# -- reading ----------------------------------------------------------------------------------


def test_long_csv_with_covariates_and_future_rows(tmp_path):
    path = tmp_path / "long.csv"
    rows = ["series,time,value,holiday"]
    rows += [f"x,2020-01-0{d},{d * 1.5},{d % 2}" for d in range(1, 8)]
    rows += ["x,2020-01-08,,1", "x,2020-01-09,,0"]  # the future: covariates, no value
    rows += [f"y,2020-01-0{d},{10 - d},{d % 2}" for d in range(1, 6)]
    path.write_text("\n".join(rows) + "\n")
    data = read_series_csv(path)
    assert data.names() == ["x", "y"]
    assert data.covariate_names == ["holiday"]
    assert data.season == 7 and data.frequency == "daily"
    x = data.series[0]
    assert len(x) == 7 and x.future == 2 and x.covariates.shape == (9, 1)
    assert x.values[-1] == 10.5


def test_wide_csv_with_ragged_starts(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("month,a,b\n1990-01,1,\n1990-02,2,\n1990-03,3,7\n1990-04,4,8\n")
    data = read_series_csv(path)
    assert data.season == 12
    assert [list(s.values) for s in data.series] == [[1, 2, 3, 4], [7, 8]]


@pytest.mark.parametrize(
    ("times", "season", "name"),
    [
        (["2001-Q1", "2001-Q2", "2001-Q3"], 4, "quarterly"),
        (["2001-01-07", "2001-01-14", "2001-01-21"], 52, "weekly"),
        (["2001-01-01", "2001-02-01", "2001-03-01"], 12, "monthly"),
        (["2001-01-01 00:00", "2001-01-01 01:00", "2001-01-01 02:00"], 24, "hourly"),
        (["2001-01-01", "2002-01-01", "2003-01-01"], 1, "yearly"),
        (["1700", "1701", "1702"], 1, "yearly or plain steps"),
    ],
)
def test_the_season_follows_from_the_time_column(times, season, name):
    parsed = [parse_time(t) for t in times]
    assert infer_season(parsed[0][0], [p for _, p in parsed]) == (season, name)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("year,a\n2000,1\n2001,x2\n", "cycles.csv:3: a 'x2' is not a number"),
        ("year,a\n2000,1\n2002,2\n2001,3\n", "cycles.csv:4: time '2001' comes before '2002'"),
        ("year,a\n2000,1\n2000,2\n", "cycles.csv:3: time '2000' repeats '2000' on line 2"),
        ("year,a\n2000,1\n2001,\n2002,3\n", "cycles.csv:3: series 'a' has a missing value"),
        ("year,a\n2000,1\nMonday,2\n", "cycles.csv:3: time 'Monday' is not a time"),
        ("year,a\n2000,1,5\n", "cycles.csv:2: 3 fields; expected 2"),
        ("", "cycles.csv: empty"),
    ],
)
def test_bad_files_name_the_line(tmp_path, body, expected):
    path = tmp_path / "cycles.csv"
    path.write_text(body)
    with pytest.raises(InputFileError, match=expected.replace("(", r"\(")):
        read_series_csv(path)


def test_fill_previous_and_linear(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("year,a\n2000,1\n2001,NA\n2002,\n2003,4\n")
    assert list(read_series_csv(path, fill="previous").series[0].values) == [1, 1, 1, 4]
    assert list(read_series_csv(path, fill="linear").series[0].values) == [1, 2, 3, 4]


# -- baselines and measures --------------------------------------------------------------------


def test_naive_forecasts_and_measures():
    history = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    assert list(naive(history, 3)) == [8, 8, 8]
    assert list(seasonal_naive(history, 5, season=4)) == [5, 6, 7, 8, 5]
    assert mase_scale(history, 4) == 4.0  # every seasonal difference is 4
    assert mase([9, 10], [8, 8], 4.0) == pytest.approx(1.5 / 4)
    assert smape([100, 0], [50, 0]) == pytest.approx(100 * (2 * 50 / 150) / 2)
    assert coverage(np.array([1, 2, 3]), np.array([0, 2.5, 0]), np.array([2, 3, 2])) == 1 / 3


def test_statistical_baselines_follow_a_trend():
    history = np.arange(40, dtype=float) * 2 + np.tile([0.0, 1, 0, -1], 10)
    forecasts = Baselines().forecast(history, 8, season=4)
    actual = np.arange(40, 48) * 2 + np.tile([0.0, 1, 0, -1], 2)
    scale = mase_scale(history, 4)
    assert mase(actual, forecasts["ets"], scale) < 0.2
    assert mase(actual, forecasts["theta"], scale) < mase(actual, forecasts["naive"], scale)


# -- windows and model ------------------------------------------------------------------------


def test_windows_are_relative_to_their_last_value():
    values = np.arange(10, dtype=float)
    windows = SeriesWindows([values], None, lookback=3, horizon=2, ends=[(3, 8)])
    assert len(windows) == 6
    batch = windows.batch(np.array([0, 5]))
    assert batch.window.shape == (2, 3, 2)
    assert batch.window[0, :, 0].tolist() == [-2, -1, 0]  # changes to the last value
    assert batch.window[1, :, 1].tolist() == [5, 6, 7]  # the values
    assert batch.target.tolist() == [[1, 2], [1, 2]]


def test_scaling_divides_by_the_mase_scale_and_inverts():
    values = np.array([10.0, 14, 10, 14, 10])
    scaling = SeriesScaling.fit([values], season=1)
    assert scaling.scales == [4.0] and scaling.centres == [11.6]
    assert np.allclose(scaling.unscale(0, scaling.scale(0, values)), values)


@pytest.mark.parametrize("decoder", ["direct", "recurrent"])
def test_ensemble_shapes_and_sorted_quantiles(decoder):
    config = ForecasterConfig(
        inputs=3,
        horizon=5,
        covariates=1,
        outputs=3,
        units=8,
        decoder=decoder,
        members=2,
        highway=4,
    )
    model = ForecastEnsemble(config)
    window, future = torch.randn(6, 4, 3), torch.randn(6, 5, 1)
    assert model(window, future).shape == (2, 6, 5, 3)
    forecast = model.forecast(window, future)
    assert forecast.shape == (6, 5, 3)
    assert (forecast.diff(dim=-1) >= 0).all()


def test_quantile_loss_of_the_median_is_the_absolute_error():
    objective = QuantileForecasting([0.5])

    class Constant(torch.nn.Module):
        def forward(self, window, future=None):
            return torch.zeros(1, len(window), 2, 1)

    batch = SeriesWindows([np.array([0.0, 0, 3, -1])], None, 2, 2, [(2, 2)]).batch(np.array([0]))
    assert objective.loss(Constant(), batch).item() == pytest.approx(2.0)  # |3| and |-1|


# -- training and the commands --------------------------------------------------------------


def test_train_beats_the_naive_forecast_and_writes_the_run(forecast_run):
    metrics = json.loads((forecast_run / "metrics.json").read_text())
    assert metrics["backtest_forecasts"] == 2
    assert metrics["mase"] < metrics["naive_mase"]
    compared = metrics["baselines"]  # the better of naive and seasonal naive, of Theta and ETS
    assert compared["trivial"]["value"] == min(
        metrics["naive_mase"], metrics["seasonal_naive_mase"]
    )
    assert compared["classical"]["value"] == min(metrics["theta_mase"], metrics["ets_mase"])
    assert compared["beats_trivial"]
    assert 0.0 <= metrics["interval_coverage"] <= 1.0
    for name in ("config.json", "model.safetensors", "history.csv", "backtest.png"):
        assert (forecast_run / name).is_file()
    saved = json.loads((forecast_run / "config.json").read_text())
    assert saved["kind"] == "forecast" and len(saved["scaling"]["scales"]) == 2


def test_predict_writes_the_horizon_of_every_series(forecast_run, series_file, capsys):
    code, out, err = run(["predict", str(forecast_run), "--input", str(series_file)], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "series,step,forecast,lower,upper,time"
    assert len(lines) == 1 + 2 * 10
    name, step, point, lower, upper, time = lines[1].split(",")
    assert (name, step, time) == ("a", "1", "2040")
    assert float(lower) <= float(point) <= float(upper)
    # the times follow each series' own end: a ends in year 1800 + 239, b in 1800 + 199
    assert [line.split(",")[-1] for line in lines[1:3]] == ["2040", "2041"]
    assert [line.split(",")[-1] for line in lines[11:13]] == ["2000", "2001"]


@pytest.mark.parametrize(
    ("rows", "after"),
    [
        ("month,x\n2019-11,1\n2019-12,2\n", ["2020-01", "2020-02"]),
        ("date,x\n2019-Q3,1\n2019-Q4,2\n", ["2020-Q1", "2020-Q2"]),
        ("date,x\n2020-02-27,1\n2020-02-28,2\n", ["2020-02-29", "2020-03-01"]),
        ("date,x\n2020-01-31,1\n2020-02-29,2\n", ["2020-03-31", "2020-04-30"]),
        ("date,x\n2020-01-15,1\n2020-02-15,2\n", ["2020-03-15", "2020-04-15"]),
        ("date,x\n2019-12-31,1\n2020-12-31,2\n", ["2021-12-31", "2022-12-31"]),
        (
            "time,x\n2020-01-01 22:00,1\n2020-01-01 23:00,2\n",
            ["2020-01-02 00:00", "2020-01-02 01:00"],
        ),
        (
            "time,x\n2020-01-01T23:00:00,1\n2020-01-02T00:00:00,2\n",
            ["2020-01-02T01:00:00", "2020-01-02T02:00:00"],
        ),
        ("time,x\n0,1\n5,2\n10,3\n", ["15", "20"]),
        ("series,time,value\na,1990,1\na,1991,2\na,1992,\n", ["1992", "1993"]),
    ],
)
def test_the_times_after_a_series_are_written_as_its_file_writes_them(rows, after, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(rows)
    data = read_series_csv(path)
    assert data.times_after(data.series[0], 2) == after


def test_a_single_time_gives_no_times_to_follow(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("series,time,value\na,2000,1\nb,2001,1\n")
    data = read_series_csv(path)
    assert data.clock is None and data.times_after(data.series[0], 3) is None


def test_evaluate_prints_rnnlab_beside_the_baselines(forecast_run, series_file, capsys):
    code, out, err = run(
        ["evaluate", str(forecast_run), "--data", str(series_file), "--json"], capsys
    )
    assert code == 0, err
    measures = json.loads(out)
    assert measures["series"] == 2 and measures["horizon"] == 10
    for key in ("mase", "smape", "naive_mase", "seasonal_naive_mase", "theta_mase", "ets_mase"):
        assert math.isfinite(measures[key])


def test_load_gives_a_model_that_predicts(forecast_run):
    model = rnnlab.load(forecast_run)
    (forecast,) = model.predict([cycles(120, seed=3)])
    assert forecast.shape == (10,) and np.isfinite(forecast).all()


@pytest.mark.slow
def test_seeded_training_is_reproducible(series_file, tmp_path):
    config = ForecastConfig(data=str(series_file), horizon=5, units=8, epochs=3)
    first = train(config, tmp_path / "one").metrics
    second = train(config, tmp_path / "two").metrics
    assert first["mase"] == second["mase"] and first["val_loss"] == second["val_loss"]


def test_covariates_need_their_future_rows(tmp_path, capsys):
    path = tmp_path / "long.csv"
    rows = ["series,time,value,promo"]
    values = cycles(80)
    rows += [f"s,{t},{values[t]:.3f},{t % 3 == 0:d}" for t in range(80)]
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    args = ["train", "--data", str(path), "--horizon", "4", "--units", "8", "--epochs", "2"]
    assert run([*args, "--quiet", "--out", str(out)], capsys)[0] == 0
    code, _, err = run(["predict", str(out), "--input", str(path)], capsys)
    assert code == 2
    assert "series 's' gives the covariates of 0 future steps; expected 4 rows" in err
    future = [f"s,{t},,{t % 3 == 0:d}" for t in range(80, 84)]
    path.write_text("\n".join(rows + future) + "\n")
    code, printed, err = run(["predict", str(out), "--input", str(path)], capsys)
    assert code == 0, err
    assert len(printed.splitlines()) == 5


def test_recurrent_decoder_and_ensemble_train(series_file, tmp_path):
    config = ForecastConfig(
        data=str(series_file), horizon=5, units=8, epochs=2, decoder="recurrent", ensemble=2
    )
    run_ = train(config, tmp_path / "run")
    assert run_.model.config.members == 2 and math.isfinite(run_.metrics["mase"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--horizon", "0"], "--horizon: expected a positive integer, got '0'"),
        ([], "give --horizon: how many steps to forecast"),
        (
            ["--horizon", "300", "--model", "rnn"],
            "no series holds a window: the longest, 'a', has 240 values",
        ),
        (
            ["--horizon", "300", "--model", "hybrid"],
            "no series holds a window: the longest, 'a', has 240 values",
        ),
        (["--horizon", "5", "--quantiles", "0.9,0.1"], "--quantiles must be two numbers"),
    ],
)
def test_impossible_options_are_one_line_errors(series_file, tmp_path, capsys, args, expected):
    out = tmp_path / "run"
    code, _, err = run(["train", "--data", str(series_file), *args, "--out", str(out)], capsys)
    assert code == 2
    assert expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_bad_value_stops_train_with_its_line(tmp_path, capsys):
    path = wide_csv(tmp_path / "s.csv", {"a": cycles(60)})
    lines = path.read_text().splitlines()
    lines[7] = "1806,n/a?"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    code, _, err = run(["train", "--data", str(path), "--horizon", "3", "--out", str(out)], capsys)
    assert code == 2 and f"{path}:8: a 'n/a?' is not a number" in err
    assert not out.exists()


def test_a_new_series_is_scaled_by_its_own_history(forecast_run):
    model = rnnlab.load(forecast_run)
    base = cycles(120, seed=3)
    (small,) = model.predict([Series("new", base)])
    (large,) = model.predict([Series("new", base * 100)])
    assert np.allclose(large, small * 100, rtol=1e-4)


def test_series_sets_by_name():
    from rnnlab.data.series_sets import series_set

    sunspots = series_set("sunspots")
    assert isinstance(sunspots, SeriesSet) and len(sunspots.series[0]) == 309
    co2 = series_set("co2")
    assert co2.season == 12 and len(co2.series[0]) == 526


def test_conformal_widths_cover_the_calibration_errors():
    from rnnlab.kinds.forecast import conformal_widths

    errors = np.tile(np.arange(1.0, 41.0)[:, None], (1, 3))  # 40 windows, 3 steps
    widths = conformal_widths(errors, 0.8)
    assert widths == [33.0, 33.0, 33.0]  # the ceil(41 * 0.8) = 33rd smallest
    few = conformal_widths(np.array([[1.0, 2.0, 3.0, 4.0]]), 0.5)  # pooled over steps
    assert few[0] == pytest.approx(few[3] / 2)


def test_conformal_intervals_where_the_series_allow(forecast_run, series_file, tmp_path):
    saved = json.loads((forecast_run / "config.json").read_text())
    assert saved["train"]["intervals"] == "conformal"
    assert len(saved["interval_widths"]) == 10 and min(saved["interval_widths"]) > 0
    short = wide_csv(tmp_path / "short.csv", {"a": cycles(25)})  # no room for a window more
    config = ForecastConfig(data=str(short), horizon=10, units=8, epochs=2, model="rnn")
    run_ = train(config, tmp_path / "run")
    assert run_.config.intervals == "quantile" and "interval_widths" not in run_.state


def test_evaluate_prints_a_table_without_json(forecast_run, series_file, capsys):
    code, out, err = run(["evaluate", str(forecast_run), "--data", str(series_file)], capsys)
    assert code == 0, err
    assert out.startswith("2 series, horizon 10\nbacktest: 2 forecasts")
    assert [line.split()[0] for line in out.splitlines()[3:]] == [
        "rnnlab",
        "naive",
        "seasonal",
        "Theta",
        "ETS",
        "auto",
    ]


def test_resume_gives_the_same_forecasts_as_an_uninterrupted_run(series_file, tmp_path):
    from rnnlab.training import Callback
    from rnnlab.training.run_folder import RunFolderError

    config = ForecastConfig(data=str(series_file), horizon=5, units=8, epochs=4, model="rnn")
    full = train(config, tmp_path / "full")

    class Interrupt(Exception):
        pass

    class StopAtEpoch(Callback):
        def on_epoch_begin(self, epoch):
            if epoch == 2:
                raise Interrupt

    with pytest.raises(Interrupt):
        train(config, tmp_path / "resumed", callbacks=[StopAtEpoch()])
    with pytest.raises(RunFolderError):
        rnnlab.load(tmp_path / "resumed")
    resumed = train(None, tmp_path / "resumed", resume=True)
    for (k, a), b in zip(
        full.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), k
    assert full.state["interval_widths"] == resumed.state["interval_widths"]
    assert full.metrics["mase"] == resumed.metrics["mase"]


@pytest.mark.parametrize(
    ("model", "key"), [("rnn", "interval_widths"), ("hybrid", "interval_corrections")]
)
def test_a_run_interrupted_while_calibrating_resumes_there(
    series_file, tmp_path, capsys, model, key
):
    """Calibration is a phase of its own: shown under its name, checkpointed, and resumed
    where it was interrupted, to the same run as an uninterrupted one."""
    from rnnlab.training import Callback

    config = ForecastConfig(
        data=str(series_file), horizon=5, units=8, epochs=4, intervals="conformal", model=model
    )
    full = train(config, tmp_path / "full")

    class Interrupt(Exception):
        pass

    class StopWhileCalibrating(Callback):
        phase = None

        def on_phase(self, name):
            self.phase = name

        def on_epoch_begin(self, epoch):
            if self.phase == "calibrate" and epoch == 2:
                raise Interrupt

    out = tmp_path / "resumed"
    with pytest.raises(Interrupt):
        train(config, out, callbacks=[StopWhileCalibrating()])
    assert (out / "checkpoint.calibrate").is_dir() and (out / "checkpoint").is_dir()
    code, _, err = run(["train", "--resume", str(out)], capsys)
    assert code == 0
    assert "calibrate: Epoch 3/4" in err and "calibrate: Epoch 1/4" not in err
    assert "train: Epoch" not in err  # training itself had finished
    assert not any(p.name.startswith("checkpoint") for p in out.iterdir())
    resumed = rnnlab.load(out)
    assert full.state[key] == resumed.state[key]
    for (k, a), b in zip(
        full.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), k


def test_log_transform_needs_positive_values_and_forecasts_them(tmp_path, capsys):
    path = wide_csv(tmp_path / "pos.csv", {"a": np.exp(cycles(120) / 20)})
    out = tmp_path / "run"
    args = ["train", "--data", str(path), "--horizon", "5", "--transform", "log"]
    assert (
        run([*args, "--units", "8", "--epochs", "3", "--quiet", "--out", str(out)], capsys)[0] == 0
    )
    model = rnnlab.load(out)
    (forecast,) = model.forecast([Series("a", np.exp(cycles(120) / 20))])
    assert (forecast > 0).all()
    bad = wide_csv(tmp_path / "neg.csv", {"a": cycles(120) - 60})
    code, _, err = run([*args[:2], str(bad), *args[3:], "--out", str(tmp_path / "r2")], capsys)
    assert code == 2 and "series 'a' has values <= 0; --transform log expected positive" in err


def test_a_run_of_many_epochs_prints_about_a_hundred_epoch_lines():
    """A forecaster on one series trains hundreds of epochs of one step each: the progress
    bar prints the first, every k-th and the last epoch's line."""
    import io

    from rnnlab.cli.progress import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar("train", stream=stream)
    bar.on_train_begin(epochs=250, steps_per_epoch=1)
    for epoch in range(250):
        bar.on_epoch_begin(epoch)
        bar.on_batch_end(0, {"loss": 1.0})
        bar.on_epoch_end(epoch, {"loss": 1.0, "val_loss": 2.0, "lr": 0.1})
    bar.on_train_end({})
    lines = [line for line in stream.getvalue().splitlines() if line.startswith("train: Epoch")]
    epochs = [line.split()[2] for line in lines]
    assert epochs[0] == "1/250" and epochs[1] == "3/250" and epochs[-1] == "250/250"
    assert len(epochs) == 1 + 250 // 3 + 1
    assert "loss: 1.0000 - val_loss: 2.0000" in lines[0] and "lr" not in lines[0]


@pytest.mark.slow
def test_lags_are_read_beside_each_step(tmp_path, capsys):
    values = np.arange(20, dtype=float)
    windows = SeriesWindows([values], None, lookback=3, horizon=2, ends=[(8, 8)], lags=(5,))
    batch = windows.batch(np.array([0]))
    assert batch.window.shape == (1, 3, 3)
    assert batch.window[0, :, 2].tolist() == [-7, -6, -5]  # values 0, 1, 2 minus the last, 7
    path = wide_csv(tmp_path / "s.csv", {"a": cycles(100)})
    out = tmp_path / "run"
    args = ["train", "--data", str(path), "--horizon", "4", "--model", "rnn"]
    args += ["--lags", "10,20", "--units", "8"]
    assert run([*args, "--epochs", "2", "--quiet", "--out", str(out)], capsys)[0] == 0
    model = rnnlab.load(out)
    assert model.reach == model.lookback + 20
    with pytest.raises(InputFileError, match=f"the model reads the last {model.reach}"):
        model.predict([cycles(model.reach - 1)])
    code, _, err = run([*args[:-2], "--lags", "0", "--out", str(tmp_path / "r2")], capsys)
    assert code == 2 and "--lags: expected comma-separated integers >= 1" in err
    monthly = tmp_path / "m.csv"
    monthly.write_text(
        "month,a\n"
        + "".join(f"{2000 + t // 12}-{t % 12 + 1:02d},{v}\n" for t, v in enumerate(cycles(90)))
    )
    config = ForecastConfig(data=str(monthly), horizon=4, units=8, epochs=1, model="rnn")
    assert train(config, tmp_path / "m1").state["lags"] == [12]  # a season, by default
    no_lags = ForecastConfig(data=str(monthly), horizon=4, units=8, epochs=1, lags=(), model="rnn")
    assert train(no_lags, tmp_path / "m2").state["lags"] == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("month,a\n2020-01,1\n2020-02,2\n2020-04,3\n", ":4: time '2020-04' is 2 steps after"),
        ("month,a,a\n2020-01,1,2\n", ":1: column 3 has the name 'a' of an earlier column"),
        (
            "series,time,value\nx,2020-01,1\nx,2020-02,2\ny,2020-01-01,3\ny,2020-01-02,4\n",
            ":4: series 'y' has times like '2020-01-01', at another frequency",
        ),
        ('year,a\n2000,"1\n', ":2: not CSV"),
    ],
)
def test_gaps_names_and_frequencies_are_checked(tmp_path, body, expected):
    path = tmp_path / "s.csv"
    path.write_text(body)
    with pytest.raises(InputFileError, match=expected):
        read_series_csv(path)


def test_line_endings_quoted_newlines_and_trailing_empty_values(tmp_path):
    path = tmp_path / "cr.csv"
    path.write_bytes(b"time,a\r1,1\r2,3\r")  # old Mac line ends
    assert list(read_series_csv(path).series[0].values) == [1, 3]
    path.write_text('series,time,value\n"a\nb",1,1\n"a\nb",2,2\na,1,1\na,2,x\n')
    with pytest.raises(InputFileError, match=r"cr.csv:7: value 'x' is not a number"):
        read_series_csv(path)  # the line the record starts on, after a quoted line break
    path.write_text("series,time,value\nA,1,1\nA,2,2\nA,3,\n   \n")
    (a,) = read_series_csv(path, fill="previous").series
    assert list(a.values) == [1, 2] and a.future == 0  # an empty end is no value to fill


def test_covariates_are_matched_by_name(tmp_path, capsys):
    values = cycles(84)
    rows = ["series,time,value,promo,holiday"]
    rows += [f"s,{t},{values[t]:.3f},{t % 3 == 0:d},{t % 7 == 0:d}" for t in range(84)]
    rows[-4:] = [f"s,{t},,{t % 3 == 0:d},{t % 7 == 0:d}" for t in range(80, 84)]
    path = tmp_path / "train.csv"
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    args = ["train", "--data", str(path), "--horizon", "4", "--units", "8", "--epochs", "2"]
    assert run([*args, "--quiet", "--out", str(out)], capsys)[0] == 0
    code, first, _ = run(["predict", str(out), "--input", str(path)], capsys)
    swapped = tmp_path / "swapped.csv"
    swapped.write_text(
        "\n".join(",".join(r.split(",")[i] for i in (0, 1, 2, 4, 3)) for r in rows) + "\n"
    )
    code, second, err = run(["predict", str(out), "--input", str(swapped)], capsys)
    assert code == 0, err
    assert first == second
    other = tmp_path / "other.csv"
    other.write_text("\n".join(r.rsplit(",", 1)[0] for r in rows) + "\n")
    code, _, err = run(["predict", str(out), "--input", str(other)], capsys)
    assert code == 2 and "covariates promo; expected the ones the model was trained" in err


def test_flat_histories_fall_back_to_the_naive_forecast():
    baselines = Baselines()
    forecasts = baselines.forecast(np.array([3.0, 3, 3, 3]), 3, season=1)
    assert all(list(f) == [3, 3, 3] for f in forecasts.values())
    assert baselines.fallbacks["theta"] == 1 and baselines.fallbacks["ets"] == 1


def test_no_training_window_reads_or_predicts_the_held_out_points(series_file):
    from rnnlab.kinds.forecast import ForecastKind

    config = ForecastConfig(data=str(series_file), horizon=5, backtest=2, lags=(3,), model="rnn")
    config, _, prepared = ForecastKind().ready(config)
    train, val = prepared.train, prepared.val
    offsets = np.cumsum([0, *train.lengths])
    for i, length in enumerate(train.lengths):
        cuts = train.cuts[train.series == i] - offsets[i]
        assert cuts.min() == prepared.state["lookback"] + 3  # room for the window and lag
        assert cuts.max() + 5 == length - 2 * 5  # the last target: just before the backtest
        (last,) = val.cuts[val.series == i] - offsets[i]
        assert last == cuts.max()  # the in-sample validation window: the last training one
    assert config.intervals == "conformal"


def test_best_epoch_and_training_time_are_the_whole_runs(series_file, tmp_path):
    """``best_epoch`` is the epoch of the best validation loss, early stopping or not, and
    ``train_seconds`` counts the epochs before an interruption too."""
    from commands import stopped_at_epoch

    config = ForecastConfig(data=str(series_file), horizon=5, units=8, epochs=4)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt), stopped_at_epoch(2):
        train(config, out)
    before = json.loads((out / "checkpoint" / "state.json").read_text())["seconds"]
    assert before > 0
    run = train(None, out, resume=True)
    losses = json.loads((out / "metrics.json").read_text())
    history = (out / "history.csv").read_text().splitlines()
    column = history[0].split(",").index("val_loss")
    values = [float(row.split(",")[column]) for row in history[1:]]
    assert run.metrics["best_epoch"] == values.index(min(values)) + 1 > 1  # not the first
    assert losses["train_seconds"] > before and run.metrics["epochs"] == 4


def test_the_backtest_picture_is_dated_as_the_file_dates_its_series(tmp_path, monkeypatch):
    from rnnlab.kinds.forecast import pictures
    from rnnlab.kinds.forecast.backtest import Backtest

    path = tmp_path / "s.csv"
    path.write_text(
        "month,x\n" + "".join(f"{2000 + m // 12}-{m % 12 + 1:02d},{m}\n" for m in range(36))
    )
    data = read_series_csv(path)
    h, cut = 4, 32
    window = np.zeros(h)
    result = Backtest(
        h, 1, {"rnnlab": [window]}, [(window, window)], [window], [1.0], [(0, cut)], {}
    )
    drawn = {}
    monkeypatch.setattr(pictures, "png_bytes", lambda fig, dpi: drawn.setdefault("fig", fig))
    pictures.backtest_png(result, data.series, clock=data.clock)
    labels = [t.get_text() for t in drawn["fig"].axes[0].get_xticklabels()]
    # the axis runs from 4 horizons before the cut (month 16: 2001-05) to the last month
    assert labels[0] == "2001-05" and labels[-1] == "2002-12"


def test_padded_windows_read_only_their_series_and_flag_the_padding():
    short, other = np.array([1.0, 2.0, 3.0]), np.full(10, 1000.0)
    windows = SeriesWindows(
        [short, other], None, lookback=5, horizon=1, ends=[(2, 2), (9, 9)], lags=(1,), padded=True
    )
    batch = windows.batch(np.array([0, 1]))
    assert batch.window.shape == (2, 5, 2 + 1 + 1)  # change, level, lag 1, observed
    first = batch.window[0]
    assert first[:, 3].tolist() == [0, 0, 0, 1, 1]
    assert first[:3].abs().max() == 0  # padding reads nothing, not the series before
    assert first[3:, 1].tolist() == [1.0, 2.0] and first[3:, 0].tolist() == [-1.0, 0.0]
    assert first[3:, 2].tolist() == [0.0, -1.0]  # the lag before the series is 0 as well
    assert batch.window[1, :, 3].tolist() == [1] * 5 and batch.target[0].tolist() == [1.0]
    window, _, last = window_inputs(short[:2], 5, lags=(1,), padded=True)
    assert torch.equal(window[0], first) and last == 2.0


def test_short_series_among_long_ones_pad_instead_of_cutting_the_lookback(tmp_path, capsys):
    columns = {"a": cycles(120) - 60, "b": cycles(100, seed=1), "tiny": np.array([1.0, -2, 3])}
    path = wide_csv(tmp_path / "signed.csv", columns)
    out = tmp_path / "run"
    args = ["train", "--data", str(path), "--horizon", "5", "--units", "8", "--epochs", "2"]
    code, _, err = run([*args, "--out", str(out)], capsys)
    assert code == 0, err
    assert "lookback 15: 1 series shorter than a window of 15" in err
    assert "backtest: 1 series too short for 1 window of 5" in err and "'tiny'" in err
    model = rnnlab.load(out)
    assert model.state["padded"] and model.lookback == 15
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "rnn" and metrics["backtest_skipped"] == 1
    forecast = model.forecast([columns["tiny"]])[0]
    assert forecast.shape == (5, 3) and np.isfinite(forecast).all()
    with pytest.raises(InputFileError, match="expected at least 2"):
        model.predict([[4.0]])
