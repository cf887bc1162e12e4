"""``rnnlab predict RUN_DIR``: one predicted target a line for one source a line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlab.cli.options import add_device_options, add_ignored_seed, beam_int, warn_ignored_seed


def add_parser(commands) -> None:
    p = commands.add_parser(
        "predict",
        help="predict targets for sources with a trained run",
        description="Read source sequences, one a line, from --input FILE or standard input, "
        "and write the predicted targets, one a line, in the same order, to standard output. "
        "Lines end at \\n, \\r\\n or \\r only. Forecast runs read a CSV of series (--input) "
        "and write CSV series,step,forecast,lower,upper,time for the steps after each series' "
        "end (time: as the file's time column writes it).",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished `rnnlab train` run")
    p.add_argument(
        "--input", type=Path, help="sources, one a line (default, or '-': standard input)"
    )
    p.add_argument(
        "--beam-width",
        type=beam_int,
        help="seq2seq and transcribe runs: beam width (1: greedy; default: the run's)",
    )
    p.add_argument(
        "--unknown",
        choices=("error", "map"),
        help="seq2seq runs: a token the vocabulary lacks is an error (default) or <unk>",
    )
    p.add_argument(
        "--plot-attention",
        type=Path,
        metavar="OUT.png",
        help="seq2seq runs: also draw the attention weights of the first source (a new file)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="let --plot-attention replace an existing file"
    )
    p.add_argument(
        "--proba",
        action="store_true",
        help="classify runs: each class's probability after the label",
    )
    add_device_options(p)
    add_ignored_seed(p, "decoding is deterministic")
    p.set_defaults(run=run, parser=p)


# option -> (its ``Run.predict_file`` argument, the value when given)
RUN_OPTIONS = {
    "beam_width": ("beam_width", lambda args: args.beam_width),
    "unknown": ("unknown", lambda args: args.unknown),
    "plot_attention": ("attention", lambda args: True),
    "proba": ("proba", lambda args: True),
}


def run_options(args: argparse.Namespace, accepted: tuple[str, ...], kind: str) -> dict:
    """The given options that the run's kind takes, as ``predict_file`` arguments; one it
    does not take is an error naming it."""
    options = {}
    for dest, (name, value) in RUN_OPTIONS.items():
        if getattr(args, dest, None) in (None, False):
            continue
        if name not in accepted:
            option = "--" + dest.replace("_", "-")
            raise ValueError(f"{option}: not an option of {kind} runs (see rnnlab predict --help)")
        options[name] = value(args)
    return options


def run(args: argparse.Namespace) -> int:
    warn_ignored_seed(args)
    from rnnlab.data import atomic_write_bytes
    from rnnlab.data.files import check_output_file
    from rnnlab.kinds.runs import load
    from rnnlab.training.devices import resolve_device

    if args.plot_attention is not None:
        check_output_file(args.plot_attention, overwrite=args.overwrite, what="--plot-attention")
    trained = load(args.run_dir, device=resolve_device(args.device))
    options = run_options(args, trained.predict_options, trained.kind.name)
    predictions = trained.predict_file(args.input, **options)
    for warning in predictions.warnings:
        sys.stderr.write(f"rnnlab predict: warning: {warning}\n")
    if "attention" in predictions.pictures:
        check_output_file(args.plot_attention, overwrite=args.overwrite, what="--plot-attention")
        atomic_write_bytes(args.plot_attention, predictions.pictures["attention"])
    sys.stdout.write(predictions.text)
    return 0
