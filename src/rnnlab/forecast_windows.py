"""The inputs of a forecaster's windows, in numpy alone: the recurrent network's training
batches (``rnnlab.data.series_windows``) and the torch-free ONNX runner
(``rnnlab.interop.onnx``) build them with the same function."""

from __future__ import annotations

import numpy as np


def window_features(
    values: np.ndarray,
    past: np.ndarray,
    start: np.ndarray,
    lags: tuple[int, ...],
    padded: bool,
    covariates: np.ndarray | None = None,
) -> np.ndarray:
    """The inputs ``(N, L, F)`` of windows at positions ``past`` ``(N, L)`` of the flat
    ``values`` (and ``covariates``), each of a series that starts at ``start`` ``(N, 1)``;
    positions before it are padding (zeros, and with ``padded`` an observed flag of 0)."""
    real = past >= start
    at = np.maximum(past, start)
    last = values[past[:, -1]][:, None]
    steps = values[at]
    features = [steps - last, steps]
    for lag in lags:
        lagged = past - lag
        features.append(np.where(lagged >= start, values[np.maximum(lagged, start)] - last, 0))
    if padded:
        features = [f * real for f in features] + [real.astype(np.float32)]
    window = np.stack(features, axis=-1).astype(np.float32)
    if covariates is not None:
        read = covariates[at] * real[..., None] if padded else covariates[at]
        window = np.concatenate([window, read.astype(np.float32)], axis=-1)
    return window
