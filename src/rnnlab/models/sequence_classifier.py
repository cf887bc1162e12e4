r"""A sequence classifier: one label for a whole sequence of tokens or of feature vectors.

Tokens are embedded; feature vectors (already standardised) go in as they are. ``layers``
stacked recurrent layers (bidirectional by default) read the sequence, masked so that a
padded batch gives each sequence what it gives alone; the outputs are pooled over the real
steps (``mean``, ``max``, or ``last``: the final state of each direction), and a dense layer
scores each class; for tokens, with ``bag``, beside the mean of the sequence's embeddings (a
bag of words, as fastText classifies: word choice read directly, word order by the recurrent
layers). With ``members`` > 1 the model is an ensemble of that many such
classifiers, each with its own initial weights, trained side by side on the same batches
(each on its own loss) and predicting the mean of their class probabilities: a standard way
to gain accuracy on small data sets, at ``members`` times the cost.

Legend: ``N`` sequences, ``T`` steps, ``F`` features a step, ``H`` units, ``K`` classes.
``batch_first`` everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.data.vocab import Vocabulary
from rnnlab.layers.bidirectional import stacked_layers
from rnnlab.layers.frontend import FRONTENDS, ConvFrontEnd
from rnnlab.layers.recurrent import RECURRENT_LAYERS


def _mean(x, mask):
    m = mask[..., None].to(x.dtype)  # (N, T, 1)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


def _max(x, mask):
    return x.masked_fill(~mask[..., None], float("-inf")).amax(1)


POOLINGS = {"mean": _mean, "max": _max, "last": None}


@dataclass(frozen=True)
class SequenceClassifierConfig:
    """The classifier's shape; every field is saved with the weights."""

    num_classes: int
    vocab_size: int | None = None  # tokens (with the 4 special ones); None: feature vectors
    features: int | None = None  # F, for feature vectors
    embedding_dim: int = 64
    units: int = 64
    layers: int = 1
    cell: str = "lstm"
    bidirectional: bool = True
    pooling: str = "mean"
    dropout: float = 0.2
    members: int = 1  # classifiers in the ensemble
    bag: bool = False  # the mean of what the recurrent layers read, beside their pooled outputs
    frontend: str = "none"  # vectors: "conv" or "patch" before the recurrent layers
    reduction: int = 1  # the front end's steps in per step out
    channels: int = 64  # the front end's output width
    word_scores: bool = False  # tokens: each token's own class scores, averaged, added
    word_dropout: float = 0.0  # tokens: the chance a token reads as <unk> while training

    def __post_init__(self) -> None:
        if (self.vocab_size is None) == (self.features is None):
            raise ValueError("give either `vocab_size` (tokens) or `features` (vectors).")
        if self.num_classes < 2:
            raise ValueError(f"`num_classes` must be >= 2, got {self.num_classes}.")
        if self.cell not in RECURRENT_LAYERS:
            raise ValueError(
                f"`cell` must be one of {sorted(RECURRENT_LAYERS)}, got {self.cell!r}."
            )
        if self.pooling not in POOLINGS:
            raise ValueError(f"`pooling` must be one of {list(POOLINGS)}, got {self.pooling!r}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), got {self.dropout}.")
        if self.members < 1:
            raise ValueError(f"`members` must be >= 1, got {self.members}.")
        if (self.word_scores or self.word_dropout) and self.vocab_size is None:
            raise ValueError("`word_scores` and `word_dropout` read tokens (`vocab_size`).")
        if not 0.0 <= self.word_dropout < 1.0:
            raise ValueError(f"`word_dropout` must be in [0, 1), got {self.word_dropout}.")
        if self.frontend not in FRONTENDS:
            raise ValueError(f"`frontend` must be one of {FRONTENDS}, got {self.frontend!r}.")
        if self.frontend != "none" and self.vocab_size is not None:
            raise ValueError("a `frontend` reads feature vectors (`features`), not tokens.")
        if self.bag and self.vocab_size is None and self.frontend == "none":
            raise ValueError(
                "`bag` (the mean of the recurrent layers' input) needs tokens or a `frontend`."
            )

    def activation_bytes(self, batch: int, length: int) -> int:
        gates = {"lstm": 4, "gru": 3, "rnn": 1}[self.cell]
        directions = 2 if self.bidirectional else 1
        width = self.embedding_dim if self.vocab_size else self.features
        steps = length
        if self.frontend != "none":  # the front end's blocks, then fewer steps
            width += 3 * self.channels * (2 + int(math.log2(max(1, self.reduction))))
            steps = -(-length // self.reduction)
        recurrent = self.layers * directions * (gates + 3) * self.units * steps
        return 2 * 4 * batch * (recurrent + width * length) * self.members


class SequenceClassifier(nn.Module):
    """Inputs ``(N, T)`` ids or ``(N, T, F)`` vectors, and a mask ``(N, T)``, to class scores
    ``(N, K)``: log-probabilities (the log of the members' mean probabilities).

    Example::

        >>> m = SequenceClassifier(SequenceClassifierConfig(num_classes=3, features=2, units=4))
        >>> m(torch.zeros(5, 7, 2), torch.ones(5, 7, dtype=torch.bool)).shape
        torch.Size([5, 3])
    """

    def __init__(self, config: SequenceClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(_Member(config) for _ in range(config.members))

    def member_logits(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Each member's class scores ``(M, N, K)``."""
        return torch.stack([m(inputs, mask) for m in self.members])

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        log_p = self.member_logits(inputs, mask).log_softmax(-1)  # (M, N, K)
        return torch.logsumexp(log_p, dim=0) - math.log(len(self.members))  # (N, K)

    def loss(self, inputs, mask, labels, trains=None) -> torch.Tensor:
        """The members' mean cross-entropy, each member on its own scores; with ``trains``
        ``(M, N)``, member ``m`` learns only from the sequences ``trains[m]`` marks."""
        logits = self.member_logits(inputs, mask)  # (M, N, K)
        losses = F.cross_entropy(
            logits.flatten(0, 1), labels.repeat(len(self.members)), reduction="none"
        )
        if trains is None:
            return losses.mean()
        trains = trains.flatten().to(losses.dtype)
        return (losses * trains).sum() / trains.sum().clamp_min(1)


class _Member(nn.Module):
    """One classifier: the embedding (tokens), the recurrent layers, pooling, the head."""

    def __init__(self, config: SequenceClassifierConfig) -> None:
        super().__init__()
        c = self.config = config
        self.embedding = None
        width = c.features
        if c.vocab_size is not None:
            self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim, padding_idx=0)
            width = c.embedding_dim
        self.frontend = None
        if c.frontend != "none":
            self.frontend = ConvFrontEnd(width, c.channels, c.reduction, c.frontend)
            width = c.channels
        directions = 2 if c.bidirectional else 1
        self.recurrent = stacked_layers(
            c.cell,
            c.units,
            c.layers,
            width,
            bidirectional=c.bidirectional,
            last_returns_sequences=c.pooling != "last",
        )
        self.dropout = nn.Dropout(c.dropout)
        bag = width if c.bag else 0
        self.output = nn.Linear(directions * c.units + bag, c.num_classes)
        self.word_scores = None
        if c.word_scores:  # a linear model of the words used, as logistic regression reads
            self.word_scores = nn.Embedding(c.vocab_size, c.num_classes, padding_idx=0)
            nn.init.zeros_(self.word_scores.weight)

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.training and self.config.word_dropout > 0:
            drop = torch.rand(inputs.shape, device=inputs.device) < self.config.word_dropout
            inputs = inputs.masked_fill(drop & mask, Vocabulary.unk_id)
        x = self.embedding(inputs) if self.embedding is not None else inputs  # (N, T, F)
        if self.frontend is not None:
            x, mask = self.frontend(x, mask)  # (N, T', C): fewer, richer steps
        x = embedded = self.dropout(x)
        for layer in self.recurrent:
            x = layer(x, mask=mask)  # (N, T, D*H), or (N, D*H) for "last"
        pool = POOLINGS[self.config.pooling]
        if pool is not None:
            x = pool(x, mask)  # (N, D*H)
        if self.config.bag:
            x = torch.cat([x, _mean(embedded, mask)], dim=-1)  # (N, D*H + E)
        logits = self.output(self.dropout(x))  # (N, K)
        if self.word_scores is not None:
            logits = logits + _mean(self.word_scores(inputs), mask)
        return logits
