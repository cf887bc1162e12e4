"""``train``: one token encoder-decoder on a built-in task or a pair file, into a run folder.

Each built-in task has defaults (data budget, model size, epochs) that solve it; a pair
file gets general defaults. Every option can be overridden. The run folder holds what
``load_run`` needs to rebuild the model and its vocabularies (see
``rnnlab.training.run_folder``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch

from rnnlab.data import TokenPairs, Vocabulary, make_pairs, read_pairs
from rnnlab.data.files import atomic_write_text, check_output_folder, folder_owner, mark_folder
from rnnlab.data.pairs import TOKENIZATIONS, join_tokens
from rnnlab.data.tasks import TASK_TOKENS, TASKS
from rnnlab.experiments.figures import png_bytes, pyplot
from rnnlab.models import Seq2Seq, Seq2SeqConfig
from rnnlab.training import Callback, SequenceGeneration, Trainer
from rnnlab.training.resources import BYTES_PER_PARAMETER, check_fits, parameter_count
from rnnlab.training.run_folder import (
    METRICS,
    RunFolderError,
    has_checkpoint,
    load_weights,
    read_checkpoint,
    read_json,
    read_run,
    remove_run_files,
    write_checkpoint,
    write_run,
)
from rnnlab.training.trainer import NonFiniteLossError

RESUME = "resume.json"  # what an unfinished run needs to start again; removed when it ends
CHANGEABLE_ON_RESUME = ("epochs", "patience")  # options a resumed run may change


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a ``train`` run. ``None`` means: the task's default."""

    task: str | None = None  # a built-in task, or None with `data`
    data: str | None = None  # a pair file (TSV or JSONL)
    val: str | None = None  # a separate validation pair file
    tokens: str = "space"  # how a pair file's lines split into tokens ("space", "chars")
    samples: int | None = None  # pairs generated (built-in tasks)
    max_len: int | None = None  # the task's length parameter
    val_fraction: float = 0.2  # held out when there is no `val` file
    seed: int = 0
    embedding_dim: int | None = None
    units: int | None = None
    layers: int = 1
    cell: str = "lstm"
    bidirectional: bool = True
    attention: str | None = "bahdanau"
    dropout: float = 0.0
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    clip_norm: float = 1.0
    schedule: str = "cosine"
    patience: int | None = None
    beam_width: int = 1
    length_penalty: float = 0.6
    unknown: str = "error"  # a validation token the vocabulary lacks: "error" or "map"

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
        """This config with every ``None`` replaced by the task's (or pair files') default."""
        defaults = TASK_DEFAULTS.get(self.task, FILE_DEFAULTS)
        filled = {k: defaults[k] for k in defaults if getattr(self, k) is None}
        return dataclasses.replace(self, **filled)


