"""Labelled sequences for ``classify``: a sequence (tokens, or a feature vector per step) and
one label, read from TSV, JSONL or sktime/aeon ``.ts`` files; and the per-feature scaler that
standardises feature vectors with statistics of the training set alone.

Formats, by extension:

- ``.tsv``, ``.txt`` and any other: ``tokens<TAB>label`` a line, tokens separated by single
  spaces (``the film was fine<TAB>pos``). Without labels, a line is the tokens alone.
- ``.jsonl``: ``{"sequence": [...], "label": ...}`` a line. ``sequence`` is a list of tokens
  (strings or integers) or a list of feature vectors (lists of F >= 1 finite numbers, the same
  F throughout the file); ``label`` a string or an integer (kept as its decimal text).
- ``.ts``: the sktime/aeon time-series classification format. A header (``@problemName``,
  ``@timeStamps false``, ``@missing``, ``@univariate``, ``@dimensions``, ``@equalLength``,
  ``@seriesLength``, ``@classLabel true L1 L2 ...`` or ``@classLabel false``, ``@targetLabel
  false``; keywords in any case), ``@data``, then one case a line: the dimensions separated
  by ``:``, the values of one dimension by ``,``, and the class label last::

      @univariate false
      @dimensions 2
      @classLabel true up down
      @data
      1.0,2.0,3.0:0.5,0.5,0.5:up

  is one case of T = 3 steps and D = 2 dimensions, read as the (T, D) array
  ``[[1.0, 0.5], [2.0, 0.5], [3.0, 0.5]]`` (time first, as every rnnlab sequence). Lines
  starting with ``#`` or ``%`` are comments. Missing values (``?``, ``NaN``) and time stamps
  are refused: rnnlab does not fill in gaps.

``labels`` says what to do with labels: ``"required"`` (training, evaluation: every example
has one), ``"optional"`` (a file with labels on every line or on none; ``labels`` is None for
the latter), ``"ignore"`` (prediction input: labels, where present, are passed over unread).
A file that labels some examples and not others is refused in every mode.

Every error is a ``LabelledFileError`` of one line, ``FILE:LINE: what is wrong; expected ...``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnlab.data.files import InputFileError, read_text_file, split_lines
from rnnlab.data.pairs import (
    PairFileError,
    is_token,
    parse_json_line,
    split_tokens,
    token_problem,
)

LABEL_MODES = ("required", "optional", "ignore")
FORMS = ("tokens", "vectors")
# a decimal number in ASCII (``float`` also takes "nan", "1_000", "١" and other digits)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = {"nan": "NaN", "+nan": "NaN", "-nan": "NaN", "inf": "infinite"}
_LABEL_UNSAFE = re.compile("[\t\n\r\ufeff]")
_FORM_WORDS = {"tokens": "tokens", "vectors": "feature vectors"}


class LabelledFileError(InputFileError):
    """A malformed file of labelled sequences; the message names the file and the line."""


@dataclass(frozen=True)
class LabelledSequences:
    """The examples of one file, with the line each came from (for error messages).

    ``sequences`` holds token lists (``form == "tokens"``) or float32 arrays of shape (T_i, F)
    (``form == "vectors"``); ``labels`` one string per sequence, or None for a file without
    labels (or read with ``labels="ignore"``).
    """

    path: Path
    sequences: list
    labels: list[str] | None
    lines: list[int]
    form: str

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def features(self) -> int | None:
        """F, the length of each step's feature vector; None for tokens."""
        return self.sequences[0].shape[1] if self.form == "vectors" else None


def read_labelled(path, *, labels: str = "required") -> LabelledSequences:
    """Read the labelled sequences of ``path``; its extension says the format (see the module).

    Raises ``FileNotFoundError`` (no such file), ``ValueError`` (a bad ``labels``) or
    ``LabelledFileError`` (anything wrong in the file, naming the line).
    """
    if labels not in LABEL_MODES:
        raise ValueError(f"`labels` must be one of {LABEL_MODES}, got {labels!r}.")
    path = Path(path)
    try:
        text = read_text_file(path)
    except InputFileError as exc:
        raise LabelledFileError(str(exc)) from None
    reader = _READERS.get(path.suffix.lower(), _read_tsv)
    return reader(path, split_lines(text), labels)


