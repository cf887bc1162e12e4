"""The ``forecast`` kind's pictures: the loss per epoch and the backtest."""

from __future__ import annotations

import numpy as np

from rnnlab.data.series import Clock, Series
from rnnlab.kinds.forecast.backtest import BASELINE_NAMES, Backtest
from rnnlab.plots.figures import loss_scale, png_bytes, pyplot


def loss_png(history: dict) -> bytes:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = range(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], label="training")
    ax.plot(epochs, history["val_loss"], label="last training window of each series")
    ax.set(xlabel="epoch", ylabel="quantile loss (scaled)", title="learning curves")
    ax.set_yscale(loss_scale(history["loss"], history["val_loss"]))
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return png_bytes(fig, dpi=100)


def backtest_png(
    result: Backtest, series: list[Series], shown: int = 4, clock: Clock | None = None
) -> bytes:
    """History, the held-out window, rnnlab's forecast and interval, Theta's and ETS's;
    with the file's ``clock``, the axis in its times."""
    plt = pyplot()
    count = min(shown, len(result.cuts))
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
        if clock is not None and s.end is not None:
            ticks = sorted(set(np.linspace(start, cut + result.horizon - 1, 5).round().astype(int)))
            labels = clock.shifted(s.end, [int(t) - (len(s) - 1) for t in ticks])
            ax.set_xticks(ticks, labels, fontsize=7)
        ax.set_title(s.name, fontsize=9)
        ax.grid(True, alpha=0.3)
        if row == 0:
            ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    return png_bytes(fig, dpi=90)
