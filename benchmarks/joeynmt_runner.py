"""Train and decode JoeyNMT's recurrent encoder-decoder on our pair files, under a wall-clock
budget, so that it can be compared with rnnlab on the same task (e.g. grapheme-to-phoneme).

    from benchmarks.joeynmt_runner import run_joeynmt
    result = run_joeynmt("/tmp/joeyvenv/bin/python", train, dev, test, Path("/tmp/joey"),
                         budget_s=1800, units=256, embedding=64, layers=1, batch_size=64)
    result["predictions"]    # one token list per test line, in order

    python -m benchmarks.joeynmt_runner TRAIN DEV TEST [--python P] [--budget 40] [--units 64]

JoeyNMT lives in its own virtual environment (``python``: its interpreter), e.g.::

    python3.11 -m venv /tmp/joeyvenv
    /tmp/joeyvenv/bin/pip install torch==2.13.0           # the CPU build
    echo torch==2.13.0 > /tmp/joey-constraints.txt
    /tmp/joeyvenv/bin/pip install -c /tmp/joey-constraints.txt joeynmt==2.3.0 importlib_metadata

(joeynmt 2.3.0 imports ``importlib_metadata`` without declaring it.)

Pair files hold ``source<TAB>target`` lines with space-separated tokens on both sides; they
become JoeyNMT's plain parallel files (``train.src``/``train.trg`` ...) at word level, so
each of our tokens is one JoeyNMT token. The model follows JoeyNMT's documented recurrent
set-up (``configs/rnn_small.yaml`` and ``configs/rnn_reverse.yaml`` in its repository): a
bidirectional LSTM encoder (``hidden_size`` units per direction, as its FAQ counts them), an
LSTM decoder with Bahdanau (MLP) attention, input feeding and a learned bridge from the
encoder, Adam with gradient-norm clipping and a plateau scheduler, dropout 0.2.

JoeyNMT has no wall-time limit: it is started with a practically endless number of epochs
and sent SIGINT (its documented way to stop, Control+C) when ``budget_s`` runs out; it then
saves its current weights and exits (SIGKILL after a grace period). Checkpoints are selected
by JoeyNMT on validation token accuracy (``acc``; its sequence accuracy is logged but is not
an early-stopping choice), every ``validation_freq`` updates, so the test set is decoded
(beam search) with the best checkpoint validated before the budget ran out.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

GRACE_S = 60.0  # how long JoeyNMT may take to save and exit after SIGINT

# ``python -c LAUNCH MODE CONFIG ...`` runs ``python -m joeynmt MODE CONFIG ...``, with one
# shim: JoeyNMT 2.3.0 passes ``verbose=`` to torch's ReduceLROnPlateau, which current torch
# (2.13) no longer accepts, so its plateau scheduler would fail to build.
LAUNCH = """
import runpy, sys
import torch.optim.lr_scheduler as schedulers

class ReduceLROnPlateau(schedulers.ReduceLROnPlateau):
    def __init__(self, *args, verbose=False, **kwargs):
        super().__init__(*args, **kwargs)

schedulers.ReduceLROnPlateau = ReduceLROnPlateau
sys.argv[0] = "joeynmt"
runpy.run_module("joeynmt", run_name="__main__", alter_sys=True)
"""


def read_pairs(path: Path) -> list[tuple[list[str], list[str]]]:
    """Each non-empty line's source and target tokens."""
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        source, _, target = line.partition("\t")
        pairs.append((source.split(), target.split()))
    return pairs


def write_parallel(pairs: list, stem: Path, with_target: bool = True) -> None:
    """``stem.src`` (and ``stem.trg``): one space-joined sequence a line."""
    stem.with_suffix(".src").write_text("".join(" ".join(s) + "\n" for s, _ in pairs), "utf-8")
    if with_target:
        stem.with_suffix(".trg").write_text("".join(" ".join(t) + "\n" for _, t in pairs), "utf-8")


def to_yaml(value: dict, indent: int = 0) -> str:
    """A nested dict as block YAML: scalars and lists in JSON form (valid YAML), but small
    floats written out (PyYAML reads ``1e-05`` as a string)."""

    def scalar(item: object) -> str:
        if isinstance(item, float) and "e" in repr(item):
            return f"{item:.10f}".rstrip("0")
        return json.dumps(item)

    lines = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines += [f"{'    ' * indent}{key}:", to_yaml(item, indent + 1)]
        else:
            lines.append(f"{'    ' * indent}{key}: {scalar(item)}")
    return "\n".join(lines)


