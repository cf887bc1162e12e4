"""Kind ``lm``: a language model over text, trained by truncated backpropagation through time.

Data: a UTF-8 text file (``rnnlab.data.text``), as characters (default) or space-separated
words with a line-end token; validation is the end of the file (``--val-fraction``,
contiguous) or ``--val FILE``; or the built-in ``pydoc`` corpus (the help topics of Python's
documentation, which the standard library ships as ``pydoc_data``). Model:
``rnnlab.models.language_model``. Training reads the text as ``--batch-size`` parallel
streams, ``--bptt`` steps at a time, the state carried from chunk to chunk (cut from the graph
between them) and reset where the streams start. Measures: loss in nats per token, bits per
token and perplexity, over the whole held-out text with the state carried. ``rnnlab
generate`` samples text (temperature, top-k, a seed).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from rnnlab.config import one_source, option, override
from rnnlab.data.files import InputFileError
from rnnlab.data.split import ValidationConfig
from rnnlab.data.text import (
    TEXT_TOKENS,
    TextStreams,
    encode_text,
    join_text,
    read_some_text,
    read_text,
    text_tokens,
    text_vocabulary,
)
from rnnlab.data.vocab import END, PAD, START, UNK, Vocabulary
from rnnlab.kinds.base import Finished, Kind, Predictions, Prepared, Run, check_saved_sizes
from rnnlab.kinds.baselines import Baseline, Baselines, compressor_bits, unigram_bits
from rnnlab.limits import check_int
from rnnlab.models.encoder_config import RecurrentConfig
from rnnlab.models.language_model import LanguageModel, LanguageModelConfig, detach_state
from rnnlab.plots.figures import png_bytes, pyplot
from rnnlab.training.config import TrainingConfig
from rnnlab.training.devices import model_device


def pydoc_text() -> str:
    """The built-in corpus: the help topics of Python's documentation, in topic order (about
    465,000 characters of English prose and code; the text depends on the Python version)."""
    from pydoc_data.topics import topics

    return "\n".join(topics[name] for name in sorted(topics))


LM_TASKS = {"pydoc": pydoc_text}
EVAL_CHUNK = 1024  # steps a forward pass reads in evaluation (the state flows across them)


@dataclass(frozen=True)
class LMConfig(RecurrentConfig, TrainingConfig, ValidationConfig):
    """Everything that defines an ``lm`` run."""

    task: str | None = option("a built-in corpus", choices=tuple(LM_TASKS), default=None)
    data: str | None = option("a UTF-8 text file", value="path")
    tokens: str = option(
        "characters, or space-separated words with a line-end token",
        choices=TEXT_TOKENS,
        default="chars",
    )
    vocab_size: int = option(
        "most token types kept, words or characters (the rest read as <unk>)",
        value="samples",
        default=10_000,
    )
    embedding_dim: int = option("token embedding size", value="units", default=64)
    tie_weights: bool = option(
        "the output layer shares the embedding matrix", flag="--tie-weights", default=False
    )
    bptt: int = option(
        "steps of backpropagation through time (the state flows on beyond them)",
        value="length",
        default=64,
    )
    val: str | None = override(
        ValidationConfig,
        "val",
        None,
        help="a validation text (default: the last --val-fraction of --data)",
    )
    val_fraction: float = override(
        ValidationConfig, "val_fraction", 0.1, help="held-out fraction, from the end"
    )
    units: int = override(RecurrentConfig, "units", 256)
    layers: int = override(RecurrentConfig, "layers", 2)
    dropout: float = override(
        RecurrentConfig,
        "dropout",
        0.1,
        help="dropout on embeddings, between layers and before the output",
    )
    epochs: int | None = override(
        TrainingConfig,
        "epochs",
        None,
        auto="until validation stops improving, at most 50, within the time budget",
    )
    batch_size: int = override(TrainingConfig, "batch_size", 16, help="parallel streams of text")
    learning_rate: float = override(TrainingConfig, "learning_rate", 0.006)

    def check(self) -> None:
        one_source(self)
        check_int("bptt", self.bptt)


class LanguageModelling:
    """Next-token cross-entropy over chunks of parallel streams, with the state carried from
    one chunk to the next (and reset where the streams start); evaluated over one stream,
    every token of the held-out text but the first predicted from all before it.

    Metrics: ``bits_per_token`` (the loss over ln 2) and ``perplexity`` (exp of the loss).
    """

    metrics = ("bits_per_token", "perplexity")
    shown = ("bits_per_token",)  # on the progress line
    lower_is_better = metrics
    unit = "tokens"

    def __init__(self) -> None:
        self.state = None

    def loss(self, model, batch) -> torch.Tensor:
        device = model_device(model)
        state = None if batch.first else self.state
        logits, state = model(batch.inputs.to(device), state)
        self.state = detach_state(state)
        return F.cross_entropy(logits.flatten(0, 1), batch.targets.to(device).flatten())

    def loss_weight(self, batch) -> int:
        return batch.inputs.numel()  # streams x steps, every one a token predicted

    def predict(self, model, data, batch_size: int):
        raise NotImplementedError("a language model generates; see LMRun.generate")

    def evaluate(self, model, data: torch.Tensor, batch_size: int) -> dict[str, float]:
        return text_measures(total_loss(model, data), len(data) - 1)


def total_loss(model, ids: torch.Tensor, chunk: int = EVAL_CHUNK) -> float:
    """The summed cross-entropy (nats) of predicting ``ids[1:]`` from what precedes each,
    read as one stream with the state carried."""
    model.eval()
    device = model_device(model)
    total, state = 0.0, None
    with torch.no_grad():
        for start in range(0, len(ids) - 1, chunk):
            inputs = ids[start : start + chunk][None].to(device)
            targets = ids[start + 1 : start + 1 + chunk][None].to(device)
            inputs = inputs[:, : targets.shape[1]]
            logits, state = model(inputs, state)
            total += F.cross_entropy(logits[0], targets[0], reduction="sum").item()
    return total


def text_measures(total: float, count: int) -> dict[str, float]:
    loss = total / count
    return {"loss": loss, "bits_per_token": loss / math.log(2), "perplexity": math.exp(loss)}


@dataclass
class TextCorpus:
    train: list[str]
    val: list[str]
    train_name: str
    val_name: str


def load_text_corpus(config: LMConfig) -> TextCorpus:
    if config.task is not None:
        tokens = text_tokens(LM_TASKS[config.task](), config.tokens)
        name = f"the {config.task} corpus"
    else:
        tokens, name = read_text(config.data, config.tokens), str(config.data)
    if config.val is not None:
        return TextCorpus(tokens, read_text(config.val, config.tokens), name, str(config.val))
    cut = len(tokens) - max(2, round(config.val_fraction * len(tokens)))
    if cut < 2:
        raise InputFileError(
            f"{name}: {len(tokens)} tokens, too few to hold out a validation part; expected "
            "a longer text"
        )
    what = f"the last {config.val_fraction:.0%} of {name}"
    return TextCorpus(tokens[:cut], tokens[cut:], name, what)


def _log_frequencies(ids: torch.Tensor, size: int) -> torch.Tensor:
    """The log frequency of each of ``size`` token ids in ``ids`` (add-one smoothed)."""
    counts = torch.bincount(ids, minlength=size).double() + 1.0
    return (counts / counts.sum()).log().float()


def _starting_at_unigram(config: LanguageModelConfig, prior: torch.Tensor) -> LanguageModel:
    """A language model whose output bias is the training tokens' log frequencies, so that
    it starts where a unigram model is, not at the uniform guess of ``log V`` nats: on a
    small text it would otherwise spend its first epochs learning the frequencies, and stop
    early worse than a unigram model."""
    model = LanguageModel(config)
    with torch.no_grad():
        model.output.bias.copy_(prior - prior.mean())
    return model


class LMKind(Kind):
    name = "lm"
    # the time budget sizes the epochs to the text: 50 epochs of a short text fit in it, a
    # long one's plan fits its steps (and the schedule) to the budget; measured on
    # tinyshakespeare, 10 minutes of this beat a fixed 4 M characters (1.436 nats against 1.451)
    default_epochs, default_patience = 50, 3
    config = LMConfig
    description = "next-token language models on text"

    def read(self, config: LMConfig) -> TextCorpus:
        return load_text_corpus(config)

    def resolve(self, config: LMConfig, corpus: TextCorpus) -> LMConfig:
        return config  # the epochs follow the budget (``default_epochs``)

    def data_summary(self, data: TextCorpus, prepared: Prepared, config) -> list[str]:
        unit = "characters" if config.tokens == "chars" else "tokens"
        state = prepared.state
        unseen = state["val_unknown_tokens"]
        return [
            f"data: {data.train_name}: {state['train_tokens']:,} training {unit}; a "
            f"vocabulary of {len(state['vocab']):,}",
            f"validation: {state['val_tokens']:,} {unit} of {data.val_name}"
            + (f" ({unseen:,} unseen in training)" if unseen else ""),
        ]

    def prepare(self, config: LMConfig, corpus: TextCorpus) -> Prepared:
        vocab = text_vocabulary(corpus.train, config.vocab_size)
        train_ids, _ = encode_text(vocab, corpus.train)
        val_ids, unknown = encode_text(vocab, corpus.val)
        if len(val_ids) < 2:
            raise InputFileError(f"{corpus.val_name}: fewer than 2 tokens; expected more text")
        train = TextStreams(
            train_ids, streams=config.batch_size, bptt=config.bptt, name=corpus.train_name
        )
        prior = _log_frequencies(train_ids, len(vocab))
        shape = LanguageModelConfig(
            vocab_size=len(vocab),
            embedding_dim=config.embedding_dim,
            **config.encoder(),
            tie_weights=config.tie_weights,
        )
        state = {
            "vocab": vocab.to_list(),
            "train_tokens": len(train_ids),
            "val_tokens": len(val_ids),
            "val_unknown_tokens": unknown,
        }
        return Prepared(
            train=train,
            val=val_ids,
            objective=LanguageModelling(),
            model_config=shape,
            build=functools.partial(_starting_at_unigram, prior=prior),
            monitor="val_loss",
            state=state,
            activation_bytes=shape.activation_bytes(config.batch_size, config.bptt),
            sizes=f"in chunks of {config.batch_size} streams x {config.bptt} steps",
        )

    def baselines(self, finished: Finished) -> Baselines:
        corpus, config = finished.data, finished.run.config
        join = "".join if config.tokens == "chars" else " ".join
        return Baselines(
            "val_bits_per_token",
            True,
            finished.metrics["val_bits_per_token"],
            Baseline("unigram", unigram_bits(corpus.train, corpus.val)),
            compressor_bits(join(corpus.train), join(corpus.val), len(corpus.val)),
        )

    def build(self, saved: dict) -> LanguageModel:
        return LanguageModel(LanguageModelConfig(**saved["model"]))

    def restore(self, config, model, saved, metrics) -> LMRun:
        check_saved_sizes({"vocab": (len(saved["vocab"]), model.config.vocab_size)})
        return LMRun(self, config, model, saved, metrics, vocab=Vocabulary(saved["vocab"]))

    def pictures(self, finished: Finished) -> dict[str, bytes]:
        unit = "character" if finished.run.config.tokens == "chars" else "token"
        return {"learning_curves.png": bits_png(finished.history, unit)}


@dataclass
class LMRun(Run):
    """A trained language model with its vocabulary."""

    vocab: Vocabulary = None

    @property
    def tokens(self) -> str:
        return self.config.tokens

    def encode_prompt(self, prompt: str, unknown: str = "error") -> list[int]:
        """The ids of ``prompt``'s tokens; tokens the vocabulary lacks are an error naming
        them, or read as ``<unk>`` with ``unknown="map"``."""
        tokens = text_tokens(prompt, self.tokens)
        if self.tokens == "space" and tokens and not prompt.endswith(("\n", "\r")):
            tokens = tokens[:-1]  # a prompt ends mid-line: no line-end token after it
        missing = [t for t in dict.fromkeys(tokens) if t not in self.vocab.ids]
        if missing and unknown == "error":
            shown = ", ".join(repr(t) for t in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise ValueError(
                f"--prompt: {shown}{more} not in the model's vocabulary; expected "
                f"{'characters' if self.tokens == 'chars' else 'words'} of its training text "
                "(or give --unknown map to read them as <unk>)"
            )
        return self.vocab.encode(tokens, unknown="map")

    def generate(
        self,
        prompt: str = "",
        length: int = 500,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int = 0,
        unknown: str = "error",
        sample_unknown: bool = False,
    ) -> Iterator[str]:
        """The text sampled after ``prompt``, a token at a time (a character, or a word with
        its space, or a line break). An empty prompt starts after a line break (the
        vocabulary's most frequent token when the text has none). Same seed, same text.

        The prompt is checked at once, before anything is sampled. Padding and the sequence
        boundaries are never drawn (in word mode ``</s>`` is the line end, and is drawn);
        ``<unk>`` only with ``sample_unknown``."""
        ids = self.encode_prompt(prompt, unknown) if prompt else []
        if not ids:
            start = "\n" if self.tokens == "chars" and "\n" in self.vocab.ids else END
            ids = [self.vocab.ids.get(start, len(self.vocab.tokens) - 1)]
        never = [PAD, START] + ([END] if self.tokens == "chars" else [])
        never += [] if sample_unknown else [UNK]
        exclude = tuple(self.vocab.ids[t] for t in never)
        generator = torch.Generator().manual_seed(seed)
        self.model.eval()
        drawn = self.model.sample(
            ids,
            length,
            temperature=temperature,
            top_k=top_k,
            generator=generator,
            exclude=exclude,
        )
        tokens = (self.vocab.tokens[i] for i in drawn)
        line_start = not prompt or prompt.endswith(("\n", "\r"))
        return join_text(tokens, self.tokens, line_start=line_start)

    def predict(self, prompts: list[str], length: int = 100, **sampling) -> list[str]:
        """The continuation of each prompt: ``length`` tokens, greedy unless a
        ``temperature`` is given (the other ``generate`` options too)."""
        sampling.setdefault("temperature", 0.0)
        return ["".join(self.generate(p, length, **sampling)) for p in prompts]

    def evaluate_text(self, text: str) -> dict:
        """Loss (nats per token), bits per token and perplexity of ``text``, read as one
        stream; tokens the vocabulary lacks read as ``<unk>`` (and are counted)."""
        tokens = text_tokens(text, self.tokens)
        ids, unknown = encode_text(self.vocab, tokens)
        if len(ids) < 2:
            raise ValueError("fewer than 2 tokens to evaluate; expected more text")
        measures = text_measures(total_loss(self.model, ids), len(ids) - 1)
        if self.tokens == "chars":
            measures["bits_per_character"] = measures["bits_per_token"]
        return {"tokens": len(ids), "unknown_tokens": unknown, **measures}

    def evaluate_file(self, path) -> dict:
        return self.evaluate_text(read_some_text(path))

    def predict_file(self, path=None, **options) -> Predictions:
        raise ValueError("a language model has no `predict`; use `rnnlab generate RUN_DIR`")

    def summary(self) -> str:
        m = self.metrics
        return (
            f"held-out loss {m['val_loss']:.4f} nats per token, {m['val_bits_per_token']:.3f} "
            f"bits, perplexity {m['val_perplexity']:.2f}; {self.epochs_text()} epochs, "
            f"{m['train_seconds']:.1f} s of training"
        )


def bits_png(history: dict, unit: str = "character") -> bytes:
    """Training and validation loss per epoch, in bits per ``unit``."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = range(1, len(history["loss"]) + 1)
    ax.plot(epochs, [v / math.log(2) for v in history["loss"]], "o-", label="training")
    ax.plot(epochs, history["val_bits_per_token"], "o-", label="validation")
    ax.set(xlabel="epoch", ylabel=f"bits per {unit}", title=f"learning curves (bits per {unit})")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return png_bytes(fig, dpi=100)
