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
    _check_counts(n_samples, max_len)
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


ADD_MOST_DIGITS = 18  # operands are drawn as 64-bit integers


def add_pairs(n_samples: int = 1000, max_len: int = 3, seed: int | None = None) -> Pairs:
    """Addition written out as characters: ``"12+345"`` → ``"357"``.

    ``max_len`` is the largest number of digits of an operand (at most 18); each operand's
    digit count is uniform in ``1..max_len``, then its value uniform among numbers of that
    many digits.

    Example: source ``['1', '2', '+', '3', '4', '5']``, target ``['3', '5', '7']``.
    """
    _check_counts(n_samples, max_len)
    if max_len > ADD_MOST_DIGITS:
        raise ValueError(
            f"`max_len` of the add task is its operands' digits: at most {ADD_MOST_DIGITS}, "
            f"got {max_len}."
        )
    rng = np.random.default_rng(seed)
    sources, targets = [], []
    for _ in range(n_samples):
        a, b = (_random_number(rng, max_len) for _ in range(2))
        sources.append(list(f"{a}+{b}"))
        targets.append(list(str(a + b)))
    return sources, targets


def _random_number(rng: np.random.Generator, max_digits: int) -> int:
    digits = int(rng.integers(1, max_digits + 1))
    low = 0 if digits == 1 else 10 ** (digits - 1)
    return int(rng.integers(low, 10**digits))


DATE_LOCALES = ("en_US", "fr_FR", "de_DE", "es_ES")
DATE_FORMATS = ("medium", "long", "full")


def date_pairs(n_samples: int = 1000, max_len: int = 0, seed: int | None = None) -> Pairs:
    """Dates written out in words → ISO dates, as characters.

    A day uniform between 1900-01-01 and 2099-12-31, written with Babel's CLDR ``medium``,
    ``long`` or ``full`` pattern in ``en_US``, ``fr_FR``, ``de_DE`` or ``es_ES`` (narrow and
    non-breaking spaces made plain spaces); the target is ``YYYY-MM-DD``. ``max_len`` is unused.

    Example: ``"24 novembre 2026"`` → ``"2026-11-24"``;
    ``"Tuesday, November 24, 2026"`` → ``"2026-11-24"``.
    """
    import datetime

    from babel.dates import format_date

    _check_counts(n_samples, 1)
    rng = np.random.default_rng(seed)
    first = datetime.date(1900, 1, 1).toordinal()
    last = datetime.date(2099, 12, 31).toordinal()
    sources, targets = [], []
    for _ in range(n_samples):
        day = datetime.date.fromordinal(int(rng.integers(first, last + 1)))
        locale = DATE_LOCALES[int(rng.integers(len(DATE_LOCALES)))]
        pattern = DATE_FORMATS[int(rng.integers(len(DATE_FORMATS)))]
        text = format_date(day, format=pattern, locale=locale)
        text = text.replace("\u202f", " ").replace("\u00a0", " ")
        sources.append(list(text))
        targets.append(list(day.isoformat()))
    return sources, targets


def _check_counts(n_samples: int, max_len: int) -> None:
    if n_samples < 1:
        raise ValueError(f"`n_samples` must be >= 1, got {n_samples}.")
    if max_len < 1:
        raise ValueError(f"`max_len` must be >= 1, got {max_len}.")


TASKS: dict[str, Callable[..., Pairs]] = {
    "reverse": reverse_pairs,
    "copy": copy_pairs,
    "sort": sort_pairs,
    "add": add_pairs,
    "dates": date_pairs,
}

# How each task's tokens are joined back into text (see rnnlab.data.pairs.join_tokens).
TASK_TOKENS: dict[str, str] = {
    "reverse": "space",
    "copy": "space",
    "sort": "space",
    "add": "chars",
    "dates": "chars",
}


def make_pairs(task: str, n_samples: int, max_len: int, seed: int | None = None) -> Pairs:
    """Generate ``n_samples`` pairs of the named built-in task."""
    try:
        generate = TASKS[task]
    except KeyError:
        raise ValueError(f"Unknown task {task!r}; expected one of {sorted(TASKS)}.") from None
    return generate(n_samples=n_samples, max_len=max_len, seed=seed)
