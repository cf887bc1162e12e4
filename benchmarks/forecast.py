"""Forecasting on public series that ship with statsmodels and aeon: rnnlab's ``train --kind
forecast`` defaults beside naive, seasonal naive, Theta, a damped ETS and an automatic ETS
(statsmodels), and, with ``--statsforecast-python``, statsforecast's AutoARIMA, AutoTheta and
AutoETS, on the same cut of every series, on the last window and the one before it.

    python -m benchmarks.forecast                        # every set found, 2 windows
    python -m benchmarks.forecast sunspots lynx          # some of them
    python -m benchmarks.forecast --aeon-data DIR        # aeon's datasets/data from elsewhere
    python -m benchmarks.forecast --statsforecast-python /tmp/sfvenv/bin/python
    python -m benchmarks.forecast --windows 1 --backtest 3   # the last 3 windows of H, once
    python -m benchmarks.forecast --png forecast_mase.png --pictures docs/
    python -m benchmarks.forecast -- --model rnn --ensemble 5   # options after -- for `train`
    python -m benchmarks.forecast --tiny-series 100000   # only: 100,000 series of 3 values

Each set is written as a long CSV into a temporary folder and trained with ``rnnlab train
--kind forecast --data FILE --horizon H --season M`` (in this process, the same code); the
last ``--backtest`` windows of H points of every series are held out, and rnnlab (trained
on what precedes them) and the baselines (fitted on the history before each window) forecast
them. ``--windows 2`` (the default) does it again with every series cut by H first, so that
the window before the last is scored by a model that never saw it: both tables and their
mean are printed, and the targets judged on each. MASE is scaled by each history's in-sample
seasonal naive error; the tables print each baseline's MASE over rnnlab's (above 1: rnnlab is
better). statsforecast needs pandas < 3 and pyarrow, so it runs in its own environment
(``benchmarks/statsforecast_runner.py``): ``python3.11 -m venv /tmp/sfvenv;
/tmp/sfvenv/bin/pip install statsforecast``. Nothing is fetched or copied.

``--tiny-series N`` measures the scale of a file instead: N series of 3 values each, trained
for one epoch (``rnnlab train --data FILE --horizon 1 --epochs 1`` in a fresh process), its
wall time, the part of it spent training, and its peak resident memory (``os.wait4``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

# (set, horizon): the horizons the forecasting literature uses for each
SETS = (
    ("airline", 12),
    ("co2", 24),
    ("sunspots", 11),
    ("lynx", 10),
    ("nile", 10),
    ("elnino", 12),
    ("shampoo", 6),
    ("macrodata", 8),
    ("m1-yearly", 6),
)
# MASE targets on the last window: the best classical figure each had to beat, and the best
TARGETS = {"m1-yearly": 3.435, "airline": 0.865, "co2": 0.508}
MOONSHOTS = {"m1-yearly": 3.3, "airline": 0.362, "co2": 0.165}
METHODS = ("rnnlab", "naive", "seasonal_naive", "theta", "ets", "auto_ets")
STATSFORECAST = ("auto_arima", "auto_theta", "auto_ets_sf")  # with --statsforecast-python
LABELS = {
    "rnnlab": "rnnlab",
    "naive": "naive",
    "seasonal_naive": "seasonal naive",
    "theta": "Theta",
    "ets": "ETS",
    "auto_ets": "auto ETS",
    "auto_arima": "AutoARIMA (sf)",
    "auto_theta": "AutoTheta (sf)",
    "auto_ets_sf": "AutoETS (sf)",
}


def methods(rows: list[dict]) -> tuple[str, ...]:
    """The methods every row holds: rnnlab's own, and statsforecast's where it ran."""
    return METHODS + tuple(m for m in STATSFORECAST if all(f"{m}_mase" in r for r in rows))


ONE_SERIES_SECONDS, COLLECTION_SECONDS, M1_SECONDS = 60, 300, 120


def mase_of(metrics: dict, method: str) -> float:
    return metrics["mase" if method == "rnnlab" else f"{method}_mase"]


def synthetic_collection(count: int, seed: int = 0):
    """``count`` short quarterly series (24-60 points): a drifting level, a season of 4 with
    its own amplitude, noise. For the training time of a collection, not its accuracy."""
    import numpy as np

    from rnnlab.data.series import Series, SeriesSet

    rng = np.random.default_rng(seed)
    series = []
    for i in range(count):
        n = int(rng.integers(24, 61))
        t = np.arange(n)
        level = 100 + np.cumsum(rng.normal(rng.normal(0.5, 0.5), 1.0, n))
        season = rng.uniform(0, 5) * np.sin(2 * np.pi * t / 4 + rng.uniform(0, 6.3))
        series.append(Series(f"s{i}", level + season + rng.normal(0, 1, n)))
    return SeriesSet(series, 4, [], f"{count} synthetic series", "quarterly")


def tiny_series(count: int, folder: Path) -> str:
    """One line: a fresh ``rnnlab train`` of one epoch on ``count`` series of 3 values."""
    import os
    import subprocess
    import time

    import numpy as np

    rng = np.random.default_rng(0)
    path = folder / f"tiny-{count}.csv"
    values = rng.normal(10, 1, (count, 3))
    rows = (f"s{i},{t},{v:.3f}" for i in range(count) for t, v in enumerate(values[i], 1))
    path.write_text("series,time,value\n" + "\n".join(rows) + "\n")
    out = folder / "run-tiny"
    command = [sys.executable, "-m", "rnnlab", "train", "--data", str(path), "--horizon", "1"]
    command += ["--epochs", "1", "--quiet", "--out", str(out)]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        return f"{count:,} series of 3 values: train failed (exit {status})"
    trained = json.loads((out / "metrics.json").read_text())["train_seconds"]
    return (
        f"{count:,} series of 3 values ({path.stat().st_size / 2**20:.1f} MiB of CSV): "
        f"{wall:.0f} s in all, {trained:.0f} s of it training one epoch; peak "
        f"{usage.ru_maxrss / 1024:,.0f} MiB resident"
    )


def earlier(data, steps: int):
    """``data`` without the last ``steps`` values of every series (a series left with fewer
    than 2 is dropped): the origin of an earlier backtest window."""
    from dataclasses import replace

    from rnnlab.data.series import Series

    kept = [
        Series(s.name, s.values[:-steps], None if s.covariates is None else s.covariates[:-steps])
        for s in data.series
        if len(s) - steps >= 2
    ]
    return replace(data, series=kept, clock=None)


def statsforecast_scores(python: str, data, horizon: int, backtest: int, folder: Path) -> dict:
    """statsforecast's AutoARIMA, AutoTheta and AutoETS on the backtest windows rnnlab
    scores (a series with fewer than 2 values before them is skipped, as rnnlab's hybrid
    skips it), in their own interpreter: MASE, sMAPE and 80% coverage."""
    import subprocess

    import numpy as np

    from rnnlab.forecast_measures import coverage, mase, mase_scale, smape

    histories, actuals = [], []
    for s in data.series:
        if len(s) - backtest * horizon < 2:
            continue
        for w in range(backtest, 0, -1):
            cut = len(s) - w * horizon
            histories.append(s.values[:cut])
            actuals.append(s.values[cut : cut + horizon])
    source, target = folder / "statsforecast-in.json", folder / "statsforecast-out.json"
    task = {"season": data.season, "horizon": horizon, "histories": [h.tolist() for h in histories]}
    source.write_text(json.dumps(task))
    runner = Path(__file__).with_name("statsforecast_runner.py")
    subprocess.run([python, str(runner), str(source), str(target)], check=True)
    out = {}
    for method, result in json.loads(target.read_text()).items():
        scales = [mase_scale(h, data.season) for h in histories]
        scores = [
            mase(a, np.asarray(f), sc)
            for a, f, sc in zip(actuals, result["mean"], scales, strict=True)
        ]
        out[f"{method}_mase"] = float(np.nanmean(scores))
        out[f"{method}_smape"] = float(
            np.mean([smape(a, np.asarray(f)) for a, f in zip(actuals, result["mean"], strict=True)])
        )
        out[f"{method}_coverage"] = coverage(
            np.concatenate(actuals),
            np.concatenate(result["lower"]),
            np.concatenate(result["upper"]),
        )
        out[f"{method}_fallbacks"] = result["fallbacks"]
        out[f"{method}_seconds"] = result["seconds"]
    return out


def run_set(
    name,
    horizon,
    backtest,
    aeon_data,
    folder: Path,
    options: list[str],
    pictures,
    window=0,
    statsforecast=None,
):
    """Train and backtest one set; ``window`` k > 0 first cuts the last k horizons of every
    series, so that the backtest scores the k-th window before the last."""
    from rnnlab.data.series import series_csv
    from rnnlab.data.series_sets import series_set
    from rnnlab.kinds import train
    from rnnlab.kinds.forecast import ForecastConfig

    if name.startswith("synthetic-"):
        data = synthetic_collection(int(name.split("-")[1]))
    else:
        data = series_set(name, aeon_data)
    if window:
        data = earlier(data, window * horizon)
        pictures = None
    path = folder / f"{name}-{window}.csv"
    path.write_text(series_csv(data))
    extra = parse_train_options(options)
    config = ForecastConfig(
        data=str(path), horizon=horizon, season=data.season, backtest=backtest, **extra
    )
    out = folder / f"run-{name}-{window}"
    metrics = train(config, out).metrics
    if pictures is not None and (out / "backtest.png").is_file():
        pictures.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "backtest.png", pictures / f"forecast_{name}.png")
    scores = {}
    if statsforecast:
        scores = statsforecast_scores(statsforecast, data, horizon, backtest, folder)
    return {
        **scores,
        "set": name,
        "window": window,
        "model": metrics["model"],
        "series": len(data.series),
        "horizon": horizon,
        "season": data.season,
        "lookback": metrics["lookback"],
        "seconds": metrics["train_seconds"],
        "coverage": metrics["interval_coverage"],
        **{f"{m}_mase": mase_of(metrics, m) for m in METHODS},
        **{f"{m}_smape": metrics["smape" if m == "rnnlab" else f"{m}_smape"] for m in METHODS},
    }


def parse_train_options(options: list[str]) -> dict:
    """``train`` options given after ``--`` (``--ensemble 5 --no-highway``) as config values,
    each converted like its field's default."""
    from dataclasses import fields

    from rnnlab.kinds.forecast import ForecastConfig

    by_name = {f.name: f for f in fields(ForecastConfig)}
    flags = {f.metadata["flag"]: f.name for f in by_name.values() if f.metadata["flag"]}
    values, i = {}, 0
    while i < len(options):
        option = options[i]
        if option in flags:
            values[flags[option]] = not by_name[flags[option]].default
            i += 1
            continue
        name = option.removeprefix("--").replace("-", "_")
        if name not in by_name or i + 1 >= len(options):
            raise SystemExit(f"benchmarks.forecast: unknown train option {option!r}")
        text, default = options[i + 1], by_name[name].default
        if isinstance(default, tuple):
            values[name] = tuple(float(v) for v in text.split(","))
        elif isinstance(default, str) or by_name[name].metadata["choices"]:
            values[name] = text
        else:
            values[name] = int(text) if text.lstrip("-").isdigit() else float(text)
        i += 2
    return values


