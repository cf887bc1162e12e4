"""Reading and writing files safely: input text checked at the boundary, output that is never
half-written, and folders that rnnlab writes into only when it made them.

Reading: ``read_text_file`` takes only regular files (a FIFO with no writer would block for
ever), decodes UTF-8 (the error names the line and byte), drops a byte-order mark and refuses
NUL bytes; ``split_lines`` breaks text at ``\\n``, ``\\r\\n`` and ``\\r`` only, so that one
input line is one example and one output line, whatever Unicode separators it holds
(``str.splitlines`` also breaks at U+2028, U+0085, form feeds and more).

Writing: ``atomic_write_bytes`` writes through a temporary file and a rename. Output folders
follow one policy (``check_output_folder``): a command writes into a folder that does not
exist yet (it makes it), an empty one, or, with ``overwrite``, one that the same command made
before (it leaves a marker file, ``.rnnlab``, naming itself). Anything else, a run folder or
a folder of the user's own files, is refused. ``OutputFolder`` stages a command's results in a
temporary folder beside the target and moves them in at the end, so an error or an
interruption leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

MARKER = ".rnnlab"  # in every folder a command made: {"command": NAME}
BOM = "\ufeff"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
T = TypeVar("T")


class InputFileError(ValueError):
    """An input file that cannot be read as text; the message names the file (and line)."""


class OutputFolderError(ValueError):
    """An output folder this command may not write into; the message says why."""


def read_text_file(path: str | os.PathLike) -> str:
    """The UTF-8 text of the regular file ``path``, without a leading byte-order mark.

    Raises ``FileNotFoundError`` (no such file) or ``InputFileError`` (a folder, a FIFO or
    device, not UTF-8, NUL bytes), each naming the file and, where it applies, the line.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    if stat.S_ISDIR(mode):
        raise InputFileError(f"{path}: is a folder, expected a file")
    if not stat.S_ISREG(mode):
        raise InputFileError(f"{path}: not a regular file (a pipe or device?); expected a file")
    return decode_text(path.read_bytes(), str(path))


