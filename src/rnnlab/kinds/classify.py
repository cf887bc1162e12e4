"""Kind ``classify``: one label for a whole sequence of tokens or of feature vectors.

Data: TSV ``tokens<TAB>label``, JSONL ``{"sequence": [...], "label": ...}`` (tokens, or a
feature vector per step) and sktime/aeon ``.ts`` files (``rnnlab.data.labelled``). Feature
vectors are standardised per feature with the training set's mean and deviation (saved in
the run folder). Model: ``rnnlab.models.sequence_classifier``. Measures: accuracy, macro F1
and the confusion matrix (``confusion.png``). ``predict`` writes one label a line, in the
input's order (``--proba``: each class's probability after it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from rnnlab.class_probabilities import ClassProbabilities
from rnnlab.config import option, override
from rnnlab.data.feature_scaler import FeatureScaler
from rnnlab.data.labelled import LabelledSequences, read_labelled
from rnnlab.data.labelled_dataset import LabelledData
from rnnlab.data.pairs import split_tokens
from rnnlab.data.split import Split, ValidationConfig
from rnnlab.data.vocab import Vocabulary
from rnnlab.kinds.base import Finished, Kind, Predictions, Prepared, Run, check_saved_sizes
from rnnlab.kinds.baselines import (
    Baseline,
    Baselines,
    dtw_fits,
    majority,
    naive_bayes,
    nearest_neighbour,
    nearest_neighbour_dtw,
    trivial_beside,
)
from rnnlab.kinds.summary import counts, spread, validation
from rnnlab.models.encoder_config import EncoderConfig
from rnnlab.models.sequence_classifier import (
    POOLINGS,
    SequenceClassifier,
    SequenceClassifierConfig,
)
from rnnlab.plots.figures import learning_curves_png, png_bytes, pyplot
from rnnlab.training.config import TrainingConfig
from rnnlab.training.devices import model_device


@dataclass(frozen=True)
class ClassifyConfig(EncoderConfig, TrainingConfig, ValidationConfig):
    """Everything that defines a ``classify`` run."""

    data: str | None = option(
        "labelled sequences: TSV 'tokens<TAB>label', .jsonl, or .ts", value="path"
    )
    embedding_dim: int = option("token embedding size (token sequences)", value="units", default=64)
    pooling: str = option(
        "how the steps' outputs become one vector", choices=tuple(POOLINGS), default="mean"
    )
    ensemble: int = option(
        "classifiers trained side by side from different initial weights, their "
        "probabilities averaged (1: a single classifier)",
        value="layers",
        default=5,
    )
    dropout: float = override(EncoderConfig, "dropout", 0.2)
    epochs: int | None = override(
        TrainingConfig,
        "epochs",
        None,
        auto="until validation stops improving (patience 10), at most 80",
    )
    batch_size: int = override(TrainingConfig, "batch_size", 16)

    def check(self) -> None:
        if self.data is None:
            raise ValueError("give `data` (a file of labelled sequences).")


class ClassifyObjective:
    """Cross-entropy over sequences; accuracy and macro F1 (the mean of the classes' F1)."""

    metrics = ("accuracy", "macro_f1")
    shown = ("accuracy",)  # on the progress line
    lower_is_better = ()
    unit = "sequences"

    def __init__(self, classes: int) -> None:
        self.classes = classes

    def logits(self, model, batch) -> torch.Tensor:
        device = model_device(model)
        return model(batch.inputs.to(device), batch.mask.to(device))

    def loss(self, model, batch) -> torch.Tensor:
        device = model_device(model)
        return model.loss(batch.inputs.to(device), batch.mask.to(device), batch.labels.to(device))

    def predict(self, model, data: LabelledData, batch_size: int) -> torch.Tensor:
        """Class probabilities ``(N, K)``, in the data set's order."""
        return torch.cat(
            [self.logits(model, b).softmax(-1).cpu() for b in data.batches(batch_size)]
        )

    def evaluate(self, model, data: LabelledData, batch_size: int) -> dict[str, float]:
        total, predicted = 0.0, []
        for batch in data.batches(batch_size):
            logits = self.logits(model, batch)  # log-probabilities
            labels = batch.labels.to(logits.device)
            total += F.nll_loss(logits.float(), labels, reduction="sum").item()
            predicted += logits.argmax(-1).tolist()
        matrix = confusion(predicted, data.labels, self.classes)
        return {"loss": total / len(data), **accuracy_and_f1(matrix)}


def confusion(predicted, actual, classes: int) -> np.ndarray:
    """``matrix[i, j]``: sequences of class ``i`` predicted as ``j``."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(actual), np.asarray(predicted)), 1)
    return matrix


def accuracy_and_f1(matrix: np.ndarray) -> dict[str, float]:
    right = np.diag(matrix).astype(float)
    guessed, real = matrix.sum(0), matrix.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(guessed + real > 0, 2 * right / (guessed + real), 0.0)
    present = real > 0
    return {
        "accuracy": float(right.sum() / matrix.sum()) if matrix.sum() else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
    }


def _holding(form: str, features: int | None) -> str:
    """What a file of labelled sequences holds, in words: tokens, or vectors of F features."""
    return "tokens" if features is None else f"{form} of {features} features"


@dataclass
class ClassifyData:
    """The labelled sequences as read, and their split into training and validation."""

    read: LabelledSequences
    split: Split


def _most_common(labels):
    return Counter(labels).most_common(1)[0][0]


class ClassifyKind(Kind):
    name = "classify"
    config = ClassifyConfig
    description = "one label per sequence (TSV, JSONL, .ts)"
    default_epochs, default_patience = 80, 10

    def read(self, config: ClassifyConfig) -> ClassifyData:
        read = read_labelled(config.data)
        pair = (read.sequences, read.labels)
        if config.val is None:
            names = [f"{read.path}:{n}" for n in read.lines]
            return ClassifyData(
                read, Split.held_out(pair, names, config, str(read.path), "sequence")
            )
        val = read_labelled(config.val)
        if val.form != read.form or val.features != read.features:
            raise ValueError(
                f"{val.path}: holds {_holding(val.form, val.features)}; expected "
                f"{_holding(read.form, read.features)} like {read.path}"
            )
        names = [f"{val.path}:{n}" for n in val.lines]
        return ClassifyData(read, Split(pair, (val.sequences, val.labels), names))

    def resolve(self, config: ClassifyConfig, data: ClassifyData) -> ClassifyConfig:
        return config  # no default depends on the data

    def data_summary(self, data: ClassifyData, prepared: Prepared, config) -> list[str]:
        read, (train, val, _) = data.read, data.split
        if read.form == "tokens":
            what = f"{len(prepared.state['vocab']):,} distinct tokens"
        else:
            what = f"{read.features} feature{'s' * (read.features != 1)} a step"
        return [
            f"data: {read.path}: {len(read.sequences):,} sequences, "
            f"{spread([len(s) for s in read.sequences], 'steps')}; {what}",
            f"classes: {counts(train[1])}",
            validation(config, len(val[0]), "sequences"),
        ]

    def prepare(self, config: ClassifyConfig, data: ClassifyData) -> Prepared:
        read, (train, val, val_names) = data.read, data.split
        classes = sorted(set(train[1]))
        if len(classes) < 2:
            raise ValueError(f"{read.path}: one class only ({classes[0]!r}); expected two or more")
        # the trivial baseline's answer, for ``evaluate``
        state = {"classes": classes, "form": read.form, "majority": _most_common(train[1])}
        encoder = _Encoder(read.form, classes)
        if read.form == "tokens":
            encoder.vocab = Vocabulary.build(train[0])
            state["vocab"] = encoder.vocab.to_list()
        else:
            encoder.scaler = FeatureScaler().fit(train[0])
            state["scaler"] = encoder.scaler.to_dict()
        shape = SequenceClassifierConfig(
            num_classes=len(classes),
            vocab_size=len(encoder.vocab) if encoder.vocab is not None else None,
            features=read.features,
            embedding_dim=config.embedding_dim,
            **config.encoder(),
            pooling=config.pooling,
            members=config.ensemble,
            bag=encoder.vocab is not None,  # tokens: a bag of words beside the recurrent layers
        )
        longest = max(len(s) for s in [*train[0], *val[0]])
        return Prepared(
            train=encoder.encode(*train),
            val=encoder.encode(*val, names=val_names),
            objective=ClassifyObjective(len(classes)),
            model_config=shape,
            build=SequenceClassifier,
            monitor="val_accuracy",
            state=state,
            activation_bytes=shape.activation_bytes(max(config.batch_size, 256), longest),
            sizes=f"on sequences of up to {longest} steps",
        )

    def baselines(self, finished: Finished) -> Baselines:
        read, (train, val, _) = finished.data.read, finished.data.split
        if read.form == "tokens":
            classical = Baseline("naive Bayes on unigrams", naive_bayes(*train, *val))
        else:  # the better of 1-NN Euclidean and, where the series are few and short, DTW
            classical = Baseline("1-NN Euclidean", nearest_neighbour(*train, *val))
            if dtw_fits(train[0], val[0]):
                warped = Baseline("1-NN DTW", nearest_neighbour_dtw(*train, *val))
                classical = max(classical, warped, key=lambda b: b.value)
        return Baselines(
            "val_accuracy",
            False,
            finished.metrics["val_accuracy"],
            Baseline("majority class", majority(train[1], val[1])),
            classical,
        )

    def build(self, saved: dict) -> SequenceClassifier:
        return SequenceClassifier(SequenceClassifierConfig(**saved["model"]))

    def restore(self, config, model, saved, metrics) -> ClassifyRun:
        shape = model.config
        check_saved_sizes(
            {
                "classes": (len(saved["classes"]), shape.num_classes),
                "vocab": (len(saved.get("vocab", ())), shape.vocab_size),
                "scaler": (len(saved.get("scaler", {}).get("mean", ())), shape.features),
            }
        )
        encoder = _Encoder(saved["form"], saved["classes"])
        if saved["form"] == "tokens":
            encoder.vocab = Vocabulary(saved["vocab"])
        else:
            encoder.scaler = FeatureScaler.from_dict(saved["scaler"])
        return ClassifyRun(self, config, model, saved, metrics, encoder=encoder)

    def report(self, finished: Finished) -> dict:
        """The held-out confusion matrix, for ``metrics.json`` and ``confusion.png``."""
        model, prepared = finished.run.model, finished.prepared
        model.eval()
        with torch.no_grad():
            p = prepared.objective.predict(model, prepared.val, 256)
        matrix = confusion(p.argmax(-1).tolist(), prepared.val.labels, p.shape[1])
        return {"val_confusion": matrix.tolist()}

    def pictures(self, finished: Finished) -> dict[str, bytes]:
        pictures = {"learning_curves.png": _learning_curves_png(finished.history)}
        if "val_confusion" in finished.metrics:
            pictures["confusion.png"] = confusion_png(
                np.array(finished.metrics["val_confusion"]), finished.run.encoder.classes
            )
        return pictures


class _Encoder:
    """Labelled sequences to ``LabelledData``: tokens to ids, vectors standardised, labels
    to class ids."""

    def __init__(self, form: str, classes: list[str]) -> None:
        self.form, self.classes = form, list(classes)
        self.ids = {c: i for i, c in enumerate(self.classes)}
        self.vocab: Vocabulary | None = None
        self.scaler: FeatureScaler | None = None

    def encode(self, sequences, labels=None, *, names=None) -> LabelledData:
        if self.form == "tokens":
            rows = [self.vocab.encode(s, unknown="map") for s in sequences]
        else:
            rows = self.scaler.transform(sequences)
        if labels is None:
            return LabelledData(rows, [-1] * len(rows))
        label_ids = []
        for i, label in enumerate(labels):
            if label not in self.ids:
                where = names[i] if names is not None else f"sequence {i + 1}"
                raise ValueError(
                    f"{where}: the label {label!r} was not seen in training; expected one of "
                    f"{', '.join(self.classes[:20])}"
                )
            label_ids.append(self.ids[label])
        return LabelledData(rows, label_ids)


@dataclass
class ClassifyRun(Run):
    """A trained classifier with its classes and its vocabulary or scaler."""

    encoder: _Encoder = None

    predict_options = ("proba",)

    def probabilities(self, sequences, *, batch_size: int = 256) -> ClassProbabilities:
        """Each class's probability for each sequence, with the class names: ``np.asarray``
        of it is the ``(N, K)`` array, ``[i]`` sequence ``i``'s ``{class: probability}``,
        ``.labels()`` the most probable classes."""
        if self.state["form"] == "tokens":
            sequences = [split_tokens(s) if isinstance(s, str) else s for s in sequences]
        values = self._probabilities(sequences, batch_size).cpu().numpy()
        return ClassProbabilities(self.encoder.classes, values)

    @torch.no_grad()
    def _probabilities(self, sequences, batch_size: int = 256) -> torch.Tensor:
        self.model.eval()
        data = self.encoder.encode(sequences)
        return ClassifyObjective(len(self.encoder.classes)).predict(self.model, data, batch_size)

    def predict(self, sequences) -> list[str]:
        """The predicted label of each sequence: tokens (a list, or a line of text split on
        spaces), or an array ``(T, F)``."""
        return self.probabilities(sequences).labels()

    @torch.no_grad()
    def evaluate(self, sequences, labels, *, names=None, batch_size: int = 256) -> dict:
        self.model.eval()
        data = self.encoder.encode(sequences, labels, names=names)
        probabilities = ClassifyObjective(len(self.encoder.classes)).predict(
            self.model, data, batch_size
        )
        matrix = confusion(
            probabilities.argmax(-1).tolist(), data.labels, len(self.encoder.classes)
        )
        loss = F.nll_loss(probabilities.clamp_min(1e-12).log(), torch.tensor(data.labels)).item()
        return {"loss": loss, **accuracy_and_f1(matrix), "confusion": matrix.tolist()}

    def _read(self, path, labels: str) -> LabelledSequences:
        read = read_labelled(path, labels=labels)
        expected = self.state["form"]
        features = self.model.config.features
        if read.form != expected or read.features != features:
            raise ValueError(
                f"{read.path}: holds {_holding(read.form, read.features)}; this run reads "
                f"{_holding(expected, features)}"
            )
        return read

    def predict_file(self, path=None, *, proba: bool = False) -> Predictions:
        """``rnnlab predict``'s output: one label a line, in the input's order; with
        ``proba``, each class's probability after it (``label<TAB>class=p ...``)."""
        if path is None or str(path) == "-":
            raise ValueError("--input: a classify run reads a file (TSV, JSONL or .ts)")
        read = self._read(path, "ignore")
        p = self.probabilities(read.sequences)
        lines = []
        for label, row in zip(p.labels(), p, strict=True):
            parts = " ".join(f"{c}={v:.4f}" for c, v in row.items())
            lines.append(f"{label}\t{parts}" if proba else label)
        return Predictions("".join(line + "\n" for line in lines))

    def evaluate_file(self, path) -> dict:
        read = self._read(path, "required")
        names = [f"{read.path}:{n}" for n in read.lines]
        measures = {
            "sequences": len(read),
            **self.evaluate(read.sequences, read.labels, names=names),
        }
        top = self.state.get("majority")  # none in runs made before baselines
        if top is None:
            return measures
        right = sum(label == top for label in read.labels) / max(1, len(read.labels))
        return trivial_beside(measures, "accuracy", False, Baseline("majority class", right))

    def evaluation_pictures(self, measures: dict) -> dict[str, bytes]:
        matrix = np.array(measures["confusion"])
        return {"confusion.png": confusion_png(matrix, self.encoder.classes)}

    def summary(self) -> str:
        m = self.metrics
        return (
            f"held-out accuracy {m['val_accuracy']:.2%}, macro F1 {m['val_macro_f1']:.2%} on "
            f"{m['val_size']} sequences; {self.epochs_text()} epochs, "
            f"{m['train_seconds']:.1f} s of training"
        )


def confusion_png(matrix: np.ndarray, classes: list[str]) -> bytes:
    """The confusion matrix: actual classes (rows) against predicted ones (columns)."""
    plt = pyplot()
    k = len(classes)
    fig, ax = plt.subplots(figsize=(max(4, 0.5 * k + 2.5), max(3.5, 0.5 * k + 2)))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(k), classes, rotation=90 if k > 6 else 0)
    ax.set_yticks(range(k), classes)
    for i in range(k):
        for j in range(k):
            if matrix[i, j]:
                dark = matrix[i, j] > matrix.max() / 2
                ax.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    color="white" if dark else "black",
                    fontsize=8,
                )
    ax.set(xlabel="predicted", ylabel="actual", title="held-out confusion matrix")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    return png_bytes(fig, dpi=100)


def _learning_curves_png(history: dict) -> bytes:
    measures = {"val_accuracy": "accuracy", "val_macro_f1": "macro F1"}
    return learning_curves_png(history, "cross-entropy", measures)
