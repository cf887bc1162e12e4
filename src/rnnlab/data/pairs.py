"""Pair files: one example a line, ``source<TAB>target``, or JSONL ``{"source", "target"}``.

Tokens are separated by single spaces by default (``3 7 2<TAB>2 7 3``); with
``tokens="chars"`` every character is a token (``24 novembre 2026<TAB>2026-11-24``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TOKENIZATIONS = ("space", "chars")


class PairFileError(ValueError):
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


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PairFileError(f"{path}: is a folder, expected a pair file") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PairFileError(f"{path}:{line}: not UTF-8 text (byte {exc.start})") from None


def read_pairs(path, tokens: str = "space") -> PairFile:
    """Read a ``.tsv``/text pair file (or ``.jsonl``) into source and target token lists."""
    path = Path(path)
    if tokens not in TOKENIZATIONS:
        raise ValueError(f"`tokens` must be one of {TOKENIZATIONS}, got {tokens!r}.")
    text = _read_text(path)
    if path.suffix == ".jsonl":
        return _parse_jsonl(path, text, tokens)
    sources, targets, lines = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise PairFileError(f"{path}:{number}: no tab; expected 'source<TAB>target'")
        source, target = line.split("\t", 1)
        if "\t" in target:
            raise PairFileError(f"{path}:{number}: more than one tab; expected 'source<TAB>target'")
        source_tokens, target_tokens = split_tokens(source, tokens), split_tokens(target, tokens)
        _check_pair(path, number, source_tokens, target_tokens)
        sources.append(source_tokens)
        targets.append(target_tokens)
        lines.append(number)
    if not sources:
        raise PairFileError(f"{path}: no pairs; expected lines 'source<TAB>target'")
    return PairFile(path, sources, targets, lines, tokens)


def _check_pair(path, number, source, target) -> None:
    if not source or "" in source:
        what = "empty source" if not source else "empty token in the source (two spaces?)"
        raise PairFileError(f"{path}:{number}: {what}")
    if not target or "" in target:
        what = "empty target" if not target else "empty token in the target (two spaces?)"
        raise PairFileError(f"{path}:{number}: {what}")


def _parse_jsonl(path: Path, text: str, tokens: str) -> PairFile:
    sources, targets, lines = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PairFileError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not {"source", "target"} <= row.keys():
            raise PairFileError(f"{path}:{number}: expected an object with 'source' and 'target'")
        pair = []
        for key in ("source", "target"):
            value = row[key]
            if not isinstance(value, list) or not all(isinstance(t, str | int) for t in value):
                raise PairFileError(f"{path}:{number}: '{key}' must be a list of tokens")
            pair.append([str(t) for t in value])
        _check_pair(path, number, *pair)
        sources.append(pair[0])
        targets.append(pair[1])
        lines.append(number)
    if not sources:
        raise PairFileError(f"{path}: no pairs; expected JSON lines with 'source' and 'target'")
    return PairFile(path, sources, targets, lines, tokens)


def format_pairs(sources, targets, tokens: str = "space") -> str:
    """Pair-file text for token lists (the inverse of ``read_pairs`` for TSV)."""
    lines = [
        f"{join_tokens([str(t) for t in s], tokens)}\t{join_tokens([str(t) for t in t_], tokens)}"
        for s, t_ in zip(sources, targets, strict=True)
    ]
    return "\n".join(lines) + "\n"
