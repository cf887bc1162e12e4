"""Pair-file defaults on JoeyNMT's documented toy task: reverse a sequence of random numbers.

    python -m benchmarks.seq2seq                         # rnnlab train --data defaults
    python -m benchmarks.seq2seq --tuned                 # also the issue's hand-sized model
    python -m benchmarks.seq2seq -- --units 64           # options after -- go to rnnlab train
    python -m benchmarks.seq2seq --step-time [--g2p DIR]  # one training step, before and after

The data are JoeyNMT's reverse task as its tutorial describes it, generated here with our own
seeded generator: 50,000 training pairs, 1,000 dev and 1,000 test, tokens 0-49, lengths 1-25
drawn uniformly, the target the source reversed. rnnlab trains on train with dev for
validation (``rnnlab train --data train.tsv --val dev.tsv``) and is scored on test
(``rnnlab evaluate --data test.tsv``). Rows: the parameters, test exact match and token
accuracy, the training time, and the spread of validation exact match over the last epochs
(how stable training is). JoeyNMT itself, measured on this machine with its tutorial's
configuration: 90.4% test exact match after 442 s (a reported figure; not rerun here).

``--step-time`` times one training step (forward, backward, Adam) of the encoder-decoder at a
fixed size, two ways side by side: as training ran before (input feeding, so teacher forcing
went step by step through the decoder cells, and batches drawn at random) and as it runs now
(the decoder's layers over the whole target in torch's fused kernel, attention from every
step at once, batches bucketed by length). On the reversal task at its former default size,
and with ``--g2p DIR`` (the pair files ``benchmarks.g2p --write-only DIR`` writes) on G2P.
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
JOEYNMT = ("JoeyNMT (a reported run)", 0.904, 442.0)
# the sizes the pair-file defaults chose: for reversal before they grew with the data, for G2P now
REVERSAL_SIZE = dict(units=64, embedding_dim=16, batch_size=64, dropout=0.1)
G2P_SIZE = dict(units=256, embedding_dim=16, batch_size=64, dropout=0.1)


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


def read_pairs(path: Path) -> tuple[list, list]:
    pairs = [line.split("\t") for line in path.read_text().splitlines() if line]
    return [s.split() for s, _ in pairs], [t.split() for _, t in pairs]


def step_ms(sources, targets, *, before: bool, steps: int = 40, **size) -> float:
    """The mean time of ``steps`` training steps (after 5 to warm up), in milliseconds."""
    import time

    import torch
    import torch.nn.functional as F

    from rnnlab.data import Vocabulary
    from rnnlab.data.token_dataset import TokenPairs
    from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqModelConfig

    batch_size = size.pop("batch_size")
    source_vocab, target_vocab = Vocabulary.build(sources), Vocabulary.build(targets)
    data = TokenPairs.encode(sources, targets, source_vocab, target_vocab)
    torch.manual_seed(0)
    shape = Seq2SeqModelConfig(len(source_vocab), len(target_vocab), input_feeding=before, **size)
    model = Seq2Seq(shape)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    generator = torch.Generator().manual_seed(0)
    if before:  # drawn at random, as TokenPairs.batches did
        data = data.subset(torch.randperm(len(data), generator=generator))
    batches = data.batches(batch_size, shuffle=not before, generator=generator)
    times = []
    for i, batch in enumerate(batches):
        if i == steps + 5:
            break
        began = time.perf_counter()
        logits = model(batch.sources, batch.decoder_inputs())
        loss = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten(), ignore_index=0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i >= 5:
            times.append(time.perf_counter() - began)
    return 1000 * sum(times) / len(times)


def step_times(g2p: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_reverse_task(Path(tmp))
        tasks = [("reversal, 50,000 pairs", read_pairs(paths["train"]), REVERSAL_SIZE)]
    if g2p is not None:
        tasks.append(("G2P, CMU dictionary", read_pairs(g2p / "train.tsv"), G2P_SIZE))
    print(f"{'task':<26}{'size':<36}{'before ms':>10}{'now ms':>8}{'speed-up':>9}")
    for name, (sources, targets), size in tasks:
        before = step_ms(sources, targets, before=True, **size)
        now = step_ms(sources, targets, before=False, **size)
        shown = (
            f"units {size['units']}, embedding {size['embedding_dim']}, batch {size['batch_size']}"
        )
        print(f"{name:<26}{shown:<36}{before:>10.1f}{now:>8.1f}{before / now:>8.2f}x", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tuned", action="store_true", help="also the hand-sized model")
    parser.add_argument("--step-time", action="store_true", help="time training steps only")
    parser.add_argument("--g2p", type=Path, help="with --step-time: G2P pair files' folder")
    parser.add_argument("extra", nargs="*", help="options for rnnlab train (after --)")
    args = parser.parse_args(argv)
    if args.step_time:
        step_times(args.g2p)
        return 0
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
