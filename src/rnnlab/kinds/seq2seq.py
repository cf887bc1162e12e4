"""Kind ``seq2seq``: token sequence in, token sequence out (pair files and built-in tasks).

An encoder-decoder (a bidirectional LSTM encoder, Bahdanau attention and an LSTM decoder by
default) trained with teacher forcing and decoded greedily or by beam search. Each built-in
task has defaults (data budget, model size, epochs) that solve it; a pair file gets general
defaults. Every option can be overridden.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from rnnlab.config import RnnlabWarning, one_source, option, override
from rnnlab.data import TokenPairs, Vocabulary, make_pairs, read_pairs
from rnnlab.data.pairs import TOKENIZATIONS, join_tokens, split_tokens
from rnnlab.data.split import Split, ValidationConfig
from rnnlab.data.tasks import TASK_TOKENS, TASKS
from rnnlab.data.vocab import UNK
from rnnlab.kinds.base import Finished, Kind, Predictions, Prepared, Run, check_saved_sizes
from rnnlab.kinds.baselines import Baseline, Baselines, seq2seq_trivial, trivial_beside
from rnnlab.kinds.summary import spread, validation
from rnnlab.limits import check_int
from rnnlab.models.attention import SCORES
from rnnlab.models.encoder_config import EncoderConfig
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqModelConfig
from rnnlab.plots import figures
from rnnlab.plots.figures import png_bytes, pyplot
from rnnlab.training import SequenceGeneration
from rnnlab.training.config import TrainingConfig
from rnnlab.training.devices import model_device
from rnnlab.training.metrics import edit_distance

SIZED = "the task's, or sized to the pair file"
UNKNOWN = ("error", "map")  # a token the vocabulary lacks: an error, or <unk>
MOST_DECODED = 100_000  # the longest sequence a run folder may say it decodes


@dataclass(frozen=True)
class Seq2SeqConfig(EncoderConfig, TrainingConfig, ValidationConfig):
    """Everything that defines a ``seq2seq`` run. ``None`` means: the task's default, or
    sized to the pair file (``Seq2SeqKind.resolve``)."""

    task: str | None = option("a built-in task", choices=tuple(TASKS), default=None)
    data: str | None = option("a pair file: 'source<TAB>target' lines, or .jsonl", value="path")
    tokens: str = option(
        "how a pair file's lines split into tokens", choices=TOKENIZATIONS, default="space"
    )
    samples: int | None = option(
        "pairs generated for a built-in task", value="samples", auto="the task's"
    )
    max_len: int | None = option(
        "the task's length (reverse: longest sequence; add: digits)",
        value="length",
        auto="the task's",
    )
    embedding_dim: int | None = option("embedding size", value="units", auto=SIZED)
    attention: str | None = option(
        "attention over the encoder", choices=(*SCORES, "none"), none="none", default="bahdanau"
    )
    beam_width: int = option("beam width for validation (1: greedy)", value="beam", default=1)
    length_penalty: float = option(
        "beam search's length exponent", value="positive", cli=False, default=0.6
    )
    unknown: str = option(
        "a validation source token unseen in training: mapped to <unk> (counted in a "
        "warning), or an error",
        choices=UNKNOWN,
        default="map",
    )
    units: int | None = override(EncoderConfig, "units", None, auto=SIZED)
    dropout: float | None = override(EncoderConfig, "dropout", None, auto=SIZED)
    epochs: int | None = override(TrainingConfig, "epochs", None, auto=SIZED)
    batch_size: int | None = override(TrainingConfig, "batch_size", None, auto=SIZED)
    learning_rate: float | None = override(TrainingConfig, "learning_rate", None, auto=SIZED)
    patience: int | None = override(TrainingConfig, "patience", None, auto=SIZED)

    def check(self) -> None:
        one_source(self)

    def task_defaults(self) -> Seq2SeqConfig:
        """This config with the built-in task's defaults where it has ``None`` (a pair
        file's depend on its data: ``Seq2SeqKind.resolve``)."""
        if self.task is None:
            return self.replace(samples=self.samples or 0, max_len=self.max_len or 0)
        return self.with_defaults(TASK_DEFAULTS[self.task])


TrainConfig = Seq2SeqConfig  # the names before every kind had its own


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


