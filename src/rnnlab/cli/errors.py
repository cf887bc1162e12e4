"""What an error that reaches the command line says: one line, and the exit status.

Every command's errors pass through ``describe`` (called by ``rnnlab.cli.main``). The errors
a user can cause (a bad value or file, a missing or unreadable path, a full disk, input
nested too deeply, a size that does not fit in memory) get a line that names what to change
and exit status 2. Anything else is a bug in rnnlab: one line that says so and exit status 1
(``--debug`` shows its traceback).
"""

from __future__ import annotations

import errno
import re

from rnnlab.cli.options import EXIT_USAGE, UsageError, as_options

EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130
MEMORY_ADVICE = (
    "reduce --batch-size, --units, --layers or --embedding-dim, or use shorter sequences"
)
_OOM = re.compile(r"can't allocate memory|out of memory|not enough memory", re.IGNORECASE)


def describe(exc: BaseException, options: set[str] | None = None) -> tuple[str, int]:
    """``(one-line message, exit status)`` for an exception that ended a command
    (``options``: the ``dest`` of each of its options, that a message may name)."""
    if _is_out_of_memory(exc):
        return one_line(f"out of memory ({_allocation(exc)}); {MEMORY_ADVICE}"), EXIT_USAGE
    if isinstance(exc, OSError):
        return one_line(_os_error(exc)), EXIT_USAGE
    if isinstance(exc, ValueError | UsageError):
        return one_line(as_options(str(exc), options)), EXIT_USAGE
    if type(exc).__name__ == "CollectiveError":  # another process of a launch has stopped
        return one_line(str(exc)), EXIT_INTERNAL
    if isinstance(exc, RecursionError):
        return "input nested too deeply (JSON?); expected at most a few levels", EXIT_USAGE
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return (
        one_line(f"internal error ({text}); please report it with the traceback --debug shows"),
        EXIT_INTERNAL,
    )


def one_line(text: str) -> str:
    """``text`` with its line breaks folded into spaces."""
    return " ".join(text.split("\n")).replace("\r", " ").strip()


def _os_error(exc: OSError) -> str:
    if exc.filename is None:
        # rnnlab's own messages (`FileNotFoundError(f"{path}: no such file")`) come whole
        return str(exc) if not exc.strerror else exc.strerror
    what = (exc.strerror or str(exc)).lower()
    if exc.errno == errno.ENOSPC:
        what += "; nothing of this command's output was kept, free some space and run it again"
    where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
    return f"{where}: {what}"


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    return name == "OutOfMemoryError" or (
        isinstance(exc, RuntimeError) and bool(_OOM.search(str(exc)))
    )


def _allocation(exc: BaseException) -> str:
    found = re.search(r"allocate (\d+) bytes", str(exc))
    if found:
        return f"an allocation of {int(found.group(1)) / 2**30:.1f} GiB failed"
    found = re.search(r"allocate ([\d.]+ [KMGT]iB)", str(exc))
    return f"an allocation of {found.group(1)} failed" if found else "an allocation failed"
