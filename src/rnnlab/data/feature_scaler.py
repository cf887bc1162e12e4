"""``FeatureScaler``: per-feature standardisation of vector sequences, fitted on the training
set and saved in a run folder (the ``classify`` kind's feature vectors)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class FeatureScaler:
    """Per-feature standardisation of vector sequences: x' = (x - mean_) / std_.

    ``fit(sequences)`` learns ``mean_`` and ``std_`` (each of shape (F,), float64) from every
    step of every sequence given, so from the training set alone and never from padding (fit
    on the unpadded (T_i, F) arrays); a feature that never varies has a std of 0 and is
    divided by 1 instead. ``transform`` applies them to any sequences with F features and
    returns float32 arrays. ``to_dict`` and ``from_dict`` save and restore the scaler in a run
    folder's JSON, exactly.

    >>> train = [np.array([[0.0, 5.0], [2.0, 5.0]]), np.array([[4.0, 5.0]])]
    >>> scaler = FeatureScaler().fit(train)
    >>> scaler.mean_.tolist(), scaler.std_.tolist()
    ([2.0, 5.0], [1.632993161855452, 1.0])
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    @property
    def features(self) -> int | None:
        """F, once fitted."""
        return None if self.mean_ is None else len(self.mean_)

    def fit(self, sequences: Sequence[np.ndarray]) -> FeatureScaler:
        steps = np.concatenate(_check_vectors(sequences, None), axis=0)  # (sum T_i, F)
        if len(steps) == 0:
            raise ValueError("`sequences` has no steps; expected at least one step to fit on.")
        self.mean_ = steps.mean(axis=0)
        std = steps.std(axis=0)
        self.std_ = np.where(std == 0, 1.0, std)
        return self

    def transform(self, sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
        if self.mean_ is None:
            raise ValueError("this FeatureScaler is not fitted; call `fit` first.")
        checked = _check_vectors(sequences, self.features)
        return [((x - self.mean_) / self.std_).astype(np.float32) for x in checked]

    def to_dict(self) -> dict:
        if self.mean_ is None:
            raise ValueError("this FeatureScaler is not fitted; call `fit` first.")
        return {"mean": self.mean_.tolist(), "std": self.std_.tolist()}

    @classmethod
    def from_dict(cls, config: dict) -> FeatureScaler:
        if not isinstance(config, dict) or set(config) != {"mean", "std"}:
            got = sorted(config) if isinstance(config, dict) else type(config).__name__
            raise ValueError(f"a FeatureScaler config must have keys ['mean', 'std'], got {got}.")
        mean, std = (_float_list(config, key) for key in ("mean", "std"))
        if len(mean) != len(std):
            raise ValueError(
                f"a FeatureScaler config's `mean` and `std` must have the same length, got "
                f"{len(mean)} and {len(std)}."
            )
        if (std <= 0).any():
            raise ValueError(f"a FeatureScaler config's `std` must be > 0, got {std.tolist()}.")
        scaler = cls()
        scaler.mean_, scaler.std_ = mean, std
        return scaler


def _float_list(config: dict, key: str) -> np.ndarray:
    value = config[key]
    if isinstance(value, list) and value and all(_is_number(x) for x in value):
        with contextlib.suppress(OverflowError):  # an integer beyond float64
            array = np.array(value, dtype=np.float64)
            if np.isfinite(array).all():
                return array
    raise ValueError(
        f"a FeatureScaler config's `{key}` must be a non-empty list of finite numbers, "
        f"got {value!r:.60}."
    )


def _check_vectors(sequences: Sequence[np.ndarray], features: int | None) -> list[np.ndarray]:
    """``sequences`` as float64 (T_i, F) arrays of finite values, F the same for all (and
    ``features`` where given)."""
    if len(sequences) == 0:
        raise ValueError("`sequences` is empty; expected at least one (T, F) array.")
    checked = []
    for i, sequence in enumerate(sequences):
        array = np.asarray(sequence, dtype=np.float64)
        expected = features if features is not None else (checked[0].shape[1] if checked else None)
        if array.ndim != 2 or (expected is not None and array.shape[1] != expected):
            shape = f"(T, {expected})" if expected is not None else "(T, F)"
            raise ValueError(f"`sequences[{i}]` has shape {array.shape}; expected {shape}.")
        if not np.isfinite(array).all():
            raise ValueError(f"`sequences[{i}]` holds NaN or infinite values; expected finite.")
        checked.append(array)
    return checked
