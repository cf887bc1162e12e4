"""Mini-batches of sequences of similar lengths, so that a batch carries little padding."""

from __future__ import annotations

from collections.abc import Sequence

import torch

RUN = 50  # batches per run sorted by length: wide enough to match lengths, narrow to stay random


def length_buckets(
    lengths: Sequence[int], batch_size: int, generator: torch.Generator | None = None
) -> list[list[int]]:
    """The indices of ``lengths`` as shuffled batches of similar lengths: all indices in a
    random order, sorted by length within runs of ``RUN`` batches, cut into batches, and the
    batches in a random order (drawn from ``generator``). Every index occurs once."""
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1, got {batch_size}.")
    order = torch.randperm(len(lengths), generator=generator).tolist()
    run = RUN * batch_size
    chunks = []
    for start in range(0, len(order), run):
        part = sorted(order[start : start + run], key=lambda i: lengths[i])
        chunks += [part[k : k + batch_size] for k in range(0, len(part), batch_size)]
    return [chunks[k] for k in torch.randperm(len(chunks), generator=generator).tolist()]
