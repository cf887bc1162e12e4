"""The data summary ``rnnlab train`` prints before it trains: what was read, in a few lines
(``Kind.data_summary``), built from these helpers so that every kind says it alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence


def spread(lengths: Sequence[int], unit: str) -> str:
    """``"3-80 words (median 12)"``: the shortest, longest and median of ``lengths``."""
    if not lengths:
        return f"no {unit}"
    ordered = sorted(lengths)
    median = ordered[len(ordered) // 2]
    return f"{ordered[0]:,}-{ordered[-1]:,} {unit} (median {median:,})"


def counts(labels: Iterable, most: int = 6) -> str:
    """``"12 labels: NOUN 17%, VERB 12%, ... (the most frequent 6)"``."""
    counted = Counter(labels)
    total = sum(counted.values()) or 1
    shown = ", ".join(f"{label} {n / total:.0%}" for label, n in counted.most_common(most))
    more = f", ... ({len(counted) - most} more)" if len(counted) > most else ""
    return f"{len(counted):,} labels: {shown}{more}"


def validation(config, count: int, unit: str, of: str = "the data") -> str:
    """How the validation examples were made: the ``val`` file, or a random fraction (``of``
    each class, say)."""
    if getattr(config, "val", None) is not None:
        return f"validation: {count:,} {unit} of {config.val}"
    fraction = getattr(config, "val_fraction", None)
    held = f"a random {fraction:.0%} of {of}" if fraction else f"held out of {of}"
    return f"validation: {count:,} {unit}, {held}"
