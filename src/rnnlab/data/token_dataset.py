"""Token pairs as padded id tensors, for embedding inputs and softmax outputs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from rnnlab.data.buckets import length_buckets
from rnnlab.data.vocab import UnknownTokenError, Vocabulary


@dataclass(frozen=True)
class TokenPairs:
    """Source and target ids, post-padded with ``<pad>`` (id 0).

    Attributes:
        sources: ``(N, S)`` source ids.
        targets: ``(N, T)`` target ids, each followed by ``</s>``.
        source_lengths, target_lengths: ``(N,)`` real lengths (the target's with ``</s>``).

    ``decoder_inputs()`` is ``[<s>, y_1, ..., y_{T-1}]``: the targets shifted right, the
    teacher-forcing input of an autoregressive decoder.

    Example: with a vocabulary ``<pad> <s> </s> <unk> 7 2``, the pair ``7 2 → 2 7`` is
    ``sources = [4, 5]``, ``targets = [5, 4, 2]``, ``decoder_inputs = [1, 5, 4]``.
    """

    sources: torch.Tensor
    targets: torch.Tensor
    source_lengths: torch.Tensor
    target_lengths: torch.Tensor

    @classmethod
    def encode(
        cls,
        sources: Sequence[Sequence[str]],
        targets: Sequence[Sequence[str]],
        source_vocab: Vocabulary,
        target_vocab: Vocabulary,
        *,
        unknown: str = "error",
        names: Sequence[str] | None = None,
    ) -> TokenPairs:
        """Encode token lists; an unknown token raises a ``ValueError`` naming the example
        (``names[i]``, e.g. ``"pairs.tsv:12"``, or its 1-based index) and the token."""
        src_ids, tgt_ids = [], []
        for i, (s, t) in enumerate(zip(sources, targets, strict=True)):
            where = names[i] if names is not None else f"example {i + 1}"
            src_ids.append(_encode(source_vocab, s, unknown, where, "source"))
            tgt_ids.append(
                [*_encode(target_vocab, t, unknown, where, "target"), target_vocab.end_id]
            )
        return cls._from_ids(src_ids, tgt_ids)

    @classmethod
    def _from_ids(cls, src_ids, tgt_ids) -> TokenPairs:
        sources, source_lengths = _pad(src_ids)
        targets, target_lengths = _pad(tgt_ids)
        return cls(sources, targets, source_lengths, target_lengths)

    def __len__(self) -> int:
        return self.sources.shape[0]

    def subset(self, index) -> TokenPairs:
        return TokenPairs(
            self.sources[index],
            self.targets[index],
            self.source_lengths[index],
            self.target_lengths[index],
        )

    def decoder_inputs(self) -> torch.Tensor:
        start = torch.full_like(self.targets[:, :1], Vocabulary.start_id)
        shifted = torch.cat([start, self.targets[:, :-1]], dim=1)  # (N, T)
        return shifted.masked_fill(self.targets == Vocabulary.pad_id, Vocabulary.pad_id)

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[TokenPairs]:
        """Mini-batches, each trimmed to its longest rows: shuffled (once per epoch, with
        ``generator``), of pairs of similar lengths (``length_buckets``, by source length, then
        target length), so that little of a batch is padding; consecutive otherwise."""
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1, got {batch_size}.")
        n = len(self)
        if shuffle:
            longest = int(self.target_lengths.max()) + 1 if n else 1
            lengths = (self.source_lengths * longest + self.target_lengths).tolist()
            parts = [torch.tensor(i) for i in length_buckets(lengths, batch_size, generator)]
        else:
            parts = [slice(start, start + batch_size) for start in range(0, n, batch_size)]
        for part in parts:
            batch = self.subset(part)
            s, t = int(batch.source_lengths.max()), int(batch.target_lengths.max())
            yield TokenPairs(
                batch.sources[:, :s],
                batch.targets[:, :t],
                batch.source_lengths,
                batch.target_lengths,
            )


def _encode(vocab: Vocabulary, tokens, unknown: str, where: str, side: str) -> list[int]:
    try:
        return vocab.encode(tokens, unknown=unknown)
    except UnknownTokenError as exc:
        raise ValueError(
            f"{where}: unknown {side} token {exc.token!r} (position {exc.position + 1}); "
            "the vocabulary does not know it (give `unknown` map to read it as <unk>)"
        ) from None


def _pad(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    out = torch.zeros(len(rows), int(lengths.max()) if rows else 0, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out, lengths
