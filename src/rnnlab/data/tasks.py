"""Seeded task generators: each returns source and target token sequences.

Every generator takes a ``seed`` and uses its own ``numpy.random.Generator``; none touches
the global random state.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Pairs = tuple[list[list[int]], list[list[int]]]


def _random_sequences(
    n_samples: int, max_len: int, seed: int | None, low: int = 1, high: int = 9
) -> list[list[int]]:
    if n_samples < 1:
        raise ValueError(f"`n_samples` must be >= 1, got {n_samples}.")
    if max_len < 1:
        raise ValueError(f"`max_len` must be >= 1, got {max_len}.")
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_len + 1, size=n_samples)
    return [rng.integers(low, high + 1, size=int(n)).tolist() for n in lengths]


def reverse_pairs(n_samples: int = 1000, max_len: int = 5, seed: int | None = None) -> Pairs:
    """The tutorial's task: random digit sequences and their reversals.

    Lengths are uniform in ``1..max_len`` and tokens uniform in ``1..9`` (0 is left free
    for padding), as in the tutorial's ``create_sequence_pairs``.

    Example: a source ``[3, 7, 2]`` has the target ``[2, 7, 3]``.
    """
    sources = _random_sequences(n_samples, max_len, seed)
    return sources, [s[::-1] for s in sources]


def copy_pairs(n_samples: int = 1000, max_len: int = 5, seed: int | None = None) -> Pairs:
    """Random digit sequences and themselves: ``[3, 7, 2]`` → ``[3, 7, 2]``."""
    sources = _random_sequences(n_samples, max_len, seed)
    return sources, [list(s) for s in sources]


def sort_pairs(n_samples: int = 1000, max_len: int = 5, seed: int | None = None) -> Pairs:
    """Random digit sequences and their ascending sort: ``[3, 7, 2]`` → ``[2, 3, 7]``."""
    sources = _random_sequences(n_samples, max_len, seed)
    return sources, [sorted(s) for s in sources]


TASKS: dict[str, Callable[..., Pairs]] = {
    "reverse": reverse_pairs,
    "copy": copy_pairs,
    "sort": sort_pairs,
}


def make_pairs(task: str, n_samples: int, max_len: int, seed: int | None = None) -> Pairs:
    """Generate ``n_samples`` pairs of the named built-in task."""
    try:
        generate = TASKS[task]
    except KeyError:
        raise ValueError(f"Unknown task {task!r}; expected one of {sorted(TASKS)}.") from None
    return generate(n_samples=n_samples, max_len=max_len, seed=seed)
