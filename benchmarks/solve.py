"""Do rnnlab's defaults solve the tasks? Held-out exact match and training time per task.

Runs ``rnnlab train`` with each task's defaults (and ``--data`` defaults on a pair file of a
task no built-in knows: add 1 to each digit mod 10, then reverse; lengths 1-8; 20,000 pairs)
and prints, per run, the held-out exact match and the training seconds next to the targets.

    python -m benchmarks.solve            # every task (about 15 minutes on 2 cores)
    python -m benchmarks.solve reverse    # some of them
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

# name: (command-line arguments, exact-match target, training-seconds target)
RUNS = {
    "reverse": (["--task", "reverse"], 0.99, 30),
    "add": (["--task", "add"], 0.99, 600),
    "dates": (["--task", "dates"], 0.99, 600),
    "pair file": (["--data", "{pairs}"], 0.98, None),
}


def write_shift_reverse_pairs(path: Path, n: int = 20_000, seed: int = 0) -> None:
    """``3 9 0`` -> ``1 0 4``: each digit plus one, mod 10, then the whole reversed."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        digits = rng.integers(0, 10, size=int(rng.integers(1, 9))).tolist()
        target = [(d + 1) % 10 for d in reversed(digits)]
        lines.append(" ".join(map(str, digits)) + "\t" + " ".join(map(str, target)))
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", help=f"some of {', '.join(RUNS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [r for r in args.runs if r not in RUNS]
    if unknown:
        parser.error(f"unknown run {unknown[0]!r}; expected some of {', '.join(RUNS)}")
    rnnlab = Path(sys.executable).parent / "rnnlab"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pairs = Path(tmp) / "shift_reverse.tsv"
        write_shift_reverse_pairs(pairs)
        for name in args.runs or list(RUNS):
            extra, target, seconds_target = RUNS[name]
            out = Path(tmp) / name.replace(" ", "_")
            command = [str(rnnlab), "train", *[a.format(pairs=pairs) for a in extra], "--quiet"]
            proc = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{name}: failed\n{proc.stderr}", file=sys.stderr)
                return 1
            m = json.loads((out / "metrics.json").read_text())
            rows.append((name, m, target, seconds_target))
            print(f"{name}: {m['val_exact_match']:.2%} in {m['train_seconds']:.0f} s", flush=True)
    print(
        f"\n{'run':<10} {'held-out exact':>14} {'target':>7} {'train s':>8} {'target':>7} "
        f"{'val pairs':>9} {'epochs':>6}"
    )
    for name, m, target, seconds in rows:
        print(
            f"{name:<10} {m['val_exact_match']:>14.2%} {target:>7.0%} {m['train_seconds']:>8.1f} "
            f"{'' if seconds is None else f'<{seconds}':>7} {m['val_size']:>9} {m['epochs']:>6}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
