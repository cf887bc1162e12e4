"""Kind ``seq2seq``: token sequence in, token sequence out (pair files and built-in tasks).

An encoder-decoder (a bidirectional LSTM encoder, Bahdanau attention and an LSTM decoder by
default) trained with teacher forcing and decoded greedily or by beam search. Each built-in
task has defaults (data budget, model size, epochs) that solve it; a pair file gets general
defaults. Every option can be overridden.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from rnnlab.data import TokenPairs, Vocabulary, make_pairs, read_pairs
from rnnlab.data.pairs import TOKENIZATIONS, join_tokens
from rnnlab.data.split import hold_out
from rnnlab.data.tasks import TASK_TOKENS, TASKS
from rnnlab.kinds.base import Kind, Prepared, Run
from rnnlab.kinds.options import option
from rnnlab.models import Seq2Seq, Seq2SeqConfig
from rnnlab.models.attention import SCORES
from rnnlab.models.tagger import RECURRENT_LAYERS
from rnnlab.plots import figures
from rnnlab.plots.figures import png_bytes, pyplot
from rnnlab.training import SequenceGeneration
from rnnlab.training.objectives import model_device


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a ``seq2seq`` run. ``None`` means: the task's default."""

    task: str | None = option("a built-in task", choices=tuple(TASKS), default=None)
    data: str | None = option("a pair file: 'source<TAB>target' lines, or .jsonl", value="path")
    val: str | None = option(
        "a validation file (default: hold out --val-fraction of --data)", value="path"
    )
    tokens: str = option(
        "how a pair file's lines split into tokens", choices=TOKENIZATIONS, default="space"
    )
    samples: int | None = option("pairs generated for a built-in task", value="samples")
    max_len: int | None = option(
        "the task's length (reverse: longest sequence; add: digits)", value="length"
    )
    val_fraction: float = option("held-out fraction", value="fraction", default=0.2)
    seed: int = option("seed of data, weights and shuffling", value="seed", default=0)
    embedding_dim: int | None = option("embedding size (task default)", value="units")
    units: int | None = option("recurrent units (task default)", value="units")
    layers: int = option("stacked recurrent layers", value="layers", default=1)
    cell: str = option("the recurrent cell", choices=tuple(RECURRENT_LAYERS), default="lstm")
    bidirectional: bool = option(
        "a one-way encoder (default: bidirectional)", flag="--unidirectional", default=True
    )
    attention: str | None = option(
        "attention over the encoder", choices=(*SCORES, "none"), none="none", default="bahdanau"
    )
    dropout: float | None = option("dropout in [0, 1) (task default)", value="dropout")
    epochs: int | None = option("most epochs (task default)", value="steps")
    batch_size: int | None = option("examples per step (task default)", value="batch")
    learning_rate: float | None = option("peak Adam step size (task default)", value="rate")
    clip_norm: float = option("gradient norm clip", value="positive", default=1.0)
    schedule: str = option(
        "learning-rate schedule", choices=("cosine", "constant"), default="cosine"
    )
    patience: int | None = option(
        "early-stopping patience, in epochs without a better validation score", value="steps"
    )
    beam_width: int = option("beam width for validation (1: greedy)", value="beam", default=1)
    length_penalty: float = option(
        "beam search's length exponent", value="positive", cli=False, default=0.6
    )
    unknown: str = option(
        "a validation token unseen in training: an error, or mapped to <unk>",
        choices=("error", "map"),
        default="error",
    )

    def __post_init__(self) -> None:
        if (self.task is None) == (self.data is None):
            raise ValueError("give either `task` or `data` (a pair file), not both or neither.")
        if self.task is not None and self.task not in TASKS:
            raise ValueError(f"`task` must be one of {sorted(TASKS)}, got {self.task!r}.")
        if self.tokens not in TOKENIZATIONS:
            raise ValueError(f"`tokens` must be one of {TOKENIZATIONS}, got {self.tokens!r}.")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"`val_fraction` must be in (0, 1), got {self.val_fraction}.")
        if self.beam_width < 1:
            raise ValueError(f"`beam_width` must be >= 1, got {self.beam_width}.")
        if self.unknown not in ("error", "map"):
            raise ValueError(f"`unknown` must be 'error' or 'map', got {self.unknown!r}.")

    def resolved(self) -> TrainConfig:
        """This config with every ``None`` replaced by the task's default. A pair file's
        defaults depend on its data: ``Seq2SeqKind.prepare`` fills them (``file_defaults``)."""
        if self.task is None:
            return dataclasses.replace(self, samples=self.samples or 0, max_len=self.max_len or 0)
        return self.with_defaults(TASK_DEFAULTS[self.task])

    def with_defaults(self, defaults: dict) -> TrainConfig:
        """This config with its ``None`` fields taken from ``defaults``."""
        filled = {k: defaults[k] for k in defaults if getattr(self, k) is None}
        return dataclasses.replace(self, **filled)


