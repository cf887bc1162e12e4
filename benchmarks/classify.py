"""Sequence classification on real sets, side by side: rnnlab's ``train --kind classify``
defaults against 1-nearest-neighbour (Euclidean and DTW) and aeon's MiniRocket on the UEA/UCR
sets that ship inside aeon's wheel, and against naive Bayes on a token task (the genre of UD
English EWT's sentences), each on its official train/test split.

    python -m benchmarks.classify                       # every set below
    python -m benchmarks.classify ArrowHead genre
    python -m benchmarks.classify --aeon-python /tmp/aeonvenv/bin/python   # + MiniRocket
    python -m benchmarks.classify --one-way             # + rnnlab --unidirectional
    python -m benchmarks.classify ArrowHead --option=--augment=none   # an ablation

For each set: rnnlab's accuracy and macro F1 on the test file, its training time (the whole
``rnnlab train`` command), the accuracy of the first 1, 2, ... members of its ensemble (what
each member adds), the baselines' accuracy and macro F1, and the published figures of the
fully convolutional network (FCN) and the residual network (ResNet) where the review of deep
time-series classification (Ismail Fawaz et al., 2019) reports them (mean of 10 runs).

The series are read from the ``.ts`` files of an installed aeon (found without importing it;
``--aeon-data DIR`` names the folder otherwise); the genre task from EWT's CoNLL-U files
(``--ewt DIR``): a seeded sample of 4,000 training sentences, and every test sentence, each
labelled with its genre (the prefix of its sent_id). Nothing is fetched or copied; the task
files are written into a temporary folder and removed after. 1-NN Euclidean resamples series
to the median training length and scales each feature by its training spread (the baseline
every rnnlab run computes); 1-NN DTW is dependent, unwindowed, on the raw series (with numpy,
or beyond 2 billion cells with aeon's compiled DTW in ``--aeon-python``, which agrees with it
on UnitTest). MiniRocket
runs in the Python given by ``--aeon-python`` (aeon's numba may not import next to rnnlab's
numpy); its row is left out without one. It refuses unequal lengths, so those series are
padded at the end with zeros for it, as aeon's documentation suggests.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rnnlab.kinds.baselines import (
    dtw_distances,
    naive_bayes_labels,
    nearest_neighbour_labels,
)

ROOT = Path(__file__).resolve().parents[1]
EWT = ROOT.parent / "shared" / "data" / "ud_english_ewt"
SERIES = (
    "JapaneseVowels",
    "ArrowHead",
    "PickupGestureWiimoteZ",
    "BasicMotions",
    "UnitTest",
    "ACSF1",
)
SETS = (*SERIES, "genre")
# accuracy the classifier should reach (besides 1-NN DTW, and naive Bayes on tokens)
TARGETS = {"JapaneseVowels": 0.981, "ArrowHead": 0.80, "PickupGestureWiimoteZ": 0.74}
# Ismail Fawaz et al. (2019), "Deep learning for time series classification: a review",
# mean accuracy of 10 runs: (FCN, ResNet)
PUBLISHED = {
    "ArrowHead": (0.843, 0.845),
    "PickupGestureWiimoteZ": (0.744, 0.704),
    "JapaneseVowels": (0.993, 0.992),
}

MINIROCKET = """
import json, sys, time, numpy as np
from aeon.datasets import load_from_ts_file
from aeon.classification.convolution_based import MiniRocketClassifier
train, test = sys.argv[1], sys.argv[2]
def padded(path):
    X, y = load_from_ts_file(path)
    if isinstance(X, list):
        n = max(x.shape[1] for x in X)
        X = np.stack([np.pad(x, ((0, 0), (0, n - x.shape[1]))) for x in X])
    return X, y
