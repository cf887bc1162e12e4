"""Pair-file defaults on JoeyNMT's documented toy task: reverse a sequence of random numbers.

    python -m benchmarks.seq2seq                         # rnnlab train --data defaults
    python -m benchmarks.seq2seq --tuned                 # also the issue's hand-sized model
    python -m benchmarks.seq2seq -- --units 64           # options after -- go to rnnlab train

The data are JoeyNMT's reverse task as its tutorial describes it, generated here with our own
seeded generator: 50,000 training pairs, 1,000 dev and 1,000 test, tokens 0-49, lengths 1-25
drawn uniformly, the target the source reversed. rnnlab trains on train with dev for
validation (``rnnlab train --data train.tsv --val dev.tsv``) and is scored on test
(``rnnlab evaluate --data test.tsv``). Rows: the parameters, test exact match and token
accuracy, the training time, and the spread of validation exact match over the last epochs
(how stable training is). JoeyNMT itself, measured on this machine with its tutorial's
configuration: 90.4% test exact match after 442 s (the issue's figure; not rerun here).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

TUNED = ["--units", "64", "--embedding-dim", "16", "--attention", "general", "--dropout", "0.1"]
JOEYNMT = ("JoeyNMT (the issue's run)", 0.904, 442.0)


def write_reverse_task(folder: Path, *, seed: int = 42) -> dict[str, Path]:
    """The three pair files of the reverse task (``source<TAB>target`` lines)."""
    rng = random.Random(seed)
    paths = {}
    for split, n in (("train", 50_000), ("dev", 1_000), ("test", 1_000)):
        lines = []
        for _ in range(n):
            tokens = [str(rng.randrange(50)) for _ in range(rng.randint(1, 25))]
            lines.append(" ".join(tokens) + "\t" + " ".join(reversed(tokens)) + "\n")
        paths[split] = folder / f"{split}.tsv"
        paths[split].write_text("".join(lines))
    return paths


def rnnlab_run(paths: dict[str, Path], extra: list[str], out: Path) -> dict:
    rnnlab = Path(sys.executable).parent / "rnnlab"
    command = [str(rnnlab), "train", "--data", str(paths["train"]), "--val", str(paths["dev"])]
    command += [*extra, "--out", str(out)]
    print("$ " + " ".join(command[1:]), flush=True)
    if subprocess.run(command).returncode != 0:
        raise SystemExit("rnnlab train failed")
    from rnnlab import load

    metrics = json.loads((out / "metrics.json").read_text())
    model = load(out).model
    evaluated = subprocess.run(
        [str(rnnlab), "evaluate", str(out), "--data", str(paths["test"]), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    history = [line.split(",") for line in (out / "history.csv").read_text().splitlines()]
    column = history[0].index("val_exact_match")
    last = [float(row[column]) for row in history[1:]][-5:]
    return {
        **json.loads(evaluated.stdout),
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": metrics["train_seconds"],
        "epochs": metrics["epochs"],
        "swing": max(last) - min(last),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tuned", action="store_true", help="also the hand-sized model")
    parser.add_argument("extra", nargs="*", help="options for rnnlab train (after --)")
    args = parser.parse_args(argv)
    runs = [("rnnlab train --data defaults", [])]
    if args.tuned:
        runs.append(("rnnlab, " + " ".join(TUNED), TUNED))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_reverse_task(Path(tmp))
        for i, (label, options) in enumerate(runs):
            m = rnnlab_run(paths, [*options, *args.extra, "--quiet"], Path(tmp) / f"run{i}")
            rows.append((label, m))
    print(f"\n{'model':<40}{'params':>9}{'test EM':>9}{'tokens':>8}{'train s':>9}{'swing':>7}")
    for label, m in rows:
        print(
            f"{label[:39]:<40}{m['parameters']:>9,}{m['exact_match']:>9.1%}{m['token_accuracy']:>8.1%}"
            f"{m['train_seconds']:>9.0f}{m['swing']:>7.1%}"
        )
    name, match, seconds = JOEYNMT
    print(f"{name:<40}{'':>9}{match:>9.1%}{'':>8}{seconds:>9.0f}")
    print("swing: the range of validation exact match over the last five epochs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