def _fail(path: Path, number: int, what: str, expected: str) -> LabelledFileError:
    return LabelledFileError(f"{path}:{number}: {what}; expected {expected}")


@dataclass
class _Examples:
    """Examples as they are read, with the checks that span lines: labels on every line or
    on none, one form of sequence, one number of features."""

    path: Path
    mode: str
    missing_label: tuple[str, str]  # (what, expected) when a label is required and absent
    sequences: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    forms: list = field(default_factory=list)

    def add(self, number: int, sequence, label: str | None) -> None:
        if label is None and self.mode == "required":
            raise _fail(self.path, number, *self.missing_label)
        if self.lines and (label is None) != (self.labels[0] is None):
            has, lacks = ("no label", "has one") if label is None else ("a label", "has none")
            raise _fail(
                self.path,
                number,
                f"{has}, but line {self.lines[0]} {lacks}",
                "labels on every line or on none",
            )
        if label is not None and self.mode != "ignore":
            problem = label_problem(label)
            if problem is not None:
                raise _fail(self.path, number, problem, "a label of visible text")
        self._check_form(number, sequence)
        self.sequences.append(sequence)
        self.labels.append(label)
        self.lines.append(number)

    def _check_form(self, number: int, sequence) -> None:
        form = "tokens" if isinstance(sequence, list) else "vectors"
        if self.sequences and form != self.forms[0]:
            first = _FORM_WORDS[self.forms[0]]
            raise _fail(
                self.path,
                number,
                f"{_FORM_WORDS[form]}, but line {self.lines[0]} has {first}",
                "one form of sequence in a file",
            )
        if form == "vectors" and self.sequences:
            features, first = sequence.shape[1], self.sequences[0].shape[1]
            if features != first:
                raise _fail(
                    self.path,
                    number,
                    f"{features} features a step, but line {self.lines[0]} has {first}",
                    "the same number of features on every step of the file",
                )
        self.forms.append(form)

    def result(self, expected: str) -> LabelledSequences:
        if not self.sequences:
            raise LabelledFileError(f"{self.path}: no sequences; expected {expected}")
        unlabelled = self.mode == "ignore" or self.labels[0] is None
        labels = None if unlabelled else list(self.labels)
        return LabelledSequences(self.path, self.sequences, labels, self.lines, self.forms[0])


def label_problem(label: str) -> str | None:
    """What makes ``label`` unusable (``predict`` writes one label a line), or None."""
    if label == "":
        return "empty label"
    if _LABEL_UNSAFE.search(label):
        return f"the label {label!r} holds a tab, line break or U+FEFF"
    if label.strip() != label:
        return f"the label {label!r} starts or ends with white space"
    return None


# ---- TSV: tokens<TAB>label


def _read_tsv(path: Path, lines: list[str], labels: str) -> LabelledSequences:
    examples = _Examples(path, labels, ("no tab", "'tokens<TAB>label'"))
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        text, tab, label = line.partition("\t")
        if "\t" in label:
            raise _fail(path, number, "more than one tab", "'tokens<TAB>label'")
        tokens = split_tokens(text, "space")
        problem = token_problem(tokens, "space", "sequence")
        if problem is not None:
            raise _fail(path, number, problem, "tokens separated by single spaces")
        examples.add(number, tokens, label if tab else None)
    return examples.result("lines 'tokens<TAB>label'")


# ---- JSONL: {"sequence": [...], "label": ...}


def _read_jsonl(path: Path, lines: list[str], labels: str) -> LabelledSequences:
    examples = _Examples(path, labels, ("no 'label'", '{"sequence": [...], "label": ...}'))
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row = _json_row(path, number, line)
        sequence = _json_sequence(path, number, row["sequence"])
        label = row.get("label")
        if label is not None:
            label = "" if labels == "ignore" else _json_label(path, number, label)
        examples.add(number, sequence, label)
    return examples.result('JSON lines {"sequence": [...], "label": ...}')


def _json_row(path: Path, number: int, line: str) -> dict:
    try:
        row = parse_json_line(path, number, line)
    except PairFileError as exc:
        raise LabelledFileError(f"{exc}; expected one JSON object a line") from None
    if not isinstance(row, dict) or "sequence" not in row:
        raise _fail(
            path,
            number,
            f"{json_kind(row)} without 'sequence'",
            'an object {"sequence": [...], "label": ...}',
        )
    return row


