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
    """``argparse`` with a one-line error message instead of usage plus message."""

    def error(self, message: str):
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


def as_options(message: str) -> str:
    """Name a config's fields as the options that set them: `test_size` -> --test-size."""
    return re.sub(r"`([a-z_]+)`", lambda m: "--" + m.group(1).replace("_", "-"), message)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def jobs_option(text: str) -> int | str:
    """``auto`` or a positive integer: how many worker processes."""
    if text == "auto":
        return text
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected 'auto' or a positive integer, got {text!r}"
        ) from None


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


def resolve_jobs(jobs: int | str, runs: int) -> int:
    """The ``--jobs`` value as a number of workers for ``runs`` runs."""
    if jobs != "auto":
        return int(jobs)
    from rnnlab.training.workers import default_jobs

    return default_jobs(runs)


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
