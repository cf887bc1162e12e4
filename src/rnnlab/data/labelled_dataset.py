"""Labelled sequences as padded tensors: token ids ``(N, T)`` or vectors ``(N, T, F)``, a
mask of the real steps, and one label id per sequence (the variable lengths are masked,
never padded into the data the model reads as real)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class LabelledBatch:
    inputs: torch.Tensor  # (N, T) long, or (N, T, F) float
    mask: torch.Tensor  # (N, T) bool
    labels: torch.Tensor  # (N,) long
    index: torch.Tensor  # (N,) the rows' positions in the data set

    def __len__(self) -> int:
        return self.inputs.shape[0]


class LabelledData:
    """Sequences (id lists or float arrays ``(T, F)``) with label ids (``-1``: none)."""

    def __init__(self, sequences: Sequence, labels: Sequence[int]) -> None:
        self.sequences, self.labels = list(sequences), list(labels)

    def __len__(self) -> int:
        return len(self.sequences)

    def batch(self, index: Sequence[int]) -> LabelledBatch:
        rows = [self.sequences[i] for i in index]
        t = max(len(r) for r in rows)
        mask = torch.zeros(len(rows), t, dtype=torch.bool)
        if isinstance(rows[0], np.ndarray):
            inputs = torch.zeros(len(rows), t, rows[0].shape[1])
            for k, r in enumerate(rows):
                inputs[k, : len(r)] = torch.from_numpy(np.ascontiguousarray(r, dtype=np.float32))
        else:
            inputs = torch.zeros(len(rows), t, dtype=torch.long)
            for k, r in enumerate(rows):
                inputs[k, : len(r)] = torch.tensor(r, dtype=torch.long)
        for k, r in enumerate(rows):
            mask[k, : len(r)] = True
        labels = torch.tensor([self.labels[i] for i in index], dtype=torch.long)
        return LabelledBatch(inputs, mask, labels, torch.tensor(list(index)))

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[LabelledBatch]:
        """Mini-batches, shuffled once per epoch with ``generator`` (or in order)."""
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1, got {batch_size}.")
        order = (
            torch.randperm(len(self), generator=generator).tolist()
            if shuffle
            else list(range(len(self)))
        )
        for start in range(0, len(order), batch_size):
            yield self.batch(order[start : start + batch_size])
