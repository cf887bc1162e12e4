"""Kind ``tag``: one label per token (part-of-speech tags, named-entity chunks, ...).

Data: CoNLL-U, CoNLL column files or JSONL (``rnnlab.data.tagged``), or the built-in
``neighbours`` task, in which a word's tag depends on both its neighbours
(``rnnlab.data.tag_tasks``). Model: ``rnnlab.models.sequence_tagger``. Measures: token
accuracy, accuracy on words unseen in training, and for BIO/BIOES labels chunk precision,
recall and F1 (CoNLL's definition). ``predict`` writes one label sequence a line, or a
CoNLL-U file with the label column filled.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass

import torch

from rnnlab.config import RnnlabWarning, one_source, option, override
from rnnlab.data.pairs import split_tokens
from rnnlab.data.split import Split, ValidationConfig
from rnnlab.data.tag_tasks import causal_ceiling, make_tag_task
from rnnlab.data.tagged import read_tagged
from rnnlab.data.tagged_dataset import TaggedData, word_chars, word_suffixes
from rnnlab.data.vocab import Vocabulary
from rnnlab.kinds.base import Finished, Kind, Predictions, Prepared, Run, check_saved_sizes
from rnnlab.kinds.baselines import (
    Baseline,
    Baselines,
    tag_guesses,
    token_accuracy,
    trivial_beside,
)
from rnnlab.kinds.summary import counts, spread, validation
from rnnlab.models.encoder_config import EncoderConfig
from rnnlab.models.sequence_tagger import CHAR_ENCODERS, SequenceTagger, SequenceTaggerConfig
from rnnlab.plots.figures import learning_curves_png
from rnnlab.training.config import TrainingConfig
from rnnlab.training.devices import model_device
from rnnlab.training.metrics import is_span_scheme, span_scores

TAG_TASKS = {"neighbours": make_tag_task}


TAG_UPDATES = 2_000  # the updates a tagged file's default epochs make (about)


@dataclass(frozen=True)
class TagConfig(EncoderConfig, TrainingConfig, ValidationConfig):
    """Everything that defines a ``tag`` run."""

    task: str | None = option("a built-in task", choices=tuple(TAG_TASKS), default=None)
    data: str | None = option("tagged sentences: .conllu, CoNLL columns, or .jsonl", value="path")
    label_column: str | None = option(
        "the label: upos (default), xpos, feats:KEY or misc:KEY in CoNLL-U; a column number "
        "in CoNLL files (default: the last)",
        value="text",
    )
    samples: int = option("sentences generated for a built-in task", value="samples", default=4000)
    embedding_dim: int = option("word embedding size", value="units", default=100)
    char_features: int = option(
        "character features of a word: the character LSTM's units, both ways together, or "
        "the convolution's filters (0: none)",
        value="features",
        default=64,
    )
    char_encoder: str = option(
        "how a word's characters are read: a bidirectional LSTM, or a convolution",
        choices=CHAR_ENCODERS,
        default="lstm",
    )
    locked_dropout: bool = option(
        "one dropout mask per sentence, the same at every word (variational dropout)",
        default=False,
    )
    crf: bool = option("a CRF output layer (the best tag sequence, not tag by tag)", default=False)
    affixes: bool = option(
        "do not read each word's last 1-3 letters and its shape (capitals, digits, hyphens), "
        "which are read by default",
        flag="--no-affixes",
        default=True,
    )
    unk_replace: float = option(
        "probability that a word seen once in training is read as <unk> while training",
        value="dropout",
        default=0.25,
    )
    val_fraction: float = override(ValidationConfig, "val_fraction", 0.1)
    units: int = override(EncoderConfig, "units", 128)
    layers: int = override(EncoderConfig, "layers", 2)
    dropout: float = override(EncoderConfig, "dropout", 0.33)
    epochs: int | None = override(
        TrainingConfig,
        "epochs",
        None,
        auto=f"until validation stops improving (patience 3), at most about {TAG_UPDATES:,} "
        "updates (10-50 epochs)",
    )
    batch_size: int = override(TrainingConfig, "batch_size", 64)
    clip_norm: float = override(TrainingConfig, "clip_norm", 5.0)
    average: float = override(TrainingConfig, "average", 0.999)

    def check(self) -> None:
        one_source(self)


def load_tag_corpus(config: TagConfig) -> Split:
    """Generate or read the sentences, and hold out validation ones (a random
    ``val_fraction``, or the ``val`` file)."""
    if config.task is not None:
        tokens, tags = TAG_TASKS[config.task](config.samples, seed=config.seed)
        names, what = [f"sentence {i + 1}" for i in range(len(tokens))], f"task {config.task!r}"
    else:
        read = read_tagged(config.data, label_column=config.label_column)
        tokens, tags, what = read.tokens, read.tags, str(read.path)
        names = [f"{read.path}:{line}" for line in read.lines]
    if config.val is not None:
        val = read_tagged(config.val, label_column=config.label_column)
        names = [f"{val.path}:{line}" for line in val.lines]
        return Split((tokens, tags), (val.tokens, val.tags), names)
    return Split.held_out((tokens, tags), names, config, what, "sentence")


class TagObjective:
    """Per-word cross-entropy (or the CRF's likelihood); accuracy, accuracy on words unseen
    in training, and chunk scores when the labels are BIO/BIOES."""

    lower_is_better = ()
    unit = "tokens"

    def __init__(self, labels: Vocabulary) -> None:
        self.labels = labels
        self.spans = is_span_scheme(labels.tokens)
        self.shown = ("accuracy",)  # on the progress line
        self.metrics = ("accuracy", "unseen_accuracy") + (
            ("span_precision", "span_recall", "span_f1") if self.spans else ()
        )

    @staticmethod
    def inputs(model, batch) -> dict[str, torch.Tensor]:
        """The batch's tensors the model reads, on the model's device."""
        device = model_device(model)
        names = ("words", "chars", "mask", "affixes")
        return {name: getattr(batch, name).to(device) for name in names}

    def loss(self, model, batch) -> torch.Tensor:
        inputs = self.inputs(model, batch)
        return model.loss(tags=batch.tags.to(inputs["words"].device), **inputs)

    def loss_weight(self, batch) -> int:
        return int(batch.mask.sum())  # the loss is a mean per real word

    def predict(self, model, data: TaggedData, batch_size: int) -> list[list[int]]:
        out: list = [None] * len(data)
        for batch in data.batches(batch_size):
            decoded = model.decode(**self.inputs(model, batch))
            for i, ids in zip(batch.index.tolist(), decoded, strict=True):
                out[i] = ids
        return out

    def evaluate(self, model, data: TaggedData, batch_size: int) -> dict[str, float]:
        total = words = right = unseen = unseen_right = 0
        predicted = [None] * len(data)
        for batch in data.batches(batch_size):
            n = int(batch.mask.sum())
            total += self.loss(model, batch).item() * n
            decoded = model.decode(**self.inputs(model, batch))
            for row, (i, ids) in enumerate(zip(batch.index.tolist(), decoded, strict=True)):
                predicted[i] = ids
                gold = batch.tags[row, : len(ids)]
                hits = torch.tensor(ids) == gold
                new = batch.unseen[row, : len(ids)]
                right += int(hits.sum())
                unseen += int(new.sum())
                unseen_right += int((hits & new).sum())
            words += n
        metrics = {
            "loss": total / words,
            "accuracy": right / words,
            "unseen_accuracy": unseen_right / unseen if unseen else float("nan"),
        }
        if self.spans:
            decode = lambda rows: [[self.labels.tokens[i] for i in r] for r in rows]  # noqa: E731
            metrics.update(span_scores(decode(predicted), decode(data.tags)))
        return metrics


def _vocabularies(tokens, tags):
    counts = Counter(w for sentence in tokens for w in sentence)
    words = Vocabulary.build(tokens)
    chars = Vocabulary.build([list(word_chars(w)) for w in counts])
    suffixes = Vocabulary.build([word_suffixes(w) for w in counts])
    labels = Vocabulary.build(tags)
    rare = torch.zeros(len(words), dtype=torch.bool)
    for w, n in counts.items():
        if n == 1:
            rare[words.ids[w]] = True
    return words, chars, suffixes, labels, rare


def _check_labels(tags: list[list[str]], config: TagConfig) -> None:
    """Refuse training data whose words all carry one label: the model would learn nothing
    and report 100% (a ``feats:KEY`` no word has, say)."""
    counts = Counter(t for sentence in tags for t in sentence)
    total, blank = sum(counts.values()), counts.get("_", 0)
    if len(counts) >= 2 and blank > total / 2:
        source = config.data or f"task {config.task!r}"
        warnings.warn(
            f"{source}: {blank:,} of {total:,} training words ({blank / total:.0%}) are "
            f"labelled '_' in label column {config.label_column or 'upos'}: most of what the "
            "tagger learns is that no label applies",
            RnnlabWarning,
            stacklevel=2,
        )
    if len(counts) < 2:
        ((label, count),) = counts.items()
        source = config.data or f"task {config.task!r}"
        column = config.label_column or "upos"
        raise ValueError(
            f"{source}: every training word is labelled {label!r} ({count:,} words) in "
            f"label column {column}; expected two or more labels (see --label-column)"
        )


class TagKind(Kind):
    name = "tag"
    default_epochs, default_patience = 10, 3
    config = TagConfig
    description = "one label per token (CoNLL-U, CoNLL columns, JSONL)"

    def read(self, config: TagConfig) -> Split:
        return load_tag_corpus(config)

    def resolve(self, config: TagConfig, data: Split) -> TagConfig:
        """A file's epochs: about ``TAG_UPDATES`` updates (10-50 epochs), so that a small
        file trains as long as a large one does (EWT's 12,500 sentences: 10 epochs)."""
        if config.epochs is not None or config.task is not None:
            return config
        steps = max(1, math.ceil(len(data.train[0]) / config.batch_size))
        return config.replace(epochs=min(50, max(10, round(TAG_UPDATES / steps))))

    def data_summary(self, data: Split, prepared: Prepared, config) -> list[str]:
        sentences = [*data.train[0], *data.val[0]]
        source = config.data or f"task {config.task!r}"
        return [
            f"data: {source}: {len(sentences):,} sentences, {sum(map(len, sentences)):,} "
            f"words, {spread(list(map(len, sentences)), 'words')}; "
            f"{len(prepared.state['words']):,} distinct words in training",
            f"tags: {counts(t for tags in data.train[1] for t in tags)}",
            validation(config, len(data.val[0]), "sentences"),
        ]

    def prepare(self, config: TagConfig, corpus: Split) -> Prepared:
        words, chars, suffixes, labels, rare = _vocabularies(*corpus.train)
        _check_labels(corpus.train[1], config)
        if not config.affixes:
            suffixes = None
        encode = lambda pair, names=None: TaggedData.encode(  # noqa: E731
            *pair, words, chars, labels, names=names, suffixes=suffixes
        )
        train, val = encode(corpus.train), encode(corpus.val, corpus.val_names)
        shape = SequenceTaggerConfig(
            vocab_size=len(words),
            char_vocab_size=len(chars),
            num_tags=len(labels),
            embedding_dim=config.embedding_dim,
            char_features=config.char_features,
            char_encoder=config.char_encoder,
            suffix_vocab_size=len(suffixes) if suffixes is not None else 0,
            **config.encoder(),
            locked_dropout=config.locked_dropout,
            crf=config.crf,
            unk_replace=config.unk_replace,
        )
        longest = max(map(len, [*corpus.train[0], *corpus.val[0]]))
        state = {"words": words.to_list(), "chars": chars.to_list(), "labels": labels.to_list()}
        tags = Counter(t for sentence in corpus.train[1] for t in sentence)
        state["most_frequent_tag"] = tags.most_common(1)[0][0]  # for ``evaluate``'s baseline
        if suffixes is not None:
            state["suffixes"] = suffixes.to_list()
        if config.task is not None:
            state["causal_ceiling"] = causal_ceiling(*corpus.val)
        return Prepared(
            train=train,
            val=val,
            objective=TagObjective(labels),
            model_config=shape,
            build=lambda c: SequenceTagger(c, rare),
            monitor="val_accuracy",
            state=state,
            activation_bytes=shape.activation_bytes(max(config.batch_size, 256), longest),
            sizes=f"on sentences of up to {longest} words",
        )

    def baselines(self, finished: Finished) -> Baselines:
        """Token accuracy beside the baselines', or for chunk tags (BIO, BIOES) span F1,
        which all-``O`` does not win."""
        split, metrics = finished.data, finished.metrics
        trivial, classical = tag_guesses(*split.train, split.val[0])
        if "val_span_f1" in metrics:
            measure = "val_span_f1"
            score = lambda guesses: span_scores(guesses, split.val[1])["span_f1"]  # noqa: E731
        else:
            measure = "val_accuracy"
            score = lambda guesses: token_accuracy(guesses, split.val[1])  # noqa: E731
        return Baselines(
            measure,
            False,
            metrics[measure],
            Baseline("the most frequent tag", score(trivial)),
            Baseline("each word's most frequent tag, suffixes for unseen words", score(classical)),
        )

    def build(self, saved: dict) -> SequenceTagger:
        return SequenceTagger(SequenceTaggerConfig(**saved["model"]))

    def restore(self, config, model, saved, metrics) -> TagRun:
        shape = model.config
        suffixes = len(saved["suffixes"]) if "suffixes" in saved else 0
        check_saved_sizes(
            {
                "words": (len(saved["words"]), shape.vocab_size),
                "chars": (len(saved["chars"]), shape.char_vocab_size),
                "labels": (len(saved["labels"]), shape.num_tags),
                "suffixes": (suffixes, shape.suffix_vocab_size),
            }
        )
        return TagRun(
            self,
            config,
            model,
            saved,
            metrics,
            words=Vocabulary(saved["words"]),
            chars=Vocabulary(saved["chars"]),
            labels=Vocabulary(saved["labels"]),
            suffixes=Vocabulary(saved["suffixes"]) if "suffixes" in saved else None,
        )

    def pictures(self, finished: Finished) -> dict[str, bytes]:
        return {"learning_curves.png": _learning_curves_png(finished.history)}


@dataclass
class TagRun(Run):
    """A trained tagger with its vocabularies."""

    words: Vocabulary = None
    chars: Vocabulary = None
    labels: Vocabulary = None
    suffixes: Vocabulary | None = None

    def encode(self, tokens, tags=None, names=None) -> TaggedData:
        return TaggedData.encode(
            tokens, tags, self.words, self.chars, self.labels, names=names, suffixes=self.suffixes
        )

    @torch.no_grad()
    def predict(self, sentences: list[list[str]], *, batch_size: int = 256) -> list[list[str]]:
        """The predicted labels of each sentence: a list of tokens, or a line of text (split
        on spaces, as ``rnnlab predict`` reads a line)."""
        sentences = [split_tokens(s) if isinstance(s, str) else s for s in sentences]
        self.model.eval()
        ids = TagObjective(self.labels).predict(self.model, self.encode(sentences), batch_size)
        return [[self.labels.tokens[i] for i in row] for row in ids]

    @torch.no_grad()
    def evaluate(self, tokens, tags, *, names=None, batch_size: int = 256) -> dict:
        self.model.eval()
        data = self.encode(tokens, tags, names)
        return TagObjective(self.labels).evaluate(self.model, data, batch_size)

    def predict_file(self, path=None) -> Predictions:
        """``rnnlab predict``'s output for the input ``path``: a CoNLL-U file comes back as
        CoNLL-U with the label column filled; anything else gives one label sequence a line."""
        from rnnlab.data.tagged import fill_conllu

        sentences, _, conllu = _read_sentences(path, self.config.label_column)
        predicted = self.predict(sentences)
        if conllu is not None and str(path).lower().endswith(".conllu"):
            return Predictions(fill_conllu(conllu, predicted, self.config.label_column))
        return Predictions("".join(" ".join(tags) + "\n" for tags in predicted))

    def evaluate_file(self, path) -> dict:
        """The measures on a tagged file (``rnnlab evaluate --data``)."""
        read = read_tagged(path, label_column=self.config.label_column)
        names = read.word_names()  # an unseen tag is named by its word's line
        measures = {"sentences": len(read), **self.evaluate(read.tokens, read.tags, names=names)}
        top = self.state.get("most_frequent_tag")  # none in runs made before baselines
        if top is None:
            return measures
        tags = [t for sentence in read.tags for t in sentence]
        right = sum(t == top for t in tags) / max(1, len(tags))
        return trivial_beside(measures, "accuracy", False, Baseline("the most frequent tag", right))

    def summary(self) -> str:
        m = self.metrics
        spans = f", span F1 {m['val_span_f1']:.2%}" if "val_span_f1" in m else ""
        unseen = m["val_unseen_accuracy"]
        unseen = "no unseen words" if unseen != unseen else f"unseen words {unseen:.2%}"
        return (
            f"held-out token accuracy {m['val_accuracy']:.2%} ({unseen}){spans} on "
            f"{m['val_size']} sentences; "
            f"{self.epochs_text()} epochs, {m['train_seconds']:.1f} s of training"
        )


def _read_sentences(path, label_column):
    """Sentences to tag from ``path`` (None: standard input): a tagged file's tokens
    (CoNLL-U, CoNLL columns, JSONL; their labels are ignored), or one sentence a line."""
    from rnnlab.data.files import read_text_file
    from rnnlab.data.pairs import read_sequence_lines

    if path is not None and str(path).lower().endswith((".conllu", ".jsonl")):
        read = read_tagged(path, label_column=label_column)
        return read.tokens, [f"{read.path}:{n}" for n in read.lines], read_text_file(path)
    return (*read_sequence_lines(path, "space", "sentence"), None)


def _learning_curves_png(history: dict) -> bytes:
    measures = {"val_accuracy": "accuracy", "val_unseen_accuracy": "accuracy on unseen words"}
    return learning_curves_png(history, "loss per word", measures)