def decode_text(data: bytes, name: str) -> str:
    """``data`` as UTF-8 text, for input named ``name`` (a file, or ``<stdin>``)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_at(data[: exc.start].decode("utf-8"))
        raise InputFileError(
            f"{name}:{line}: not UTF-8 text (byte {exc.start}); expected UTF-8"
        ) from None
    if "\0" in text:
        line = _line_at(text[: text.index("\0")])
        raise InputFileError(f"{name}:{line}: a NUL byte; expected text")
    return text.removeprefix(BOM)


def _line_at(before: str) -> int:
    """The number of the line that follows the text ``before`` (lines as ``split_lines``
    breaks them)."""
    return len(_LINE_BREAK.findall(before)) + 1


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, broken at ``\\n``, ``\\r\\n`` or ``\\r`` only (a final line
    break ends the last line; it does not start an empty one)."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see ``atomic_write_bytes``)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def folder_owner(path: Path, *, guess: bool = True) -> str | None:
    """The command that made the folder ``path``, from its marker, or None. With ``guess``,
    a run folder written before markers existed (``config.json`` and ``model.safetensors``
    whose hashes ``metrics.json`` records) counts as ``train``'s: enough to protect it, never
    enough to overwrite it."""
    try:
        owner = json.loads((path / MARKER).read_text(encoding="utf-8")).get("command")
    except (OSError, ValueError, AttributeError, RecursionError):
        owner = None
    if isinstance(owner, str):
        return owner
    return "train" if guess and _old_run_folder(path) else None


def _old_run_folder(path: Path) -> bool:
    try:
        files = json.loads((path / "metrics.json").read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError, RecursionError):
        return False
    return isinstance(files, dict) and {"config.json", "model.safetensors"} <= files.keys()


def enclosing_owner(path: Path) -> tuple[Path, str] | None:
    """The nearest folder above ``path`` (resolved: ``..`` and links followed) that an rnnlab
    command made, with that command; None if there is none."""
    for folder in Path(path).resolve().parents:
        owner = folder_owner(folder)
        if owner is not None:
            return folder, owner
    return None


def mark_folder(path: Path, command: str) -> None:
    """Record that ``command`` made the folder ``path``."""
    atomic_write_text(path / MARKER, json.dumps({"command": command}) + "\n")


def check_output_folder(path: Path, command: str, *, overwrite: bool = False) -> None:
    """Refuse ``path`` as ``command``'s output folder unless it does not exist, is empty, or
    (with ``overwrite``) holds an earlier output of the same command.

    The message names the folder as `out` (the CLI shows it as ``--out``).
    """
    path = Path(path)
    inside = enclosing_owner(path)
    if inside is not None:
        raise OutputFolderError(
            f"`out` {path}: inside {inside[0]}, the output folder of `rnnlab {inside[1]}`; "
            "choose a folder outside it"
        )
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_dir():
        raise OutputFolderError(f"`out` {path}: exists and is not a folder")
    if not any(path.iterdir()):
        return
    owner = folder_owner(path, guess=False)
    if owner == command:
        if overwrite:
            return
        raise OutputFolderError(
            f"`out` {path}: holds the output of an earlier `rnnlab {command}`; "
            "give `overwrite` to replace it, or choose a new folder"
        )
    owner = owner or folder_owner(path)
    what = f"the output of `rnnlab {owner}`" if owner else "files rnnlab did not write"
    raise OutputFolderError(
        f"`out` {path}: is not empty (it holds {what}); choose a new or empty folder"
    )


def check_output_file(path: Path, *, overwrite: bool = False, what: str = "`out`") -> None:
    """Refuse to write the file ``path`` over an existing file (unless ``overwrite``) or into
    a folder that an rnnlab command made (a run folder, say)."""
    path = Path(path)
    if path.is_dir():
        raise OutputFolderError(f"{what} {path}: is a folder, expected a file name")
    if path.exists() and not overwrite:
        raise OutputFolderError(
            f"{what} {path}: exists; give `overwrite` to replace it, or choose a new name"
        )
    if not path.parent.is_dir():
        raise OutputFolderError(f"{what} {path}: no folder {path.parent} to write it in")
    inside = enclosing_owner(path)
    if inside is not None:
        raise OutputFolderError(
            f"{what} {path}: inside a folder of `rnnlab {inside[1]}` ({inside[0]}); write "
            "it elsewhere"
        )


class OutputFolder:
    """The output folder of one command: checked when made, written at the end as a whole.

    ``OutputFolder(path, command, overwrite=False)`` checks ``path`` at once (so a bad
    ``--out`` fails before the work); ``write(writer)`` calls ``writer(stage)`` with an empty
    temporary folder beside ``path``, then moves its files into ``path`` (a rename, when
    ``path`` does not exist yet) with the marker beside them. If ``writer`` fails, or the
    process is interrupted, the temporary folder is removed and ``path`` is as it was.
    """

    def __init__(self, path: str | os.PathLike, command: str, *, overwrite: bool = False):
        self.path, self.command, self.overwrite = Path(path), command, overwrite
        check_output_folder(self.path, command, overwrite=overwrite)

    def write(self, writer: Callable[[Path], T]) -> T:
        check_output_folder(self.path, self.command, overwrite=self.overwrite)
        made = _make_parents(self.path.parent)
        stage = Path(tempfile.mkdtemp(dir=self.path.parent, prefix=f".{self.path.name}."))
        try:
            result = writer(stage)
            mark_folder(stage, self.command)
            if self.path.exists():
                for item in stage.iterdir():
                    _replace(item, self.path / item.name)
                stage.rmdir()
            else:
                os.rename(stage, self.path)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            for folder in reversed(made):
                _remove_if_empty(folder)
            raise
        return result


def _make_parents(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; the ones made, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    missing.reverse()
    for made in missing:
        made.mkdir()
    return missing


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()


def _replace(source: Path, target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    os.replace(source, target)