MOST_EPOCHS = 60  # a pair file's default run: at most this many epochs, within the budget


def _power_of_two(x: float, low: int, high: int, *, down: bool = False) -> int:
    """The power of two nearest ``x`` (on a log scale; with ``down``, the one at or below
    it), within ``[low, high]``."""
    exponent = (math.floor if down else round)(math.log2(max(x, 1.0)))
    return int(min(high, max(low, 2**exponent)))


def file_defaults(pairs: int, vocabulary: int, longest: int) -> dict:
    """Defaults for a pair file of ``pairs`` training pairs, ``vocabulary`` distinct tokens
    (the larger side's) and sequences of up to ``longest`` tokens (all but the longest
    thousandth: one 200-letter word does not shrink every batch; batches are bucketed by
    length, so it shares its batch with the next longest).

    The model grows with the data: embeddings with the vocabulary (about ``2 sqrt(V)``,
    16-256), recurrent units with the number of pairs (about ``sqrt(pairs)``, 32-256); a
    larger model takes a smaller step (``0.003`` at 64 units, falling as ``1/sqrt(units)``);
    batches of at most about 2,000 tokens (16-128 pairs, at least 50 batches an epoch). The run
    takes what the time budget (``--max-time``, 10 minutes by default) fits, at most
    ``MOST_EPOCHS`` epochs: the trainer times its steps and runs the cosine schedule over the
    steps that fit, so it has decayed when the time is up. Light dropout, and early stopping
    on validation exact match (patience 5).
    """
    units = _power_of_two(math.sqrt(pairs), 32, 256)
    batch = _power_of_two(min(2000 / max(1, longest), pairs / 50), 16, 128, down=True)
    return dict(
        embedding_dim=_power_of_two(2 * math.sqrt(vocabulary), 16, 256),
        units=units,
        learning_rate=round(0.003 * math.sqrt(64 / units), 4),
        batch_size=batch,
        epochs=MOST_EPOCHS,
        patience=5,
        dropout=0.1,
    )


def load_corpus(config: Seq2SeqConfig) -> Split:
    """Generate or read the pairs and split them; validation sources seen in training are
    dropped, so validation measures generalisation to unseen sequences."""
    config = config.task_defaults()  # how many pairs of the task, and how long
    if config.task is not None:
        sources, targets = make_pairs(config.task, config.samples, config.max_len, seed=config.seed)
        sources = [[str(t) for t in s] for s in sources]
        targets = [[str(t) for t in t_] for t_ in targets]
        names = [f"example {i + 1}" for i in range(len(sources))]
        what = f"task {config.task!r} with `samples` {config.samples}"
    else:
        pairs = read_pairs(config.data, config.tokens)
        sources, targets = pairs.sources, pairs.targets
        names = [f"{pairs.path}:{line}" for line in pairs.lines]
        what = str(pairs.path)

    def unseen(train_idx, val_idx):
        seen = {tuple(sources[i]) for i in train_idx}
        kept = [i for i in val_idx if tuple(sources[i]) not in seen]
        if not kept:
            raise ValueError(
                f"{what}: every held-out source also occurs in training (are the sources all "
                "alike?), so nothing would measure generalisation; expected distinct sources, "
                "or give `val`"
            )
        return kept

    if config.val is not None:
        val = read_pairs(config.val, config.tokens)
        val_names = [f"{val.path}:{line}" for line in val.lines]
        split = Split((sources, targets), (val.sources, val.targets), val_names)
    else:
        split = Split.held_out((sources, targets), names, config, what, "pair", keep=unseen)
    if config.task is None:  # once the file is known to be usable
        _warn_of_repeats(sources, targets, names)
        _warn_of_mixed_suffixes(targets, what)
    return split


def model_config(config: Seq2SeqConfig, source_vocab: Vocabulary, target_vocab: Vocabulary):
    return Seq2SeqModelConfig(
        source_vocab_size=len(source_vocab),
        target_vocab_size=len(target_vocab),
        embedding_dim=config.embedding_dim,
        **config.encoder(),
        attention=config.attention,
    )


@dataclass
class Seq2SeqData:
    """The pairs as read and split, and the vocabularies of their training part."""

    corpus: Split
    source_vocab: Vocabulary
    target_vocab: Vocabulary