# Budgets that solve each task on a 2-core CPU (see the README's figures).
_SMALL = dict(embedding_dim=32, units=64, learning_rate=0.005, dropout=0.0)
_LARGE = dict(embedding_dim=32, units=128, learning_rate=0.003, dropout=0.0)
TASK_DEFAULTS: dict[str, dict] = {
    "reverse": dict(_SMALL, samples=1000, max_len=5, epochs=60, batch_size=32, patience=15),
    "copy": dict(_SMALL, samples=1000, max_len=5, epochs=60, batch_size=32, patience=15),
    "sort": dict(_SMALL, samples=5000, max_len=8, epochs=40, batch_size=64, patience=8),
    "add": dict(_LARGE, samples=40000, max_len=3, epochs=25, batch_size=128, patience=5),
    "dates": dict(_LARGE, samples=20000, max_len=1, epochs=15, batch_size=64, patience=4),
}


STEPS = 8_000  # about as many updates as a pair file's run makes (see ``file_defaults``)


def _power_of_two(x: float, low: int, high: int) -> int:
    """The power of two nearest ``x`` (on a log scale), within ``[low, high]``."""
    return int(min(high, max(low, 2 ** round(math.log2(max(x, 1.0))))))


def file_defaults(pairs: int, vocabulary: int, longest: int) -> dict:
    """Defaults for a pair file of ``pairs`` training pairs, ``vocabulary`` distinct tokens
    (the larger side's) and sequences of up to ``longest`` tokens.

    The model grows with the data, not ahead of it: embeddings with the vocabulary (about
    ``2 sqrt(V)``, 16-256), recurrent units with the number of pairs (about
    ``sqrt(pairs) / 4``, 32-256); a larger model takes a smaller step (``0.003`` at 64 units,
    falling as ``1/sqrt(units)``); batches of about 2,000 tokens
    (16-128 pairs, and at least 50 batches an epoch), and about ``STEPS`` updates in all
    (10-60 epochs), so the cosine schedule has decayed by the time the model is good and
    validation does not swing. Light dropout, and early stopping on validation exact match
    (patience 3).
    """
    units = _power_of_two(math.sqrt(pairs) / 4, 32, 256)
    batch = _power_of_two(min(2000 / max(1, longest), pairs / 50), 16, 128)
    epochs = round(STEPS / max(1, math.ceil(pairs / batch)))
    return dict(
        embedding_dim=_power_of_two(2 * math.sqrt(vocabulary), 16, 256),
        units=units,
        learning_rate=round(0.003 * math.sqrt(64 / units), 4),
        batch_size=batch,
        epochs=min(60, max(10, epochs)),
        patience=3,
        dropout=0.1,
    )


@dataclass
class Corpus:
    """Training and validation token lists, with names for error messages."""

    train: tuple[list, list]
    val: tuple[list, list]
    val_names: list[str]
    tokens: str