def _json_sequence(path: Path, number: int, value) -> list[str] | np.ndarray:
    expected = "a list of tokens or a list of feature vectors"
    if not isinstance(value, list):
        raise _fail(path, number, f"'sequence' is {json_kind(value)}", expected)
    if not value:
        raise _fail(path, number, "empty sequence", expected)
    if isinstance(value[0], list):
        return json_vectors(path, number, value)
    for step, token in enumerate(value, start=1):
        if not is_token(token):
            raise _fail(
                path,
                number,
                f"step {step} of a token sequence is {json_kind(token)}",
                "tokens (strings or integers) on every step",
            )
    tokens = [str(token) for token in value]
    problem = token_problem(tokens, "space", "sequence")
    if problem is not None:
        raise _fail(path, number, problem, "tokens without spaces, tabs or line breaks")
    return tokens


def json_vectors(path: Path, number: int, value: list) -> np.ndarray:
    """Steps of feature vectors as a (T, F) float32 array, every value finite."""
    features = len(value[0])
    for step, vector in enumerate(value, start=1):
        if not isinstance(vector, list) or not vector:
            what = "an empty list" if vector == [] else json_kind(vector)
            raise _fail(
                path,
                number,
                f"step {step} of a vector sequence is {what}",
                "a list of numbers on every step",
            )
        if len(vector) != features:
            raise _fail(
                path,
                number,
                f"step {step} has {len(vector)} features, step 1 has {features}",
                "the same number of features on every step",
            )
        for feature, x in enumerate(vector, start=1):
            if not _is_number(x):
                raise _fail(
                    path,
                    number,
                    f"step {step}, feature {feature} is {json_kind(x)}",
                    "numbers",
                )
    try:
        array = np.array(value, dtype=np.float64)  # (T, F)
    except OverflowError:  # an integer beyond float64
        step, feature = _first(value, lambda x: abs(x) > 1e308)
        raise _fail(
            path, number, f"step {step}, feature {feature} is too large", "finite numbers"
        ) from None
    return _finite_float32(array, path, number, lambda s, f: f"step {s}, feature {f}")


def _first(value: list, bad: Callable) -> tuple[int, int]:
    """The first (step, feature), from 1, of nested lists whose value is ``bad``."""
    return next(
        (s, f)
        for s, vector in enumerate(value, start=1)
        for f, x in enumerate(vector, start=1)
        if bad(x)
    )


def _finite_float32(array: np.ndarray, path: Path, number: int, where: Callable) -> np.ndarray:
    """``array`` (T, F) as float32, refusing the first value that is NaN, infinite or beyond
    float32; ``where(step, feature)`` (counted from 1) names its place in the message."""
    with np.errstate(over="ignore"):  # values beyond float32 become inf, refused below
        array32 = array.astype(np.float32)
    bad = ~np.isfinite(array32)
    if bad.any():
        step, feature = (int(i) for i in np.argwhere(bad)[0])
        x = array[step, feature]
        what = "NaN" if math.isnan(x) else "infinite" if math.isinf(x) else "too large for float32"
        raise _fail(path, number, f"{where(step + 1, feature + 1)} is {what}", "finite numbers")
    return array32


