"""Pair files: one example a line, ``source<TAB>target``, or JSONL ``{"source", "target"}``.

Tokens are separated by single spaces by default (``3 7 2<TAB>2 7 3``); with
``tokens="chars"`` every character is a token (``24 novembre 2026<TAB>2026-11-24``).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rnnlab.data.files import InputFileError, decode_text, read_text_file, split_lines
from rnnlab.data.vocab import SPECIALS

TOKENIZATIONS = ("space", "chars")
# what a pair file's line cannot carry inside one token
_UNSAFE = {"space": re.compile("[ \t\n\r\ufeff]"), "chars": re.compile("[\t\n\r\ufeff]")}


class PairFileError(InputFileError):
    """A malformed pair file; the message names the file and the line."""


@dataclass(frozen=True)
class PairFile:
    """The pairs of one file, with the line each came from (for error messages)."""

    path: Path
    sources: list[list[str]]
    targets: list[list[str]]
    lines: list[int]
    tokens: str = "space"

    def __len__(self) -> int:
        return len(self.sources)


def split_tokens(text: str, tokens: str = "space") -> list[str]:
    """Split one side of a pair into tokens."""
    if tokens == "chars":
        return list(text)
    if tokens == "space":
        return text.split(" ") if text else []
    raise ValueError(f"`tokens` must be one of {TOKENIZATIONS}, got {tokens!r}.")


def join_tokens(tokens: Sequence[str], how: str = "space") -> str:
    """The inverse of ``split_tokens``: tokens joined as they were read."""
    return "".join(tokens) if how == "chars" else " ".join(tokens)


def read_pairs(path, tokens: str = "space") -> PairFile:
    """Read a ``.tsv``/text pair file (or ``.jsonl``) into source and target token lists."""
    path = Path(path)
    if tokens not in TOKENIZATIONS:
        raise ValueError(f"`tokens` must be one of {TOKENIZATIONS}, got {tokens!r}.")
    try:
        text = read_text_file(path)
    except InputFileError as exc:
        raise PairFileError(str(exc)) from None
    if path.suffix == ".jsonl":
        return _parse_jsonl(path, text, tokens)
    sources, targets, lines = [], [], []
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise PairFileError(f"{path}:{number}: no tab; expected 'source<TAB>target'")
        source, target = line.split("\t", 1)
        if "\t" in target:
            raise PairFileError(f"{path}:{number}: more than one tab; expected 'source<TAB>target'")
        source_tokens, target_tokens = split_tokens(source, tokens), split_tokens(target, tokens)
        _check_pair(path, number, source_tokens, target_tokens, tokens)
        sources.append(source_tokens)
        targets.append(target_tokens)
        lines.append(number)
    if not sources:
        raise PairFileError(f"{path}: no pairs; expected lines 'source<TAB>target'")
    return PairFile(path, sources, targets, lines, tokens)


def _check_pair(path, number, source, target, how: str = "space") -> None:
    for side, tokens in (("source", source), ("target", target)):
        problem = token_problem(tokens, how, side)
        if problem is not None:
            raise PairFileError(f"{path}:{number}: {problem}")


def token_problem(tokens: Sequence[str], how: str = "space", side: str = "source") -> str | None:
    """What makes ``tokens`` unusable as one side of a pair, or None.

    Every token must survive ``join_tokens`` and ``split_tokens`` unchanged (so that
    ``predict`` can read what training read) and must not be one of the vocabulary's own
    control tokens (``<pad>``, ``<s>``, ``</s>``, ``<unk>``), which would silently become
    padding, start, end or unknown ids.
    """
    if not tokens:
        return f"empty {side}"
    for token in tokens:
        if token == "":
            return f"empty token in the {side} (two spaces?)"
        if token in SPECIALS:
            return f"the {side} token {token!r} is reserved for the vocabulary's own use"
        if how == "chars" and len(token) != 1:
            return f"the {side} token {token!r} is not one character (--tokens chars)"
        if _UNSAFE[how].search(token):
            return f"the {side} token {token!r} holds a space, tab, line break or U+FEFF"
    return None


def _parse_jsonl(path: Path, text: str, tokens: str) -> PairFile:
    sources, targets, lines = [], [], []
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        row = parse_json_line(path, number, line)
        if not isinstance(row, dict) or not {"source", "target"} <= row.keys():
            raise PairFileError(f"{path}:{number}: expected an object with 'source' and 'target'")
        pair = []
        for key in ("source", "target"):
            value = row[key]
            if not isinstance(value, list) or not all(is_token(t) for t in value):
                raise PairFileError(
                    f"{path}:{number}: '{key}' must be a list of tokens (strings or integers)"
                )
            pair.append([str(t) for t in value])
        _check_pair(path, number, *pair, tokens)
        sources.append(pair[0])
        targets.append(pair[1])
        lines.append(number)
    if not sources:
        raise PairFileError(f"{path}: no pairs; expected JSON lines with 'source' and 'target'")
    return PairFile(path, sources, targets, lines, tokens)


def read_sequence_lines(path, tokens: str = "space", what: str = "source"):
    """One token sequence a line from the file ``path`` (None or ``-``: standard input), for
    ``predict``: ``(sequences, names)``, each name ``FILE:LINE``. A line that ``token_problem``
    refuses is a ``ValueError`` naming it."""
    if path is None or str(path) == "-":
        name, text = "<stdin>", decode_text(sys.stdin.buffer.read(), "<stdin>")
    else:
        name, text = str(path), read_text_file(path)
    sequences, names = [], []
    for number, line in enumerate(split_lines(text), start=1):
        sequence = split_tokens(line, tokens)
        problem = token_problem(sequence, tokens, what)
        if problem is not None:
            raise ValueError(f"{name}:{number}: {problem}")
        sequences.append(sequence)
        names.append(f"{name}:{number}")
    if not sequences:
        raise ValueError(f"{name}: no {what}s; expected one {what} sequence a line")
    return sequences, names


def parse_json_line(path, number: int, line: str, error: type[InputFileError] = PairFileError):
    """One JSON value from line ``number`` of ``path``; ``error`` (a one-line message naming
    both) when it is not one."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise error(f"{path}:{number}: not JSON ({exc.msg})") from None
    except ValueError as exc:  # an integer longer than Python converts (4,300 digits)
        raise error(f"{path}:{number}: not usable JSON ({exc})") from None
    except RecursionError:
        raise error(f"{path}:{number}: JSON nested too deeply") from None


def is_token(value) -> bool:
    """A string, or an integer (not a boolean, which JSON also has)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def format_pairs(sources, targets, tokens: str = "space") -> str:
    """Pair-file text for token lists (the inverse of ``read_pairs`` for TSV)."""
    lines = [
        f"{join_tokens([str(t) for t in s], tokens)}\t{join_tokens([str(t) for t in t_], tokens)}"
        for s, t_ in zip(sources, targets, strict=True)
    ]
    return "\n".join(lines) + "\n"