Xtr, ytr = padded(train)
Xte, yte = padded(test)
n = max(Xtr.shape[2], Xte.shape[2])
Xtr = np.pad(Xtr, ((0, 0), (0, 0), (0, n - Xtr.shape[2])))
Xte = np.pad(Xte, ((0, 0), (0, 0), (0, n - Xte.shape[2])))
start = time.perf_counter()
model = MiniRocketClassifier(random_state=0).fit(Xtr, ytr)
seconds = time.perf_counter() - start
labels = [str(p) for p in model.predict(Xte)]
print(json.dumps({"labels": labels, "truth": [str(t) for t in yte], "seconds": seconds}))
"""


AEON_DTW = """
import json, sys, numpy as np
from aeon.datasets import load_from_ts_file
from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier
Xtr, ytr = load_from_ts_file(sys.argv[1])
Xte, yte = load_from_ts_file(sys.argv[2])
model = KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw").fit(Xtr, ytr)
print(json.dumps({"labels": [str(p) for p in model.predict(Xte)], "truth": [str(t) for t in yte]}))
"""
NUMPY_DTW_CELLS = 2_000_000_000  # beyond: aeon's compiled DTW, where --aeon-python is given


def in_aeon(python: str, script: str, train: Path, test: Path) -> dict | None:
    """``script``'s JSON line, run on the two files in the Python that has aeon (None if
    it failed)."""
    done = subprocess.run(
        [python, "-c", script, str(train), str(test)], capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None


def aeon_data() -> Path | None:
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def scores(predicted, truth) -> dict[str, float]:
    """Accuracy and macro F1 (the mean over the test's classes of each class's F1)."""
    predicted, truth = [str(p) for p in predicted], [str(t) for t in truth]
    f1s = []
    for c in sorted(set(truth)):
        right = sum(p == c == t for p, t in zip(predicted, truth, strict=True))
        guessed, real = predicted.count(c), truth.count(c)
        f1s.append(2 * right / (guessed + real))
    accuracy = float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)]))
    return {"accuracy": accuracy, "macro_f1": float(np.mean(f1s))}


def one_nn_dtw(train, train_labels, test) -> list[str]:
    """The label of each test series' nearest training series under DTW."""
    groups: dict[int, list[int]] = {}
    for k, t in enumerate(train):
        groups.setdefault(len(t), []).append(k)
    stacked = {n: (np.stack([train[k] for k in ks]), ks) for n, ks in groups.items()}
    out = []
    for x in test:
        best, label = np.inf, None
        for group, ks in stacked.values():
            d = dtw_distances(group, np.asarray(x)[None])[0]
            if d.min() < best:
                best, label = float(d.min()), train_labels[ks[int(d.argmin())]]
        out.append(label)
    return out


