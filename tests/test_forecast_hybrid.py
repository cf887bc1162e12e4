"""The forecast kind's hybrid model (``--model hybrid``): the smoothing layer, the histories
and their padded windows, training and forecasting through the commands, the series too short
for the backtest, and the bad inputs it must name."""

import contextlib
import io
import json

import numpy as np
import pytest
import torch
from commands import run_cli

from rnnlab.data.series_histories import HistoryWindows, history_batch, initial_factors
from rnnlab.data.series_histories import seasonal as shows_season
from rnnlab.kinds.runs import load
from rnnlab.layers.smoothing import SeriesSmoothing, level_wiggle
from rnnlab.models.hybrid import Hybrid, HybridConfig
from rnnlab.models.statistical import Baselines, auto_ets

pytest.importorskip("statsmodels")

TINY = ["--units", "8", "--epochs", "4", "--quiet"]


def seasonal(n: int, season: int = 4, growth: float = 0.02, seed: int = 0) -> np.ndarray:
    """A positive series: a level growing geometrically, a multiplicative season, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    shape = 1 + 0.3 * np.sin(2 * np.pi * t / season + seed)
    return 100 * np.exp(growth * t) * shape * np.exp(rng.normal(0, 0.02, n))


def long_csv(path, columns: dict[str, np.ndarray]):
    rows = ["series,time,value"]
    for name, values in columns.items():
        rows += [f"{name},{t + 1},{v:.6g}" for t, v in enumerate(values)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """Twelve quarterly series of 12-40 values, and one of 3 among them."""
    columns = {f"s{i}": seasonal(12 + 3 * i, seed=i) for i in range(10)}
    columns["short"] = seasonal(3, seed=11)
    return long_csv(tmp_path_factory.mktemp("hybrid") / "panel.csv", columns)


def words(*args) -> list[str]:
    return [str(a) for a in args]


@pytest.fixture(scope="module")
def hybrid_run(panel, tmp_path_factory):
    from rnnlab.cli import main

    out = tmp_path_factory.mktemp("runs") / "hybrid"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        args = ["train", "--data", panel, "--horizon", 4, "--season", 4, *TINY[:-1]]
        args += ["--ensemble", 1]  # one seed: the other tests run the default three
        code = main(words(*args, "--out", out))
    assert code == 0
    return out, printed.getvalue()


# -- the smoothing ----------------------------------------------------------------------------


def smoothing(alpha: float, gamma: float, series: int = 1, season: int = 1) -> SeriesSmoothing:
    layer = SeriesSmoothing(series, season)
    with torch.no_grad():
        layer.level.fill_(torch.logit(torch.tensor(alpha)))
        if season > 1:
            layer.seasonal.fill_(torch.logit(torch.tensor(gamma)))
    return layer


def test_a_level_coefficient_near_1_follows_the_series_and_near_0_keeps_its_start():
    values = torch.tensor([[1.0, 2.0, 4.0, 3.0, 5.0]])
    rows, factors = torch.zeros(1, dtype=torch.long), torch.ones(1, 1)
    follows, _ = smoothing(0.999999, 0.5)(values, rows, factors)
    assert torch.allclose(follows, values, atol=1e-4)
    keeps, _ = smoothing(1e-6, 0.5)(values, rows, factors)
    assert torch.allclose(keeps, torch.ones_like(values), atol=1e-4)


def test_an_exactly_multiplicative_season_leaves_a_constant_level():
    shape = np.array([0.8, 1.1, 1.3, 0.8])
    values = np.tile(shape, 6) * 50.0
    factors = torch.from_numpy(initial_factors(values, 4)).float()[None]
    assert np.allclose(factors.numpy(), shape / shape.mean(), atol=1e-6)
    layer = smoothing(0.4, 0.3, season=4)
    levels, seasons = layer(
        torch.tensor(values[None], dtype=torch.float32), torch.zeros(1).long(), factors
    )
    assert torch.allclose(levels, torch.full_like(levels, 50.0 * shape.mean()), rtol=1e-5)
    assert seasons.shape == (1, 24 + 4)
    assert torch.allclose(seasons[0, -4:], factors[0], rtol=1e-5)


def test_seasonal_factors_start_from_a_season_the_series_shows():
    rng = np.random.default_rng(0)
    t = np.arange(48)
    monthly = 100 * (1 + 0.01 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    assert shows_season(monthly, 12)
    factors = initial_factors(monthly, 12)
    assert factors.mean() == pytest.approx(1.0) and factors.argmax() in (2, 3, 4)
    noise = 100 + np.cumsum(rng.normal(0, 1, 48))  # a random walk: no season
    assert not shows_season(noise, 12) and initial_factors(noise, 12).tolist() == [1.0] * 12
    assert not shows_season(np.full(48, 5.0), 12) and not shows_season(monthly[:20], 12)


def test_a_new_series_gets_the_median_coefficients():
    layer = SeriesSmoothing(3, 1)
    with torch.no_grad():
        layer.level.copy_(torch.tensor([-2.0, 0.0, 3.0]))
    alpha, _ = layer.coefficients(torch.tensor([2, -1]))
    assert torch.allclose(alpha, torch.tensor([3.0, 0.0]).sigmoid())


def test_the_level_wiggle_is_the_mean_squared_second_difference_of_log_levels():
    growth = torch.exp(0.1 * torch.arange(6.0))[None]
    assert level_wiggle(growth, torch.tensor([6])).item() == pytest.approx(0.0, abs=1e-10)
    levels = torch.tensor([[1.0, 2.0, 2.0, 8.0, 99.0]])  # the last step is padding
    logs = np.log([1.0, 2.0, 2.0, 8.0])
    second = np.diff(logs, 2)
    expected = float(np.mean(second**2))
    assert level_wiggle(levels, torch.tensor([4])).item() == pytest.approx(expected, rel=1e-5)
    assert level_wiggle(levels[:, :2], torch.tensor([2])).item() == 0.0  # no 3 steps: none


# -- histories and windows --------------------------------------------------------------------


def test_windows_of_a_short_history_are_left_padded_and_never_read_a_neighbour():
    short, other = np.array([1.0, 2.0, 3.0]), np.full(10, 1000.0)
    data = HistoryWindows([short, other], horizon=1, season=1, ends=[(2, 2), (9, 9)])
    batch = data.batch(np.array([0, 1]))
    model = Hybrid(HybridConfig(series=2, season=1, horizon=1, lookback=6))
    with torch.no_grad():
        model.smoothing.level.fill_(20.0)  # alpha ~ 1: the level is the last value
    normalised = model.normalise(batch)
    window = normalised.window[0]  # the short series' window, cut at 2: it read 2 values
    assert window[:, 1].tolist() == [0, 0, 0, 0, 1, 1]
    assert window[:4, 0].abs().max() == 0
    assert window[4, 0].item() == pytest.approx(np.log(1 / 2), abs=1e-4)
    assert normalised.target(batch, 1)[0, 0].item() == pytest.approx(np.log(3 / 2), abs=1e-4)
    assert normalised.levels.tolist() == pytest.approx([2.0, 1000.0], rel=1e-4)


def test_a_batch_holds_the_histories_of_its_windows_once():
    histories = [np.arange(1.0, 9.0), np.arange(1.0, 6.0), np.arange(2.0, 12.0)]
    data = HistoryWindows(histories, horizon=2, season=1, ends=[(2, 6), (2, 3), (1, 0)])
    assert len(data) == 5 + 2  # the third series holds no window
    batch = data.batch(np.array([6, 0, 5]))
    assert batch.rows.tolist() == [0, 1] and batch.values.shape == (2, 8)
    assert batch.values[1, 5:].tolist() == [5.0, 5.0, 5.0]  # right-padded with the last value
    assert batch.history.tolist() == [1, 0, 1] and batch.cuts.tolist() == [3, 2, 2]
    assert len(batch.subset(slice(1, 3))) == 2


def test_forecast_batch_cuts_after_each_history():
    batch = history_batch([np.ones(3), np.ones(5)], [0, -1], 1)
    assert batch.cuts.tolist() == [3, 5] and batch.rows.tolist() == [0, -1]


# -- the commands -----------------------------------------------------------------------------


def test_positive_series_train_the_hybrid_and_name_the_series_too_short(hybrid_run):
    out, printed = hybrid_run
    assert "model: hybrid" in printed
    assert "1 series too short for 1 window of 4" in printed and "'short'" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "hybrid"
    assert metrics["backtest_skipped"] == 1
    assert metrics["backtest_forecasts"] == 10
    assert np.isfinite(metrics["mase"]) and metrics["mase"] > 0
    assert (out / "backtest.png").stat().st_size > 0


def test_a_hybrid_run_reloads_and_forecasts_seen_and_new_series(hybrid_run):
    out, _ = hybrid_run
    run_ = load(out)
    seen = run_.forecast([_series("s3", seasonal(21, seed=3))])[0]
    new = run_.predict([seasonal(9, seed=42)])[0]
    assert seen.shape == (4, 3) and new.shape == (4,)
    assert np.isfinite(seen).all() and (seen > 0).all()
    assert (np.diff(seen, axis=1) >= 0).all()  # lower <= median <= upper
    corrections = run_.state["interval_corrections"]  # conformal: they only ever widen
    assert len(corrections) == 4 and min(corrections) >= 0
    with pytest.raises(ValueError, match="values <= 0"):
        run_.predict([np.array([1.0, -2.0, 3.0])])


def _series(name, values):
    from rnnlab.data.series import Series

    return Series(name, values)


@pytest.mark.slow
def test_predict_and_evaluate_on_a_file(hybrid_run, panel, capsys):
    out, _ = hybrid_run
    code, printed, _ = run_cli(words("predict", out, "--input", panel), capsys)
    assert code == 0
    lines = printed.strip().splitlines()
    assert lines[0].startswith("series,step,forecast,lower,upper")
    assert len(lines) == 1 + 11 * 4
    code, printed, _ = run_cli(words("evaluate", out, "--data", panel, "--json"), capsys)
    assert code == 0
    measures = json.loads(printed)
    assert measures["backtest_skipped"] == 1 and np.isfinite(measures["mase"])


@pytest.mark.slow
def test_seeded_hybrid_runs_are_reproducible(panel, tmp_path, capsys):
    forecasts = []
    for name in ("a", "b"):
        out = tmp_path / name
        args = ["train", "--data", panel, "--horizon", "4", "--season", "4", *TINY]
        assert run_cli(words(*args, "--out", out), capsys)[0] == 0
        forecasts.append(load(out).predict([seasonal(20, seed=5)])[0])
    assert np.array_equal(forecasts[0], forecasts[1])


def test_values_not_positive_train_the_rnn_or_are_refused_for_the_hybrid(tmp_path, capsys):
    path = long_csv(tmp_path / "signed.csv", {"a": seasonal(40) - 150, "b": seasonal(40, seed=1)})
    args = ["train", "--data", path, "--horizon", "4", *TINY]
    code, _, err = run_cli(words(*args, "--model", "hybrid", "--out", tmp_path / "h"), capsys)
    assert code == 2 and "series 'a' has values <= 0" in err and "--model rnn" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "h").exists()
    assert run_cli(words(*args, "--out", tmp_path / "auto"), capsys)[0] == 0
    assert json.loads((tmp_path / "auto" / "metrics.json").read_text())["model"] == "rnn"


@pytest.mark.parametrize(
    "columns",
    [
        {"one": np.array([5.0]), "long": seasonal(30)},  # a single value
        {"flat": np.full(30, 7.0), "long": seasonal(30)},  # constant
        {"huge": np.r_[seasonal(29), 1e300], "long": seasonal(30)},  # one value of 1e300
        {"zeros": np.zeros(30), "long": seasonal(30)},  # all zero: the rnn model
    ],
    ids=["single-value", "constant", "1e300", "all-zero"],
)
def test_odd_series_give_finite_forecasts(columns, tmp_path, capsys):
    path = long_csv(tmp_path / "odd.csv", columns)
    out = tmp_path / "run"
    args = ["train", "--data", path, "--horizon", 4, "--season", 1, *TINY, "--out", out]
    code, _, err = run_cli(words(*args), capsys)
    assert code == 0, err
    code, printed, _ = run_cli(words("predict", out, "--input", path), capsys)
    assert code == 0
    numbers = [float(x) for line in printed.splitlines()[1:] for x in line.split(",")[2:5]]
    assert numbers and np.isfinite(numbers).all()


def test_onnx_export_of_a_hybrid_run_is_refused_in_one_line(hybrid_run, tmp_path, capsys):
    pytest.importorskip("onnx")
    out, _ = hybrid_run
    code, _, err = run_cli(
        words("export", out, "--format", "onnx", "--out", tmp_path / "onnx"), capsys
    )
    assert code == 2 and "hybrid forecaster" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "onnx").exists()


# -- the automatic ETS ------------------------------------------------------------------------


def test_auto_ets_follows_a_trend_and_a_season():
    t = np.arange(48)
    trend = 10 + 0.5 * t
    assert np.allclose(auto_ets(trend, 4), 10 + 0.5 * np.arange(48, 52), rtol=0.02)
    season = 100 + 20 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 1, 48)
    forecast = auto_ets(season, 12, 12)
    truth = 100 + 20 * np.sin(2 * np.pi * np.arange(48, 60) / 12)
    assert np.abs(forecast - truth).mean() < 3


def test_auto_ets_falls_back_to_naive_on_a_history_too_short_and_counts_it():
    fitter = Baselines(("naive", "auto_ets"))
    out = fitter.forecast(np.array([3.0, 4.0, 5.0, 4.0]), 3, 1)
    assert out["auto_ets"].shape == (3,) and np.isfinite(out["auto_ets"]).all()
    short = fitter.forecast(np.array([3.0, 4.0]), 3, 1)
    assert short["auto_ets"].tolist() == [4.0, 4.0, 4.0] and fitter.fallbacks["auto_ets"] >= 1


@pytest.mark.parametrize("model", ["hybrid", "rnn"])
def test_no_backtest_where_no_series_could_train_without_it(model, tmp_path, capsys):
    path = long_csv(tmp_path / "short.csv", {f"s{i}": seasonal(9, seed=i) for i in range(3)})
    out = tmp_path / "run"
    args = ["train", "--data", path, "--horizon", 6, "--model", model, *TINY[:-1], "--out", out]
    code, _, err = run_cli(words(*args), capsys)
    assert code == 0, err
    assert "backtest: none; no series holds a training window" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["backtest_skipped"] == 3 and "mase" not in metrics
    assert np.isfinite(load(out).predict([seasonal(9)])[0]).all()


def test_the_objective_predicts_every_window_in_z():
    from rnnlab.kinds.forecast.hybrid import HybridForecasting
    from rnnlab.models.hybrid import HybridEnsemble

    data = HistoryWindows([seasonal(20) / 100, seasonal(12, seed=1) / 100], 3, 1, [(2, 17), (2, 9)])
    model = HybridEnsemble(HybridConfig(series=2, season=1, horizon=3, lookback=6, outputs=3))
    objective = HybridForecasting([0.1, 0.5, 0.9], 0.0)
    z = objective.predict(model, data, 5)
    assert z.shape == (len(data), 3, 3) and torch.isfinite(z).all()
    assert objective.evaluate(model, data, 5)["loss"] > 0


@pytest.mark.slow
def test_a_large_backtest_leaves_the_automatic_ets_out_and_says_so(hybrid_run, panel, monkeypatch):
    import rnnlab.kinds.forecast.run as forecast_run
    from rnnlab.data.series import read_series_csv
    from rnnlab.kinds.forecast import backtest_table

    out, _ = hybrid_run
    monkeypatch.setattr(forecast_run, "AUTO_ETS_MOST", 5)  # 10 forecasts: over the limit
    measures = load(out).backtest(read_series_csv(panel).series, 1).measures()
    assert measures["baselines_left_out"] == ["auto_ets"] and "auto_ets_mase" not in measures
    assert "ets_mase" in measures
    measures.update(series=11, horizon=4)
    assert "auto ETS left out (too many forecasts to fit)" in backtest_table(measures)