def load_corpus(config: TrainConfig) -> Corpus:
    """Generate or read the pairs and split them; validation sources seen in training are
    dropped, so validation measures generalisation to unseen sequences."""
    if config.task is not None:
        sources, targets = make_pairs(config.task, config.samples, config.max_len, seed=config.seed)
        sources = [[str(t) for t in s] for s in sources]
        targets = [[str(t) for t in t_] for t_ in targets]
        names, tokens = [f"example {i + 1}" for i in range(len(sources))], TASK_TOKENS[config.task]
        what = f"task {config.task!r} with `samples` {config.samples}"
    else:
        pairs = read_pairs(config.data, config.tokens)
        sources, targets, tokens = pairs.sources, pairs.targets, config.tokens
        names = [f"{pairs.path}:{line}" for line in pairs.lines]
        what = str(pairs.path)
    if config.val is not None:
        val = read_pairs(config.val, config.tokens)
        return Corpus(
            (sources, targets),
            (val.sources, val.targets),
            [f"{val.path}:{line}" for line in val.lines],
            tokens,
        )
    train_idx, val_idx = hold_out(len(sources), config.val_fraction, config.seed, what, "pair")
    seen = {tuple(sources[i]) for i in train_idx}
    val_idx = [i for i in val_idx if tuple(sources[i]) not in seen]
    if not val_idx:
        raise ValueError(
            f"{what}: every held-out source also occurs in training (are the sources all "
            "alike?), so nothing would measure generalisation; expected distinct sources, or "
            "give `val`"
        )
    pick = lambda idx, xs: [xs[i] for i in idx]  # noqa: E731
    return Corpus(
        (pick(train_idx, sources), pick(train_idx, targets)),
        (pick(val_idx, sources), pick(val_idx, targets)),
        pick(val_idx, names),
        tokens,
    )


def model_config(config: TrainConfig, source_vocab: Vocabulary, target_vocab: Vocabulary):
    return Seq2SeqConfig(
        source_vocab_size=len(source_vocab),
        target_vocab_size=len(target_vocab),
        embedding_dim=config.embedding_dim,
        units=config.units,
        layers=config.layers,
        cell=config.cell,
        bidirectional=config.bidirectional,
        attention=config.attention,
        dropout=config.dropout,
    )


class Seq2SeqKind(Kind):
    name = "seq2seq"
    config = TrainConfig
    description = "token sequence in, token sequence out (pair files, built-in tasks)"

    def prepare(self, config: TrainConfig) -> Prepared:
        corpus = load_corpus(config)
        source_vocab = Vocabulary.build(corpus.train[0])
        target_vocab = Vocabulary.build(corpus.train[1])
        if config.task is None:
            longest = max(map(len, [*corpus.train[0], *corpus.train[1]]))
            vocabulary = max(len(source_vocab), len(target_vocab))
            config = config.with_defaults(file_defaults(len(corpus.train[0]), vocabulary, longest))
        train = TokenPairs.encode(*corpus.train, source_vocab, target_vocab)
        val = TokenPairs.encode(
            *corpus.val, source_vocab, target_vocab, unknown=config.unknown, names=corpus.val_names
        )
        shape = model_config(config, source_vocab, target_vocab)
        source_len = max(map(len, [*corpus.train[0], *corpus.val[0]]))
        target_len = 2 * max(map(len, [*corpus.train[1], *corpus.val[1]])) + 5  # decoding limit
        batch = max(config.batch_size, min(256, len(corpus.val[0])))  # validation: 256 at once
        return Prepared(
            config=config,
            train=train,
            val=val,
            objective=SequenceGeneration(config.beam_width, config.length_penalty),
            model_config=shape,
            build=Seq2Seq,
            monitor="val_exact_match",
            state={
                "source_vocab": source_vocab.to_list(),
                "target_vocab": target_vocab.to_list(),
                "max_output_len": 2 * max(map(len, corpus.train[1])) + 5,
                "max_source_len": max(map(len, corpus.train[0])),
            },
            activation_bytes=shape.activation_bytes(batch, source_len, target_len),
            sizes=f"on sequences of up to {source_len} tokens in batches of {batch}",
        )

    def build(self, saved: dict) -> Seq2Seq:
        return Seq2Seq(Seq2SeqConfig(**saved["model"]))

    def restore(self, config, model, saved, metrics) -> TrainedRun:
        for key in ("max_output_len", "max_source_len"):
            value = saved.get(key, 1)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
                raise ValueError(f"{key!r} must be an integer in [1, 100,000], got {value!r}")
        return TrainedRun(
            self,
            config,
            model,
            saved,
            metrics,
            source_vocab=Vocabulary(saved["source_vocab"]),
            target_vocab=Vocabulary(saved["target_vocab"]),
            max_output_len=saved.get("max_output_len", 100),
            max_source_len=saved.get("max_source_len"),
        )

    def pictures(self, history: dict, run: Run) -> dict[str, bytes]:
        return {"learning_curves.png": learning_curves_png(history)}

    def summary(self, m: dict) -> str:
        return (
            f"held-out exact match {m['val_exact_match']:.2%}, token accuracy "
            f"{m['val_token_accuracy']:.2%}, token error rate {m['val_token_error_rate']:.2%} "
            f"on {m['val_size']} pairs; {m['epochs']} epochs (best {m['best_epoch']}), "
            f"{m['train_seconds']:.1f} s of training"
        )