def run_rnnlab(train: Path, test: Path, tmp: Path, options: list[str]) -> dict:
    """``rnnlab train`` with its defaults (and ``options``), then ``evaluate`` on ``test``;
    the accuracy of the ensemble's first 1, 2, ... members."""
    rnnlab = Path(sys.executable).parent / "rnnlab"
    out = tmp / "run"
    command = [str(rnnlab), "train", "--kind", "classify", "--data", str(train), "--quiet"]
    start = time.perf_counter()
    done = subprocess.run([*command, *options, "--out", str(out)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    evaluated = subprocess.run(
        [str(rnnlab), "evaluate", str(out), "--data", str(test), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    measures = json.loads(evaluated.stdout)
    config = json.loads((out / "config.json").read_text())["train"]
    return {
        "accuracy": measures["accuracy"],
        "macro_f1": measures["macro_f1"],
        "seconds": seconds,
        "members": members_accuracy(out, test),
        "chose": {k: config.get(k) for k in ("frontend", "reduction", "epochs", "ensemble")},
    }


def members_accuracy(run_dir: Path, test: Path) -> list[float]:
    """Test accuracy of the mean probabilities of the first k members, k = 1, 2, ..."""
    import torch

    import rnnlab
    from rnnlab.data.labelled import read_labelled

    run = rnnlab.load(run_dir)
    read = read_labelled(test)
    data = run.encoder.encode(read.sequences, read.labels)
    model = run.model.eval()
    with torch.no_grad():
        p = torch.cat(
            [model.member_logits(b.inputs, b.mask).softmax(-1) for b in data.batches(256)],
            dim=1,
        )  # (M, N, K)
    truth = torch.tensor(data.labels)
    mean = p.cumsum(0) / torch.arange(1, len(p) + 1)[:, None, None]
    return [float((m.argmax(-1) == truth).float().mean()) for m in mean]


def genre_files(ewt: Path, folder: Path) -> tuple[Path, Path] | None:
    """The genre task: EWT sentences of three words or more labelled with their genre."""
    files = [ewt / f"en_ewt-ud-{part}.conllu" for part in ("train", "test")]
    if not all(f.is_file() for f in files):
        return None
    out = []
    for path, sample in zip(files, (4000, None), strict=True):
        lines, words, label = [], [], None
        for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
            if line.startswith("# sent_id"):
                label = line.split("=", 1)[1].strip().split("-", 1)[0]
            elif line and not line.startswith("#"):
                cols = line.split("\t")
                if cols[0].isdigit():
                    words.append(cols[1].replace(" ", "_"))
            elif not line and words:
                if len(words) >= 3 and label:
                    lines.append(" ".join(words) + "\t" + label)
                words, label = [], None
        if sample is not None:
            random.Random(0).shuffle(lines)
            lines = lines[:sample]
        target = folder / f"genre_{path.stem.rsplit('-', 1)[1]}.tsv"
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        out.append(target)
    return out[0], out[1]


def tokens_of(path: Path):
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    return [r[0].split() for r in rows], [r[1] for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", help=f"data sets (default: {', '.join(SETS)})")
    parser.add_argument("--aeon-data", type=Path, help="aeon's datasets/data folder")
    parser.add_argument("--aeon-python", help="a Python with aeon, for the MiniRocket row")
    parser.add_argument("--ewt", type=Path, default=EWT, help="UD English EWT's folder")
    parser.add_argument("--no-dtw", action="store_true", help="skip 1-NN DTW (slow on long sets)")
    parser.add_argument("--one-way", action="store_true", help="also train rnnlab --unidirectional")
    parser.add_argument(
        "--option", action="append", default=[], help="an option for rnnlab train (repeatable)"
    )
    parser.add_argument("--json", type=Path, help="write the rows here as JSON too")
    args = parser.parse_args(argv)
    data = args.aeon_data or aeon_data()
    names = args.sets or list(SETS)
    if any(n in SERIES for n in names) and (data is None or not data.is_dir()):
        print("aeon's data sets not found: install aeon, or give --aeon-data DIR", file=sys.stderr)
        return 1
    from rnnlab.data.labelled import read_labelled

    print(
        f"plan: {len(names)} sets ({', '.join(names)}); rnnlab train --kind classify with its "
        f"defaults{' ' + ' '.join(args.option) if args.option else ''}"
        f"{', and --unidirectional' if args.one_way else ''}; up to 10 min a set",
        flush=True,
    )
    rows = []
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            if name == "genre":
                files = genre_files(args.ewt, tmp)
                if files is None:
                    print(f"genre: skipped, EWT not found in {args.ewt}", flush=True)
                    continue
                train, test = files
            else:
                train, test = data / name / f"{name}_TRAIN.ts", data / name / f"{name}_TEST.ts"
            row = {"set": name, "rnnlab": run_rnnlab(train, test, tmp / "a", args.option)}
            if args.one_way:
                options = [*args.option, "--unidirectional"]
                row["rnnlab one-way"] = run_rnnlab(train, test, tmp / "b", options)
            if name == "genre":
                (x, y), (tx, ty) = tokens_of(train), tokens_of(test)
                row["naive Bayes"] = scores(naive_bayes_labels(x, y, tx), ty)
            else:
                tr, te = read_labelled(train), read_labelled(test)
                euclid = nearest_neighbour_labels(tr.sequences, tr.labels, te.sequences)
                row["1-NN Euclidean"] = scores(euclid, te.labels)
                length = max(len(x) for x in tr.sequences)
                cells = len(tr.sequences) * len(te.sequences) * length * length
                if args.no_dtw:
                    pass
                elif cells <= NUMPY_DTW_CELLS:
                    start = time.perf_counter()
                    warped = one_nn_dtw(tr.sequences, tr.labels, te.sequences)
                    row["1-NN DTW"] = {
                        **scores(warped, te.labels),
                        "seconds": time.perf_counter() - start,
                    }
                elif args.aeon_python:  # the same distance, compiled: minutes, not hours
                    start = time.perf_counter()
                    out = in_aeon(args.aeon_python, AEON_DTW, train, test)
                    if out is not None:
                        row["1-NN DTW"] = {
                            **scores(out["labels"], out["truth"]),
                            "seconds": time.perf_counter() - start,
                        }
                else:
                    print(f"{name}: 1-NN DTW skipped ({cells:,} cells; give --aeon-python)")
                out = args.aeon_python and in_aeon(args.aeon_python, MINIROCKET, train, test)
                if out:
                    row["MiniRocket"] = {  # against aeon's reading (it lower-cases)
                        **scores(out["labels"], out["truth"]),
                        "seconds": out["seconds"],
                    }
        if name in PUBLISHED:
            row["FCN"], row["ResNet"] = ({"accuracy": a} for a in PUBLISHED[name])
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    print_table(rows)
    return 0


def print_table(rows: list[dict]) -> None:
    methods = []
    for row in rows:
        methods += [k for k in row if k != "set" and k not in methods]
    print("\naccuracy (macro F1); seconds of training for rnnlab and MiniRocket")
    print(f"{'set':<22}" + "".join(f"{m:>20}" for m in methods) + f"{'target':>8}")
    for row in rows:
        cells = []
        for m in methods:
            r = row.get(m)
            if r is None:
                cells.append(f"{'-':>20}")
                continue
            text = f"{r['accuracy']:.1%}"
            if "macro_f1" in r:
                text += f" ({r['macro_f1']:.1%})"
            if m.startswith("rnnlab") or m == "MiniRocket":
                text += f" {r['seconds']:.0f}s"
            cells.append(f"{text:>20}")
        target = TARGETS.get(row["set"])
        print(f"{row['set']:<22}" + "".join(cells) + (f"{target:>8.1%}" if target else f"{'-':>8}"))
    print("\nensemble: test accuracy of the first 1, 2, ... members")
    for row in rows:
        members = row["rnnlab"]["members"]
        print(f"{row['set']:<22}" + " ".join(f"{a:.1%}" for a in members))


if __name__ == "__main__":
    sys.exit(main())
