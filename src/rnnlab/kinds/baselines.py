"""The baselines every run is measured beside: a trivial one (what knowing nothing of the
inputs gives) and a classical one (what an expert would try before a recurrent network).

Each kind's ``Kind.baselines`` fits them on the training data and scores them on the
validation data with the kind's headline measure; ``compare`` puts them beside the model's
own figure, as ``metrics.json`` records it (``"baselines"``), and says in one plain line
when the model does not beat the trivial one. The methods are small and written here (a
few lines of counting each), so no kind pays for a dependency to have them.
"""

from __future__ import annotations

import bz2
import lzma
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class Baseline:
    """One baseline's figure on the headline measure."""

    name: str  # "majority class"
    value: float


@dataclass
class Baselines:
    """A run's figure beside its trivial and classical baselines (None: none needed)."""

    measure: str  # the headline measure's key in metrics.json ("val_accuracy")
    lower_is_better: bool
    model: float
    trivial: Baseline
    classical: Baseline | None = None

    def beats(self, baseline: Baseline | None) -> bool | None:
        """Whether the model's figure is better than ``baseline``'s (None: no baseline)."""
        if baseline is None or not math.isfinite(baseline.value):
            return None
        if self.lower_is_better:
            return self.model < baseline.value
        return self.model > baseline.value

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "beats_trivial": self.beats(self.trivial),
            "beats_classical": self.beats(self.classical),
        }

    def lines(self) -> list[str]:
        """The comparison, and a plain line when the model did not beat the trivial one."""
        show = _percent if "bits" not in self.measure and "mase" not in self.measure else _number
        name = self.measure.removeprefix("val_").replace("_", " ")
        parts = [f"trivial ({self.trivial.name}) {show(self.trivial.value)}"]
        if self.classical is not None:
            parts.append(f"classical ({self.classical.name}) {show(self.classical.value)}")
        lines = [f"baselines: {name} {show(self.model)} beside {', '.join(parts)}"]
        if self.beats(self.trivial) is False:
            lines.append(
                f"This model did not beat the trivial baseline ({self.trivial.name}): "
                f"{show(self.model)} against {show(self.trivial.value)}."
            )
        return lines


def _percent(value: float) -> str:
    return f"{value:.2%}"


def _number(value: float) -> str:
    return f"{value:.4g}"


def trivial_beside(measures: dict, measure: str, lower: bool, trivial: Baseline) -> dict:
    """``measures`` (an ``evaluate``'s) with ``"baselines"``: its ``measure`` beside the
    trivial baseline on the same data (the classical ones need the training data, which a
    run folder does not keep)."""
    compared = Baselines(f"val_{measure}", lower, measures[measure], trivial)
    return {**measures, "baselines": compared.to_dict()}


def from_dict(saved: dict) -> Baselines:
    """``Baselines`` from ``metrics.json``'s ``"baselines"``."""
    classical = saved.get("classical")
    return Baselines(
        saved["measure"],
        saved["lower_is_better"],
        saved["model"],
        Baseline(**saved["trivial"]),
        Baseline(**classical) if classical else None,
    )


# -- labels of sequences (classify) ------------------------------------------------------------


def majority(train_labels: Sequence, val_labels: Sequence) -> float:
    """Accuracy of always answering the most frequent training label."""
    top = Counter(train_labels).most_common(1)[0][0]
    return sum(label == top for label in val_labels) / max(1, len(val_labels))


def accuracy(predicted: Sequence, truth: Sequence) -> float:
    """The share of ``predicted`` labels equal to ``truth``'s."""
    return float(np.mean(np.asarray(predicted) == np.asarray(truth))) if len(truth) else 0.0


def naive_bayes(train: Sequence[Sequence[str]], labels: Sequence, val: Sequence, truth) -> float:
    """Accuracy of a multinomial naive Bayes on unigrams (add-one smoothing): the classical
    text classifier."""
    return accuracy(naive_bayes_labels(train, labels, val), truth)


def naive_bayes_labels(train: Sequence[Sequence[str]], labels: Sequence, val: Sequence) -> list:
    """The label a multinomial naive Bayes on unigrams gives each of ``val``."""
    classes = sorted(set(labels))
    vocab = {t: i for i, t in enumerate(sorted({t for s in train for t in s}))}
    counts = np.ones((len(classes), len(vocab) + 1))  # the last column: unseen tokens
    index = {c: i for i, c in enumerate(classes)}
    for tokens, label in zip(train, labels, strict=True):
        row = counts[index[label]]
        for token in tokens:
            row[vocab[token]] += 1
    log_word = np.log(counts / counts.sum(axis=1, keepdims=True))
    log_prior = np.log(np.array([Counter(labels)[c] for c in classes]) / len(labels))
    out = []
    for tokens in val:
        ids = [vocab.get(t, len(vocab)) for t in tokens]
        out.append(classes[int(np.argmax(log_prior + log_word[:, ids].sum(axis=1)))])
    return out


