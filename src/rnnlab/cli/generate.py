"""``rnnlab generate RUN_DIR``: text sampled from a trained language model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlab.cli.options import (
    add_device_options,
    samples_int,
    seed_int,
    temperature_float,
    units_int,
)


def add_parser(commands) -> None:
    p = commands.add_parser(
        "generate",
        help="sample text from a trained language model",
        description="Write --length tokens sampled from a language model (--kind lm) after "
        "--prompt to standard output, as they are drawn. The same seed gives the same text.",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished `rnnlab train` run")
    p.add_argument("--prompt", default="", help="text to continue (default: a new line)")
    p.add_argument(
        "--length", type=samples_int, default=500, help="tokens to sample (default: 500)"
    )
    p.add_argument(
        "--temperature",
        type=temperature_float,
        default=1.0,
        help="divides the logits: below 1 safer, above 1 wilder, 0 greedy (default: 1)",
    )
    p.add_argument(
        "--top-k", type=units_int, help="sample among the K likeliest tokens only (default: all)"
    )
    p.add_argument(
        "--unknown",
        choices=("error", "map"),
        default="error",
        help="prompt tokens the vocabulary lacks: an error (default) or <unk>",
    )
    p.add_argument(
        "--sample-unk",
        action="store_true",
        help="let the model draw <unk> (a word its vocabulary left out); by default it never "
        "does, nor padding or sequence boundaries",
    )
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the sampling (default: 0)")
    add_device_options(p)
    p.set_defaults(run=run, parser=p)


def run(args: argparse.Namespace) -> int:
    from rnnlab.kinds.runs import load
    from rnnlab.training.devices import resolve_device

    trained = load(args.run_dir, device=resolve_device(args.device))
    if not callable(getattr(trained, "generate", None)):  # runs that sample text have it
        raise ValueError(
            f"{args.run_dir}: a {trained.kind.name} run; rnnlab generate samples from language "
            "models (rnnlab train --kind lm)"
        )
    pieces = trained.generate(
        args.prompt,
        args.length,
        temperature=args.temperature,
        top_k=args.top_k,
        seed=args.seed,
        unknown=args.unknown,
        sample_unknown=args.sample_unk,
    )
    out, last = sys.stdout, args.prompt
    out.write(args.prompt)
    for last in pieces:
        out.write(last)
        if last.endswith("\n"):
            out.flush()
    if last and not last.endswith("\n"):
        out.write("\n")  # the text ends a line
    out.flush()
    return 0
