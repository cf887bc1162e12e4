"""The ``rnnlab`` command: argument parsing, printing and exit codes; the work is in the API."""

from __future__ import annotations

import os
import sys

from rnnlab.cli import (
    compare,
    doctor,
    evaluate,
    gates,
    gradients,
    memory,
    predict,
    report,
    train,
)
from rnnlab.cli.options import EXIT_USAGE, Parser, UsageError

COMMANDS = (compare, train, predict, evaluate, gradients, memory, gates, report, doctor)


def build_parser() -> Parser:
    import rnnlab

    parser = Parser(prog="rnnlab", description="Recurrent sequence models on PyTorch.")
    parser.add_argument("--version", action="version", version=f"rnnlab {rnnlab.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        names = ", ".join(c.__name__.rsplit(".", 1)[-1] for c in COMMANDS)
        parser.error(f"a command is required: {names}")
    if extra:  # reported by the command's parser, so the message names the command
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    prog = f"rnnlab {args.command}"
    try:
        return args.run(args)
    except (UsageError, ValueError, FileNotFoundError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(
            f"\n{prog}: interrupted; no results were written for the unfinished work",
            file=sys.stderr,
        )
        return 130


def run() -> None:
    """The console script: ``main``, then exit at once.

    Once the command is done, every file it wrote is closed and renamed into place, and only
    the interpreter's teardown is left: about 0.2 s of freeing torch's objects and modules,
    longer than the tutorial's training of one model. ``os._exit`` skips it, after flushing
    the standard streams. ``main`` itself returns normally (tests and embedding call it).
    """
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`rnnlab doctor | head`): not an error
        code = 0
    sys.stderr.flush()
    os._exit(code)