def make_config(
    folder: Path,
    *,
    units: int,
    embedding: int,
    layers: int,
    batch_size: int,
    seed: int,
    validation_freq: int,
    max_length: int,
    max_output: int,
    dropout: float,
    attention: str,
    beam_size: int,
    learning_rate: float,
    checkpoint: Path | None = None,
) -> str:
    """The YAML text of a JoeyNMT 2.3 configuration: for training, or, given ``checkpoint``,
    for decoding the test set with beam search."""
    data = folder / "data"
    if checkpoint is None:
        files = {"train": str(data / "train"), "dev": str(data / "dev")}
    else:
        files = {"test": str(data / "test")}
    side = {"level": "word", "lowercase": False, "max_length": max_length, "min_length": 1,
            "voc_min_freq": 1}  # fmt: skip
    rnn = {"rnn_type": "lstm", "hidden_size": units, "num_layers": layers, "dropout": dropout,
           "embeddings": {"embedding_dim": embedding, "scale": False}}  # fmt: skip
    testing = {
        "beam_size": beam_size if checkpoint else 1,
        "beam_alpha": 1.0,
        "n_best": 1,
        "batch_size": batch_size,
        "batch_type": "sentence",
        "max_output_length": max_output,
        "eval_metrics": ["sequence_accuracy"],
    }
    if checkpoint is not None:
        testing["load_model"] = str(checkpoint)
    config = {
        "name": "joeynmt_runner",
        "joeynmt_version": "2.3.0",
        "model_dir": str(folder / "model"),
        "random_seed": seed,
        "use_cuda": False,
        "fp16": False,
        "data": {
            "dataset_type": "plain",
            **files,
            "src": {"lang": "src", **side},
            "trg": {"lang": "trg", **side},
        },
        "training": {
            "optimizer": "adam",
            "learning_rate": learning_rate,
            "learning_rate_min": 1e-5,
            "clip_grad_norm": 1.0,
            "weight_decay": 0.0,
            "scheduling": "plateau",
            "patience": 5,
            "decrease_factor": 0.5,
            "batch_size": batch_size,
            "batch_type": "sentence",
            "normalization": "batch",
            "epochs": 100000,  # the budget stops training
            "validation_freq": validation_freq,
            "logging_freq": 10 if validation_freq <= 200 else 50,
            "early_stopping_metric": "acc",
            "keep_best_ckpts": 2,
            "shuffle": True,
            "overwrite": True,
            "print_valid_sents": [],  # no example lines, no attention plots
        },
        "testing": testing,
        "model": {
            "initializer": "xavier_uniform",
            "bias_initializer": "zeros",
            "embed_initializer": "normal",
            "embed_init_weight": 0.1,
            "lstm_forget_gate": 1.0,
            "tied_embeddings": False,
            "encoder": {"type": "recurrent", "bidirectional": True, **rnn},
            "decoder": {
                "type": "recurrent",
                **rnn,
                "hidden_dropout": dropout,
                "input_feeding": True,
                "init_hidden": "bridge",
                "attention": attention,
            },
        },
    }
    return to_yaml(config) + "\n"


def _run(command: list[str], env: dict, log: Path, budget_s: float | None) -> tuple[float, bool]:
    """Runs ``command``, echoing its output (also to ``log``); past ``budget_s`` seconds it
    is sent SIGINT, and SIGKILL ``GRACE_S`` later. Returns its wall-clock seconds and
    whether it was stopped, and fails if it exited with an error on its own."""
    start, stopped = time.monotonic(), False
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )

        def echo() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(line)
                print("[joeynmt]", line, end="", flush=True)

        reader = threading.Thread(target=echo, daemon=True)
        reader.start()
        try:
            proc.wait(timeout=budget_s)
        except subprocess.TimeoutExpired:
            stopped = True
            print(f"[joeynmt runner] budget of {budget_s:.0f} s spent: SIGINT", flush=True)
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=GRACE_S)
            except subprocess.TimeoutExpired:
                print("[joeynmt runner] no exit after SIGINT: SIGKILL", flush=True)
                proc.kill()
                proc.wait()
        finally:
            if proc.poll() is None:  # interrupted ourselves: leave no orphan
                proc.kill()
                proc.wait()
        seconds = time.monotonic() - start
        reader.join(timeout=10)
    if proc.returncode != 0 and not stopped:
        raise RuntimeError(f"joeynmt {command[3]} failed ({proc.returncode}); see {log}")
    return seconds, stopped


