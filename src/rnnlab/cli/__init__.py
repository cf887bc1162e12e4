"""The ``rnnlab`` command: argument parsing, printing and exit codes; the work is in the API."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import warnings
from collections.abc import Callable

from rnnlab.cli import (
    bottleneck,
    compare,
    doctor,
    evaluate,
    export,
    gates,
    generate,
    gradients,
    import_keras,
    memory,
    predict,
    report,
    train,
)
from rnnlab.cli.errors import EXIT_INTERRUPTED, describe
from rnnlab.cli.options import Parser

COMMANDS = (
    compare,
    train,
    predict,
    evaluate,
    generate,
    gradients,
    memory,
    gates,
    bottleneck,
    report,
    import_keras,
    export,
    doctor,
)


def build_parser() -> Parser:
    from rnnlab.version import __version__

    parser = Parser(prog="rnnlab", description="Recurrent sequence models on PyTorch.")
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error instead of one line (anywhere on the line)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None, *, before_command: Callable[[], None] | None = None) -> int:
    """Run the command ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    ``before_command()`` is called once the arguments are parsed, before the command runs.

    This is the one error boundary of every command (``rnnlab.cli.errors``): an error the
    user can cause ends as one line on standard error and exit status 2, Ctrl-C at any
    moment as exit status 130, anything else as one line and exit status 1; ``--debug``
    (anywhere in ``argv``) shows the traceback instead.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    prog, args = "rnnlab", None
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if args.command is None:
            names = ", ".join(c.__name__.rsplit(".", 1)[-1] for c in COMMANDS)
            parser.error(f"a command is required: {names}")
        prog = f"rnnlab {args.command}"
        if extra:  # reported by the command's parser, so the message names the command
            args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.argv = argv
        if before_command is not None:
            before_command()
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(prog, warnings.showwarning)
            return args.run(args)
    except KeyboardInterrupt:
        print(
            f"\n{prog}: interrupted; no results were written for the unfinished work",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except (SystemExit, BrokenPipeError):
        raise
    except BaseException as exc:  # the boundary: every error becomes one line
        if _interrupted(exc):  # Ctrl-C inside an import, wrapped by it in another error
            print(
                f"\n{prog}: interrupted; no results were written for the unfinished work",
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
        if debug:
            raise
        command = getattr(args, "parser", None)  # the options a message may name
        options = None if command is None else {a.dest for a in command._actions}
        message, code = describe(exc, options)
        print(f"{prog}: error: {message}", file=sys.stderr)
        return code


def _one_line_warning(prog: str, show):
    """``warnings.showwarning`` that prints rnnlab's own warnings as one line of the
    command's, and leaves the others to ``show``."""
    from rnnlab.config import RnnlabWarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, RnnlabWarning):
            text = " ".join(str(message).split())
            print(f"{prog}: warning: {text}", file=sys.stderr)
        else:
            show(message, category, filename, lineno, file, line)

    return showwarning


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was caused by, a KeyboardInterrupt."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _imports_done() -> None:
    """The end of the start-up that ``run`` does with the garbage collector off: import torch
    (if parsing the options did not), freeze every object made so far, turn collection on,
    and give Ctrl-C back to Python (``rnnlab.console`` made it end start-up quietly)."""
    import torch  # noqa: F401

    gc.freeze()
    gc.enable()
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run() -> None:
    """The console script: ``main`` with the start-up's garbage collection skipped, then exit
    at once.

    Start-up (importing torch and rnnlab, parsing the options) makes about 250,000 objects
    that live as long as the process; the collections it would trigger find almost nothing
    to free (a few thousand objects, about 1 MB, which stay) but take about 0.07 s, a tenth of
    the tutorial's training. So the collector is off until the command starts, and then
    everything made so far is frozen (``gc.freeze``): left out of every later collection, here
    (a full one costs about 0.05 s) and in the worker processes forked from here, where
    walking those objects would copy their pages (close to Python's documented recipe for a
    process that forks, which freezes right before the fork).

    Once the command is done, every file it wrote is closed and renamed into place, and only
    the interpreter's teardown is left: about 0.2 s of freeing torch's objects and modules,
    longer than the tutorial's training of one model. ``os._exit`` skips it, after flushing
    the standard streams. ``main`` itself returns normally (tests and embedding call it).
    """
    gc.disable()
    try:
        code = main(before_command=_imports_done)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`rnnlab doctor | head`): not an error
        code = 0
    except KeyboardInterrupt:  # between main's return and the flush
        code = EXIT_INTERRUPTED
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):
        sys.stderr.flush()
    os._exit(code)
