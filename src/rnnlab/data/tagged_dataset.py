"""Tagged sentences as padded id tensors: words, their characters, and one tag per word.

``TaggedData.encode(tokens, tags, words, chars, labels)`` keeps every sentence as id lists;
``batches`` pads each batch to its longest sentence (and word) only, and groups sentences of
similar lengths, so little time goes into padding.

Example: with a word vocabulary ``<pad> <s> </s> <unk> the dog``, characters ``<pad> <s> </s>
<unk> t h e d o g`` and tags ``<pad> <s> </s> <unk> DET NOUN``, the sentence ``the dog`` /
``DET NOUN`` is words ``[4, 5]``, characters ``[[4, 5, 6], [7, 8, 9]]`` and tags ``[4, 5]``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from rnnlab.data.vocab import Vocabulary
from rnnlab.words import (  # noqa: F401  (also read from here)
    MAX_WORD_CHARS,
    SHAPES,
    SUFFIXES,
    word_chars,
    word_shape,
    word_suffixes,
)


def _known_forms(sentence: Sequence[str], words: Vocabulary) -> list[str]:
    """Each word, or its lower-case form when only that is in ``words``."""
    return [w if w in words or w.lower() not in words else w.lower() for w in sentence]


def _affixes(word: str, suffixes: Vocabulary | None) -> list[int]:
    if suffixes is None:
        return [0] * len(SUFFIXES) + [word_shape(word)]
    return [*suffixes.encode(word_suffixes(word), unknown="map"), word_shape(word)]


@dataclass
class TaggedBatch:
    """One padded batch: ``words`` ``(N, T)``, ``chars`` ``(N, T, L)``, ``tags`` ``(N, T)``
    (0 at padding), ``mask`` ``(N, T)`` bool, ``unseen`` ``(N, T)`` bool (words unseen in
    training), ``index`` ``(N,)``: each row's position in the data set; ``affixes`` ``(N, T,
    S + 1)``: the ids of each word's endings and of its shape (``SHAPES``)."""

    words: torch.Tensor
    chars: torch.Tensor
    tags: torch.Tensor
    mask: torch.Tensor
    unseen: torch.Tensor
    index: torch.Tensor
    affixes: torch.Tensor

    def __len__(self) -> int:
        return self.words.shape[0]


class TaggedData:
    """Sentences of word, character and tag ids (see the module docstring)."""

    def __init__(self, words, chars, tags, unseen, affixes) -> None:
        self.words, self.chars, self.tags, self.unseen = words, chars, tags, unseen
        self.affixes = affixes

    @classmethod
    def encode(
        cls,
        tokens: Sequence[Sequence[str]],
        tags: Sequence[Sequence[str]] | None,
        words: Vocabulary,
        chars: Vocabulary,
        labels: Vocabulary,
        *,
        names: Sequence[str | list[str]] | None = None,
        suffixes: Vocabulary | None = None,
    ) -> TaggedData:
        """Encode sentences; a word unseen in training is read as its lower-case form when
        that was seen ("Apple" as "apple"), else as ``<unk>``, as are unknown characters
        (that is what the character features are for); a tag unseen in training is an error
        naming the sentence (``names[i]``, or its word's own ``names[i][j]``). ``tags`` None:
        unlabelled sentences (all tags 0). ``unseen`` marks the words whose exact form
        training never saw."""
        word_ids, char_ids, tag_ids, unseen, affixes = [], [], [], [], []
        for i, sentence in enumerate(tokens):
            word_ids.append(words.encode(_known_forms(sentence, words), unknown="map"))
            affixes.append([_affixes(w, suffixes) for w in sentence])
            unseen.append([w not in words for w in sentence])
            char_ids.append([chars.encode(list(word_chars(w)), unknown="map") for w in sentence])
            if tags is None:
                tag_ids.append([0] * len(sentence))
                continue
            row = []
            for j, tag in enumerate(tags[i]):
                if tag not in labels:
                    where = names[i] if names is not None else f"sentence {i + 1}"
                    where = where[j] if isinstance(where, list) else where
                    known = ", ".join(labels.tokens[4:][:20])
                    raise ValueError(
                        f"{where}: word {j + 1} ({sentence[j]!r}) of the sentence has the tag "
                        f"{tag!r}, not seen in training; expected one of {known}"
                    )
                row.append(labels.ids[tag])
            tag_ids.append(row)
        return cls(word_ids, char_ids, tag_ids, unseen, affixes)

    def __len__(self) -> int:
        return len(self.words)

    def lengths(self) -> list[int]:
        return [len(w) for w in self.words]

    def batch(self, index: Sequence[int]) -> TaggedBatch:
        """The sentences ``index`` as one padded batch."""
        n, t = len(index), max(len(self.words[i]) for i in index)
        width = max((len(c) for i in index for c in self.chars[i]), default=1)
        words = torch.zeros(n, t, dtype=torch.long)
        chars = torch.zeros(n, t, width, dtype=torch.long)
        tags = torch.zeros(n, t, dtype=torch.long)
        unseen = torch.zeros(n, t, dtype=torch.bool)
        affixes = torch.zeros(n, t, len(SUFFIXES) + 1, dtype=torch.long)
        for row, i in enumerate(index):
            k = len(self.words[i])
            words[row, :k] = torch.tensor(self.words[i])
            affixes[row, :k] = torch.tensor(self.affixes[i])
            tags[row, :k] = torch.tensor(self.tags[i])
            unseen[row, :k] = torch.tensor(self.unseen[i])
            for j, word in enumerate(self.chars[i]):
                chars[row, j, : len(word)] = torch.tensor(word)
        index = torch.tensor(list(index))
        return TaggedBatch(words, chars, tags, words != 0, unseen, index, affixes)

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[TaggedBatch]:
        """Mini-batches of sentences of similar lengths: with ``shuffle``, the sentences are
        shuffled, cut into pools of 20 batches, each pool sorted by length and cut into
        batches, and the batches shuffled; without, the whole set sorted by length (each
        batch's ``index`` says where its rows belong)."""
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1, got {batch_size}.")
        lengths = self.lengths()
        if not shuffle:
            order = sorted(range(len(self)), key=lengths.__getitem__)
            for start in range(0, len(order), batch_size):
                yield self.batch(order[start : start + batch_size])
            return
        order = torch.randperm(len(self), generator=generator).tolist()
        pool = 20 * batch_size
        groups = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=lengths.__getitem__)
            groups += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
        for g in torch.randperm(len(groups), generator=generator).tolist():
            yield self.batch(groups[g])