def verdicts(rows: list[dict], where: str) -> list[str]:
    """The targets, judged on ``rows`` (one a set: a window's, or the windows' mean)."""
    lines = [f"on {where}:"]
    timed = [r for r in rows if r["set"].startswith("synthetic-")]
    rows = [r for r in rows if r not in timed]  # the synthetic collection only times
    singles = [r for r in rows if r["series"] == 1]

    def beaten(*methods_: str) -> list[str]:
        return [r["set"] for r in rows if r["rnnlab_mase"] < min(r[f"{m}_mase"] for m in methods_)]

    simple = beaten("naive", "seasonal_naive")
    lost = [r["set"] for r in rows if r["set"] not in simple]
    lines.append(
        f"  beats naive and seasonal naive: {len(simple)} of {len(rows)} sets"
        + (f" (not {', '.join(lost)})" if lost else "")
    )
    for method, label in (("ets", "ETS"), ("auto_ets", "auto ETS"), ("theta", "Theta")):
        won = beaten(method)
        lines.append(f"  beats {label}: {len(won)} of {len(rows)} ({', '.join(won) or 'none'})")
    for r in rows:
        if r["set"] in TARGETS:
            target, moonshot = TARGETS[r["set"]], MOONSHOTS[r["set"]]
            verdict = "met" if r["rnnlab_mase"] < target else "NOT met"
            verdict += ", moonshot met" if r["rnnlab_mase"] < moonshot else ""
            lines.append(
                f"  {r['set']}: rnnlab {r['rnnlab_mase']:.3f}, target below {target} "
                f"({verdict}; moonshot {moonshot}), {r['seconds']:.0f} s of training"
                + (f" (target {M1_SECONDS} s)" if r["series"] > 1 else "")
            )
    calibrated = [r["set"] for r in rows if 0.75 <= r["coverage"] <= 0.85]
    lines.append(
        f"  80% interval covers 75-85%: {len(calibrated)} of {len(rows)} sets ("
        + ", ".join(f"{r['set']} {r['coverage']:.0%}" for r in rows)
        + ")"
    )
    for r in timed:
        lines.append(
            f"  {r['set']} ({r['series']} series, 24-60 points): {r['seconds']:.0f} s of "
            f"training (target {COLLECTION_SECONDS} s)"
        )
    if singles:
        slowest = max(singles, key=lambda r: r["seconds"])
        lines.append(
            f"  slowest single-series training: {slowest['set']}, {slowest['seconds']:.0f} s "
            f"(target {ONE_SERIES_SECONDS} s)"
        )
    return lines


