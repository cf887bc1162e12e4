"""``Backtest``: forecasts and measures of rnnlab and the baselines on the last windows of
series, and its table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rnnlab.forecast_measures import coverage, mase, smape

BASELINE_NAMES = {
    "naive": "naive",
    "seasonal_naive": "seasonal naive",
    "theta": "Theta",
    "ets": "ETS",
    "auto_ets": "auto ETS",
}


def backtest_cuts(
    lengths: list[int], held: int, least: int, horizon: int
) -> tuple[list[int], list[int]]:
    """Where each series' training part ends (its last ``held`` values are held out), and
    the series (by index) too short to hold them out with ``least`` values before: they
    train on every value and are not scored. Where no training part would hold a window of
    ``least`` values and ``horizon`` targets, no series is held out (no backtest)."""
    cuts, short = [], []
    for i, n in enumerate(lengths):
        if held and n - held < least:
            short.append(i)
            cuts.append(n)
        else:
            cuts.append(n - held)
    if held and not any(cut - horizon >= least for cut in cuts):
        return list(lengths), list(range(len(lengths)))
    return cuts, short


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
    skipped: list = field(default_factory=list)  # series too short for the windows
    left_out: list = field(default_factory=list)  # baselines not fitted (too many forecasts)

    def measures(self) -> dict:
        out = {"backtest_windows": self.windows, "backtest_forecasts": len(self.actuals)}
        if self.skipped:
            out["backtest_skipped"] = len(self.skipped)
        if self.left_out:
            out["baselines_left_out"] = list(self.left_out)
        if not self.actuals:
            return out
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
        """The last window of each of the first ``count`` series scored alone."""
        last = {}
        for k, (i, _) in enumerate(self.cuts):
            last[i] = k  # the series' windows come in order: its last one is kept
        rows = list(last.values())[:count]
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
    if m.get("baselines_left_out"):
        left = ", ".join(BASELINE_NAMES[k] for k in m["baselines_left_out"])
        head += f"; {left} left out (too many forecasts to fit)"
    lines = [head, f"{'method':<16}{'MASE':>8}{'sMAPE':>9}{'MASE / rnnlab':>15}"]
    for label, mase_value, smape_value in rows:
        ratio = mase_value / m["mase"] if m["mase"] else math.nan
        lines.append(f"{label:<16}{mase_value:>8.3f}{smape_value:>8.2f}%{ratio:>15.2f}")
    return "\n".join(lines)
