"""``rnnlab train``: one token encoder-decoder on a built-in task or a pair file."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from rnnlab.cli.options import (
    as_options,
    fraction,
    non_negative_int,
    one_of,
    positive_float,
    positive_int,
)
from rnnlab.cli.runs import default_out

DESCRIPTION = """\
Train an encoder-decoder (bidirectional LSTM encoder, Bahdanau attention, LSTM decoder by
default) on a built-in task (--task) or on a pair file (--data: 'source<TAB>target' lines,
or JSONL). Each built-in task has defaults that solve it. Writes a run folder (--out) with
config.json, model.safetensors, history.csv, metrics.json and learning_curves.png; an
interrupted run continues with --resume."""


def _tasks():
    from rnnlab.data.tasks import TASKS

    return TASKS


def add_parser(commands) -> None:
    p = commands.add_parser(
        "train", help="train one model into a run folder", description=DESCRIPTION
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--task",
        type=one_of(_tasks, "task"),
        help="a built-in task: reverse, copy, sort, add, dates",
    )
    source.add_argument("--data", type=Path, help="a pair file (TSV, or .jsonl)")
    source.add_argument(
        "--resume", type=Path, metavar="RUN_DIR", help="continue an interrupted run"
    )
    p.add_argument(
        "--val", type=Path, help="a validation pair file (default: hold out --val-fraction)"
    )
    p.add_argument(
        "--tokens",
        choices=("space", "chars"),
        default="space",
        help="token splitting of pair files (default: space)",
    )
    p.add_argument("--samples", type=positive_int, help="pairs generated for a built-in task")
    p.add_argument(
        "--max-len",
        type=positive_int,
        help="the task's length (reverse: longest sequence; add: digits)",
    )
    p.add_argument(
        "--val-fraction", type=fraction, default=0.2, help="held-out fraction (default: 0.2)"
    )
    p.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm")
    p.add_argument(
        "--attention", choices=("bahdanau", "dot", "general", "none"), default="bahdanau"
    )
    p.add_argument(
        "--unidirectional", action="store_true", help="a one-way encoder (default: bidirectional)"
    )
    p.add_argument(
        "--layers", type=positive_int, default=1, help="stacked recurrent layers (default: 1)"
    )
    p.add_argument("--units", type=positive_int, help="recurrent units (task default)")
    p.add_argument("--embedding-dim", type=positive_int, help="embedding size (task default)")
    p.add_argument("--dropout", type=_dropout, default=0.0, help="dropout in [0, 1) (default: 0)")
    p.add_argument("--epochs", type=positive_int, help="most epochs (task default)")
    p.add_argument("--batch-size", type=positive_int, help="examples per step (task default)")
    p.add_argument(
        "--learning-rate", type=positive_float, help="peak Adam step size (task default)"
    )
    p.add_argument(
        "--clip-norm", type=positive_float, default=1.0, help="gradient norm clip (default: 1.0)"
    )
    p.add_argument(
        "--schedule",
        choices=("cosine", "constant"),
        default="cosine",
        help="learning-rate schedule",
    )
    p.add_argument(
        "--patience", type=positive_int, help="early-stopping patience on validation exact match"
    )
    p.add_argument(
        "--beam-width",
        type=positive_int,
        default=1,
        help="beam width for validation (default: 1, greedy)",
    )
    p.add_argument(
        "--unknown",
        choices=("error", "map"),
        default="error",
        help="a validation token unseen in training: an error (default) or <unk>",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed (default: 0)")
    p.add_argument("--out", type=Path, help="run folder (default: a new folder under runs/)")
    p.add_argument("--quiet", action="store_true", help="print only the final figures")
    p.set_defaults(run=run, parser=p)


def _dropout(text: str) -> float:
    value = float(text) if re.fullmatch(r"[0-9.eE+-]+", text) else -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _config(args):
    from rnnlab.experiments.train import TrainConfig

    return TrainConfig(
        task=args.task,
        data=None if args.data is None else str(args.data),
        val=None if args.val is None else str(args.val),
        tokens=args.tokens,
        samples=args.samples,
        max_len=args.max_len,
        val_fraction=args.val_fraction,
        seed=args.seed,
        embedding_dim=args.embedding_dim,
        units=args.units,
        layers=args.layers,
        cell=args.cell,
        bidirectional=not args.unidirectional,
        attention=None if args.attention == "none" else args.attention,
        dropout=args.dropout,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        clip_norm=args.clip_norm,
        schedule=args.schedule,
        patience=args.patience,
        beam_width=args.beam_width,
        unknown=args.unknown,
    )


def run(args: argparse.Namespace) -> int:
    from rnnlab.cli.progress import ProgressBar
    from rnnlab.experiments.train import TrainConfig, train

    if args.task is None and args.data is None and args.resume is None:
        args.parser.error("give --task NAME, --data FILE or --resume RUN_DIR")
    try:
        if args.resume is not None:
            config, out = TrainConfig(task="reverse"), args.resume
        else:
            config, out = _config(args), args.out or default_out("train")
        progress = ProgressBar("train", shown=("loss", "val_loss", "val_exact_match"))
        callbacks = () if args.quiet else (progress,)
        try:
            result = train(config, out, callbacks=callbacks, resume=args.resume is not None)
        except KeyboardInterrupt:
            hint = f"continue with: rnnlab train --resume {out}"
            sys.stderr.write(f"\nrnnlab train: interrupted; {hint}\n")
            return 130
    except ValueError as exc:
        raise ValueError(as_options(str(exc))) from exc
    m = result.metrics
    print(
        f"held-out exact match {m['val_exact_match']:.2%}, token accuracy "
        f"{m['val_token_accuracy']:.2%}, token error rate {m['val_token_error_rate']:.2%} "
        f"on {m['val_size']} pairs; {m['epochs']} epochs (best {m['best_epoch']}), "
        f"{m['train_seconds']:.1f} s of training"
    )
    print(f"Run written to {out}/")
    return 0