def _warn_of_repeats(sources, targets, names) -> None:
    """A counted warning for pairs that occur more than once: each copy trains (the pair
    weighs more), and a copy held out for validation is dropped as seen in training."""
    seen: set = set()
    repeats = []
    for i, pair in enumerate(zip(map(tuple, sources), map(tuple, targets), strict=True)):
        if pair in seen:
            repeats.append(i)
        seen.add(pair)
    if repeats:
        warnings.warn(
            f"{len(repeats):,} pairs repeat an earlier pair (first {names[repeats[0]]}); each "
            "copy trains, so a repeated pair weighs more",
            RnnlabWarning,
            stacklevel=3,
        )


def _warn_of_mixed_suffixes(targets, what: str) -> None:
    """A counted warning when target tokens occur both bare and with a trailing digit
    (``AH`` and ``AH0``): phones with stress marked and not, mixed, which splits what the
    model learns of one sound over several tokens."""
    vocabulary = {t for tokens in targets for t in tokens}
    stems = {t: t.rstrip("0123456789") for t in vocabulary}
    both = sorted(t for t, stem in stems.items() if stem not in ("", t) and stem in vocabulary)
    if both:
        bare = stems[both[0]]
        warnings.warn(
            f"{what}: {len(both):,} target tokens also occur without their trailing digits "
            f"({bare} and {both[0]}, ...): a mix of conventions (stress marked and not?) "
            "spreads one symbol over several tokens",
            RnnlabWarning,
            stacklevel=3,
        )


def _warn_if_mostly_unique(pairs, path) -> None:
    """Warn, before training, when most tokens of a side occur once in the training pairs:
    whole numbers or words as single tokens (``312``), which a model cannot learn to spell
    unless the file is read character by character."""
    for side, sequences in zip(("source", "target"), pairs, strict=True):
        counted = Counter(t for tokens in sequences for t in tokens)
        once = sum(1 for n in counted.values() if n == 1)
        if once > 0.5 * sum(counted.values()):
            warnings.warn(
                f"{path}: {once:,} of the {sum(counted.values()):,} {side} tokens occur once in "
                "training, so most cannot be learnt; the file probably wants --tokens chars "
                "(or its tokens written with spaces between them)",
                RnnlabWarning,
                stacklevel=2,
            )
            return


def _unseen_as_unknown(
    sequences, vocab: Vocabulary, names, side: str, effect: str
) -> list[list[str]]:
    """Validation sources or targets (``side``) with the tokens training lacks read as
    ``<unk>``, counted in one warning that says what that does (``effect``)."""
    unseen = [i for i, t in enumerate(sequences) if any(token not in vocab for token in t)]
    if not unseen:
        return sequences
    first = names[unseen[0]]
    token = next(token for token in sequences[unseen[0]] if token not in vocab)
    warnings.warn(
        f"{len(unseen):,} of the {len(sequences):,} validation pairs have a {side} token that "
        f"training lacks (first {first}: {token!r}); {effect}",
        RnnlabWarning,
        stacklevel=2,
    )
    return [[t if t in vocab else UNK for t in tokens] for tokens in sequences]


