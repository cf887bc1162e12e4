"""A data set of padded sequence pairs that remembers each sequence's true length."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SequenceDataset:
    """Padded inputs and targets, with the unpadded length of every sequence.

    Attributes:
        inputs: ``(N, T, F)`` padded source sequences.
        targets: ``(N, T', F')`` padded target sequences.
        input_lengths: ``(N,)`` number of real (unpadded) source steps.
        target_lengths: ``(N,)`` number of real target steps.
        padding: ``"post"`` or ``"pre"``: which side of each row the padding is on.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    input_lengths: torch.Tensor
    target_lengths: torch.Tensor
    padding: str = "post"

    def __post_init__(self) -> None:
        n = self.inputs.shape[0]
        for name in ("targets", "input_lengths", "target_lengths"):
            if getattr(self, name).shape[0] != n:
                raise ValueError(
                    f"`{name}` has {getattr(self, name).shape[0]} rows, expected {n} "
                    "(the number of inputs)."
                )
        if self.padding not in ("pre", "post"):
            raise ValueError(f"`padding` must be 'pre' or 'post', got {self.padding!r}.")

    @classmethod
    def from_padded(cls, inputs, targets, input_lengths, target_lengths, padding="post"):
        """Build from array-likes (NumPy arrays, lists); values become float32 tensors."""
        return cls(
            inputs=torch.as_tensor(inputs, dtype=torch.float32),
            targets=torch.as_tensor(targets, dtype=torch.float32),
            input_lengths=torch.as_tensor(input_lengths, dtype=torch.long),
            target_lengths=torch.as_tensor(target_lengths, dtype=torch.long),
            padding=padding,
        )

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def subset(self, index: torch.Tensor) -> SequenceDataset:
        return SequenceDataset(
            self.inputs[index],
            self.targets[index],
            self.input_lengths[index],
            self.target_lengths[index],
            self.padding,
        )

    def input_mask(self) -> torch.Tensor:
        """``(N, T)`` bool, True at real source steps."""
        return length_mask(self.input_lengths, self.inputs.shape[1], self.padding)

    def target_mask(self) -> torch.Tensor:
        """``(N, T')`` bool, True at real target steps."""
        return length_mask(self.target_lengths, self.targets.shape[1], self.padding)

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[SequenceDataset]:
        """Yield consecutive mini-batches (the last may be smaller), optionally shuffled."""
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1, got {batch_size}.")
        n = len(self)
        # Shuffled once as a whole, then sliced: the same batches as gathering each from
        # the permutation, for four gathers per epoch instead of four per batch.
        data = self.subset(torch.randperm(n, generator=generator)) if shuffle else self
        for start in range(0, n, batch_size):
            yield data.subset(slice(start, start + batch_size))


def length_mask(lengths: torch.Tensor, steps: int, padding: str = "post") -> torch.Tensor:
    """``(N, steps)`` bool mask, True at the ``lengths[i]`` real steps of row ``i``."""
    positions = torch.arange(steps, device=lengths.device)
    if padding == "post":
        return positions[None, :] < lengths[:, None]
    return positions[None, :] >= (steps - lengths)[:, None]
