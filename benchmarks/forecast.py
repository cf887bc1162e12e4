"""Forecasting on public series that ship with statsmodels and aeon: rnnlab's ``train --kind
forecast`` defaults beside naive, seasonal naive, Theta and ETS (statsmodels), on the same
cut of every series, and a global model on the 181 yearly series of the M1 competition.

    python -m benchmarks.forecast                        # every set found
    python -m benchmarks.forecast sunspots lynx          # some of them
    python -m benchmarks.forecast --aeon-data DIR        # aeon's datasets/data from elsewhere
    python -m benchmarks.forecast --backtest 3           # the last 3 windows of H, not 1
    python -m benchmarks.forecast --png forecast_mase.png --pictures docs/
    python -m benchmarks.forecast -- --ensemble 5        # options after -- for `train`
    python -m benchmarks.forecast --tiny-series 100000   # only: 100,000 series of 3 values

Each set is written as a long CSV into a temporary folder and trained with ``rnnlab train
--kind forecast --data FILE --horizon H --season M`` (in this process, the same code); the
last ``--backtest`` windows of H points of every series are held out, and rnnlab (trained
on what precedes them) and the baselines (fitted on the history before each window) forecast
them. MASE is scaled by each history's in-sample seasonal naive error; the table prints each
baseline's MASE over rnnlab's (above 1: rnnlab is better). Nothing is fetched or copied.

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
CYCLICAL = ("sunspots", "lynx")  # where the issue expects rnnlab to beat every baseline
COLLECTION = "m1-yearly"  # the global model on many short series
METHODS = ("rnnlab", "naive", "seasonal_naive", "theta", "ets")
CLEAR_MARGIN = 1.1  # "a clear margin": the best baseline's MASE at least 10% above rnnlab's
ONE_SERIES_SECONDS, COLLECTION_SECONDS = 60, 300


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


def run_set(name, horizon, backtest, aeon_data, folder: Path, options: list[str], pictures):
    from rnnlab.data.series import series_csv
    from rnnlab.data.series_sets import series_set
    from rnnlab.kinds import train
    from rnnlab.kinds.forecast import ForecastConfig

    if name.startswith("synthetic-"):
        data = synthetic_collection(int(name.split("-")[1]))
    else:
        data = series_set(name, aeon_data)
    path = folder / f"{name}.csv"
    path.write_text(series_csv(data))
    extra = parse_train_options(options)
    config = ForecastConfig(
        data=str(path), horizon=horizon, season=data.season, backtest=backtest, **extra
    )
    out = folder / f"run-{name}"
    metrics = train(config, out).metrics
    if pictures is not None and (out / "backtest.png").is_file():
        pictures.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "backtest.png", pictures / f"forecast_{name}.png")
    return {
        "set": name,
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


def verdicts(rows: list[dict]) -> list[str]:
    lines = []
    timed = [r for r in rows if r["set"].startswith("synthetic-")]
    rows = [r for r in rows if r not in timed]  # the synthetic collection only times
    singles = [r for r in rows if r["series"] == 1]
    beats_simple = [
        r["set"] for r in rows if r["rnnlab_mase"] < min(r["naive_mase"], r["seasonal_naive_mase"])
    ]
    lines.append(f"beats naive and seasonal naive: {len(beats_simple)} of {len(rows)} sets")
    beats_theta = [r["set"] for r in rows if r["rnnlab_mase"] < r["theta_mase"]]
    lines.append(
        f"beats Theta: {len(beats_theta)} of {len(rows)} ({', '.join(beats_theta) or 'none'})"
    )
    for r in rows:
        if r["set"] in CYCLICAL:
            best = min(r[f"{m}_mase"] for m in METHODS[1:])
            margin = best / r["rnnlab_mase"]
            verdict = "clear" if margin >= CLEAR_MARGIN else "NOT clear"
            lines.append(
                f"{r['set']}: the best baseline's MASE / rnnlab's = {margin:.2f} ({verdict})"
            )
    for r in timed:
        lines.append(
            f"{r['set']} ({r['series']} series, 24-60 points): {r['seconds']:.0f} s of "
            f"training (target {COLLECTION_SECONDS} s)"
        )
    for r in rows:
        if r["set"] == COLLECTION:
            verdict = "beats" if r["rnnlab_mase"] < r["theta_mase"] else "LOSES TO"
            lines.append(
                f"{COLLECTION} ({r['series']} series): rnnlab {r['rnnlab_mase']:.3f} against "
                f"Theta {r['theta_mase']:.3f} ({verdict} it), "
                f"{r['seconds']:.0f} s of training (target {COLLECTION_SECONDS} s)"
            )
    if singles:
        slowest = max(singles, key=lambda r: r["seconds"])
        lines.append(
            f"slowest single-series training: {slowest['set']}, {slowest['seconds']:.0f} s "
            f"(target {ONE_SERIES_SECONDS} s)"
        )
    losses = [r["set"] for r in rows if r["ets_mase"] < r["rnnlab_mase"]]
    lines.append(f"ETS is better on: {', '.join(losses) or 'none'}")
    return lines


def table(rows: list[dict], measure: str) -> str:
    head = f"{'set':<11}{'n':>4}{'H':>4}" + "".join(f"{m:>16}" for m in METHODS)
    lines = [head]
    for r in rows:
        cells = []
        for m in METHODS:
            value = r[f"{m}_{measure}"]
            if measure == "mase" and m != "rnnlab":
                cells.append(f"{value:>9.3f} ({value / r['rnnlab_mase']:.2f})")
            else:
                cells.append(f"{value:>16.3f}")
        lines.append(
            f"{r['set']:<11}{r['series']:>4}{r['horizon']:>4}" + "".join(f"{c:>16}" for c in cells)
        )
    return "\n".join(lines)


def mase_png(rows: list[dict], path: Path) -> None:
    import numpy as np

    from rnnlab.plots.figures import png_bytes, pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    x = np.arange(len(rows))
    width = 0.16
    labels = {
        "rnnlab": "rnnlab",
        "naive": "naive",
        "seasonal_naive": "seasonal naive",
        "theta": "Theta",
        "ets": "ETS",
    }
    for j, m in enumerate(METHODS):
        ax.bar(x + (j - 2) * width, [r[f"{m}_mase"] for r in rows], width, label=labels[m])
    ax.set_xticks(x, [r["set"] for r in rows])
    ax.set(ylabel="MASE (lower is better)", title="forecasts of the last H points of each series")
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
        "--many",
        type=int,
        default=400,
        help="also time a collection of this many synthetic short series (0: not)",
    )
    p.add_argument(
        "--tiny-series", type=int, help="only time N series of 3 values each (one epoch)"
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
            row = run_set(
                name, horizons[name], args.backtest, aeon_data, Path(tmp), options, args.pictures
            )
            rows.append(row)
            print(json.dumps(row), flush=True)
    if not rows:
        return 1
    print(f"\nMASE, backtest of the last {args.backtest} window(s) of H (baseline / rnnlab):")
    print(table(rows, "mase"))
    print("\nsMAPE (%):")
    print(table(rows, "smape"))
    print(
        "\nrnnlab interval (10%-90%) coverage: "
        + ", ".join(f"{r['set']} {r['coverage']:.0%}" for r in rows)
    )
    print("training seconds: " + ", ".join(f"{r['set']} {r['seconds']:.0f}" for r in rows))
    print()
    print("\n".join(verdicts(rows)))
    if args.png is not None:
        mase_png(rows, args.png)
        print(f"written: {args.png}")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