# Budgets that solve each task on a 2-core CPU (see the README's figures).
_SMALL = dict(embedding_dim=32, units=64, learning_rate=0.005)
_LARGE = dict(embedding_dim=32, units=128, learning_rate=0.003)
TASK_DEFAULTS: dict[str, dict] = {
    "reverse": dict(_SMALL, samples=1000, max_len=5, epochs=60, batch_size=32, patience=15),
    "copy": dict(_SMALL, samples=1000, max_len=5, epochs=60, batch_size=32, patience=15),
    "sort": dict(_SMALL, samples=5000, max_len=8, epochs=40, batch_size=64, patience=8),
    "add": dict(_LARGE, samples=40000, max_len=3, epochs=25, batch_size=128, patience=5),
    "dates": dict(_LARGE, samples=20000, max_len=1, epochs=15, batch_size=64, patience=4),
}
FILE_DEFAULTS = dict(
    samples=0,
    max_len=0,
    embedding_dim=64,
    units=128,
    epochs=30,
    batch_size=64,
    learning_rate=0.003,
    patience=5,
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
    order = torch.randperm(
        len(sources), generator=torch.Generator().manual_seed(config.seed)
    ).tolist()
    n_val = max(1, round(config.val_fraction * len(sources)))
    val_idx, train_idx = order[:n_val], order[n_val:]
    if not train_idx:
        raise ValueError(
            f"{what}: only {len(sources)} pair(s), none left for training once `val_fraction` "
            f"{config.val_fraction} is held out; expected at least 2 pairs, or give `val`"
        )
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


@dataclass
class TrainedRun:
    """A model with its vocabularies and the config that made it."""

    config: TrainConfig
    model: Seq2Seq
    source_vocab: Vocabulary
    target_vocab: Vocabulary
    metrics: dict = field(default_factory=dict)
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
        ids = self.encode_sources(sources, names, unknown)
        lengths = torch.tensor([len(s) for s in sources])
        limit = max_len or self.max_output_len
        out = []
        for start in range(0, len(sources), batch_size):
            n = int(lengths[start : start + batch_size].max())
            out += self.model.generate(
                ids[start : start + batch_size, :n],
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


def train(
    config: TrainConfig,
    out: Path,
    *,
    callbacks=(),
    resume: bool = False,
    overwrite: bool = False,
    changes: dict | None = None,
) -> TrainedRun:
    """Train into the run folder ``out``; returns the trained run.

    ``out`` must be new or empty, or with ``overwrite`` a run folder ``train`` made before
    (its files are replaced; files of others are left alone). With ``resume``, go on from the
    checkpoint an interrupted run in ``out`` left (from its start, when it was stopped before
    its first checkpoint), with ``changes`` to the fields in ``CHANGEABLE_ON_RESUME``.
    """
    out = Path(out)
    if resume:
        config = dataclasses.replace(read_resume_config(out), **(changes or {}))
    else:
        prepare_run_folder(out, overwrite=overwrite)
        config = config.resolved()
    corpus = load_corpus(config)
    source_vocab = Vocabulary.build(corpus.train[0])
    target_vocab = Vocabulary.build(corpus.train[1])
    train_data = TokenPairs.encode(*corpus.train, source_vocab, target_vocab)
    val_data = TokenPairs.encode(
        *corpus.val, source_vocab, target_vocab, unknown=config.unknown, names=corpus.val_names
    )
    shape = model_config(config, source_vocab, target_vocab)
    _check_memory(config, shape, corpus)
    torch.manual_seed(config.seed)
    model = Seq2Seq(shape)
    checkpoint = _Checkpointer(out)
    trainer = Trainer(
        model,
        SequenceGeneration(config.beam_width, config.length_penalty),
        learning_rate=config.learning_rate,
        batch_size=config.batch_size,
        seed=config.seed,
        clip_norm=config.clip_norm,
        schedule=config.schedule,
        patience=config.patience,
        callbacks=[*callbacks, checkpoint],
    )
    run_config = {
        "train": asdict(config),
        "source_vocab": source_vocab.to_list(),
        "target_vocab": target_vocab.to_list(),
        "model": asdict(shape),
        "max_output_len": 2 * max(map(len, corpus.train[1])) + 5,
        "max_source_len": max(map(len, corpus.train[0])),
    }
    out.mkdir(parents=True, exist_ok=True)
    mark_folder(out, "train")
    atomic_write_text(out / RESUME, json.dumps(run_config) + "\n")
    if resume and has_checkpoint(out):
        try:
            trainer.load_state(*read_checkpoint(out))
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise RunFolderError(f"{out}: its checkpoint does not fit its run ({exc})") from None
    checkpoint.trainer = trainer
    start = time.perf_counter()
    try:
        history = trainer.fit(train_data, epochs=config.epochs, validation=val_data)
    except NonFiniteLossError as exc:
        kept = "the last good epoch's checkpoint" if has_checkpoint(out) else "no checkpoint yet"
        raise ValueError(f"{exc}; the run folder {out} keeps {kept}") from None
    seconds = time.perf_counter() - start
    final = trainer.evaluate(val_data)
    metrics = {
        **{f"val_{k}": v for k, v in final.items()},
        "train_seconds": seconds,
        "epochs": history.epochs,
        "best_epoch": (trainer.best["epoch"] or 0) + 1,
        "train_size": len(train_data),
        "val_size": len(val_data),
    }
    pictures = {"learning_curves.png": learning_curves_png(history.history)}
    write_run(out, run_config, model, history.to_csv(), metrics, pictures)
    (out / RESUME).unlink(missing_ok=True)
    return TrainedRun(
        config,
        model,
        source_vocab,
        target_vocab,
        metrics,
        run_config["max_output_len"],
        run_config["max_source_len"],
    )


def prepare_run_folder(out: Path, *, overwrite: bool = False) -> None:
    """Check that ``train`` may start a new run in ``out`` (see ``train``); with
    ``overwrite``, first remove what an earlier run of ``train`` left there."""
    if folder_owner(out) != "train":
        check_output_folder(out, "train", overwrite=overwrite)
        return
    if not overwrite:
        if (out / RESUME).exists() or has_checkpoint(out):
            raise ValueError(
                f"`out` {out}: holds an interrupted run; continue it with `resume`, or give "
                "`overwrite` to start it again"
            )
        what = "a finished run" if (out / METRICS).exists() else "a run's files"
        raise ValueError(
            f"`out` {out}: already holds {what}; choose another folder, or give `overwrite` "
            "to replace it"
        )
    remove_run_files(out, extra=(RESUME, "learning_curves.png"))


def _check_memory(config: TrainConfig, shape: Seq2SeqConfig, corpus: Corpus) -> None:
    """Refuse a run that cannot fit in memory, before anything large is allocated."""
    source_len = max(map(len, [*corpus.train[0], *corpus.val[0]]))
    target_len = 2 * max(map(len, [*corpus.train[1], *corpus.val[1]])) + 5  # decoding limit
    batch = max(config.batch_size, min(256, len(corpus.val[0])))  # validation: 256 at once
    params = parameter_count(lambda: Seq2Seq(shape))
    needed = BYTES_PER_PARAMETER * params + shape.activation_bytes(batch, source_len, target_len)
    check_fits(
        needed,
        f"a model of {params:,} parameters on sequences of up to {source_len} tokens in "
        f"batches of {batch}",
        "reduce `batch_size`, `units`, `layers` or `embedding_dim`, or use shorter sequences",
    )


def read_resume_config(out: Path) -> TrainConfig:
    """The config of the interrupted run in ``out``, checked."""
    if not out.is_dir():
        raise RunFolderError(f"`resume` {out}: no such run folder")
    if (out / METRICS).exists():
        raise ValueError(f"`resume` {out}: the run is already finished")
    path = out / RESUME
    if not path.is_file():
        raise RunFolderError(
            f"`resume` {out}: no interrupted run to resume (no {RESUME}); expected the folder "
            "of an `rnnlab train` that was stopped"
        )
    saved = read_json(path)
    try:
        config = TrainConfig(**saved["train"])
        if config.epochs is None or config.batch_size is None:
            raise ValueError("its defaults are not filled in")
    except (KeyError, TypeError, ValueError) as exc:
        raise RunFolderError(f"{path}: not the resume file of `rnnlab train` ({exc})") from None
    return config


class _Checkpointer(Callback):
    """Writes the trainer's state after every epoch."""

    def __init__(self, out: Path) -> None:
        self.out, self.trainer = out, None

    def on_epoch_end(self, epoch, logs):
        write_checkpoint(self.out, *self.trainer.state())


def load_run(path) -> TrainedRun:
    """Rebuild a finished run's model and vocabularies, checking every file."""
    path = Path(path)
    saved, weights, metrics = read_run(path)
    try:
        config = TrainConfig(**saved["train"])
        source_vocab = Vocabulary(saved["source_vocab"])
        target_vocab = Vocabulary(saved["target_vocab"])
        model = Seq2Seq(Seq2SeqConfig(**saved["model"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise RunFolderError(
            f"{path / 'config.json'}: not an rnnlab train config ({exc})"
        ) from None
    load_weights(model, weights, path)
    model.eval()
    limit = saved.get("max_output_len", 100)
    longest = saved.get("max_source_len")
    return TrainedRun(config, model, source_vocab, target_vocab, metrics, limit, longest)


def learning_curves_png(history: dict) -> bytes:
    """Loss and validation exact match per epoch."""
    plt = pyplot()

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = range(1, len(history["loss"]) + 1)
    left.plot(epochs, history["loss"], label="training")
    left.plot(epochs, history["val_loss"], label="validation")
    left.set(title="cross-entropy per token", xlabel="epoch", yscale="log")
    left.legend()
    right.plot(epochs, history["val_exact_match"], label="exact match")
    right.plot(epochs, history["val_token_accuracy"], label="token accuracy")
    right.set(title="validation", xlabel="epoch", ylim=(0, 1.02))
    right.legend()
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig, dpi=100)


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


CONFIG_FIELDS = [f.name for f in fields(TrainConfig)]
