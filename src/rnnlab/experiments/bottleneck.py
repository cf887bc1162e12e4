"""``bottleneck``: does one context vector limit an encoder-decoder as sequences grow?

The tutorial says the encoder "compresses [the input] into a single context vector".
Bahdanau et al. (2015) showed that this bottleneck makes translation worse as sentences grow
longer, and that attention removes the fall. Measured here on reversal of digit sequences
of one length ``L`` at a time (5, 10, 20, 40, 80 by default), with three models trained with
the same budget at every length:

- ``repeat``: the tutorial's encoder-decoder (an LSTM encoder's last output repeated
  ``L`` times into an LSTM decoder, ``rnnlab.models.encoder_decoder``), over token ids;
- ``context``: the token encoder-decoder (``rnnlab.models.seq2seq``) without attention: the
  decoder starts from the encoder's final state and reads its own previous token;
- ``attention``: the same model with Bahdanau's attention over the encoder's outputs.

Each model takes ``train_steps`` Adam steps on fresh batches (teacher forcing for the token
encoder-decoders, cross-entropy everywhere) and is scored on held-out sequences: exact match
(the whole sequence right) and token accuracy, decoded greedily.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rnnlab.experiments.claim_tasks import train_online
from rnnlab.limits import check_int, is_integer
from rnnlab.models.encoder_decoder import EncoderDecoder
from rnnlab.models.seq2seq import END_ID, START_ID, Seq2Seq, Seq2SeqModelConfig
from rnnlab.plots.figures import png_bytes, pyplot, save_result
from rnnlab.training.callbacks import Callback
from rnnlab.training.resources import check_fits
from rnnlab.training.workers import StepProgress, run_all

BOTTLENECK_MODELS = ("repeat", "context", "attention")
DIGITS = 9  # tokens 1-9, as in the tutorial; ids 4-12 (0-3 are the special tokens)
FIRST_DIGIT_ID = 4
VOCAB = FIRST_DIGIT_ID + DIGITS
LABELS = {
    "repeat": "tutorial's repeat-vector encoder-decoder",
    "context": "token encoder-decoder, no attention",
    "attention": "token encoder-decoder with attention",
}


@dataclass(frozen=True)
class BottleneckConfig:
    """Everything that defines a ``bottleneck`` run."""

    lengths: tuple[int, ...] = (5, 10, 20, 40, 80)
    models: tuple[str, ...] = BOTTLENECK_MODELS
    units: int = 64  # H, every model and side
    embedding_dim: int = 32
    train_steps: int = 1000  # Adam steps per model, the same budget everywhere
    batch_size: int = 64
    learning_rate: float = 3e-3
    val_samples: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("units", "embedding_dim", "train_steps", "batch_size", "val_samples"):
            check_int(name, getattr(self, name))
        if not self.models or any(m not in BOTTLENECK_MODELS for m in self.models):
            raise ValueError(
                f"`models` must be some of {list(BOTTLENECK_MODELS)}, got {list(self.models)}."
            )
        if not self.lengths or not all(is_integer(n) and n >= 1 for n in self.lengths):
            raise ValueError(f"`lengths` must be positive integers, got {list(self.lengths)}.")
        if not self.learning_rate > 0:
            raise ValueError(f"`learning_rate` must be > 0, got {self.learning_rate}.")

    def memory_bytes(self, jobs: int = 1) -> int:
        """A generous estimate: per run training at once, a batch's states, gates, attention
        and logits with their gradients at every step of both sides of the longest length."""
        n = max(self.lengths)
        per_step = 16 * self.units + 2 * n + 3 * VOCAB + self.embedding_dim
        per_run = 4 * 2 * n * (2 * self.batch_size * per_step + self.val_samples * VOCAB)
        return min(jobs, len(self.lengths) * len(self.models)) * per_run


def reversal_batch(n: int, length: int, rng: np.random.Generator):
    """``n`` sequences of ``length`` digit ids and their reversals, ``(N, L)`` each."""
    x = torch.from_numpy(rng.integers(FIRST_DIGIT_ID, VOCAB, size=(n, length)))
    return x, x.flip(1)


def build_bottleneck_model(name: str, config: BottleneckConfig, length: int):
    """A fresh model, its weights drawn from the config's seed (the global state is left
    alone)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        if name == "repeat":
            return EncoderDecoder(
                units=config.units,
                output_steps=length,
                vocab_size=VOCAB,
                embedding_dim=config.embedding_dim,
            )
        return Seq2Seq(
            Seq2SeqModelConfig(
                source_vocab_size=VOCAB,
                target_vocab_size=VOCAB,
                embedding_dim=config.embedding_dim,
                units=config.units,
                bidirectional=True,
                attention="bahdanau" if name == "attention" else None,
                input_feeding=True,  # the model the experiment's figures were measured with
            )
        )


