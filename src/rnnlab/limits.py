"""The largest value each size option takes, in one place for the command line (which refuses
them as it parses) and for the run folders (whose saved configs are checked when read back).

Far beyond what trains on one machine, small enough that a typing slip (`--units 1000000`)
is refused at once rather than exhausting memory; what fits is checked again against the
memory available once the data is known (``rnnlab.training.resources``). Importing this
module costs nothing: the command line reads it at start-up.
"""

MOST_SEED = 2**63 - 1  # torch's generators take 64 bits; runs add small offsets
MOST_SPLIT_SEED = 2**32 - 1  # the split follows numpy's RandomState, which takes 32 bits
MOST_UNITS = 8192  # --units, --embedding-dim
MOST_LAYERS = 32
MOST_SAMPLES = 10_000_000
MOST_LENGTH = 10_000  # --max-len, --length: time steps
MOST_STEPS = 10_000_000  # --epochs, --train-steps, --patience
MOST_BATCH = 1_000_000
MOST_BEAM = 256
MOST_JOBS = 256
MOST_LEARNING_RATE = 10.0  # Adam's steps are about this size in each weight; 1e-3 is usual
MOST_NUMBER = 1e6  # any other positive number (a gradient clip, say)
MOST_SECONDS = 30 * 24 * 3600.0  # --max-time: a month

# value kind (``rnnlab.config.option(value=...)``) -> (type, least, most)
BOUNDS = {
    "int": (int, 1, MOST_STEPS),
    "units": (int, 0, MOST_UNITS),
    "features": (int, 0, MOST_UNITS),  # a size that may be 0: none
    "layers": (int, 1, MOST_LAYERS),
    "samples": (int, 0, MOST_SAMPLES),  # 0: not generated (a pair file)
    "count": (int, 0, MOST_SAMPLES),  # how many of something, none allowed
    "length": (int, 0, MOST_LENGTH),
    "steps": (int, 1, MOST_STEPS),
    "batch": (int, 1, MOST_BATCH),
    "beam": (int, 1, MOST_BEAM),
    "seed": (int, 0, MOST_SEED),
    "rate": (float, 0.0, MOST_LEARNING_RATE),
    "positive": (float, 0.0, MOST_NUMBER),
    "fraction": (float, 0.0, 1.0),
    "split": (float, 0.0, 1.0),  # a held-out fraction: both ends excluded (see ``OPEN``)
    "dropout": (float, 0.0, 1.0),
    "decay": (float, 0.0, 1.0),
    "seconds": (float, 0.0, MOST_SECONDS),  # a time budget: more than none
}
OPEN = {"split", "seconds"}  # kinds whose bounds are excluded


def value_problem(kind: str, value) -> str | None:
    """What is wrong with ``value`` as a value of ``kind`` (see ``BOUNDS``), or None."""
    if kind not in BOUNDS or value is None:
        return None
    expected, least, most = BOUNDS[kind]
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or (expected is int and not isinstance(value, int)):
        return f"expected {'an integer' if expected is int else 'a number'}, got {value!r}"
    if kind in OPEN and not least < value < most:
        return f"expected a value in ({least:,}, {most:,}), got {value!r}"
    if not least <= value <= most or value != value:
        return f"expected a value in [{least:,}, {most:,}], got {value!r}"
    return None


def is_integer(value) -> bool:
    """An ``int`` (numpy's too), not a ``bool``."""
    import numbers

    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(name: str, value, least: int = 1, most: int | None = None) -> int:
    """``value`` if it is an integer in ``[least, most]``, else a ``ValueError`` naming
    ``name``: the one check of an integer argument, with one message."""
    if not is_integer(value) or value < least or (most is not None and value > most):
        if most is not None:
            expected = f"an integer in [{least:,}, {most:,}]"
        else:
            expected = "a positive integer" if least == 1 else f"an integer >= {least:,}"
        raise ValueError(f"`{name}` must be {expected}, got {value!r}.")
    return int(value)
