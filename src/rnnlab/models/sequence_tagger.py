r"""A sequence labeller: one tag per word, read from both sides of the sentence.

Each word :math:`w_t` is the concatenation of its embedding :math:`e(w_t)` and features of its
characters (how unseen words get a sensible tag): an embedding per character read by a
bidirectional LSTM, whose two final states are the features (``char_encoder="lstm"``), or a
convolution of width 3 over the characters, max-pooled over the word (``"cnn"``). Then
``layers`` stacked recurrent layers (bidirectional by default) read the sentence, and a
dense layer scores every tag at every word. With ``crf``, a linear-chain CRF
(``rnnlab.layers.crf.CRF``) over those scores gives the most likely tag *sequence*;
without, each word takes its highest-scoring tag.

While training, a rare word (seen once in training) is replaced by ``<unk>`` with
probability ``unk_replace``, so the unknown-word path is trained on words like the ones it
will meet.

Legend: ``N`` sentences, ``T`` words, ``L`` characters a word, ``E`` word embedding, ``C``
character features, ``H`` units, ``K`` tags. ``batch_first`` everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rnnlab.data.tagged_dataset import SHAPES, SUFFIXES
from rnnlab.layers.bidirectional import Bidirectional, stacked_layers
from rnnlab.layers.crf import CRF
from rnnlab.layers.recurrent import RECURRENT_LAYERS, recurrent_layer

UNK_ID = 3
CHAR_ENCODERS = ("lstm", "cnn")


@dataclass(frozen=True)
class SequenceTaggerConfig:
    """The tagger's shape; every field is saved with the weights."""

    vocab_size: int  # words, with the 4 special tokens
    char_vocab_size: int
    num_tags: int  # with the 4 special tokens (never predicted)
    embedding_dim: int = 100  # E
    char_dim: int = 32  # the embedding of a character
    char_features: int = 64  # C: character features of a word (0: none)
    char_encoder: str = "cnn"  # "lstm" (C/2 units each way) or "cnn" (C filters)
    suffix_vocab_size: int = 0  # the word endings known (0: no ending or shape features)
    affix_dim: int = 16  # the embedding of one ending, and of the word's shape
    units: int = 200  # H, each direction
    layers: int = 2
    cell: str = "lstm"
    bidirectional: bool = True
    dropout: float = 0.33
    locked_dropout: bool = False  # one dropout mask per sentence, the same at every word
    crf: bool = False
    unk_replace: float = 0.0  # probability that a rare word becomes <unk> while training

    def __post_init__(self) -> None:
        for name in ("vocab_size", "char_vocab_size", "num_tags"):
            if getattr(self, name) < 5:
                raise ValueError(f"`{name}` must be >= 5, got {getattr(self, name)}.")
        for name in ("embedding_dim", "units", "layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {getattr(self, name)}.")
        if self.cell not in RECURRENT_LAYERS:
            raise ValueError(
                f"`cell` must be one of {sorted(RECURRENT_LAYERS)}, got {self.cell!r}."
            )
        if self.char_encoder not in CHAR_ENCODERS:
            raise ValueError(
                f"`char_encoder` must be one of {list(CHAR_ENCODERS)}, got {self.char_encoder!r}."
            )
        if self.char_encoder == "lstm" and self.char_features % 2:
            raise ValueError(f"`char_features` must be even, got {self.char_features}.")
        for name in ("dropout", "unk_replace"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1), got {getattr(self, name)}.")

    def activation_bytes(self, batch: int, length: int) -> int:
        """A generous estimate of one training step's saved activations (float32, twice)."""
        gates = {"lstm": 4, "gru": 3, "rnn": 1}[self.cell]
        directions = 2 if self.bidirectional else 1
        per_word = (
            self.layers * directions * (gates + 3) * self.units
            + self.embedding_dim
            + 16 * (self.char_dim + self.char_features)
            + (len(SUFFIXES) + 1) * self.affix_dim
            + 4 * self.num_tags
        )
        return 2 * 4 * batch * length * per_word


