"""Argument parsing shared by every command: one-line errors and value checks.

Every bad option ends the same way: one line ``rnnlab CMD: error: argument --OPT: ...``
on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import re
import sys

EXIT_USAGE = 2


class UsageError(Exception):
    """A user error found after parsing (a bad combination, a bad file): exit status 2."""


class Parser(argparse.ArgumentParser):
    """``argparse`` with a one-line error message instead of usage plus message.

    ``populate``, when set, adds the parser's options the first time it parses (or prints
    its help): ``train``'s options come from the kinds' configs, whose modules import torch,
    and no other command should pay for that at start-up.
    """

    populate = None

    def _populated(self) -> None:
        populate, self.populate = self.populate, None
        if populate is not None:
            populate(self)

    def parse_known_args(self, args=None, namespace=None):
        self._populated()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._populated()
        return super().format_help()

    def error(self, message: str):
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


def given_options(args: argparse.Namespace) -> set[str]:
    """The ``dest`` of every option of ``args.command`` that its command line gave, whether
    or not the value equals the default (``main`` keeps the command line in ``args.argv``).

    The command's arguments are parsed again into a namespace in which every option already
    holds a marker; argparse leaves what is already set alone, so whatever no longer holds
    the marker was given.
    """
    argv = args.argv[args.argv.index(args.command) + 1 :]
    unset = object()
    actions = [a for a in args.parser._actions if a.dest != argparse.SUPPRESS]
    namespace = argparse.Namespace(**{a.dest: unset for a in actions})
    args.parser.parse_known_args(argv, namespace)
    return {a.dest for a in actions if getattr(namespace, a.dest) is not unset}


def as_options(message: str, options: set[str] | None = None) -> str:
    """Name a config's fields as the options that set them: `test_size` -> --test-size;
    with ``options`` (the ``dest`` of each option of the command), only those it has, the
    others quoted as they are ('units', a field inside a file the user gave)."""

    def name(match: re.Match) -> str:
        field = match.group(1)
        if options is not None and field not in options:
            return f"'{field}'"
        return "--" + field.replace("_", "-")

    return re.sub(r"`([a-z_]+)`", name, message)


from rnnlab.limits import (  # noqa: E402 - the bounds every size option is checked against
    MOST_BATCH,
    MOST_BEAM,
    MOST_JOBS,
    MOST_LAYERS,
    MOST_LEARNING_RATE,
    MOST_LENGTH,
    MOST_NUMBER,
    MOST_SAMPLES,
    MOST_SECONDS,
    MOST_SEED,
    MOST_SPLIT_SEED,
    MOST_STEPS,
    MOST_UNITS,
)


def bounded_int(most: int, least: int = 1):
    """A type for an integer in ``[least, most]``."""
    what = "a positive integer" if least == 1 else f"an integer >= {least}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        if value > most:
            raise argparse.ArgumentTypeError(f"expected {what} at most {most:,}, got {text!r}")
        return value

    return parse


positive_int = bounded_int(MOST_STEPS)
non_negative_int = bounded_int(MOST_SEED, least=0)
seed_int = non_negative_int
split_seed_int = bounded_int(MOST_SPLIT_SEED, least=0)
units_int = bounded_int(MOST_UNITS)
layers_int = bounded_int(MOST_LAYERS)
samples_int = bounded_int(MOST_SAMPLES)
length_int = bounded_int(MOST_LENGTH)
count_int = bounded_int(MOST_SAMPLES, least=0)
batch_int = bounded_int(MOST_BATCH)
beam_int = bounded_int(MOST_BEAM)


def bounded_float(most: float):
    """A type for a finite number in ``(0, most]``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        if value > most:
            raise argparse.ArgumentTypeError(
                f"expected a positive number at most {most:g}, got {text!r}"
            )
        return value

    return parse


positive_float = bounded_float(MOST_NUMBER)

_DURATION = re.compile(r"(?:(\d+(?:\.\d*)?)h)?(?:(\d+(?:\.\d*)?)m)?(?:(\d+(?:\.\d*)?)s?)?")


def duration(text: str) -> float:
    """Seconds from ``300``, ``90s``, ``5m``, ``1.5h`` or ``1h30m`` (more than none, at most
    ``MOST_SECONDS``)."""
    expected = "a duration such as 300, 90s, 5m or 1h30m"
    found = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or found is None or not any(found.groups()):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    hours, minutes, seconds = (float(part or 0) for part in found.groups())
    value = 3600 * hours + 60 * minutes + seconds
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected {expected}, more than none, got {text!r}")
    if value > MOST_SECONDS:
        raise argparse.ArgumentTypeError(f"expected at most 30 days, got {text!r}")
    return value


