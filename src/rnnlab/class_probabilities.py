"""``ClassProbabilities``: a classifier's probabilities with the names of their classes, as a
trained run (``ClassifyRun.probabilities``) and an exported one (``OnnxPredictor``) give them.
It imports numpy alone.

``values`` is the ``(N, K)`` array, one row a sequence, one column a class, in the order of
``classes``; ``np.asarray(p)`` gives it. ``p[i]`` is sequence ``i``'s ``{class: probability}``,
``p.column("pos")`` one class's probability for every sequence, ``p.labels()`` each sequence's
most probable class.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class ClassProbabilities:
    """Each class's probability for each of ``N`` sequences."""

    def __init__(self, classes, values) -> None:
        self.classes = list(classes)
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim != 2 or self.values.shape[1] != len(self.classes):
            raise ValueError(
                f"probabilities of shape {self.values.shape}; expected (N, {len(self.classes)})"
            )

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i: int) -> dict[str, float]:
        return dict(zip(self.classes, self.values[i].tolist(), strict=True))

    def __iter__(self) -> Iterator[dict[str, float]]:
        return (self[i] for i in range(len(self)))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.values if dtype is None else self.values.astype(dtype)

    def column(self, name: str) -> np.ndarray:
        """Class ``name``'s probability for every sequence."""
        if name not in self.classes:
            raise KeyError(f"no class {name!r}; expected one of {', '.join(self.classes[:20])}")
        return self.values[:, self.classes.index(name)]

    def labels(self) -> list[str]:
        """Each sequence's most probable class."""
        return [self.classes[i] for i in self.values.argmax(-1).tolist()]

    def __repr__(self) -> str:
        shown = ", ".join(repr(self[i]) for i in range(min(len(self), 3)))
        more = ", ..." if len(self) > 3 else ""
        return f"ClassProbabilities([{shown}{more}])"
