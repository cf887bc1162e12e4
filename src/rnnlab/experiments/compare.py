"""``compare``: the tutorial's experiment, several models trained on one task side by side.

With the default ``CompareConfig`` it is the tutorial exactly: 1,000 reversal pairs with
lengths 1-5 and digits 1-9, post-padded to 5, split 80/20 with ``random_state=42``, the three
models (LSTM tagger, bidirectional LSTM tagger, LSTM encoder-decoder) trained with Adam on
the mean squared error for 10 epochs of batch 32, nothing masked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from rnnlab.data import (
    SequenceDataset,
    make_pairs,
    pad_sequences,
    train_test_split,
)
from rnnlab.data.tasks import TASK_TOKENS, TASKS
from rnnlab.experiments import charts
from rnnlab.experiments.charts import Panel, Series, line_chart_png
from rnnlab.experiments.context import causal_ceiling
from rnnlab.layers import Bidirectional
from rnnlab.layers.fused import warm_up
from rnnlab.limits import check_int
from rnnlab.models import (
    MODELS,
    TUTORIAL_MODELS,
    ModelSummary,
    Tagger,
    build_model,
    summarize,
)
from rnnlab.plots.figures import save_result
from rnnlab.training import Callback, History, TokenTagging, Trainer, ValueRegression
from rnnlab.training.resources import check_fits
from rnnlab.training.workers import can_fork, run_all, torch_threads

FORMULATIONS = ("values", "tokens")
COMPARE_TASKS = tuple(t for t in TASKS if TASK_TOKENS[t] == "space")  # tasks of digits
VOCAB_SIZE = 10  # the digit tasks' tokens 1-9, and 0 for padding
EVAL_BATCH_SIZE = 256  # held-out pairs per forward pass: the tutorial's 200 in one


@dataclass(frozen=True)
class CompareConfig:
    """Everything that defines a ``compare`` run (defaults: the tutorial's)."""

    task: str = "reverse"  # a built-in task (rnnlab.data.TASKS)
    samples: int = 1000  # pairs generated
    max_len: int = 5  # longest sequence; also the padded length
    models: tuple[str, ...] = TUTORIAL_MODELS  # names from rnnlab.models.MODELS
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3  # Adam's, Keras's default
    test_size: float = 0.2  # held-out fraction
    split_seed: int = 42  # the tutorial's train_test_split(random_state=42)
    seed: int = 0  # data generation, weight initialisation and shuffling
    padding: str = "post"  # the tutorial pads after each sequence
    mask: bool = False  # the tutorial masks nothing
    formulation: str = "values"  # the tutorial's numbers and MSE, or "tokens": ids, softmax, CE

    def memory_bytes(self, jobs: int = 1) -> int:
        """A generous estimate of the run's memory: the pairs as Python lists and tensors
        (64 bytes a token), and per model training at once the activations of a batch (or a
        validation batch of 256) over every step, up to 4,096 floats a step and example."""
        data = 2 * self.samples * self.max_len * 64
        activations = 4 * max(self.batch_size, 256) * 2 * self.max_len * 4096
        return data + min(jobs, len(self.models)) * activations

    def __post_init__(self) -> None:
        for name in ("samples", "max_len", "epochs", "batch_size"):
            check_int(name, getattr(self, name))
        if self.task not in COMPARE_TASKS:
            raise ValueError(
                f"`task` must be one of {', '.join(COMPARE_TASKS)} (tasks of digits, which the "
                f"tutorial's models read as numbers), got {self.task!r}; `rnnlab train` solves "
                f"the others ({', '.join(t for t in TASKS if t not in COMPARE_TASKS)})."
            )
        if not self.models:
            raise ValueError("`models` must name at least one model.")
        for name in self.models:
            if name not in MODELS:
                raise ValueError(
                    f"`models`: unknown model {name!r}; expected some of {list(MODELS)}."
                )
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"`models` must not repeat a name, got {list(self.models)}.")
        if not 0.0 < self.test_size < 1.0:
            raise ValueError(f"`test_size` must be a fraction in (0, 1), got {self.test_size}.")
        if not self.learning_rate > 0:
            raise ValueError(f"`learning_rate` must be > 0, got {self.learning_rate}.")
        if self.padding not in ("pre", "post"):
            raise ValueError(f"`padding` must be 'pre' or 'post', got {self.padding!r}.")
        if self.formulation not in FORMULATIONS:
            raise ValueError(
                f"`formulation` must be one of {FORMULATIONS}, got {self.formulation!r}."
            )


@dataclass
class ModelResult:
    name: str
    params: int
    summary: ModelSummary
    history: History
    train_seconds: float
    metrics: dict[str, float]  # on the held-out set: loss, token_accuracy, exact_match
    causal_ceiling: float | None = None  # one-way taggers: the best exact match any could reach

    def to_dict(self) -> dict:
        extra = {} if self.causal_ceiling is None else {"causal_ceiling": self.causal_ceiling}
        return {
            "params": self.params,
            "loss": self.history.history["loss"][-1],
            "val_loss": self.metrics["loss"],
            "token_accuracy": self.metrics["token_accuracy"],
            "exact_match": self.metrics["exact_match"],
            "train_seconds": self.train_seconds,
            "history": self.history.history,
            **extra,
        }