def _loss(model, x, y) -> torch.Tensor:
    if isinstance(model, EncoderDecoder):
        logits = model(x)  # (N, L, V)
        return F.cross_entropy(logits.flatten(0, 1), y.flatten())
    start = torch.full((y.shape[0], 1), START_ID, dtype=torch.long)
    end = torch.full((y.shape[0], 1), END_ID, dtype=torch.long)
    logits = model(x, torch.cat([start, y], dim=1))  # (N, L + 1, V)
    return F.cross_entropy(logits.flatten(0, 1), torch.cat([y, end], dim=1).flatten())


@torch.no_grad()
def _decode(model, x: torch.Tensor, length: int) -> torch.Tensor:
    """Greedy outputs ``(N, L)`` (shorter outputs padded with 0, longer ones cut)."""
    model.eval()
    if isinstance(model, EncoderDecoder):
        return model(x).argmax(-1)
    out = torch.zeros(x.shape[0], length, dtype=torch.long)
    for i, ids in enumerate(model.generate(x, max_len=length + 1)):
        ids = ids[:length]
        out[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out


def score(model, x: torch.Tensor, y: torch.Tensor, batch: int = 250) -> dict[str, float]:
    """Held-out exact match and token accuracy of greedy decoding."""
    predicted = torch.cat(
        [_decode(model, x[i : i + batch], y.shape[1]) for i in range(0, len(x), batch)]
    )
    right = predicted == y
    return {
        "exact_match": float(right.all(1).float().mean()),
        "token_accuracy": float(right.float().mean()),
    }


def train_model(model, config: BottleneckConfig, length: int, callbacks=()) -> list[float]:
    """``train_steps`` Adam steps on fresh batches of ``length`` (the claim experiments' loop,
    ``rnnlab.experiments.claim_tasks.train_online``)."""
    return train_online(
        model,
        lambda rng: reversal_batch(config.batch_size, length, rng),
        _loss,
        steps=config.train_steps,
        learning_rate=config.learning_rate,
        seed=config.seed,
        callbacks=callbacks,
    )


@dataclass
class BottleneckResult:
    config: BottleneckConfig
    # runs[model] is one dict per length: exact_match, token_accuracy, train_seconds, ...
    runs: dict[str, list[dict]] = field(default_factory=dict)

    def metric(self, model: str, name: str) -> list[float]:
        return [r[name] for r in self.runs[model]]

    def to_dict(self) -> dict:
        from rnnlab.version import __version__

        return {
            "config": {
                **asdict(self.config),
                "lengths": list(self.config.lengths),
                "models": list(self.config.models),
            },
            "models": {
                name: {
                    "label": LABELS[name],
                    "exact_match": self.metric(name, "exact_match"),
                    "token_accuracy": self.metric(name, "token_accuracy"),
                    "runs": runs,
                }
                for name, runs in self.runs.items()
            },
            "versions": {"rnnlab": __version__, "torch": torch.__version__},
        }

    def table(self) -> str:
        """Exact match (token accuracy) per model and length, as a Markdown table."""
        lengths = self.config.lengths
        lines = [
            "| model | " + " | ".join(f"L={n}" for n in lengths) + " |",
            "|---|" + "---|" * len(lengths),
        ]
        for name in self.runs:
            cells = [f"{r['exact_match']:.1%} ({r['token_accuracy']:.1%})" for r in self.runs[name]]
            lines.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write ``bottleneck.json`` and ``bottleneck.png`` into ``out_dir`` (atomically)."""
        return save_result(
            out_dir, "bottleneck.json", self.to_dict(), "bottleneck.png", self.plot_png()
        )

    def plot_png(self) -> bytes:
        """Exact match (left) and token accuracy (right) against the length, per model."""
        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        lengths = list(self.config.lengths)
        for ax, metric, title in zip(
            axes,
            ("exact_match", "token_accuracy"),
            ("held-out exact match", "held-out token accuracy"),
            strict=True,
        ):
            for name in self.runs:
                ax.plot(lengths, self.metric(name, metric), marker="o", label=LABELS[name])
            if metric == "token_accuracy":
                ax.axhline(1 / DIGITS, color="grey", ls="--", label="guessing (1/9)")
            ax.set_xscale("log")
            ax.set_xticks(lengths, [str(n) for n in lengths])
            ax.minorticks_off()
            ax.set(xlabel="sequence length L", title=title, ylim=(-0.03, 1.03))
            ax.grid(True, alpha=0.3)
        axes[0].legend(fontsize=8)
        c = self.config
        fig.suptitle(
            f"rnnlab bottleneck: reversing L digits, H={c.units}, the same budget for every "
            f"model ({c.train_steps} Adam steps x {c.batch_size} sequences, seed {c.seed})"
        )
        fig.tight_layout()
        return png_bytes(fig, dpi=90)


def run_bottleneck(
    config: BottleneckConfig = BottleneckConfig(), *, progress=None, jobs: int = 1
) -> BottleneckResult:
    """Train and score every (model, length), ``jobs`` runs at a time in worker processes
    (each seeded alone, on one thread: the scores do not depend on ``jobs``);
    ``progress(what, done, total)`` as the training steps advance."""
    check_fits(
        config.memory_bytes(jobs),
        f"encoder-decoders of {config.units:,} units on sequences of up to "
        f"{max(config.lengths):,} steps",
        "reduce `units`, `lengths`, `batch_size` or `val_samples`",
    )
    cases = [(name, length) for name in config.models for length in config.lengths]
    counter = StepProgress(progress, len(cases) * config.train_steps)

    def callbacks_for(index: int) -> list[Callback]:
        name, length = cases[index]
        return [counter.callback(f"{name} L={length}")] if progress is not None else []

    validation = {
        n: reversal_batch(config.val_samples, n, np.random.default_rng([config.seed, 2]))
        for n in config.lengths
    }
    runs = [_scoring(config, name, length, validation[length]) for name, length in cases]
    outcomes = run_all(runs, jobs=jobs, callbacks_for=callbacks_for)
    result = BottleneckResult(config, {name: [] for name in config.models})
    for (name, _), outcome in zip(cases, outcomes, strict=True):
        result.runs[name].append(outcome)
    return result


def _scoring(config: BottleneckConfig, name: str, length: int, val):
    def run(callbacks) -> dict:
        model = build_bottleneck_model(name, config, length)
        start = time.perf_counter()
        losses = train_model(model, config, length, callbacks)
        seconds = time.perf_counter() - start
        tail = losses[-max(1, len(losses) // 10) :]
        return {
            "length": length,
            **score(model, *val),
            "final_train_loss": sum(tail) / len(tail),
            "train_seconds": seconds,
            "parameters": sum(p.numel() for p in model.parameters()),
        }

    return run
