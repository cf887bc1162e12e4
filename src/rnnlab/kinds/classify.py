"""Kind ``classify``: one label for a whole sequence of tokens or of feature vectors.

Data: TSV ``tokens<TAB>label``, JSONL ``{"sequence": [...], "label": ...}`` (tokens, or a
feature vector per step) and sktime/aeon ``.ts`` files (``rnnlab.data.labelled``). Feature
vectors are standardised per feature with the training set's mean and deviation (saved in
the run folder). Model: ``rnnlab.models.sequence_classifier``. Measures: accuracy, macro F1
and the confusion matrix (``confusion.png``). ``predict`` writes one label a line, in the
input's order (``--proba``: each class's probability after it).
"""

from __future__ import annotations

import math
import time
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
from rnnlab.data.split import Split, ValidationConfig, folds_of
from rnnlab.data.vocab import Vocabulary
from rnnlab.kinds.base import Finished, Kind, Predictions, Prepared, Run, check_saved_sizes
from rnnlab.kinds.baselines import (
    Baseline,
    Baselines,
    dtw_fits,
    naive_bayes_labels,
    nearest_neighbour_dtw_labels,
    nearest_neighbour_labels,
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
from rnnlab.training.config import DEFAULT_BUDGET, TrainingConfig
from rnnlab.training.devices import model_device

SHORT_SERIES = 64  # steps a recurrent layer reads well one at a time
READ_STEPS = 128  # the most steps the recurrent layer reads after a front end (median)
MOST_MEMBERS = 5  # the default ensemble, where the budget fits it
FOLDS_BELOW = 1_000  # sequences: an ensemble on fewer validates each member on its own fold
CLASSIFY_UPDATES = 1_000  # the updates a file's default epochs make (about)
EPOCHS = (80, 500)  # the fewest and most epochs that makes
AUGMENTATIONS = ("none", "noise", "crop", "both")


@dataclass(frozen=True)
class ClassifyConfig(EncoderConfig, TrainingConfig, ValidationConfig):
    """Everything that defines a ``classify`` run."""

    data: str | None = option(
        "labelled sequences: TSV 'tokens<TAB>label', .jsonl, or .ts", value="path"
    )
    embedding_dim: int = option("token embedding size (token sequences)", value="units", default=64)
    pooling: str | None = option(
        "how the steps' outputs become one vector",
        choices=tuple(POOLINGS),
        auto="max after a front end, else mean",
    )
    ensemble: int | None = option(
        "classifiers trained side by side from different initial weights, their "
        "probabilities averaged (1: a single classifier)",
        value="layers",
        auto=f"{MOST_MEMBERS}, or as many as the time budget gives a quarter of the epochs "
        "each (one classifier's steps timed on a few steps first)",
    )
    validation: str | None = option(
        "how the ensemble validates: on a held-out part (split), or each classifier on its "
        "own fold of every class, every sequence scored by the one classifier that did not "
        "train on it (folds: the ensemble learns from all the data)",
        choices=("split", "folds"),
        auto=f"folds for an ensemble on fewer than {FOLDS_BELOW:,} sequences and no --val "
        "file, else split",
    )
    frontend: str | None = option(
        "what turns a long series of vectors into fewer, richer steps for the recurrent "
        "layers: strided convolutions, patches, or none",
        choices=("conv", "patch", "none"),
        auto="convolutions where the training series' median length is over "
        f"{SHORT_SERIES} steps, else none",
    )
    reduction: int | None = option(
        "the front end's input steps per output step (a power of two)",
        value="int",
        auto=f"halve (at least once) until the median length is at most {READ_STEPS}",
    )
    channels: int = option("the front end's output width", value="units", default=64)
    word_scores: bool = option(
        "token sequences: no linear bag-of-words head beside the recurrent layers",
        flag="--no-word-scores",
        default=True,
    )
    word_dropout: float = option(
        "token sequences: the chance a token reads as <unk> while training",
        value="dropout",
        default=0.3,
    )
    augment: str = option(
        "feature vectors: change each training batch at random (noise: scaling and jitter; "
        "crop: a random 90% window; both)",
        choices=AUGMENTATIONS,
        auto="both after a front end, else none",
    )
    scaling: str = option(
        "feature vectors: standardise each feature with the training set's mean and "
        "deviation, or each series (and feature) by its own",
        choices=("feature", "series"),
        default="feature",
    )
    dropout: float = override(EncoderConfig, "dropout", 0.2)
    epochs: int | None = override(
        TrainingConfig,
        "epochs",
        None,
        auto=f"until validation stops improving (patience a fifth of the epochs, at least 10), "
        f"at most about {CLASSIFY_UPDATES:,} updates' worth ({EPOCHS[0]}-{EPOCHS[1]} epochs)",
    )
    batch_size: int = override(TrainingConfig, "batch_size", 16)

    def check(self) -> None:
        if self.data is None:
            raise ValueError("give `data` (a file of labelled sequences).")
        r = self.reduction
        if r is not None and (r & (r - 1) or r > 1024):
            raise ValueError(f"`reduction`: expected a power of two up to 1,024, got {r}")


class ClassifyObjective:
    """Cross-entropy over sequences; accuracy and macro F1 (the mean of the classes' F1)."""

    metrics = ("accuracy", "macro_f1")
    shown = ("accuracy",)  # on the progress line
    lower_is_better = ()
    unit = "sequences"

    def __init__(self, classes: int, augment: str = "none", folds=None) -> None:
        self.classes, self.augment = classes, augment
        # cross-fitting: each sequence's fold, the ensemble member that neither trains on it
        # nor scores it for anyone else (None: every member trains on every sequence)
        self.folds = None if folds is None else torch.as_tensor(folds)

    def logits(self, model, batch) -> torch.Tensor:
        """Log-probabilities ``(N, K)``: the ensemble's, or with folds each sequence's from
        the one member that did not train on it."""
        device = model_device(model)
        inputs, mask = batch.inputs.to(device), batch.mask.to(device)
        if self.folds is None:
            return model(inputs, mask)
        log_p = model.member_logits(inputs, mask).log_softmax(-1)  # (M, N, K)
        held = self.folds[batch.index].to(device)
        return log_p[held, torch.arange(len(held), device=device)]

    def loss(self, model, batch) -> torch.Tensor:
        device = model_device(model)
        inputs, mask = batch.inputs.to(device), batch.mask.to(device)
        if self.augment != "none" and model.training:
            inputs, mask = augmented(inputs, mask, self.augment)
        trains = None
        if self.folds is not None:  # a member learns from every fold but its own
            members = torch.arange(len(model.members), device=device)
            trains = self.folds[batch.index].to(device)[None, :] != members[:, None]  # (M, N)
        return model.loss(inputs, mask, batch.labels.to(device), trains)

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


def augmented(inputs: torch.Tensor, mask: torch.Tensor, how: str):
    """A training batch of vectors ``(N, T, F)`` changed at random, as small series sets are
    augmented: ``noise`` scales each series and feature by a factor drawn around 1 (deviation
    0.1) and adds noise (deviation 0.05, on standardised values); ``crop`` keeps a random
    window of 90% of each series' steps; ``both`` does both."""
    if how in ("noise", "both"):
        n, _, f = inputs.shape
        scale = 1 + 0.1 * torch.randn(n, 1, f, device=inputs.device)
        inputs = (inputs * scale + 0.05 * torch.randn_like(inputs)) * mask[..., None]
    if how in ("crop", "both"):
        lengths = mask.sum(1)
        kept = (0.9 * lengths).ceil().long().clamp_min(1)
        start = (torch.rand(len(lengths), device=inputs.device) * (lengths - kept + 1)).long()
        steps = torch.arange(int(kept.max()), device=inputs.device)
        index = (start[:, None] + steps[None, :]).clamp_max(inputs.shape[1] - 1)  # (N, T')
        mask = steps[None, :] < kept[:, None]
        inputs = inputs.gather(1, index[..., None].expand(-1, -1, inputs.shape[2]))
        inputs = inputs * mask[..., None]
    return inputs, mask


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
    folds: list[int] | None = None  # with validation by folds: each sequence's, in file order

    def everything(self) -> tuple[list, list, list[str]]:
        """Every sequence of the file, its label and its name (``file:line``)."""
        read = self.read
        return read.sequences, read.labels, [f"{read.path}:{n}" for n in read.lines]


def _shape(config: ClassifyConfig, classes: int, vocab_size, features, members: int):
    """The classifier ``config`` describes, for tokens (``vocab_size``) or vectors."""
    tokens = vocab_size is not None
    return SequenceClassifierConfig(
        num_classes=classes,
        vocab_size=vocab_size,
        features=None if tokens else features,
        embedding_dim=config.embedding_dim,
        **config.encoder(),
        pooling=config.pooling,
        members=members,
        # tokens: a bag of words beside the recurrent layers; series: the front end's
        # features pooled beside them, as a fully convolutional network reads them
        bag=tokens or config.frontend != "none",
        frontend=config.frontend,
        reduction=config.reduction,
        channels=config.channels,
        word_scores=tokens and config.word_scores,
        word_dropout=config.word_dropout if tokens else 0.0,
    )


def _members(config: ClassifyConfig, data: ClassifyData, budget: float | None) -> int:
    """The default ensemble: ``MOST_MEMBERS`` classifiers, or as many as ``budget`` seconds
    fit, one classifier's epochs timed on a few steps of a batch shaped like the data's (the
    seeded random state is left as it was)."""
    if budget is None:
        return MOST_MEMBERS
    read, train = data.read, data.split.train[0]
    median = max(1, int(np.median([len(s) for s in train])))
    n = min(config.batch_size, len(train))
    if read.form == "tokens":
        vocab = len({t for s in train for t in s}) + 4
        inputs = torch.randint(4, vocab, (n, median))
    else:
        vocab, inputs = None, torch.randn(n, median, read.features)
    shape = _shape(config, max(2, len(set(data.split.train[1]))), vocab, read.features, 1)
    mask, labels = torch.ones(inputs.shape[:2], dtype=torch.bool), torch.zeros(n, dtype=torch.long)
    with torch.random.fork_rng():
        model = SequenceClassifier(shape)
        optimizer = torch.optim.Adam(model.parameters())
        timings = []
        for _ in range(4):  # the first warms up
            began = time.perf_counter()
            optimizer.zero_grad()
            model.loss(inputs, mask, labels).backward()
            optimizer.step()
            timings.append(time.perf_counter() - began)
    # one member's epoch, with a fifth more for validation and the rest of the run
    epoch = 1.2 * math.ceil(len(train) / config.batch_size) * min(timings[1:])
    # the budget compresses the schedule to what fits; a member earns its place while each
    # still gets a quarter of the planned epochs (early stopping kept epochs 21-30 of 80 on
    # 4,000 sentences, the first 100-135 of 500 on 36 series)
    least = max(10, config.epochs // 4) * epoch
    return max(1, min(MOST_MEMBERS, int(budget // max(least, 1e-9))))


def _series_plan(config: ClassifyConfig, train) -> str:
    """The front end, scaling and augmentation a run of series uses, in words."""
    median = int(np.median([len(s) for s in train]))
    scaling = "each series by itself" if config.scaling == "series" else "per feature"
    if config.frontend == "none":
        front = f"no front end (median {median} steps)"
    else:
        how = "strided convolutions" if config.frontend == "conv" else "patches"
        steps = -(-median // config.reduction)
        front = f"{how} read {median} steps as {steps} (--reduction {config.reduction})"
    return f"{front}; scaled {scaling}; augmentation: {config.augment}"


def _most_common(labels):
    return Counter(labels).most_common(1)[0][0]


class ClassifyKind(Kind):
    name = "classify"
    config = ClassifyConfig
    description = "one label per sequence (TSV, JSONL, .ts)"
    default_epochs, default_patience = EPOCHS[0], 10  # where resolve does not size them

    def read(self, config: ClassifyConfig) -> ClassifyData:
        read = read_labelled(config.data)
        pair = (read.sequences, read.labels)
        if config.val is None:
            names = [f"{read.path}:{n}" for n in read.lines]
            return ClassifyData(
                read,
                Split.held_out(pair, names, config, str(read.path), "sequence", stratified=True),
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
        """The defaults a file decides: epochs sized to about ``CLASSIFY_UPDATES`` updates
        (a set of 30 series trains 500 epochs of 2 updates, 10,000 sentences 80 of 625),
        and for series, the front end, pooling and augmentation their length calls for."""
        train = data.split.train[0]
        budget = config.max_time or (DEFAULT_BUDGET if config.epochs is None else None)
        if config.epochs is None:
            steps = max(1, math.ceil(len(train) / config.batch_size))
            epochs = min(EPOCHS[1], max(EPOCHS[0], round(CLASSIFY_UPDATES / steps)))
            config = config.replace(epochs=epochs, patience=config.patience or max(10, epochs // 5))
        if data.read.form == "tokens":
            if config.frontend not in (None, "none"):
                raise ValueError(
                    f"--frontend {config.frontend}: a front end reads feature vectors; "
                    f"{data.read.path} holds tokens"
                )
            config = config.replace(
                frontend="none", reduction=1, pooling=config.pooling or "mean", augment="none"
            )
            config = config.replace(ensemble=config.ensemble or _members(config, data, budget))
            return self._folds(config, data)
        median = int(np.median([len(s) for s in train]))
        frontend = config.frontend or ("conv" if median > SHORT_SERIES else "none")
        reduction = config.reduction
        if reduction is None:
            reduction = 1 if frontend == "none" else 2
            while frontend != "none" and median / reduction > READ_STEPS and reduction < 1024:
                reduction *= 2
        front = frontend != "none"
        config = config.replace(
            frontend=frontend,
            reduction=reduction,
            pooling=config.pooling or ("max" if front else "mean"),
            augment=config.augment or ("both" if front else "none"),
        )
        config = config.replace(ensemble=config.ensemble or _members(config, data, budget))
        return self._folds(config, data)

    def _folds(self, config: ClassifyConfig, data: ClassifyData) -> ClassifyConfig:
        """The validation: by folds (each sequence's fold dealt to ``data.folds``) or split."""
        small = len(data.read.sequences) < FOLDS_BELOW and config.val is None
        chosen = config.validation or ("folds" if small and config.ensemble > 1 else "split")
        if chosen == "folds":
            if config.val is not None:
                raise ValueError("--validation folds: the folds are made of --data; drop --val")
            if config.ensemble < 2:
                raise ValueError("--validation folds: expected an --ensemble of 2 or more")
            data.folds = folds_of(data.read.labels, config.ensemble, config.seed)
        return config.replace(validation=chosen)

    def data_summary(self, data: ClassifyData, prepared: Prepared, config) -> list[str]:
        read, (train, val, _) = data.read, data.split
        if read.form == "tokens":
            what = f"{len(prepared.state['vocab']):,} distinct tokens"
        else:
            what = f"{read.features} feature{'s' * (read.features != 1)} a step"
        if data.folds is not None:
            train = data.everything()[:2]
            held = (
                f"validation: by folds: each of the {config.ensemble} classifiers holds out "
                f"1/{config.ensemble} of each class; every sequence is scored by the one that "
                "did not train on it"
            )
        else:
            held = validation(config, len(val[0]), "sequences", of="each class")
        lines = [
            f"data: {read.path}: {len(read.sequences):,} sequences, "
            f"{spread([len(s) for s in read.sequences], 'steps')}; {what}",
            f"classes: {counts(train[1])}",
            held,
        ]
        if read.form != "tokens":
            lines.append(f"series: {_series_plan(config, train[0])}")
        members = config.ensemble
        lines.append(
            f"ensemble: {members} classifier{'s' * (members != 1)}"
            + (", their probabilities averaged" if members > 1 else "")
            + ("" if members == MOST_MEMBERS else f" (the time budget fits {members})")
        )
        return lines

    def prepare(self, config: ClassifyConfig, data: ClassifyData) -> Prepared:
        read, (train, val, val_names) = data.read, data.split
        if data.folds is not None:  # every sequence trains, and validates out of its fold
            sequences, labels, val_names = data.everything()
            train = val = (sequences, labels)
        classes = sorted(set(train[1]))
        if len(classes) < 2:
            raise ValueError(f"{read.path}: one class only ({classes[0]!r}); expected two or more")
        # the trivial baseline's answer, for ``evaluate``
        state = {"classes": classes, "form": read.form, "majority": _most_common(train[1])}
        encoder = _Encoder(read.form, classes, config.scaling)
        if read.form == "tokens":
            encoder.vocab = Vocabulary.build(train[0])
            state["vocab"] = encoder.vocab.to_list()
        else:
            scaled = standardise_each(train[0]) if config.scaling == "series" else train[0]
            encoder.scaler = FeatureScaler().fit(scaled)
            state["scaler"] = encoder.scaler.to_dict()
            state["scaling"] = config.scaling
        vocab_size = len(encoder.vocab) if encoder.vocab is not None else None
        shape = _shape(config, len(classes), vocab_size, read.features, config.ensemble)
        longest = max(len(s) for s in [*train[0], *val[0]])
        return Prepared(
            train=encoder.encode(*train),
            val=encoder.encode(*val, names=val_names),
            objective=ClassifyObjective(
                len(classes), config.augment if read.form != "tokens" else "none", data.folds
            ),
            model_config=shape,
            build=SequenceClassifier,
            monitor="val_accuracy",
            state=state,
            activation_bytes=shape.activation_bytes(max(config.batch_size, 256), longest),
            sizes=f"on sequences of up to {longest} steps",
        )

    def baselines(self, finished: Finished) -> Baselines:
        """The majority class and the classical rival, on the run's validation: the held-out
        part, or with folds each fold scored by what the other folds teach."""
        data = finished.data
        if data.folds is None:
            train, val, _ = data.split
            x, y = [*train[0], *val[0]], [*train[1], *val[1]]
            folds = [1] * len(train[0]) + [0] * len(val[0])  # fold 0 validates
            scored = [0]
        else:
            x, y, _ = data.everything()
            folds, scored = data.folds, sorted(set(data.folds))

        def out_of_fold(guess) -> float:
            right = total = 0
            for fold in scored:
                rest = [i for i, f in enumerate(folds) if f != fold]
                held = [i for i, f in enumerate(folds) if f == fold]
                guesses = guess([x[i] for i in rest], [y[i] for i in rest], [x[i] for i in held])
                right += sum(g == y[i] for g, i in zip(guesses, held, strict=True))
                total += len(held)
            return right / max(1, total)

        def most_common(train_x, train_y, val_x):
            return [_most_common(train_y)] * len(val_x)

        if data.read.form == "tokens":
            classical = Baseline("naive Bayes on unigrams", out_of_fold(naive_bayes_labels))
        else:  # the better of 1-NN Euclidean and, where the series are few and short, DTW
            classical = Baseline("1-NN Euclidean", out_of_fold(nearest_neighbour_labels))
            held = [folds.count(fold) for fold in scored]
            if dtw_fits(x, [], pairs=sum(h * (len(x) - h) for h in held)):
                warped = Baseline("1-NN DTW", out_of_fold(nearest_neighbour_dtw_labels))
                classical = max(classical, warped, key=lambda b: b.value)
        return Baselines(
            "val_accuracy",
            False,
            finished.metrics["val_accuracy"],
            Baseline("majority class", out_of_fold(most_common)),
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
        encoder = _Encoder(saved["form"], saved["classes"], saved.get("scaling", "feature"))
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


def standardise_each(sequences) -> list[np.ndarray]:
    """Each series, feature by feature, less its own mean and over its own deviation (a
    feature constant in a series: less its mean only)."""
    out = []
    for x in sequences:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or not len(x):  # left for the scaler to refuse by name
            out.append(x)
            continue
        std = x.std(axis=0)
        out.append((x - x.mean(axis=0)) / np.where(std > 0, std, 1.0))
    return out


class _Encoder:
    """Labelled sequences to ``LabelledData``: tokens to ids, vectors standardised, labels
    to class ids."""

    def __init__(self, form: str, classes: list[str], scaling: str = "feature") -> None:
        self.form, self.classes, self.scaling = form, list(classes), scaling
        self.ids = {c: i for i, c in enumerate(self.classes)}
        self.vocab: Vocabulary | None = None
        self.scaler: FeatureScaler | None = None

    def encode(self, sequences, labels=None, *, names=None) -> LabelledData:
        if self.form == "tokens":
            rows = [self.vocab.encode(s, unknown="map") for s in sequences]
        else:
            if self.scaling == "series":
                sequences = standardise_each(sequences)
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
