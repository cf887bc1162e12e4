"""Seeded generators for the claim experiments: the adding problem and the long-lag copy task.

Both return NumPy arrays ready to become tensors, ``batch_first``; each call uses its own
``numpy.random.Generator`` built from ``seed`` and never touches the global random state.
"""

from __future__ import annotations

import numpy as np

from rnnlab.limits import check_int


def adding_problem(
    n_samples: int, length: int, seed: int | np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""The adding problem (Hochreiter and Schmidhuber, 1997, experiment 4).

    Each step has two input channels: a value uniform in ``[0, 1]`` and a marker. Exactly two
    markers are 1, one in the first half of the sequence and one in the second (the first
    half is ``length // 2`` steps), so the first marked value must be carried for at least
    ``T - T // 2`` steps. The target is the sum of the two marked values.

    The target is the sum of two independent U(0, 1) values: mean 1, variance 1/6, so always
    predicting 1.0 has mean squared error :math:`1/6 \approx 0.167` (the trivial baseline).

    Args:
        n_samples: sequences to draw (>= 1).
        length: steps per sequence ``T`` (>= 2).
        seed: an int seed or a ``numpy.random.Generator``.

    Returns:
        ``x`` ``(N, T, 2)`` float32 (channel 0 the values, channel 1 the markers) and
        ``y`` ``(N,)`` float32.

    Example: with ``T = 4``, values ``[0.3, 0.9, 0.1, 0.5]`` and markers ``[1, 0, 0, 1]``
    (one in each half), ``x[i] = [[0.3, 1], [0.9, 0], [0.1, 0], [0.5, 1]]`` and
    ``y[i] = 0.3 + 0.5 = 0.8``.
    """
    _check_positive(n_samples, "n_samples")
    check_int("length", length, least=2)
    rng = np.random.default_rng(seed)
    values = rng.random((n_samples, length))
    half = length // 2
    first = rng.integers(0, half, size=n_samples)
    second = rng.integers(half, length, size=n_samples)
    markers = np.zeros((n_samples, length))
    rows = np.arange(n_samples)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values[rows, first] + values[rows, second]).astype(np.float32)
    return x, y


def copy_task(
    n_samples: int,
    delay: int,
    *,
    symbols: int = 3,
    alphabet: int = 8,
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A long-lag copy task: remember ``symbols`` symbols shown first, recall them after a delay.

    The input has ``alphabet + 2`` one-hot channels: symbols ``0..alphabet-1``, a blank
    (channel ``alphabet``) and a recall marker (channel ``alphabet + 1``). A sequence has
    ``T = 2 * symbols + delay`` steps: the ``symbols`` random symbols, ``delay`` blanks of
    which the last is replaced by the recall marker, then ``symbols`` blanks during which the
    model must output the remembered symbols in order. The first symbol is therefore
    ``symbols + delay`` steps before the step that must recall it. Guessing gets each symbol
    right with probability ``1 / alphabet`` and a whole answer with ``alphabet ** -symbols``.

    Args:
        n_samples: sequences to draw (>= 1).
        delay: steps between the last shown symbol and the first recall step (>= 1).
        symbols: how many symbols to remember ``K`` (3).
        alphabet: how many distinct symbols ``A`` (8).
        seed: an int seed or a ``numpy.random.Generator``.

    Returns:
        ``x`` ``(N, T, A + 2)`` float32 one-hot inputs and ``y`` ``(N, K)`` int64: the symbols
        to output at the last ``K`` steps.

    Example: with ``symbols=2``, ``alphabet=3``, ``delay=2`` and symbols ``[2, 0]``, the input
    tokens (blank ``b``, marker ``m``) are ``2 0 b m b b`` (``T = 6``), one-hot over 5
    channels, and ``y[i] = [2, 0]``: the outputs at steps 5 and 6 must be 2 and 0.
    """
    for name, value in (("n_samples", n_samples), ("delay", delay)):
        _check_positive(value, name)
    _check_positive(symbols, "symbols")
    check_int("alphabet", alphabet, least=2)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, alphabet, size=(n_samples, symbols))
    steps = 2 * symbols + delay
    blank, marker = alphabet, alphabet + 1
    tokens = np.full((n_samples, steps), blank)
    tokens[:, :symbols] = y
    tokens[:, symbols + delay - 1] = marker
    x = np.eye(alphabet + 2, dtype=np.float32)[tokens]  # (N, T, A + 2)
    return x, y.astype(np.int64)


def _check_positive(value, name: str) -> None:
    check_int(name, value)
