"""Tagged sentences (the ``tag`` kind): one label per token, read from three formats.

The extension says the format:

- ``.conllu``: CoNLL-U, as Universal Dependencies ships it. Ten tab-separated columns (ID,
  FORM, LEMMA, UPOS, XPOS, FEATS, HEAD, DEPREL, DEPS, MISC), ``#`` comment lines, a blank line
  after each sentence. FORM is the token; the label is UPOS unless ``label_column`` names
  another (``xpos``, or one key of FEATS or MISC, such as ``feats:Number``). Multiword-token
  ranges (``1-2 don't``) and empty nodes (``8.1``) are skipped: the tagger tags the
  syntactic words, which is what UPOS is given for.
- ``.jsonl``: one sentence a line, ``{"tokens": ["The", "dog"], "tags": ["DET", "NOUN"]}``.
- anything else: CoNLL column files (CoNLL-2000, CoNLL-2003): one token a line, columns
  separated by spaces or tabs, a blank line between sentences, ``-DOCSTART-`` lines ignored.
  The word is the first column and the label the last, or column ``label_column`` (counted
  from 1, as the column files' own documentation counts them).

Tokens and tags follow the pair files' rule (``rnnlab.data.pairs.token_problem``): no space,
tab or line break inside one, and none of the vocabulary's control tokens. ``predict`` reads
one sentence a line with tokens separated by spaces and writes tags the same way, so a token
that broke that rule would be read back as something else.

``fill_conllu`` writes predictions back into a CoNLL-U file's label column, leaving every
other byte of the file as it was, so a prediction can be compared with the original line by
line (or given to a tool that reads CoNLL-U).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rnnlab.data.files import BOM, InputFileError, read_text_file, split_lines
from rnnlab.data.pairs import is_token, parse_json_line, token_problem

# the plain label columns of CoNLL-U, by name (0-based index into the ten fields)
CONLLU_COLUMNS = {"upos": 3, "xpos": 4}
# the CoNLL-U columns that hold KEY=VALUE items separated by "|"; a label names one KEY
CONLLU_KEYED_COLUMNS = {"feats": 5, "misc": 9}
CONLLU_FIELDS = ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC")
_ABSENT = "_"  # CoNLL-U's empty value, and the label of a word whose KEY is absent
_COLUMN_SPLIT = re.compile(r"[ \t]+")
_SKIPPED_ID = re.compile(r"[1-9][0-9]*-[1-9][0-9]*|[0-9]+\.[1-9][0-9]*")  # ranges, empty nodes
_TOKEN_RULE = (  # what token_problem allows, for the "expected" half of a message
    "tokens and tags without spaces, tabs or line breaks, other than <pad>, <s>, </s> and <unk>"
)


class TaggedFileError(InputFileError):
    """A malformed file of tagged sentences; the message names the file and the line."""


@dataclass(frozen=True)
class TaggedSentences:
    """The sentences of one file: tokens, one tag per token, and where each sentence began.

    ``lines[i]`` is the line of sentence ``i``'s first token, so that a later error (an
    unknown tag at prediction time, say) can point into the file.
    """

    path: Path
    tokens: list[list[str]]
    tags: list[list[str]]
    lines: list[int]
    word_lines: list[list[int]] | None = None  # each word's line, where words have their own

    def __len__(self) -> int:
        return len(self.tokens)

    def word_names(self) -> list[list[str]]:
        """``FILE:LINE`` of each word of each sentence, for a message about one word (a
        sentence's line where its words share it)."""
        rows = self.word_lines
        if rows is None:
            rows = [[n] * len(t) for n, t in zip(self.lines, self.tokens, strict=True)]
        return [[f"{self.path}:{n}" for n in row] for row in rows]


def read_tagged(path, *, label_column: str | None = None) -> TaggedSentences:
    """Read the tagged sentences of ``path``; its extension says the format (see the module).

    ``label_column`` chooses the label: for CoNLL-U ``upos`` (the default), ``xpos``,
    ``feats:KEY`` or ``misc:KEY`` (the value of KEY, ``_`` where a word has none; the column
    name is case-insensitive, KEY is not, as in UD); for column files a column number from 2
    up (``"2"``; the default is the last column); for JSONL nothing (the tags are ``tags``).
    Raises ``ValueError`` for a ``label_column`` the format does not have, ``TaggedFileError``
    naming the file and line for a malformed file, ``FileNotFoundError`` for a missing one.
    """
    path = Path(path)
    reader = _READERS.get(path.suffix.lower(), _read_columns)
    return reader(path, label_column)


def fill_conllu(
    text: str, predictions: Sequence[Sequence[str]], label_column: str | None = None
) -> str:
    """The CoNLL-U ``text`` with the label column of each word replaced by ``predictions``.

    ``predictions[i]`` holds one tag per word of sentence ``i``, in the order ``read_tagged``
    reads them. Comments, multiword-token ranges, empty nodes and every other column stay as
    they were; line breaks become ``\\n`` and a leading byte-order mark is dropped. With
    ``feats:KEY`` or ``misc:KEY`` the tag replaces KEY's value (``_`` removes KEY; a new KEY
    goes in FEATS's alphabetical order, or at the end of MISC), so that
    ``fill_conllu(text, read_tagged(file).tags)`` gives back ``text``.

    Raises ``ValueError`` when the predictions do not match the sentences and words one for
    one, or hold a tag that the file could not carry (``TypeError`` for a tag that is not a
    string).
    """
    column, key = _conllu_label(label_column)
    lines = split_lines(text.removeprefix(BOM))
    sentences = _conllu_words("<text>", lines)
    if len(predictions) != len(sentences):
        raise ValueError(
            f"`predictions` holds {len(predictions)} sentences, but the CoNLL-U text has "
            f"{len(sentences)}; expected one list of tags per sentence."
        )
    for i, (words, tags) in enumerate(zip(sentences, predictions, strict=True)):
        _check_predicted(i, words, tags, key)
        for (index, fields), tag in zip(words, tags, strict=True):
            if key is None:
                fields[column] = tag
            else:
                fields[column] = _keyed_set(
                    fields[column], key, tag, sort=column == CONLLU_KEYED_COLUMNS["feats"]
                )
            lines[index] = "\t".join(fields)
    ends_with_break = text.endswith(("\n", "\r"))
    return "\n".join(lines) + ("\n" if ends_with_break else "")


def _check_predicted(i: int, words, tags, key: str | None) -> None:
    if len(tags) != len(words):
        raise ValueError(
            f"`predictions[{i}]` holds {len(tags)} tags, but sentence {i + 1} (line "
            f"{words[0][0] + 1}) has {len(words)} words; expected one tag per word."
        )
    if not all(isinstance(tag, str) for tag in tags):
        raise TypeError(f"`predictions[{i}]` must hold strings, got {list(tags)}.")
    problem = token_problem(tags, "space", "tag")
    if problem is None and key is not None and any("|" in tag for tag in tags):
        problem = "a tag holds '|', which separates the items of FEATS and MISC"
    if problem is not None:
        raise ValueError(f"`predictions[{i}]`: {problem}; expected {_TOKEN_RULE}.")


# CoNLL-U


def _conllu_label(label_column: str | None) -> tuple[int, str | None]:
    """The field index and, for FEATS and MISC, the KEY that ``label_column`` names."""
    if label_column is None:
        return CONLLU_COLUMNS["upos"], None
    name, colon, key = str(label_column).partition(":")
    name = name.lower()
    if not colon and name in CONLLU_COLUMNS:
        return CONLLU_COLUMNS[name], None
    if colon and name in CONLLU_KEYED_COLUMNS and key and not re.search(r"[=|\s]", key):
        return CONLLU_KEYED_COLUMNS[name], key
    allowed = [*CONLLU_COLUMNS, *(f"{name}:KEY" for name in CONLLU_KEYED_COLUMNS)]
    raise ValueError(
        f"`label_column` must be one of {allowed} for a CoNLL-U file (KEY a feature name such "
        f"as Number), got {label_column!r}."
    )


def _read_conllu(path: Path, label_column: str | None) -> TaggedSentences:
    column, key = _conllu_label(label_column)
    sentences = _conllu_words(path, split_lines(_read_text(path)))
    tokens, tags, lines, word_lines = [], [], [], []
    for words in sentences:
        forms = [fields[1] for _, fields in words]
        labels = [f[column] if key is None else _keyed_get(f[column], key) for _, f in words]
        numbers = [index + 1 for index, _ in words]
        _check_lines(path, numbers, forms, labels)
        tokens.append(forms)
        tags.append(labels)
        lines.append(numbers[0])
        word_lines.append(numbers)
    if not tokens:
        raise TaggedFileError(
            f"{path}: no sentences; expected CoNLL-U word lines of 10 tab-separated columns"
        )
    return TaggedSentences(path, tokens, tags, lines, word_lines)


def _conllu_words(name, lines: list[str]) -> list[list[tuple[int, list[str]]]]:
    """The word lines of each sentence, as (index into ``lines``, the ten fields).

    Comment lines, ranges and empty nodes are left out; a sentence with no word line (only
    comments, say) is no sentence.
    """
    sentences, words, last = [], [], 0  # last: the sentence's last word number so far
    for index, line in enumerate(lines):
        if not line.strip(" \t"):
            if words:
                sentences.append(words)
            words, last = [], 0
            continue
        if line.startswith("#"):
            continue
        fields = _conllu_fields(name, index + 1, line)
        _check_id(name, index + 1, fields[0], last)
        if _is_word_id(fields[0]):
            words.append((index, fields))
            last = int(fields[0])
    if words:
        sentences.append(words)
    return sentences


def _check_id(name, number: int, text: str, last: int) -> None:
    """Words are numbered 1, 2, ... in order; a range ``a-b`` starts at the next word and
    ends after it; an empty node ``i.j`` follows word ``i`` (0: before the first)."""
    if _is_word_id(text):
        if int(text) == last + 1:
            return
        hint = " (a sentence without the blank line before it?)" if text == "1" else ""
        expected = f"word {last + 1}"
    elif "-" in text:
        first, end = (int(n) for n in text.split("-"))
        if first == last + 1 and end > first:
            return
        hint, expected = "", f"a range from word {last + 1} to a later word"
    else:
        word = int(text.split(".")[0])
        if word == last:
            return
        hint, expected = "", f"an empty node after word {last} ({last}.1, ...)"
    raise TaggedFileError(f"{name}:{number}: ID {text}{hint}; expected {expected}")


def _conllu_fields(name, number: int, line: str) -> list[str]:
    fields = line.split("\t")
    if len(fields) != len(CONLLU_FIELDS):
        raise TaggedFileError(
            f"{name}:{number}: {len(fields)} tab-separated columns; expected "
            f"{len(CONLLU_FIELDS)} ({' '.join(CONLLU_FIELDS)})"
        )
    if "" in fields:
        field = CONLLU_FIELDS[fields.index("")]
        raise TaggedFileError(f"{name}:{number}: empty {field} column; expected '_' if unknown")
    if not (_is_word_id(fields[0]) or _SKIPPED_ID.fullmatch(fields[0])):
        raise TaggedFileError(
            f"{name}:{number}: ID {fields[0]!r}; expected a word number (3), a multiword "
            "range (3-4) or an empty node (3.1)"
        )
    return fields


def _is_word_id(text: str) -> bool:
    """A word's ID, 1, 2, ... (the test a regular expression makes, three times faster)."""
    return text.isascii() and text.isdigit() and text[0] != "0"


def _keyed_get(column: str, key: str) -> str:
    """The value of ``key`` in a FEATS or MISC column (``Number=Sing|Person=3``), or ``_``."""
    for item in column.split("|"):
        name, equals, value = item.partition("=")
        if equals and name == key:
            return value
    return _ABSENT


def _keyed_set(column: str, key: str, value: str, *, sort: bool) -> str:
    """``column`` with ``key``'s value replaced by ``value`` (``_`` removes the key)."""
    items = [] if column == _ABSENT else column.split("|")
    names = [item.partition("=")[0] if "=" in item else None for item in items]
    if key in names:
        at = names.index(key)
        if value == _ABSENT:
            del items[at]
        else:
            items[at] = f"{key}={value}"
    elif value != _ABSENT:
        at = len(items)
        if sort:  # UD orders features by name, case-insensitively
            at = sum(1 for n in names if n is not None and n.lower() < key.lower())
        items.insert(at, f"{key}={value}")
    return "|".join(items) if items else _ABSENT


# CoNLL column files


def _column_number(label_column: str | None) -> int | None:
    """The 1-based label column ``label_column`` names (None: the last)."""
    if label_column is None:
        return None
    text = str(label_column).strip()
    if text.isdecimal() and text.isascii() and int(text) >= 2:
        return int(text)
    raise ValueError(
        "`label_column` must be a column number of 2 or more for a CoNLL column file, such "
        f"as '2' (column 1 holds the word; the default is the last column), got "
        f"{label_column!r}."
    )


def _read_columns(path: Path, label_column: str | None) -> TaggedSentences:
    number = _column_number(label_column)
    tokens, tags, lines, word_lines = [], [], [], []
    sentence: list[tuple[int, str, str]] = []  # (line number, word, tag)
    width = None  # the number of columns, set by the first token line
    for line_number, line in enumerate(split_lines(_read_text(path)), start=1):
        fields = _COLUMN_SPLIT.split(line.strip(" \t")) if line.strip(" \t") else []
        if not fields or fields[0] == "-DOCSTART-":
            _end_sentence(path, sentence, tokens, tags, lines, word_lines)
            sentence = []
            continue
        if width is None:
            width = _check_width(path, line_number, len(fields), number)
        elif len(fields) != width:
            raise TaggedFileError(
                f"{path}:{line_number}: {len(fields)} columns, but the first token line has "
                f"{width}; expected the same number of columns on every line"
            )
        sentence.append((line_number, fields[0], fields[(number or width) - 1]))
    _end_sentence(path, sentence, tokens, tags, lines, word_lines)
    if not tokens:
        raise TaggedFileError(
            f"{path}: no sentences; expected one token a line: the word, then its label"
        )
    return TaggedSentences(path, tokens, tags, lines, word_lines)


def _check_width(path: Path, line_number: int, width: int, number: int | None) -> int:
    if width < 2:
        raise TaggedFileError(
            f"{path}:{line_number}: 1 column; expected at least 2 (the word, then its label)"
        )
    if number is not None and width < number:
        raise TaggedFileError(
            f"{path}:{line_number}: {width} columns, but `label_column` is {number}; expected "
            f"at least {number} columns"
        )
    return width


def _end_sentence(path: Path, sentence, tokens: list, tags: list, lines: list, word_lines: list):
    """Check the (line number, word, tag) rows of one sentence and add it to the lists."""
    if sentence:
        numbers, words, labels = (list(column) for column in zip(*sentence, strict=True))
        _check_lines(path, numbers, words, labels)
        tokens.append(words)
        tags.append(labels)
        lines.append(numbers[0])
        word_lines.append(numbers)


# JSONL


def _read_jsonl(path: Path, label_column: str | None) -> TaggedSentences:
    if label_column is not None:
        raise ValueError(
            "`label_column` must be None for a JSONL file (its labels are each row's 'tags'), "
            f"got {label_column!r}."
        )
    tokens, tags, lines = [], [], []
    for number, line in enumerate(split_lines(_read_text(path)), start=1):
        if not line.strip():
            continue
        row = parse_json_line(path, number, line, TaggedFileError)
        if not isinstance(row, dict) or not {"tokens", "tags"} <= row.keys():
            raise TaggedFileError(
                f"{path}:{number}: not an object with 'tokens' and 'tags'; expected "
                '{"tokens": [...], "tags": [...]}'
            )
        pair = []
        for key in ("tokens", "tags"):
            value = row[key]
            if not isinstance(value, list) or not all(is_token(t) for t in value):
                raise TaggedFileError(
                    f"{path}:{number}: '{key}' is not a list of strings; expected a list of "
                    "strings (or integers)"
                )
            pair.append([str(t) for t in value])
        _check_tokens(path, number, *pair)
        tokens.append(pair[0])
        tags.append(pair[1])
        lines.append(number)
    if not tokens:
        raise TaggedFileError(f"{path}: no sentences; expected JSON lines with 'tokens' and 'tags'")
    return TaggedSentences(path, tokens, tags, lines)


# shared


def _read_text(path: Path) -> str:
    try:
        return read_text_file(path)
    except InputFileError as exc:
        raise TaggedFileError(str(exc)) from None


def _check_lines(path, numbers: list[int], tokens: list[str], tags: list[str]) -> None:
    """Refuse a sentence of a one-token-a-line file, naming the line of the first bad token."""
    if token_problem(tokens, "space", "sentence") or token_problem(tags, "space", "tag"):
        for number, token, tag in zip(numbers, tokens, tags, strict=True):
            _check_tokens(path, number, [token], [tag])


def _check_tokens(path, number: int, tokens: list[str], tags: list[str]) -> None:
    """Refuse a sentence (or one line of it) that ``predict`` could not read back."""
    if not tokens:
        raise TaggedFileError(f"{path}:{number}: empty sentence; expected at least one token")
    if len(tokens) != len(tags):
        raise TaggedFileError(
            f"{path}:{number}: {len(tokens)} tokens but {len(tags)} tags; expected one tag "
            "per token"
        )
    problem = token_problem(tokens, "space", "sentence") or token_problem(tags, "space", "tag")
    if problem is not None:
        raise TaggedFileError(f"{path}:{number}: {problem}; expected {_TOKEN_RULE}")


_READERS = {".conllu": _read_conllu, ".jsonl": _read_jsonl}