def resampled(series: Sequence[np.ndarray], length: int) -> np.ndarray:
    """Each (T_i, F) series linearly resampled to ``length`` steps, flattened: rows that a
    Euclidean distance compares step by step, whatever the series' lengths."""
    rows = []
    for s in series:
        s = np.asarray(s, dtype=np.float64).reshape(len(s), -1)
        old = np.linspace(0.0, 1.0, len(s)) if len(s) > 1 else np.zeros(1)
        new = np.linspace(0.0, 1.0, length)
        rows.append(np.stack([np.interp(new, old, s[:, f]) for f in range(s.shape[1])], 1))
    return np.stack(rows).reshape(len(rows), -1)


def nearest_neighbour(train: Sequence, labels: Sequence, val: Sequence, truth) -> float:
    """Accuracy of 1-NN with the Euclidean distance (series resampled to the median
    length): the classical baseline of time-series classification."""
    return accuracy(nearest_neighbour_labels(train, labels, val), truth)


def nearest_neighbour_labels(train: Sequence, labels: Sequence, val: Sequence) -> list:
    """The label of each of ``val``'s nearest training series (``nearest_neighbour``)."""
    length = int(np.median([len(s) for s in train]))
    a, b = resampled(train, length), resampled(val, length)
    # the per-feature scale of the training data, so that no feature dominates the distance
    scale = a.std(axis=0) + 1e-8
    a, b = a / scale, b / scale
    norms = (a * a).sum(axis=1)
    picks = []
    for start in range(0, len(b), 256):
        chunk = b[start : start + 256]
        distances = norms[None, :] - 2 * chunk @ a.T  # + |b|^2, the same for every row
        picks.extend(np.argmin(distances, axis=1))
    return np.asarray(labels)[picks].tolist()


DTW_CELLS = 30_000_000  # pairs x length^2 that 1-NN DTW may fill (a few seconds of numpy)


def dtw_fits(train: Sequence, val: Sequence, pairs: int | None = None) -> bool:
    """Whether 1-NN DTW on these series (or on ``pairs`` pairs of series as long as
    ``train``'s) is small enough to compute beside a run."""
    length = int(np.median([len(s) for s in train]))
    pairs = len(train) * len(val) if pairs is None else pairs
    return pairs * length * length <= DTW_CELLS


def nearest_neighbour_dtw(train: Sequence, labels: Sequence, val: Sequence, truth) -> float:
    """Accuracy of 1-NN with dynamic time warping (dependent: the squared Euclidean
    distance of whole steps; no window; series resampled to the median length and each
    feature scaled by its training spread), the usual first rival of a sequence model on
    short series."""
    return accuracy(nearest_neighbour_dtw_labels(train, labels, val), truth)


