"""Vocabularies: tokens to integer ids and back, with padding, start, end and unknown tokens."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

PAD, START, END, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = (PAD, START, END, UNK)


class UnknownTokenError(ValueError):
    """A token the vocabulary does not know (``token``, and ``position`` in its sequence)."""

    def __init__(self, token: str, position: int) -> None:
        super().__init__(f"unknown token {token!r} at position {position + 1}")
        self.token = token
        self.position = position


class Vocabulary:
    """A fixed map between tokens and ids; ids 0-3 are ``<pad>``, ``<s>``, ``</s>``, ``<unk>``.

    Example::

        >>> v = Vocabulary.build([["3", "7"], ["2"]])
        >>> v.encode(["7", "2"])
        [5, 4]
        >>> v.decode([5, 4, v.end_id, 6])
        ['7', '2']
    """

    pad_id, start_id, end_id, unk_id = 0, 1, 2, 3

    def __init__(self, tokens: Sequence[str]) -> None:
        tokens = list(tokens)
        if tokens[: len(SPECIALS)] != list(SPECIALS):
            raise ValueError(
                f"a vocabulary's first tokens must be {list(SPECIALS)}, got {tokens[:4]}."
            )
        if len(set(tokens)) != len(tokens):
            raise ValueError("a vocabulary must not list a token twice.")
        self.tokens = tokens
        self.ids = {t: i for i, t in enumerate(tokens)}

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]]) -> Vocabulary:
        """All tokens of ``sequences``, most frequent first (ties in sorted order)."""
        counts = Counter(str(t) for seq in sequences for t in seq)
        for special in SPECIALS:
            counts.pop(special, None)
        ordered = sorted(counts, key=lambda t: (-counts[t], t))
        return cls([*SPECIALS, *ordered])

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.ids

    def encode(self, tokens: Sequence[str], *, unknown: str = "error") -> list[int]:
        """Ids of ``tokens``; an unknown token raises ``UnknownTokenError``, or maps to
        ``<unk>`` with ``unknown="map"``."""
        if unknown not in ("error", "map"):
            raise ValueError(f"`unknown` must be 'error' or 'map', got {unknown!r}.")
        out = []
        for i, token in enumerate(tokens):
            index = self.ids.get(token)
            if index is None:
                if unknown == "error":
                    raise UnknownTokenError(token, i)
                index = self.unk_id
            out.append(index)
        return out

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids`` up to the first end token; padding and start tokens are skipped."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.end_id:
                break
            if i in (self.pad_id, self.start_id):
                continue
            out.append(self.tokens[i] if 0 <= i < len(self.tokens) else UNK)
        return out

    def to_list(self) -> list[str]:
        return list(self.tokens)