class Seq2SeqKind(Kind):
    name = "seq2seq"
    config = Seq2SeqConfig
    description = "token sequence in, token sequence out (pair files, built-in tasks)"

    def read(self, config: Seq2SeqConfig) -> Seq2SeqData:
        corpus = load_corpus(config)
        source_vocab = Vocabulary.build(corpus.train[0])
        target_vocab = Vocabulary.build(corpus.train[1])
        if config.data is not None and config.tokens != "chars":
            _warn_if_mostly_unique(corpus.train, config.data)
        return Seq2SeqData(corpus, source_vocab, target_vocab)

    def resolve(self, config: Seq2SeqConfig, data: Seq2SeqData) -> Seq2SeqConfig:
        config = config.task_defaults()
        if config.task is None:
            train = data.corpus.train
            lengths = [max(len(s), len(t)) for s, t in zip(*train, strict=True)]
            longest = int(np.percentile(lengths, 99.9, method="higher"))
            vocabulary = max(len(data.source_vocab), len(data.target_vocab))
            config = config.with_defaults(file_defaults(len(train[0]), vocabulary, longest))
        return config

    def data_summary(self, data: Seq2SeqData, prepared: Prepared, config) -> list[str]:
        (sources, targets), val = data.corpus.train, data.corpus.val
        source = config.data or f"task {config.task!r}"
        return [
            f"data: {source}: {len(sources) + len(val[0]):,} pairs; sources "
            f"{spread(list(map(len, sources)), 'tokens')}, targets "
            f"{spread(list(map(len, targets)), 'tokens')}",
            f"vocabularies: {len(data.source_vocab):,} source and {len(data.target_vocab):,} "
            "target tokens in training",
            validation(config, len(val[0]), "pairs"),
        ]

    def prepare(self, config: Seq2SeqConfig, data: Seq2SeqData) -> Prepared:
        corpus, source_vocab, target_vocab = data.corpus, data.source_vocab, data.target_vocab
        train = TokenPairs.encode(*corpus.train, source_vocab, target_vocab)
        sources, names = corpus.val[0], corpus.val_names
        if config.unknown == "map":
            sources = _unseen_as_unknown(sources, source_vocab, names, "source", "read as <unk>")
        targets = _unseen_as_unknown(
            corpus.val[1], target_vocab, names, "target", "they are scored as wrong"
        )
        val = TokenPairs.encode(
            sources, targets, source_vocab, target_vocab, unknown=config.unknown, names=names
        )
        shape = model_config(config, source_vocab, target_vocab)
        source_len = max(map(len, [*corpus.train[0], *corpus.val[0]]))
        target_len = 2 * max(map(len, [*corpus.train[1], *corpus.val[1]])) + 5  # decoding limit
        batch = max(config.batch_size, min(256, len(corpus.val[0])))  # validation: 256 at once
        return Prepared(
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

    def baselines(self, finished: Finished) -> Baselines:
        corpus = finished.data.corpus
        return Baselines(
            "val_exact_match",
            False,
            finished.metrics["val_exact_match"],
            seq2seq_trivial(corpus.train[1], *corpus.val),
        )

    def build(self, saved: dict) -> Seq2Seq:
        return Seq2Seq(Seq2SeqModelConfig.from_saved(saved["model"]))

    def restore(self, config, model, saved, metrics) -> Seq2SeqRun:
        for key in ("max_output_len", "max_source_len"):
            check_int(key, saved.get(key, 1), most=MOST_DECODED)
        check_saved_sizes(
            {
                "source_vocab": (len(saved["source_vocab"]), model.config.source_vocab_size),
                "target_vocab": (len(saved["target_vocab"]), model.config.target_vocab_size),
            }
        )
        return Seq2SeqRun(
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

    def pictures(self, finished: Finished) -> dict[str, bytes]:
        return {"learning_curves.png": learning_curves_png(finished.history)}


@dataclass
class Seq2SeqRun(Run):
    """A seq2seq model with its vocabularies and the config that made it."""

    source_vocab: Vocabulary = None
    target_vocab: Vocabulary = None
    max_output_len: int = 100  # a decoding limit fixed per run, so batching changes nothing
    max_source_len: int | None = None  # the longest training source (None: not recorded)

    predict_options = ("beam_width", "unknown", "attention")
    evaluate_options = ("unknown", "beam_width")

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
        """Target token lists for sources, decoded greedily or by beam search; a source is a
        list of tokens, or a line of text split as the run reads its files (spaces, or
        characters)."""
        sources = [split_tokens(s, self.tokens) if isinstance(s, str) else s for s in sources]
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

    def predict_file(
        self, path=None, *, beam_width=None, unknown=None, attention=False
    ) -> Predictions:
        """One target a line for the sources of ``path``, one a line; a warning for sources
        longer than any in training; with ``attention``, the first source's attention
        weights drawn (``pictures["attention"]``)."""
        from rnnlab.data.pairs import read_sequence_lines

        unknown = unknown or "error"
        sources, names = read_sequence_lines(path, self.tokens, "source")
        result = Predictions("")
        long = self.longer_than_training(sources)
        if long:
            first = long[0]
            result.warnings.append(
                f"{len(long)} source(s) longer than any in training (the first: "
                f"{names[first]}, {len(sources[first])} tokens); their predictions may be "
                "cut short"
            )
        outputs = self.predict(sources, names=names, unknown=unknown, beam_width=beam_width)
        if attention:
            result.pictures["attention"] = self.attention_png(sources[0], unknown)
        result.text = "".join(self.join(o) + "\n" for o in outputs)
        return result

    @torch.no_grad()
    def attention_png(self, source: list[str], unknown="error") -> bytes:
        """The attention weights of greedily decoding ``source``, over the output they gave."""
        return self.attentions_png([source], unknown)

    @torch.no_grad()
    def attentions_png(self, sources, unknown="error") -> bytes:
        """The attention weights of greedily decoding each of ``sources`` (token lists, or
        lines split as the run reads its files), side by side."""
        sources = [split_tokens(s, self.tokens) if isinstance(s, str) else s for s in sources]
        self.model.eval()
        ids = self.encode_sources(sources, unknown=unknown).to(model_device(self.model))
        outputs, weights = self.model.generate(
            ids, max_len=self.max_output_len, return_attention=True
        )
        if weights[0] is None:
            raise ValueError("--plot-attention: this run's model has no attention")
        examples = zip(sources, map(self.target_vocab.decode, outputs), weights, strict=True)
        return attentions_png(list(examples))

    def evaluate(self, sources, targets, *, names=None, unknown="error", beam_width=None) -> dict:
        data = TokenPairs.encode(
            sources, targets, self.source_vocab, self.target_vocab, unknown=unknown, names=names
        )
        beam_width = beam_width or self.config.beam_width
        objective = SequenceGeneration(beam_width, self.config.length_penalty)
        self.model.eval()
        with torch.no_grad():
            return objective.evaluate(self.model, data, 256)

    def evaluate_file(self, path, *, unknown=None, beam_width=None) -> dict:
        """The measures on a pair file. Where a source stands with several targets (a word
        and its pronunciations), each distinct source is decoded once and scored against the
        nearest of its targets, as the literature scores such tasks: exact match if the
        output is any of them, token errors against the one it is fewest edits from (the
        loss stays per pair); ``sources`` and ``several_targets`` say so."""
        pairs = read_pairs(path, self.tokens)
        names = [f"{pairs.path}:{line}" for line in pairs.lines]
        measures = self.evaluate(
            pairs.sources, pairs.targets, names=names, unknown=unknown or "error",
            beam_width=beam_width,
        )  # fmt: skip
        targets: dict[tuple, list] = {}
        for source, target in zip(pairs.sources, pairs.targets, strict=True):
            known = targets.setdefault(tuple(source), [])
            if list(target) not in known:
                known.append(list(target))
        several = sum(len(t) > 1 for t in targets.values())
        sources = [list(s) for s in targets]
        if several:
            first = {}
            for source, name in zip(pairs.sources, names, strict=True):
                first.setdefault(tuple(source), name)
            outputs = self.predict(
                sources,
                names=[first[tuple(s)] for s in sources],
                unknown=unknown or "error",
                beam_width=beam_width,
            )
            nearest = nearest_reference_measures(outputs, list(targets.values()))
            measures = {**measures, **nearest, "sources": len(sources), "several_targets": several}
            copied = nearest_reference_measures(sources, list(targets.values()))["exact_match"]
        else:
            copied = sum(
                list(s) == list(t) for s, t in zip(pairs.sources, pairs.targets, strict=True)
            )
            copied /= max(1, len(pairs))
        seen = self._seen_in_training(targets)
        if seen is not None:
            measures = {**measures, "sources": len(targets), "seen_in_training": seen}
        trivial = Baseline("copy the source", copied)
        return trivial_beside({"pairs": len(pairs), **measures}, "exact_match", False, trivial)

    def _seen_in_training(self, sources) -> int | None:
        """How many of ``sources`` (token tuples) occur in the pair file the run trained on,
        where that file is still there to read (None otherwise)."""
        if self.config.data is None:
            return None
        try:
            known = set(map(tuple, read_pairs(self.config.data, self.tokens).sources))
        except (OSError, ValueError):
            return None
        return sum(source in known for source in sources)

    def describe(self, m: dict) -> str:
        scored = f"{m['pairs']} pairs"
        if m.get("several_targets"):
            scored += (
                f" ({m['sources']} sources, {m['several_targets']} of them with several targets: "
                "each source scored against the nearest of its targets)"
            )
        text = (
            f"{scored}: exact match {m['exact_match']:.2%}, token accuracy "
            f"{m['token_accuracy']:.2%}, token error rate {m['token_error_rate']:.2%}, "
            f"loss {m['loss']:.4f}"
        )
        seen, data = m.get("seen_in_training"), self.config.data
        if seen and seen == m["sources"]:
            text += (
                f"\nevery source also occurs in the training file {data}: these figures "
                "measure recall, not generalisation to new sources"
            )
        elif seen:
            text += (
                f"\n{seen:,} of the {m['sources']:,} sources also occur in the training file "
                f"{data}: on those the figures measure recall, not generalisation"
            )
        return text

    def summary(self) -> str:
        m = self.metrics
        return (
            f"held-out exact match {m['val_exact_match']:.2%}, token accuracy "
            f"{m['val_token_accuracy']:.2%}, token error rate {m['val_token_error_rate']:.2%} "
            f"on {m['val_size']} pairs; {self.epochs_text()} epochs (best {m['best_epoch']}), "
            f"{m['train_seconds']:.1f} s of training"
        )

    def join(self, tokens: list[str]) -> str:
        return join_tokens(tokens, self.tokens)

    def longer_than_training(self, sources) -> list[int]:
        """Indices of the sources longer than any seen in training (their answers may be cut
        short: decoding stops at ``max_output_len``, and nothing taught the model more)."""
        longest = self.max_source_len or (self.max_output_len - 5) // 2
        return [i for i, source in enumerate(sources) if len(source) > longest]


def nearest_reference_measures(outputs, references) -> dict[str, float]:
    """Outputs (token lists) against each one's references (lists of token lists): the share
    equal to one of them (``exact_match``), and against the reference fewest edits away,
    its tokens right in place (``token_accuracy``) and the edits
    over its length (``token_error_rate``), summed over the outputs."""
    right = edits = length = in_place = 0
    for output, options in zip(outputs, references, strict=True):
        output = list(output)
        right += any(output == list(r) for r in options)
        distance, best = min((edit_distance(output, r), list(r)) for r in options)
        edits, length = edits + distance, length + len(best)
        in_place += sum(a == b for a, b in zip(output, best, strict=False))
    n = max(1, len(outputs))
    return {
        "exact_match": right / n,
        "token_accuracy": in_place / length if length else float("nan"),
        "token_error_rate": edits / length if length else float("nan"),
    }


def learning_curves_png(history: dict) -> bytes:
    """Loss and validation exact match per epoch."""
    measures = {"val_exact_match": "exact match", "val_token_accuracy": "token accuracy"}
    return figures.learning_curves_png(history, "cross-entropy per token", measures)


def attention_png(source: list[str], output: list[str], weights) -> bytes:
    """A heatmap of attention weights: output steps (rows) over source tokens (columns)."""
    return attentions_png([(source, output, weights)])


def attentions_png(examples) -> bytes:
    """One attention heatmap per ``(source, output, weights)`` example, side by side, each
    output steps (rows) over source tokens (columns), on one colour scale."""
    plt = pyplot()
    shapes = [(len(source), min(len(output) + 1, len(w))) for source, output, w in examples]
    width = sum(max(2.5, 0.45 * s + 1) for s, _ in shapes) + 1.5
    height = max(3, 0.45 * max(r for _, r in shapes) + 1.5)
    fig, axes = plt.subplots(
        1, len(examples), figsize=(width, height), squeeze=False, layout="constrained",
        width_ratios=[max(2.5, 0.45 * s + 1) for s, _ in shapes],
    )  # fmt: skip
    for ax, (source, output, weights) in zip(axes[0], examples, strict=True):
        rows = [*output, "</s>"][: len(weights)]
        image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(source)), [repr(t)[1:-1] for t in source], rotation=90)
        ax.set_yticks(range(len(rows)), rows)
        ax.set(xlabel="source")
    axes[0][0].set(ylabel="output")
    fig.colorbar(image, ax=list(axes[0]), label="attention weight")
    return png_bytes(fig, dpi=100)


TrainedRun = Seq2SeqRun