class SequenceTagger(nn.Module):
    """Words ``(N, T)`` and their characters ``(N, T, L)`` to tag scores ``(N, T, K)``.

    Example::

        >>> c = SequenceTaggerConfig(vocab_size=10, char_vocab_size=8, num_tags=6, units=4)
        >>> m = SequenceTagger(c)
        >>> words, chars = torch.ones(2, 3, dtype=torch.long), torch.ones(2, 3, 5, dtype=torch.long)
        >>> m(words, chars, words != 0).shape
        torch.Size([2, 3, 6])
    """

    def __init__(self, config: SequenceTaggerConfig, rare: torch.Tensor | None = None) -> None:
        super().__init__()
        c = self.config = config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim, padding_idx=0)
        width = c.embedding_dim
        if c.char_features:
            self.char_embedding = nn.Embedding(c.char_vocab_size, c.char_dim, padding_idx=0)
            if c.char_encoder == "lstm":
                self.char_lstm = Bidirectional(
                    recurrent_layer("lstm", c.char_features // 2, input_size=c.char_dim)
                )
            else:
                self.char_conv = nn.Conv1d(c.char_dim, c.char_features, 3, padding=1)
            width += c.char_features
        if c.suffix_vocab_size:
            self.suffix_embedding = nn.Embedding(c.suffix_vocab_size, c.affix_dim, padding_idx=0)
            self.shape_embedding = nn.Embedding(len(SHAPES), c.affix_dim)
            width += (len(SUFFIXES) + 1) * c.affix_dim
        directions = 2 if c.bidirectional else 1
        self.recurrent = stacked_layers(
            c.cell, c.units, c.layers, width, bidirectional=c.bidirectional
        )
        self.dropout = nn.Dropout(c.dropout)
        self.output = nn.Linear(directions * c.units, c.num_tags)
        self.crf = CRF(c.num_tags) if c.crf else None
        # which word ids are rare (seen once in training): replaced by <unk> in training
        self.register_buffer("rare", torch.zeros(c.vocab_size, dtype=torch.bool), persistent=False)
        if rare is not None:
            self.rare.copy_(rare)

    def forward(self, words, chars, mask, affixes=None) -> torch.Tensor:
        if self.training and self.config.unk_replace > 0:
            drop = self.rare[words] & (
                torch.rand(words.shape, device=words.device) < self.config.unk_replace
            )
            words = words.masked_fill(drop, UNK_ID)
        x = self.embedding(words)  # (N, T, E)
        if self.config.char_features:
            x = torch.cat([x, self._char_features(chars)], dim=-1)  # (N, T, E + C)
        if self.config.suffix_vocab_size:
            endings = self.suffix_embedding(affixes[..., :-1]).flatten(2)  # (N, T, S*A)
            x = torch.cat([x, endings, self.shape_embedding(affixes[..., -1])], dim=-1)
        x = self._dropout(x)
        for layer in self.recurrent:
            x = self._dropout(layer(x, mask=mask))  # (N, T, D*H)
        scores = self.output(x)  # (N, T, K)
        return scores.masked_fill(~self._allowed(scores), -1e4)

    def _dropout(self, x: torch.Tensor) -> torch.Tensor:
        """Dropout of ``(N, T, F)`` features: per word, or with ``locked_dropout`` one mask
        per sentence (variational dropout, as Gal and Ghahramani's)."""
        p = self.config.dropout
        if not (self.training and p > 0 and self.config.locked_dropout):
            return self.dropout(x)
        keep = torch.empty_like(x[:, :1]).bernoulli_(1 - p) / (1 - p)  # (N, 1, F)
        return x * keep

    def _allowed(self, scores: torch.Tensor) -> torch.Tensor:
        """The real tags: never padding, start, end or unknown (ids 0-3)."""
        allowed = torch.ones(scores.shape[-1], dtype=torch.bool, device=scores.device)
        allowed[:4] = False
        return allowed

    def _char_features(self, chars: torch.Tensor) -> torch.Tensor:
        n, t, length = chars.shape
        flat = chars.reshape(n * t, length)  # (N*T, L)
        if self.config.char_encoder == "lstm":
            return self._char_lstm(flat).reshape(n, t, -1)
        e = self.char_embedding(flat).transpose(1, 2)  # (N*T, c, L)
        h = torch.relu(self.char_conv(e))  # (N*T, C, L)
        h = h.masked_fill((flat == 0)[:, None, :], 0.0)  # padding characters contribute 0
        return h.amax(dim=2).reshape(n, t, -1)  # (N, T, C)

    def _char_lstm(self, flat: torch.Tensor) -> torch.Tensor:
        """Each distinct word of the batch read once, both ways: ``(N*T, L) -> (N*T, C)``;
        padding words (no characters) get zeros."""
        words, where = torch.unique(flat, dim=0, return_inverse=True)  # (U, L), (N*T,)
        real = words[:, 0] != 0  # characters are post-padded: an empty row is padding
        features = self.char_embedding.weight.new_zeros((len(words), self.config.char_features))
        read = words[real]
        if len(read):
            mask = read != 0
            longest = int(mask.sum(1).max())
            read, mask = read[:, :longest], mask[:, :longest]
            encoded = self.char_lstm(self.char_embedding(read), mask=mask)  # (R, C)
            features = features.to(encoded.dtype)  # lower under autocast than the weights
            features[real] = encoded
        return features[where]

    def loss(self, words, chars, tags, mask, affixes=None) -> torch.Tensor:
        """Mean negative log-likelihood per real word (cross-entropy, or the CRF's)."""
        scores = self(words, chars, mask, affixes)
        if self.crf is not None:
            return self.crf.loss(scores, tags, mask)
        return nn.functional.cross_entropy(scores[mask], tags[mask])

    @torch.no_grad()
    def decode(self, words, chars, mask, affixes=None) -> list[list[int]]:
        """The predicted tag ids of each sentence, of its own length."""
        scores = self(words, chars, mask, affixes)
        if self.crf is not None:
            return self.crf.decode(scores, mask)
        best = scores.argmax(-1)
        return [row[: int(n)].tolist() for row, n in zip(best, mask.sum(1), strict=True)]
