"""A seeded train/test split that draws the same partition as scikit-learn's."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnnlab.config import Config, option


def train_test_split(*arrays, test_size: float | int = 0.2, seed: int | None = 42):
    """Split arrays into a train part and a test part, in one shared random order.

    The partition is scikit-learn's ``train_test_split(..., test_size, random_state=seed)``
    (shuffled with ``numpy.random.RandomState(seed).permutation``; the test part is the
    first ``ceil(test_size * n)`` indices), so the tutorial's split is reproduced exactly
    without depending on scikit-learn.

    Args:
        *arrays: arrays (or anything indexable by an integer array) with the same first
            dimension.
        test_size: a fraction in (0, 1) of the samples, or a number of samples.
        seed: the seed of the shuffle (the tutorial's ``random_state=42`` by default).

    Returns:
        ``[a_train, a_test, b_train, b_test, ...]``, as scikit-learn returns them.
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array.")
    n = len(arrays[0])
    for i, a in enumerate(arrays[1:], start=1):
        if len(a) != n:
            raise ValueError(
                f"All arrays must have the same length; array 0 has {n}, array {i} has {len(a)}."
            )
    n_test = _test_count(test_size, n)
    n_train = n - n_test
    if n_train <= 0 or n_test <= 0:
        raise ValueError(
            f"`test_size`={test_size} with {n} samples leaves {n_train} for training and {n_test} "
            "for testing; both must be at least 1."
        )
    permutation = np.random.RandomState(seed).permutation(n)
    test_idx, train_idx = permutation[:n_test], permutation[n_test:]
    out = []
    for a in arrays:
        out.extend([_take(a, train_idx), _take(a, test_idx)])
    return out


def _test_count(test_size: float | int, n: int) -> int:
    if isinstance(test_size, float):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"`test_size` as a fraction must be in (0, 1), got {test_size}.")
        return math.ceil(test_size * n)
    if isinstance(test_size, int) and not isinstance(test_size, bool):
        return test_size
    raise TypeError(f"`test_size` must be a float or an int, got {type(test_size).__name__}.")


def _take(a, idx):
    if isinstance(a, list):
        return [a[i] for i in idx]
    return a[idx]


def hold_out(n: int, fraction: float, seed: int, what: str, unit: str):
    """``(train_index, val_index)``: a seeded random ``fraction`` of ``n`` examples held out
    for validation (at least one), the rest for training; a ``ValueError`` naming ``what``
    (the file or task) when nothing would be left to train on. ``unit`` names an example
    (``"pair"``, ``"sentence"``...) in that message."""
    import torch

    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    n_val = max(1, round(fraction * n))
    if n_val >= n:
        raise ValueError(
            f"{what}: only {n} {unit}(s), none left for training once `val_fraction` "
            f"{fraction} is held out; expected at least 2 {unit}s, or give `val`"
        )
    return order[n_val:], order[:n_val]


def hold_out_stratified(labels, fraction: float, seed: int, what: str, unit: str):
    """``(train_index, val_index)`` as ``hold_out`` draws them, class by class: ``fraction``
    of each label's examples held out (rounded), never a label's last one, so that
    validation keeps the classes' shares and a class of one example still trains."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    by_label: dict = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    train, val = [], []
    for label in sorted(by_label, key=str):
        members = by_label[label]
        order = [members[k] for k in torch.randperm(len(members), generator=generator).tolist()]
        n_val = min(len(members) - 1, round(fraction * len(members)))
        val += order[:n_val]
        train += order[n_val:]
    if not val:
        raise ValueError(
            f"{what}: {len(labels)} {unit}(s) in {len(by_label)} classes leave none to "
            f"validate on once `val_fraction` {fraction} is held out of each class; expected "
            f"more {unit}s, or give `val`"
        )
    return sorted(train), sorted(val)


def folds_of(labels, folds: int, seed: int) -> list[int]:
    """Each example's fold, ``0 .. folds - 1``, class by class: a class's examples, in a
    seeded random order, dealt to the folds in turn (each class starting where the one
    before left off), so that every fold holds about ``1 / folds`` of every class."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    by_label: dict = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    out, start = [0] * len(labels), 0
    for label in sorted(by_label, key=str):
        members = by_label[label]
        for k, j in enumerate(torch.randperm(len(members), generator=generator).tolist()):
            out[members[j]] = (start + k) % folds
        start = (start + len(members)) % folds
    return out


@dataclass(frozen=True)
class ValidationConfig(Config):
    """Where a kind's validation data comes from: a file, or a held-out part of the data."""

    val: str | None = option(
        "a validation file (default: hold out --val-fraction of --data)", value="path"
    )
    val_fraction: float = option("held-out fraction", value="split", default=0.2)


@dataclass
class Split:
    """Training and validation examples, each side a pair of parallel lists (inputs and
    their targets or labels), with the validation examples' names for error messages."""

    train: tuple[list, list]
    val: tuple[list, list]
    val_names: list[str]

    def __iter__(self):  # train, val, val_names = split
        return iter((self.train, self.val, self.val_names))

    @classmethod
    def held_out(
        cls,
        pair: tuple[list, list],
        names: list[str],
        config,
        what: str,
        unit: str,
        keep=None,
        stratified: bool = False,
    ) -> Split:
        """``config.val_fraction`` of ``pair`` held out at random (seeded by
        ``config.seed``; ``stratified``: of each label of ``pair[1]`` in turn);
        ``keep(train_idx, val_idx)``, when given, chooses which held-out examples validate."""
        if stratified:
            train_idx, val_idx = hold_out_stratified(
                pair[1], config.val_fraction, config.seed, what, unit
            )
        else:
            train_idx, val_idx = hold_out(
                len(pair[0]), config.val_fraction, config.seed, what, unit
            )
        if keep is not None:
            val_idx = keep(train_idx, val_idx)
        pick = lambda idx, xs: [xs[i] for i in idx]  # noqa: E731
        return cls(
            (pick(train_idx, pair[0]), pick(train_idx, pair[1])),
            (pick(val_idx, pair[0]), pick(val_idx, pair[1])),
            pick(val_idx, names),
        )