@dataclass
class TrainedRun(Run):
    """A seq2seq model with its vocabularies and the config that made it."""

    source_vocab: Vocabulary = None
    target_vocab: Vocabulary = None
    max_output_len: int = 100  # a decoding limit fixed per run, so batching changes nothing
    max_source_len: int | None = None  # the longest training source (None: not recorded)

    @property
    def tokens(self) -> str:
        return TASK_TOKENS.get(self.config.task, self.config.tokens)

    def encode_sources(self, sources, names=None, unknown="error") -> torch.Tensor:
        dummy = [[]] * len(sources)
        return TokenPairs.encode(
            sources, dummy, self.source_vocab, self.target_vocab, unknown=unknown, names=names
        ).sources

    @torch.no_grad()
    def predict(
        self, sources, *, names=None, unknown="error", batch_size=256, beam_width=None, max_len=None
    ) -> list[list[str]]:
        """Target token lists for source token lists, decoded greedily or by beam search."""
        self.model.eval()
        device = model_device(self.model)
        ids = self.encode_sources(sources, names, unknown)
        lengths = torch.tensor([len(s) for s in sources])
        limit = max_len or self.max_output_len
        out = []
        for start in range(0, len(sources), batch_size):
            n = int(lengths[start : start + batch_size].max())
            out += self.model.generate(
                ids[start : start + batch_size, :n].to(device),
                max_len=limit,
                beam_width=beam_width or self.config.beam_width,
                length_penalty=self.config.length_penalty,
            )
        return [self.target_vocab.decode(seq) for seq in out]

    def evaluate(self, sources, targets, *, names=None, unknown="error") -> dict:
        data = TokenPairs.encode(
            sources, targets, self.source_vocab, self.target_vocab, unknown=unknown, names=names
        )
        objective = SequenceGeneration(self.config.beam_width, self.config.length_penalty)
        self.model.eval()
        with torch.no_grad():
            return objective.evaluate(self.model, data, 256)

    def join(self, tokens: list[str]) -> str:
        return join_tokens(tokens, self.tokens)

    def longer_than_training(self, sources) -> list[int]:
        """Indices of the sources longer than any seen in training (their answers may be cut
        short: decoding stops at ``max_output_len``, and nothing taught the model more)."""
        longest = self.max_source_len or (self.max_output_len - 5) // 2
        return [i for i, source in enumerate(sources) if len(source) > longest]


def learning_curves_png(history: dict) -> bytes:
    """Loss and validation exact match per epoch."""
    measures = {"val_exact_match": "exact match", "val_token_accuracy": "token accuracy"}
    return figures.learning_curves_png(history, "cross-entropy per token", measures)


def attention_png(source: list[str], output: list[str], weights) -> bytes:
    """A heatmap of attention weights: output steps (rows) over source tokens (columns)."""
    plt = pyplot()

    rows = [*output, "</s>"][: len(weights)]
    fig, ax = plt.subplots(figsize=(max(4, 0.45 * len(source) + 2), max(3, 0.45 * len(rows) + 1.5)))
    image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(source)), [repr(t)[1:-1] for t in source], rotation=90)
    ax.set_yticks(range(len(rows)), rows)
    ax.set(xlabel="source", ylabel="output")
    fig.colorbar(image, ax=ax, label="attention weight")
    fig.tight_layout()
    return png_bytes(fig, dpi=100)