def _json_label(path: Path, number: int, value) -> str:
    if not is_token(value):
        raise _fail(path, number, f"'label' is {json_kind(value)}", "a string or an integer")
    return str(value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_kind(value) -> str:
    """What a JSON value is, in words, for messages."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}" if len(repr(value)) <= 20 else "a number"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 20 else "a string"
    kinds = {type(None): "null", list: "a list", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


# ---- .ts: the sktime/aeon time-series classification format


@dataclass
class _TsHeader:
    """The header of a ``.ts`` file: each keyword's value and the line it was on."""

    values: dict = field(default_factory=dict)
    lines: dict = field(default_factory=dict)

    def get(self, keyword: str, default=None):
        return self.values.get(keyword, default)

    def where(self, keyword: str) -> str:
        return f"{_TS_NAMES[keyword]}, line {self.lines[keyword]}"


def _ts_boolean(values: list[str]) -> bool | None:
    if len(values) == 1 and values[0].lower() in ("true", "false"):
        return values[0].lower() == "true"
    return None


def _ts_count(values: list[str]) -> int | None:
    if len(values) == 1 and re.fullmatch("[0-9]+", values[0]) and int(values[0]) > 0:
        return int(values[0])
    return None


def _ts_name(values: list[str]) -> str | None:
    return " ".join(values) if values else None


def _ts_class_label(values: list[str]) -> tuple[bool, list[str]] | None:
    flag = _ts_boolean(values[:1])
    if flag is None or flag != (len(values) > 1):
        return None
    return flag, values[1:]


# keyword (lower case): (its spelling in messages, the parser, what its value must be)
_TS_KEYWORDS = {
    "problemname": ("@problemName", _ts_name, "a name"),
    "timestamps": ("@timeStamps", _ts_boolean, "true or false"),
    "missing": ("@missing", _ts_boolean, "true or false"),
    "univariate": ("@univariate", _ts_boolean, "true or false"),
    "dimensions": ("@dimensions", _ts_count, "a whole number >= 1"),
    "equallength": ("@equalLength", _ts_boolean, "true or false"),
    "serieslength": ("@seriesLength", _ts_count, "a whole number >= 1"),
    "classlabel": ("@classLabel", _ts_class_label, "'true L1 L2 ...' or 'false'"),
    "targetlabel": ("@targetLabel", _ts_boolean, "true or false"),
}
_TS_NAMES = {keyword: name for keyword, (name, _, _) in _TS_KEYWORDS.items()}


def _ts_comment(line: str) -> bool:
    return not line or line.startswith(("#", "%"))


def _read_ts(path: Path, lines: list[str], labels: str) -> LabelledSequences:
    header, start = _ts_header(path, lines)
    labelled = header.get("classlabel")[0]
    if not labelled and labels == "required":
        raise _fail(
            path,
            header.lines["classlabel"],
            "@classLabel false: the cases have no labels",
            "'@classLabel true L1 L2 ...' (or labels='optional' to read cases without labels)",
        )
    examples = _Examples(path, labels, ("", ""))
    for number, line in enumerate(lines[start:], start=start + 1):
        line = line.strip()
        if _ts_comment(line):
            continue
        if line.startswith("@"):
            raise _fail(path, number, f"a header line after @data: {line[:40]!r}", "cases")
        case, label = _ts_case(path, number, line, labelled)
        _check_ts_case(path, number, case, label, header, examples)
        examples.add(number, case, label)
    return examples.result(f"one case a line after @data (line {start})")


def _ts_header(path: Path, lines: list[str]) -> tuple[_TsHeader, int]:
    """The header, and the index of the line after ``@data``."""
    header = _TsHeader()
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if _ts_comment(line):
            continue
        keyword, *values = line.split()
        if keyword.lower() == "@data":
            if values:
                raise _fail(path, number, f"{line[:40]!r}", "'@data' alone on its line")
            _check_ts_header(path, number, header)
            return header, number
        _ts_header_line(path, number, keyword, values, header)
    raise LabelledFileError(f"{path}: no @data line; expected a header that ends with '@data'")


def _ts_header_line(path: Path, number: int, keyword: str, values: list, header) -> None:
    key = keyword[1:].lower() if keyword.startswith("@") else None
    if key not in _TS_KEYWORDS:
        what = f"unknown keyword {keyword!r}" if key is not None else f"{keyword[:40]!r}"
        known = ", ".join(_TS_NAMES.values())
        raise _fail(path, number, what, f"a header line (one of {known}), a comment or '@data'")
    name, parse, allowed = _TS_KEYWORDS[key]
    if key in header.values and key != "problemname":
        first = f"each keyword once ({name} is on line {header.lines[key]})"
        raise _fail(path, number, f"{name} again", first)
    value = parse(values)
    if value is None:
        what = f"{name} {' '.join(values)}" if values else f"{name} without a value"
        raise _fail(path, number, what, f"{name} {allowed}")
    header.values[key], header.lines[key] = value, number


def _check_ts_header(path: Path, data_line: int, header: _TsHeader) -> None:
    """What the keywords say together; ``data_line`` is the line of ``@data``."""
    if header.get("timestamps"):
        raise _fail(
            path,
            header.lines["timestamps"],
            "@timeStamps true: time stamps are not supported",
            "'@timeStamps false' and the values alone",
        )
    if header.get("targetlabel"):
        raise _fail(
            path,
            header.lines["targetlabel"],
            "@targetLabel true: a regression file",
            "a classification file, with '@classLabel true L1 L2 ...'",
        )
    if "classlabel" not in header.values:
        raise _fail(
            path,
            data_line,
            "no @classLabel before @data",
            "'@classLabel true L1 L2 ...' or '@classLabel false' in the header",
        )
    if header.get("univariate") and header.get("dimensions", 1) != 1:
        raise _fail(
            path,
            header.lines["dimensions"],
            f"@dimensions {header.get('dimensions')} but @univariate true "
            f"(line {header.lines['univariate']})",
            "@dimensions 1, or @univariate false",
        )


def _ts_case(path: Path, number: int, line: str, labelled: bool) -> tuple[np.ndarray, str | None]:
    """One case: its (T, D) float32 array and its label (None without labels)."""
    fields = line.split(":")
    label = None
    if labelled:
        if len(fields) < 2 or not fields[-1].strip():
            raise _fail(path, number, "no class label", "the values, then ':' and the label")
        label = fields.pop().strip()
    columns = [_ts_values(path, number, d, text) for d, text in enumerate(fields, start=1)]
    for d, column in enumerate(columns, start=1):
        if len(column) != len(columns[0]):
            raise _fail(
                path,
                number,
                f"dimension {d} has {len(column)} values, dimension 1 has {len(columns[0])}",
                "every dimension of a case to have the same length",
            )
    array = np.array(columns, dtype=np.float64).T  # (T, D)
    return _finite_float32(array, path, number, lambda s, d: f"dimension {d}, step {s}"), label


def _ts_values(path: Path, number: int, dimension: int, text: str) -> list[float]:
    """The values of one dimension of a case (finite in float64; float32 is checked later)."""
    values = []
    for step, item in enumerate(text.split(","), start=1):
        item = item.strip()
        if _NUMBER.fullmatch(item) and not math.isinf(x := float(item)):
            values.append(x)
            continue
        where = f"dimension {dimension}, step {step}"
        raise _fail(path, number, *_ts_value_problem(item, where))
    return values


def _ts_value_problem(item: str, where: str) -> tuple[str, str]:
    """(what is wrong, what was expected) for a value of a case that is not a finite number."""
    if item == "?":
        return f"missing value '?' at {where}", "a number (rnnlab does not fill in gaps)"
    if item == "":
        return f"no value at {where}", "numbers separated by ','"
    if item.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return f"{item!r} at {where}", "finite numbers"
    if _NUMBER.fullmatch(item):
        return f"{item!r} at {where} is too large", "finite numbers"
    return f"{item[:20]!r} at {where} is not a number", "numbers separated by ','"


def _check_ts_case(path, number, case: np.ndarray, label, header: _TsHeader, examples) -> None:
    """The case against the header and the cases before it."""
    steps, dimensions = case.shape
    if "dimensions" in header.values or header.get("univariate"):
        declared = header.get("dimensions", 1)
        keyword = "dimensions" if "dimensions" in header.values else "univariate"
        if dimensions != declared:
            raise _fail(
                path, number, f"{dimensions} dimensions", f"{declared} ({header.where(keyword)})"
            )
    elif examples.sequences and dimensions != examples.sequences[0].shape[1]:
        first = examples.sequences[0].shape[1]
        raise _fail(
            path,
            number,
            f"{dimensions} dimensions, but line {examples.lines[0]} has {first}",
            "the same number of dimensions in every case",
        )
    if header.get("equallength"):
        if "serieslength" in header.values:
            declared = header.get("serieslength")
            expected = f"{declared} ({header.where('serieslength')})"
        elif examples.sequences:
            declared = len(examples.sequences[0])
            expected = (
                f"{declared}, as on line {examples.lines[0]} "
                f"(@equalLength true, line {header.lines['equallength']})"
            )
        else:
            declared = steps
        if steps != declared:
            raise _fail(path, number, f"length {steps}", expected)
    values = header.get("classlabel")[1]
    if label is not None and examples.mode != "ignore" and label not in values:
        raise _fail(
            path,
            number,
            f"class label {label[:40]!r} is not declared",
            f"one of {' '.join(values)} ({header.where('classlabel')})",
        )


_READERS = {".jsonl": _read_jsonl, ".ts": _read_ts}