def run_joeynmt(
    python: str,
    train: Path,
    dev: Path,
    test: Path,
    folder: Path,
    *,
    budget_s: float,
    units: int,
    embedding: int,
    layers: int,
    batch_size: int,
    seed: int = 0,
    validation_freq: int | None = None,
    beam_size: int = 5,
    dropout: float = 0.2,
    attention: str = "bahdanau",
    learning_rate: float = 0.001,
    threads: int | None = None,
) -> dict:
    """Trains JoeyNMT on ``train`` (validating on ``dev``) for at most ``budget_s`` seconds of
    wall-clock time, then decodes ``test``'s sources with beam search from the best checkpoint.

    ``folder`` receives the data (``data/``), the configurations (``train.yaml``,
    ``test.yaml``), the model directory (``model/``, with JoeyNMT's ``train.log``) and the
    raw hypotheses (``hyp.test``); an earlier run's model there is removed first.
    ``validation_freq`` defaults to an epoch's updates, at most 500. ``threads`` sets
    OMP_NUM_THREADS for JoeyNMT's processes (default: torch's own choice). If no validation
    happened within the budget, the weights saved at the interrupt are decoded instead.

    Returns ``predictions`` (a token list per non-empty test line, in order), ``train_seconds``
    (the training process's wall clock: start-up and the save after SIGINT included, so a
    few seconds over ``budget_s`` when stopped), ``parameters`` (JoeyNMT's logged
    "Total params"), ``config`` (the training YAML), ``checkpoint`` (the one decoded) and
    ``stopped_by_budget``.
    """
    folder = Path(folder)
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    train_pairs, dev_pairs, test_pairs = (read_pairs(Path(p)) for p in (train, dev, test))
    write_parallel(train_pairs, data / "train")
    write_parallel(dev_pairs, data / "dev")
    write_parallel(test_pairs, data / "test", with_target=False)  # sources only

    longest = max(len(s) for pairs in (train_pairs, dev_pairs, test_pairs) for s, _ in pairs)
    longest_target = max(len(t) for _, t in train_pairs + dev_pairs)
    if validation_freq is None:
        validation_freq = min(500, math.ceil(len(train_pairs) / batch_size))
    step = 10 if validation_freq <= 200 else 50  # logging_freq must divide it
    validation_freq = max(step, validation_freq // step * step)
    sizes = dict(
        units=units,
        embedding=embedding,
        layers=layers,
        batch_size=batch_size,
        seed=seed,
        validation_freq=validation_freq,
        max_length=max(longest, longest_target) + 1,
        max_output=longest_target + 5,
        dropout=dropout,
        attention=attention,
        beam_size=beam_size,
        learning_rate=learning_rate,
    )
    config = make_config(folder, **sizes)
    (folder / "train.yaml").write_text(config, encoding="utf-8")

    model = folder / "model"
    shutil.rmtree(model, ignore_errors=True)  # no stale checkpoint from an earlier run
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    command = [python, "-c", LAUNCH, "train", str(folder / "train.yaml"), "--skip-test"]
    train_seconds, stopped = _run(command, env, folder / "train.out", budget_s)

    best, latest = model / "best.ckpt", model / "latest.ckpt"
    checkpoint = best if best.is_file() else latest
    if not checkpoint.is_file():
        raise RuntimeError(f"JoeyNMT saved no checkpoint in {model} (see {folder}/train.out)")
    log = (folder / "train.out").read_text(encoding="utf-8", errors="replace")
    found = re.search(r"Total params: (\d+)", log)

    test_config = make_config(folder, **sizes, checkpoint=checkpoint.resolve())
    (folder / "test.yaml").write_text(test_config, encoding="utf-8")
    command = [python, "-c", LAUNCH, "test", str(folder / "test.yaml"), "-o", str(folder / "hyp")]
    _run(command, env, folder / "test.out", None)
    hypotheses = (folder / "hyp.test").read_text(encoding="utf-8").splitlines()
    if len(hypotheses) != len(test_pairs):
        raise RuntimeError(f"{len(hypotheses)} hypotheses for {len(test_pairs)} test lines")
    return {
        "predictions": [h.split() for h in hypotheses],
        "train_seconds": train_seconds,
        "parameters": int(found.group(1)) if found else None,
        "config": config,
        "checkpoint": str(checkpoint.resolve()),
        "stopped_by_budget": stopped,
    }


def main(argv: list[str] | None = None) -> int:
    """A quick smoke test: a tiny budget and model on three pair files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("dev", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("--python", default="/tmp/joeyvenv/bin/python")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/joeynmt_smoke"))
    parser.add_argument("--budget", type=float, default=40.0)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--embedding", type=int, default=32)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--validation-freq", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = run_joeynmt(
        args.python,
        args.train,
        args.dev,
        args.test,
        args.folder,
        budget_s=args.budget,
        units=args.units,
        embedding=args.embedding,
        layers=args.layers,
        batch_size=args.batch_size,
        seed=args.seed,
        validation_freq=args.validation_freq,
        threads=args.threads,
    )
    references = [t for _, t in read_pairs(args.test)]
    right = sum(p == r for p, r in zip(result["predictions"], references, strict=True))
    print(
        f"{len(result['predictions'])} predictions for {len(references)} test lines; "
        f"{right} exactly right; {result['parameters']} parameters; "
        f"{result['train_seconds']:.1f} s training; checkpoint {result['checkpoint']}"
    )
    pairs = read_pairs(args.test)
    for (source, target), prediction in zip(pairs[:5], result["predictions"], strict=False):
        print(" ".join(source), "|", " ".join(target), "|", " ".join(prediction))
    return 0


if __name__ == "__main__":
    sys.exit(main())
