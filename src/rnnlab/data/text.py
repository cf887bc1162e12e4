"""Text for language models: a UTF-8 file as one stream of tokens, cut into parallel streams.

Tokens are characters (``"chars"``, the default) or the space-separated words of each line
followed by an end-of-line token (``"space"``; the vocabulary's ``</s>``, written back as a
line break). ``TextStreams`` lays a token stream out as ``B`` parallel streams read ``bptt``
steps at a time, in order, for truncated backpropagation through time with the state carried
from one chunk to the next.

Legend: ``B`` streams, ``T`` steps of a chunk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from rnnlab.data.files import InputFileError, read_text_file, split_lines
from rnnlab.data.vocab import END, SPECIALS, Vocabulary

TEXT_TOKENS = ("chars", "space")


def text_tokens(text: str, how: str = "chars") -> list[str]:
    """The tokens of ``text``: its characters, or each line's words then ``</s>``."""
    if how == "chars":
        return list(text)
    if how == "space":
        return [t for line in split_lines(text) for t in (*line.split(), END)]
    raise ValueError(f"`tokens` must be one of {TEXT_TOKENS}, got {how!r}.")


def join_text(tokens, how: str = "chars", *, line_start: bool = True):
    """``text_tokens``'s inverse, up to spacing, as a stream: yields the text of each token
    (a character; or a word with the space before it, ``</s>`` as a line break).
    ``line_start``: the text so far ends a line (or is empty). ``"".join(...)`` for a string."""
    for token in tokens:
        if how == "chars":
            yield token
        elif token == END:
            line_start = True
            yield "\n"
        else:
            yield token if line_start else " " + token
            line_start = False


def read_some_text(path) -> str:
    """The text of the file ``path`` (``read_text_file``); an empty or whitespace-only file
    is refused."""
    text = read_text_file(path)
    if not text.strip():
        raise InputFileError(f"{path}: {'empty' if not text else 'only whitespace'}; expected text")
    return text


def read_text(path, how: str = "chars") -> list[str]:
    """The tokens of the text file ``path`` (``read_some_text``)."""
    text = read_some_text(path)
    tokens = text_tokens(text, how)
    if how == "space":  # the text's own words, before the line-end tokens are added
        specials = set(SPECIALS)
        for number, line in enumerate(split_lines(text), 1):
            found = specials.intersection(line.split())
            if found:
                raise InputFileError(
                    f"{path}:{number}: the token {min(found)!r} is the vocabulary's own; "
                    "expected text without it"
                )
    return tokens


def text_vocabulary(tokens: list[str], most: int | None = None) -> Vocabulary:
    """The vocabulary of ``tokens`` (most frequent first), at most ``most`` entries besides
    the special ones; rarer tokens read as ``<unk>``."""
    counts = Counter(tokens)
    for special in SPECIALS:
        counts.pop(special, None)
    ordered = sorted(counts, key=lambda t: (-counts[t], t))
    if most is not None:
        ordered = ordered[:most]
    return Vocabulary([*SPECIALS, *ordered])


def encode_text(vocab: Vocabulary, tokens: list[str]) -> tuple[torch.Tensor, int]:
    """Token ids (``<unk>`` for tokens the vocabulary lacks) and how many were unknown."""
    ids = vocab.encode(tokens, unknown="map")
    return torch.tensor(ids, dtype=torch.long), ids.count(vocab.unk_id)


@dataclass
class Chunk:
    """``bptt`` steps of ``B`` streams: inputs, and targets one token later. ``first``: the
    streams start here (the state must be reset)."""

    inputs: torch.Tensor  # (B, T)
    targets: torch.Tensor  # (B, T)
    first: bool

    def __len__(self) -> int:
        return self.inputs.shape[0]


class TextStreams:
    """A token stream read as ``streams`` parallel streams, ``bptt`` steps at a time.

    Stream ``b`` is the ``b``-th of ``streams`` equal consecutive parts of the text. With
    ``shuffle`` (training), each epoch starts the parts at a random offset below ``bptt`` (from
    the trainer's generator), so that chunk boundaries fall elsewhere each time; the order of
    the chunks is kept, since the state flows from one to the next. ``len`` is ``streams``
    times the chunks an epoch has, so ``len / streams`` is the number of steps.
    """

    def __init__(self, ids: torch.Tensor, *, streams: int, bptt: int, name: str = "text"):
        need = streams * bptt + bptt
        if len(ids) < need:
            raise InputFileError(
                f"{name}: {len(ids):,} tokens, fewer than one training chunk needs ({streams} "
                f"streams x {bptt} steps, plus {bptt} for the chunks' offsets: {need:,}); give "
                "a longer text, or a smaller --batch-size or --bptt"
            )
        self.ids, self.streams, self.bptt = ids, streams, bptt
        self.length = (len(ids) - bptt) // streams  # steps of each stream, whatever the offset
        self.chunks = -(-self.length // bptt)

    def __len__(self) -> int:
        return self.streams * self.chunks

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[Chunk]:
        if batch_size != self.streams:
            raise ValueError(f"these streams are read {self.streams} at a time, not {batch_size}")
        offset = 0
        if shuffle:
            offset = int(torch.randint(self.bptt, (1,), generator=generator))
        n = self.streams * self.length
        inputs = self.ids[offset : offset + n].view(self.streams, self.length)
        targets = self.ids[offset + 1 : offset + 1 + n].view(self.streams, self.length)
        for i, start in enumerate(range(0, self.length, self.bptt)):
            stop = start + self.bptt
            yield Chunk(inputs[:, start:stop], targets[:, start:stop], first=i == 0)
