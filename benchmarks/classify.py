"""Sequence classification on the UEA/UCR sets that ship inside aeon's wheel: rnnlab's
``train --kind classify`` defaults against 1-nearest-neighbour DTW and aeon's MiniRocket,
on each set's official train/test split, side by side.

    python -m benchmarks.classify                      # JapaneseVowels, BasicMotions, ...
    python -m benchmarks.classify JapaneseVowels
    python -m benchmarks.classify --aeon-python /tmp/aeonvenv/bin/python   # + MiniRocket

The data sets are read from the ``.ts`` files of an installed aeon (found without importing
it; ``--aeon-data DIR`` names the folder otherwise); nothing is fetched or copied. The 1-NN
DTW baseline (multivariate, dependent warping, no window) is computed here with numpy.
MiniRocket runs in the Python given by ``--aeon-python`` (aeon's numba may not import next to
rnnlab's numpy); its row is left out without one. MiniRocket refuses unequal lengths, so
those series are padded at the end with zeros for it, as aeon's documentation suggests.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rnnlab.kinds.baselines import dtw_distances

SETS = ("JapaneseVowels", "BasicMotions", "ItalyPowerDemand", "GunPoint")
TARGETS = {"JapaneseVowels": 0.981}  # the issue's: MiniRocket's accuracy on it, measured there

MINIROCKET = """
import json, sys, numpy as np
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
model = MiniRocketClassifier(random_state=0).fit(Xtr, ytr)
print(json.dumps({"accuracy": float((model.predict(Xte) == yte).mean())}))
"""


def aeon_data() -> Path | None:
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


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


def run_rnnlab(train: Path, test: Path, tmp: Path) -> tuple[float, float]:
    rnnlab = Path(sys.executable).parent / "rnnlab"
    out = tmp / "run"
    start = time.perf_counter()
    done = subprocess.run(
        [
            str(rnnlab),
            "train",
            "--kind",
            "classify",
            "--data",
            str(train),
            "--quiet",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    evaluated = subprocess.run(
        [str(rnnlab), "evaluate", str(out), "--data", str(test), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(evaluated.stdout)["accuracy"], seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", help=f"data sets (default: {', '.join(SETS)})")
    parser.add_argument("--aeon-data", type=Path, help="aeon's datasets/data folder")
    parser.add_argument("--aeon-python", help="a Python with aeon, for the MiniRocket row")
    parser.add_argument("--no-dtw", action="store_true", help="skip 1-NN DTW (slow on long sets)")
    args = parser.parse_args(argv)
    data = args.aeon_data or aeon_data()
    if data is None or not data.is_dir():
        print("aeon's data sets not found: install aeon, or give --aeon-data DIR", file=sys.stderr)
        return 1
    from rnnlab.data.labelled import read_labelled

    rows = []
    for name in args.sets or SETS:
        train, test = data / name / f"{name}_TRAIN.ts", data / name / f"{name}_TEST.ts"
        with tempfile.TemporaryDirectory() as tmp:
            accuracy, seconds = run_rnnlab(train, test, Path(tmp))
        row = {"set": name, "rnnlab": accuracy, "seconds": seconds}
        if not args.no_dtw:
            tr, te = read_labelled(train), read_labelled(test)
            predicted = one_nn_dtw(tr.sequences, tr.labels, te.sequences)
            row["1-NN DTW"] = float(
                np.mean([p == y for p, y in zip(predicted, te.labels, strict=True)])
            )
        if args.aeon_python:
            done = subprocess.run(
                [args.aeon_python, "-c", MINIROCKET, str(train), str(test)],
                capture_output=True,
                text=True,
            )
            row["MiniRocket"] = (
                json.loads(done.stdout.strip().splitlines()[-1])["accuracy"]
                if done.returncode == 0
                else float("nan")
            )
        rows.append(row)
        print(json.dumps(row), flush=True)
    columns = [c for c in ("rnnlab", "1-NN DTW", "MiniRocket") if c in rows[0]]
    print(f"\n{'set':<18}" + "".join(f"{c:>12}" for c in columns) + f"{'train s':>9}{'target':>8}")
    for row in rows:
        target = TARGETS.get(row["set"])
        print(
            f"{row['set']:<18}"
            + "".join(f"{row[c]:>12.2%}" for c in columns)
            + f"{row['seconds']:>9.1f}"
            + (f"{target:>8.1%}" if target else f"{'-':>8}")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