def mean_rows(rows: list[dict]) -> list[dict]:
    """One row a set: each measure's mean over the set's windows."""
    import numpy as np

    out = []
    for name in dict.fromkeys(r["set"] for r in rows):
        mine = [r for r in rows if r["set"] == name]
        mean = dict(mine[0])
        for key, value in mean.items():
            if isinstance(value, float):
                mean[key] = float(np.mean([r[key] for r in mine]))
        out.append(mean)
    return out


def table(rows: list[dict], measure: str) -> str:
    shown = methods(rows)
    head = f"{'set':<11}{'n':>4}{'H':>4}" + "".join(f"{m:>16}" for m in shown)
    lines = [head]
    for r in rows:
        cells = []
        for m in shown:
            value = r[f"{m}_{measure}"]
            if measure == "mase" and m != "rnnlab":
                cells.append(f"{value:>9.3f} ({value / r['rnnlab_mase']:.2f})")
            else:
                cells.append(f"{value:>16.3f}")
        lines.append(
            f"{r['set']:<11}{r['series']:>4}{r['horizon']:>4}" + "".join(f"{c:>16}" for c in cells)
        )
    return "\n".join(lines)


def mase_png(rows: list[dict], path: Path, title: str) -> None:
    import numpy as np

    from rnnlab.plots.figures import png_bytes, pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    x = np.arange(len(rows))
    shown = methods(rows)
    width = 0.8 / len(shown)
    for j, m in enumerate(shown):
        values = [r[f"{m}_mase"] for r in rows]
        ax.bar(x + (j - len(shown) / 2 + 0.5) * width, values, width, label=LABELS[m])
    ax.set_xticks(x, [r["set"] for r in rows])
    ax.set(ylabel="MASE (lower is better)", title=title)
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(ncol=5, fontsize=8)
    fig.tight_layout()
    path.write_bytes(png_bytes(fig, dpi=100))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sets", nargs="*", help=f"sets (default: {', '.join(s for s, _ in SETS)})")
    p.add_argument("--aeon-data", type=Path, help="aeon's datasets/data folder")
    p.add_argument("--backtest", type=int, default=1, help="windows of H held out (default 1)")
    p.add_argument(
        "--windows",
        type=int,
        default=2,
        help="train and backtest each set this many times, each origin H steps before the "
        "next: the last window, the one before it, ... (default 2)",
    )
    p.add_argument(
        "--many",
        type=int,
        default=400,
        help="also time a collection of this many synthetic short series (0: not)",
    )
    p.add_argument(
        "--tiny-series", type=int, help="only time N series of 3 values each (one epoch)"
    )
    p.add_argument(
        "--statsforecast-python",
        help="an interpreter with statsforecast installed: AutoARIMA, AutoTheta and AutoETS "
        "beside, on the same windows (benchmarks/statsforecast_runner.py)",
    )
    p.add_argument("--png", type=Path, help="also draw the MASE of every method and set")
    p.add_argument("--pictures", type=Path, help="copy each run's backtest.png into this folder")
    p.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    argv = list(sys.argv[1:] if argv is None else argv)
    options = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = p.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    from rnnlab.data.series_sets import AEON_SETS, aeon_folder
    from rnnlab.models.statistical import require_statsmodels

    require_statsmodels()
    if args.tiny_series:
        with tempfile.TemporaryDirectory() as tmp:
            print(tiny_series(args.tiny_series, Path(tmp)), flush=True)
        return 0
    aeon_data = args.aeon_data or aeon_folder()
    horizons = dict(SETS)
    names = list(args.sets or horizons)
    if args.many:
        names.append(f"synthetic-{args.many}")
        horizons[names[-1]] = 8
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            if name in AEON_SETS and (aeon_data is None or not Path(aeon_data).is_dir()):
                print(f"{name}: skipped (aeon's data not found; install aeon or --aeon-data)")
                continue
            windows = 1 if name.startswith("synthetic-") else args.windows
            for window in range(windows):
                row = run_set(
                    name,
                    horizons[name],
                    args.backtest,
                    aeon_data,
                    Path(tmp),
                    options,
                    args.pictures,
                    window,
                    args.statsforecast_python,
                )
                rows.append(row)
                print(json.dumps(row), flush=True)
    if not rows:
        return 1
    for window in range(args.windows):
        part = [r for r in rows if r["window"] == window]
        where = "the last window" if not window else f"the window {window} before the last"
        print(f"\nMASE, {where} of H (baseline / rnnlab):")
        print(table(part, "mase"))
        print("\nsMAPE (%):")
        print(table(part, "smape"))
    means = mean_rows(rows)
    if args.windows > 1:
        print(f"\nMASE, the mean of the {args.windows} windows (baseline / rnnlab):")
        print(table(means, "mase"))
        print("\nsMAPE (%), the mean of the windows:")
        print(table(means, "smape"))
    print(
        "\nrnnlab interval (10%-90%) coverage, by window: "
        + ", ".join(f"{r['set']}/{r['window']} {r['coverage']:.0%}" for r in rows)
    )
    print(
        "training seconds: "
        + ", ".join(f"{r['set']}/{r['window']} {r['seconds']:.0f}" for r in rows)
    )
    print()
    print("\n".join(verdicts([r for r in rows if r["window"] == 0], "the last window")))
    if args.windows > 1:
        print("\n".join(verdicts(means, f"the mean of the {args.windows} windows")))
    if args.png is not None:
        where = "the last window" if args.windows == 1 else f"the mean of {args.windows} windows"
        mase_png(means, args.png, f"forecasts of H points, {where} of H of each series")
        print(f"written: {args.png}")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