learning_rate_float = bounded_float(MOST_LEARNING_RATE)


def jobs_option(text: str) -> int | str:
    """``auto`` or a positive integer: how many worker processes."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a positive integer, got {text!r}")
    if value > MOST_JOBS:
        raise argparse.ArgumentTypeError(
            f"expected 'auto' or a positive integer at most {MOST_JOBS}, got {text!r}"
        )
    return value


def add_jobs_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--jobs``: how many of the command's ``what`` train at once in worker processes."""
    parser.add_argument(
        "--jobs",
        type=jobs_option,
        default="auto",
        help=f"{what} trained at once, each in its own process (default: auto, one per CPU "
        "core plus one, at most one per run; 1: one after the other in this process); the "
        "numbers do not depend on it",
    )


def add_device_options(parser: argparse.ArgumentParser, *, precision: bool = False) -> None:
    """``--device`` (checked when the command runs, where it can say what this machine has)
    and, for commands that train, ``--precision``."""
    parser.add_argument(
        "--device",
        default="cpu",
        metavar="DEVICE",
        help="where the model runs: cpu (default), cuda, cuda:N, or auto (a GPU when one is "
        "visible)",
    )
    if precision:
        parser.add_argument(
            "--precision",
            choices=("fp32", "bf16", "fp16"),
            default="fp32",
            help="arithmetic of the forward passes: fp32 (default), or mixed precision on a "
            "CUDA device (bf16, or fp16 with loss scaling)",
        )


def add_ignored_seed(parser: argparse.ArgumentParser, reason: str) -> None:
    """``--seed``, which this command once offered although it draws no random numbers:
    still accepted, so that scripts keep working, but left out of the help, and a warning
    (``reason``) says it does nothing."""
    parser.add_argument("--seed", type=seed_int, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(seed_ignored=reason)


def warn_ignored_seed(args: argparse.Namespace) -> None:
    """The warning of ``add_ignored_seed``, when ``--seed`` was given."""
    if getattr(args, "seed", None) is not None:
        sys.stderr.write(f"{args.parser.prog}: warning: --seed does nothing: {args.seed_ignored}\n")


def resolve_jobs(jobs: int | str, runs: int) -> int:
    """The ``--jobs`` value as a number of workers for ``runs`` runs."""
    if jobs != "auto":
        return int(jobs)
    from rnnlab.training.workers import default_jobs

    return default_jobs(runs)


def dropout_float(text: str) -> float:
    """A dropout rate in ``[0, 1)``."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def temperature_float(text: str) -> float:
    """A sampling temperature: a finite number >= 0 (0: greedy)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= MOST_NUMBER:
        raise argparse.ArgumentTypeError(
            f"expected a number >= 0 (0: always the likeliest token), got {text!r}"
        )
    return value


def float_list(text: str) -> tuple[float, ...]:
    """Comma-separated finite numbers."""
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or any(v != v or v in (float("inf"), float("-inf")) for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
    return values


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a fraction between 0 and 1, got {text!r}"
        ) from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}")
    return value


def name_list(allowed: callable, what: str):
    """A type for comma-separated names, each checked against ``allowed()`` (loaded lazily)."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(n.strip() for n in text.split(",") if n.strip())
        known = list(allowed())
        unknown = [n for n in names if n not in known]
        if not names or unknown:
            got = ", ".join(unknown) if unknown else repr(text)
            raise argparse.ArgumentTypeError(
                f"unknown {what} {got}; expected some of {', '.join(known)}"
            )
        if len(set(names)) != len(names):
            raise argparse.ArgumentTypeError(f"a {what} is named twice in {text!r}")
        return names

    return parse


def one_of(allowed: callable, what: str):
    """A type for one name checked against ``allowed()`` (loaded lazily)."""

    def parse(text: str) -> str:
        known = list(allowed())
        if text not in known:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {text!r}; expected one of {', '.join(known)}"
            )
        return text

    return parse


def int_list(least: int):
    """A type for comma-separated integers, each at least ``least``, none repeated."""

    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated integers, got {text!r}"
            ) from None
        if not values or min(values) < least:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated integers >= {least}, got {text!r}"
            )
        if len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"a value is repeated in {text!r}")
        return values

    return parse
