"""``rnnlab train``: one token encoder-decoder on a built-in task or a pair file."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from rnnlab.cli.options import (
    UsageError,
    batch_int,
    beam_int,
    fraction,
    given_options,
    layers_int,
    learning_rate_float,
    length_int,
    one_of,
    positive_float,
    positive_int,
    samples_int,
    seed_int,
    units_int,
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
    p.add_argument("--samples", type=samples_int, help="pairs generated for a built-in task")
    p.add_argument(
        "--max-len",
        type=length_int,
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
        "--layers", type=layers_int, default=1, help="stacked recurrent layers (default: 1)"
    )
    p.add_argument("--units", type=units_int, help="recurrent units (task default)")
    p.add_argument("--embedding-dim", type=units_int, help="embedding size (task default)")
    p.add_argument("--dropout", type=_dropout, default=0.0, help="dropout in [0, 1) (default: 0)")
    p.add_argument("--epochs", type=positive_int, help="most epochs (task default)")
    p.add_argument("--batch-size", type=batch_int, help="examples per step (task default)")
    p.add_argument(
        "--learning-rate", type=learning_rate_float, help="peak Adam step size (task default)"
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
        type=beam_int,
        default=1,
        help="beam width for validation (default: 1, greedy)",
    )
    p.add_argument(
        "--unknown",
        choices=("error", "map"),
        default="error",
        help="a validation token unseen in training: an error (default) or <unk>",
    )
    p.add_argument("--seed", type=seed_int, default=0, help="seed (default: 0)")
    p.add_argument(
        "--out", type=Path, help="run folder: new or empty (default: a new folder under runs/)"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run that an earlier `rnnlab train` left in --out",
    )
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
    from rnnlab.experiments.train import RESUME, train

    if args.task is None and args.data is None and args.resume is None:
        args.parser.error("give --task NAME, --data FILE or --resume RUN_DIR")
    if args.resume is not None:
        changes = _resume_changes(args)
        config, out = None, args.resume
    else:
        changes, config, out = None, _config(args), args.out or default_out("train")
    progress = ProgressBar("train", shown=("loss", "val_loss", "val_exact_match"))
    callbacks = () if args.quiet else (progress,)
    try:
        result = train(
            config,
            out,
            callbacks=callbacks,
            resume=args.resume is not None,
            overwrite=args.overwrite,
            changes=changes,
        )
    except KeyboardInterrupt:
        if (out / RESUME).is_file():
            hint = f"continue with: rnnlab train --resume {out}"
        else:
            hint = "nothing was written"
        sys.stderr.write(f"\nrnnlab train: interrupted; {hint}\n")
        return 130
    m = result.metrics
    print(
        f"held-out exact match {m['val_exact_match']:.2%}, token accuracy "
        f"{m['val_token_accuracy']:.2%}, token error rate {m['val_token_error_rate']:.2%} "
        f"on {m['val_size']} pairs; {m['epochs']} epochs (best {m['best_epoch']}), "
        f"{m['train_seconds']:.1f} s of training"
    )
    print(f"Run written to {out}/")
    return 0


RESUME_OPTIONS = {"resume", "quiet"}  # besides the config fields a resumed run may change


def _resume_changes(args: argparse.Namespace) -> dict:
    """The config changes ``--resume`` was given with; an option that would change what the
    run is (its data, model or seed) is refused, not dropped."""
    from rnnlab.experiments.train import CHANGEABLE_ON_RESUME

    given = given_options(args)
    allowed = RESUME_OPTIONS | set(CHANGEABLE_ON_RESUME)
    refused = sorted(given - allowed)
    if refused:
        names = ", ".join("--" + dest.replace("_", "-") for dest in refused)
        may = ", ".join("--" + name for name in sorted(CHANGEABLE_ON_RESUME))
        raise UsageError(
            f"--resume continues a run as it was started, so {names} cannot be given with it "
            f"(only {may} and --quiet can)"
        )
    return {name: getattr(args, name) for name in CHANGEABLE_ON_RESUME if name in given}
