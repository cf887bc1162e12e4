"""Throughput against the number of processes: one ``rnnlab train`` with N threads beside
``torchrun --nproc_per_node N`` of one thread each (DDP over gloo), same model, same data,
same global batch, side by side in one command.

    python -m benchmarks.scale --data ../shared/data/tinyshakespeare/input.txt
    python -m benchmarks.scale --data FILE --chars 300000 --epochs 2 --processes 2
    python -m benchmarks.scale --data FILE --device cuda --processes 4   # GPUs, NCCL

The model is the ``lm`` kind's default (a 2-layer LSTM of 256 units over characters, 16
streams of 64 steps a batch) on the first ``--chars`` characters of the text (copied to a
temporary folder, never into the repository); ``--units`` and ``--batch-size`` change it,
``--kind tag --data EWT_TRAIN.conllu`` measures the tagger instead, ``--kind seq2seq --task
dates`` an encoder-decoder with attention. Each configuration runs
in its own process(es) (``--worker``), and reports the tokens (words, for the tagger) a
second of each epoch's training steps, excluding validation, summed over the processes;
the first epoch is dropped when there are several (start-up). The scaling efficiency is
``throughput(N processes) / throughput(1 process)``, where both use the same N cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def worker(args: argparse.Namespace) -> None:
    """One configuration, in this process (or this rank of a launch): ``rnnlab train``'s
    own parsing and placement, with a callback that keeps each epoch's timing."""
    import torch

    from rnnlab.cli import build_parser
    from rnnlab.cli.config_options import config_from_args
    from rnnlab.cli.options import given_options
    from rnnlab.cli.train import _choose_kind, placement_from_args
    from rnnlab.kinds import KINDS
    from rnnlab.kinds.runs import train
    from rnnlab.training import Callback, distributed

    torch.set_num_threads(args.threads)
    epochs: list[dict] = []

    class Timing(Callback):
        trainer = None  # set by ``train``: its ``timing`` after each epoch

        def on_epoch_end(self, epoch, logs):
            epochs.append(dict(self.trainer.timing))

    argv = ["train", *args.train_args, "--out", args.out]
    parsed = build_parser().parse_args(argv)
    parsed.argv = argv
    kind = _choose_kind(parsed)
    config = config_from_args(KINDS[kind].config, kind, parsed, given_options(parsed))
    placement = placement_from_args(parsed)
    try:
        train(config, Path(args.out), callbacks=[Timing()], placement=placement)
    finally:
        distributed.stop()
    if placement.group is None or placement.group.main:
        Path(args.result).write_text(json.dumps(epochs))


def _launch(args, processes: int, threads: int, folder: Path, train_args: list[str]) -> dict:
    runs = len(list(folder.glob("run-*")))
    result = folder / f"result-{runs}-{processes}x{threads}.json"
    out = folder / f"run-{runs}-{processes}x{threads}"
    inner = ["-m", "benchmarks.scale", "--worker", "--threads", str(threads)]
    inner += ["--result", str(result), "--out", str(out), "--", *train_args]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    if processes == 1:
        command = [sys.executable, *inner]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command += ["--nproc_per_node", str(processes), *inner]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    epochs = json.loads(result.read_text())
    timed = epochs[1:] if len(epochs) > 1 else epochs
    seconds = sum(e["epoch_seconds"] for e in timed) / len(timed)
    throughput = sum(e["throughput"] for e in timed) / len(timed)
    return {"processes": processes, "threads": threads, "seconds": seconds, "rate": throughput}


def run(args: argparse.Namespace) -> list[dict]:
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = Path(args.data) if args.data else None
        if args.kind == "lm" and not args.task:
            text = data.read_text(encoding="utf-8")[: args.chars]
            data = folder / "text.txt"
            data.write_text(text, encoding="utf-8")
        source = ["--task", args.task] if args.task else ["--data", str(data)]
        train_args = ["--kind", args.kind, *source, "--epochs", str(args.epochs)]
        train_args += ["--device", args.device, "--quiet"]
        train_args += ["--batch-size", str(args.batch_size)] if args.batch_size else []
        train_args += ["--units", str(args.units)] if args.units else []
        train_args += args.train_args
        n = args.processes
        # on a CPU the same cores, as threads or as processes; else one GPU, or N GPUs
        configs = [(1, n), (n, 1)] if args.device == "cpu" else [(1, 1), (n, 1)]
        configs = list(dict.fromkeys(configs))  # --processes 1: one run
        # in ABBA order, each configuration's best kept: a shared machine's load drifts
        abba = configs + configs[::-1]
        order = (abba * args.repeats)[: len(configs) * args.repeats]
        runs = [_launch(args, p, t, folder, train_args) for p, t in order]
        rows = [
            max((r for r in runs if (r["processes"], r["threads"]) == c), key=lambda r: r["rate"])
            for c in configs
        ]
    base = rows[0]["rate"]
    where = args.device
    if args.device != "cpu":
        where += f" ({torch.cuda.get_device_name()})"
    print(f"rnnlab train --kind {args.kind} on {where}; {args.epochs} epoch(s), later ones timed")
    print(f"{'processes x threads':>20} {'s/epoch':>9} {'units/s':>10} {'vs first':>9}")
    for row in rows:
        ratio = row["rate"] / base
        name = f"{row['processes']} x {row['threads']}"
        print(f"{name:>20} {row['seconds']:9.2f} {row['rate']:10.0f} {ratio:8.2f}x")
    if args.cpu_rate:
        print(
            f"first row / --cpu-rate {args.cpu_rate:g} (measured elsewhere): "
            f"{base / args.cpu_rate:.1f}x"
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="tinyshakespeare's input.txt, or a .conllu for --kind tag")
    parser.add_argument("--kind", choices=("lm", "tag", "seq2seq", "classify"), default="lm")
    parser.add_argument("--task", help="a built-in task instead of --data (e.g. dates)")
    parser.add_argument("--chars", type=int, default=200_000, help="characters of the text")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs of each configuration, the best kept"
    )
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--units", type=int, default=None)
    parser.add_argument(
        "--cpu-rate", type=float, help="units/s of a CPU run elsewhere, to print the speed-up"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("train_args", nargs="*", help="more options for rnnlab train (after --)")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    if args.data is None and args.task is None:
        parser.error("--data or --task is required")
    run(args)


if __name__ == "__main__":
    main()