def nearest_neighbour_dtw_labels(train: Sequence, labels: Sequence, val: Sequence) -> list:
    """The label of each of ``val``'s nearest training series under DTW
    (``nearest_neighbour_dtw``)."""
    length = int(np.median([len(s) for s in train]))
    features = np.asarray(train[0]).reshape(len(train[0]), -1).shape[1]
    a = resampled(train, length).reshape(len(train), length, features)
    b = resampled(val, length).reshape(len(val), length, features)
    scale = a.reshape(-1, features).std(axis=0) + 1e-8
    a, b = a / scale, b / scale
    rows = max(1, 4_000_000 // (len(a) * length * length))  # validation series at a time
    picks = []
    for start in range(0, len(b), rows):
        picks.extend(np.argmin(dtw_distances(a, b[start : start + rows]), axis=1))
    return np.asarray(labels)[picks].tolist()


def dtw_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dependent DTW distances (squared Euclidean step cost, no window) ``(M, N)`` from each
    of ``b`` ``(M, Lb, F)`` to each of ``a`` ``(N, La, F)``, filled one anti-diagonal at a time
    (its cells depend only on the two before it)."""
    la, lb = a.shape[1], b.shape[1]
    cost = ((b[:, None, :, None, :] - a[None, :, None, :, :]) ** 2).sum(-1)  # (M, N, Lb, La)
    total = np.full((len(b), len(a), lb + 1, la + 1), np.inf)
    total[:, :, 0, 0] = 0.0
    for diagonal in range(2, la + lb + 1):  # the cells i + j = diagonal, from 1
        i = np.arange(max(1, diagonal - la), min(lb, diagonal - 1) + 1)
        j = diagonal - i
        before = np.minimum(total[:, :, i - 1, j], total[:, :, i, j - 1])
        total[:, :, i, j] = cost[:, :, i - 1, j - 1] + np.minimum(before, total[:, :, i - 1, j - 1])
    return total[:, :, lb, la]


# -- tags of tokens (tag) ----------------------------------------------------------------------


def tag_guesses(train_tokens, train_tags, val_tokens) -> tuple[list, list]:
    """The tags of the validation sentences by the trivial baseline (the most frequent tag)
    and by the classical one: each word's most frequent tag in training, an unseen word
    given the most frequent tag of its longest known suffix of up to 3 letters (a lexicon
    with a suffix back-off)."""
    overall = Counter(t for tags in train_tags for t in tags)
    top = overall.most_common(1)[0][0]
    by_word: dict[str, Counter] = {}
    by_suffix: dict[str, Counter] = {}
    for words, tags in zip(train_tokens, train_tags, strict=True):
        for word, tag in zip(words, tags, strict=True):
            by_word.setdefault(word, Counter())[tag] += 1
            for k in (1, 2, 3):
                if len(word) > k:
                    by_suffix.setdefault(word[-k:].lower(), Counter())[tag] += 1
    lexicon = {w: c.most_common(1)[0][0] for w, c in by_word.items()}
    suffixes = {s: c.most_common(1)[0][0] for s, c in by_suffix.items()}

    def guess(word: str) -> str:
        if word in lexicon:
            return lexicon[word]
        for k in (3, 2, 1):
            found = suffixes.get(word[-k:].lower()) if len(word) > k else None
            if found is not None:
                return found
        return top

    trivial = [[top] * len(words) for words in val_tokens]
    return trivial, [[guess(w) for w in words] for words in val_tokens]


def token_accuracy(predicted, truth) -> float:
    """The fraction of tokens tagged right."""
    pairs = [
        (p, t) for ps, ts in zip(predicted, truth, strict=True) for p, t in zip(ps, ts, strict=True)
    ]
    return sum(p == t for p, t in pairs) / max(1, len(pairs))


def tag_baselines(train_tokens, train_tags, val_tokens, val_tags) -> tuple[float, float]:
    """Token accuracy of ``tag_guesses``'s trivial and classical baselines."""
    trivial, classical = tag_guesses(train_tokens, train_tags, val_tokens)
    return token_accuracy(trivial, val_tags), token_accuracy(classical, val_tags)


# -- pairs (seq2seq) ---------------------------------------------------------------------------


def seq2seq_trivial(train_targets, val_sources, val_targets) -> Baseline:
    """The better exact match of copying the source and of answering the most frequent
    training target."""
    n = max(1, len(val_targets))
    copy = sum(list(s) == list(t) for s, t in zip(val_sources, val_targets, strict=True)) / n
    top = Counter(tuple(t) for t in train_targets).most_common(1)[0][0]
    frequent = sum(tuple(t) == top for t in val_targets) / n
    if copy >= frequent:
        return Baseline("copy the source", copy)
    return Baseline("the most frequent target", frequent)


# -- text (lm) ---------------------------------------------------------------------------------


def unigram_bits(train: Sequence[str], val: Sequence[str]) -> float:
    """Bits per token of a unigram model of the training tokens (add-one smoothing, one
    extra entry for unseen tokens)."""
    counts = Counter(train)
    total = len(train) + len(counts) + 1
    bits = 0.0
    for token, n in Counter(val).items():
        bits -= n * math.log2((counts.get(token, 0) + 1) / total)
    return bits / max(1, len(val))


def compressor_bits(train_text: str, val_text: str, tokens: int) -> Baseline:
    """Bits per token that the better of bzip2 and xz spend on the validation text, given
    the training text (the compressed size of both less that of the training text alone)."""
    best = None
    for name, compress in (("bzip2", bz2.compress), ("xz", lzma.compress)):
        head = len(compress(train_text.encode("utf-8")))
        both = len(compress((train_text + val_text).encode("utf-8")))
        bits = 8 * max(0, both - head) / max(1, tokens)
        if best is None or bits < best.value:
            best = Baseline(f"{name} given the training text", bits)
    return best