@dataclass
class CompareResult:
    config: CompareConfig
    train_size: int
    test_size: int
    models: list[ModelResult] = field(default_factory=list)

    def to_dict(self) -> dict:
        from rnnlab.version import __version__

        return {
            "config": {**asdict(self.config), "models": list(self.config.models)},
            "train_size": self.train_size,
            "test_size": self.test_size,
            "models": {m.name: m.to_dict() for m in self.models},
            "versions": {"rnnlab": __version__, "torch": torch.__version__},
        }

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write ``results.json`` and ``learning_curves.png`` into ``out_dir`` (each atomically)."""
        return save_result(
            out_dir, "results.json", self.to_dict(), "learning_curves.png", self.plot_png()
        )

    def plot_png(self) -> bytes:
        """Learning curves: training and validation loss per epoch, one line per model."""
        panels = [
            Panel(
                title,
                [
                    Series(
                        f"{m.name} ({m.params:,})",
                        range(1, m.history.epochs + 1),
                        m.history.history[key],
                    )
                    for m in self.models
                ],
                xlabel="epoch",
            )
            for key, title in (("loss", "training loss"), ("val_loss", "validation loss"))
        ]
        tokens = self.config.formulation == "tokens"
        return line_chart_png(
            panels,
            title=f"rnnlab compare: task {self.config.task!r}, {self.config.samples} pairs",
            ylabel="cross-entropy per token" if tokens else "mean squared error",
            log_y=True,
            legend_title="model (parameters)",
        )


def prepare_data(config: CompareConfig) -> tuple[SequenceDataset, SequenceDataset]:
    """The tutorial's steps 2-4: generate, pad, add a feature axis, split."""
    sources, targets = make_pairs(config.task, config.samples, config.max_len, seed=config.seed)
    steps = config.max_len
    x = pad_sequences(sources, maxlen=steps, padding=config.padding)[..., None]  # (N, T, 1)
    y = pad_sequences(targets, maxlen=steps, padding=config.padding)[..., None]  # (N, T, 1)
    x_len = [min(len(s), steps) for s in sources]
    y_len = [min(len(t), steps) for t in targets]
    x_tr, x_te, y_tr, y_te, xl_tr, xl_te, yl_tr, yl_te = train_test_split(
        x, y, x_len, y_len, test_size=config.test_size, seed=config.split_seed
    )
    train = SequenceDataset.from_padded(x_tr, y_tr, xl_tr, yl_tr, padding=config.padding)
    test = SequenceDataset.from_padded(x_te, y_te, xl_te, yl_te, padding=config.padding)
    return train, test


def _is_one_way(model: torch.nn.Module) -> bool:
    """A tagger whose output at step t has read only inputs 0..t (not bidirectional)."""
    return isinstance(model, Tagger) and not isinstance(model.recurrent, Bidirectional)


def run_compare(
    config: CompareConfig = CompareConfig(),
    *,
    callbacks_for: Callable[[str], Sequence[Callback]] | None = None,
    on_model_start: Callable[[str, ModelSummary], None] | None = None,
    jobs: int = 1,
) -> CompareResult:
    """Train every model of ``config`` on the same data and measure each on the held-out part.

    Every model is built first, and ``on_model_start(name, summary)`` is called for each (the
    CLI prints the summaries there); then they train, ``jobs`` at a time in worker processes
    (``rnnlab.training.workers``), each followed by the callbacks ``callbacks_for(name)``
    gives. Each model trains on one thread, so the numbers are the same for any ``jobs``.
    A run that cannot fit in memory is refused first (``CompareConfig.memory_bytes``).
    """
    check_fits(
        config.memory_bytes(jobs),
        f"comparing {len(config.models)} models on {config.samples:,} pairs of up to "
        f"{config.max_len:,} steps",
        "reduce `samples`, `max_len` or `batch_size`",
    )
    steps = config.max_len
    tokens = config.formulation == "tokens"
    with torch_threads(1):  # for the warm-up thread, which takes the count set now
        # Workers would each set up torch's fused kernels on their first step: done once here
        # instead, on another core while the data and the models are made, and inherited.
        warming = None
        if min(jobs, len(config.models)) > 1 and can_fork():  # as run_all decides
            warming = threading.Thread(target=warm_up, name="rnnlab-warm-up", daemon=True)
            warming.start()
        train, test = prepare_data(config)
        result = CompareResult(config, train_size=len(train), test_size=len(test))
        built = []
        for name in config.models:
            torch.manual_seed(config.seed)  # every model starts from the same seed, in any order
            model = build_model(name, time_steps=steps, vocab_size=VOCAB_SIZE if tokens else None)
            if tokens:
                summary = summarize(model, (steps,), title=name, dtype=torch.long)
            else:
                summary = summarize(model, (steps, 1), title=name)
            if on_model_start is not None:
                on_model_start(name, summary)
            built.append((name, model, summary))

        def fitting(model: torch.nn.Module):
            def fit(callbacks: Sequence[Callback]):
                torch.manual_seed(config.seed)  # the global RNG (dropout) as if trained alone
                trainer = Trainer(
                    model,
                    TokenTagging(config.mask) if tokens else ValueRegression(use_mask=config.mask),
                    learning_rate=config.learning_rate,
                    batch_size=config.batch_size,
                    eval_batch_size=EVAL_BATCH_SIZE,
                    seed=config.seed,
                    callbacks=callbacks,
                )
                start = time.perf_counter()
                history = trainer.fit(train, epochs=config.epochs, validation=test)
                return history, time.perf_counter() - start, trainer.evaluate(test)

            return fit

        names = config.models
        if warming is not None:
            warming.join()  # before the fork: a thread does not survive it
        outcomes = run_all(
            [fitting(model) for _, model, _ in built],
            jobs=jobs,
            callbacks_for=lambda index: callbacks_for(names[index]) if callbacks_for else (),
            meanwhile=charts.prepare,  # Pillow, for the learning curves
        )
    for (name, model, summary), (history, seconds, metrics) in zip(built, outcomes, strict=True):
        ceiling = causal_ceiling(config.task, config.max_len) if _is_one_way(model) else None
        result.models.append(
            ModelResult(name, summary.total_params, summary, history, seconds, metrics, ceiling)
        )
    return result
