"""The table of task kinds that ``train``, ``predict``, ``evaluate``, ``export`` and ``load``
dispatch through, and what a data file's extension says of its kind.

Adding a kind is one module (or package) under ``rnnlab.kinds`` and one line in ``KINDS``.
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.kinds.base import Kind
from rnnlab.kinds.classify import ClassifyKind
from rnnlab.kinds.forecast import ForecastKind
from rnnlab.kinds.keras import KerasKind
from rnnlab.kinds.lm import LMKind
from rnnlab.kinds.seq2seq import Seq2SeqKind
from rnnlab.kinds.tag import TagKind
from rnnlab.kinds.transcribe import TranscribeKind

KINDS: dict[str, Kind] = {
    "seq2seq": Seq2SeqKind(),
    "tag": TagKind(),
    "classify": ClassifyKind(),
    "forecast": ForecastKind(),
    "lm": LMKind(),
    "transcribe": TranscribeKind(),
    "keras": KerasKind(),  # imported (rnnlab import-keras), not trained
}

# what a data file's extension says of its kind, where it says anything
EXTENSION_KINDS = {
    ".conllu": "tag",
    ".ts": "classify",
    ".csv": "forecast",
}  # .txt stays a pair file, as before


def trainable_kinds() -> dict[str, Kind]:
    """The kinds ``rnnlab train`` trains."""
    return {name: kind for name, kind in KINDS.items() if kind.trainable}


def kind_of(config) -> Kind:
    """The kind whose config ``config`` is."""
    for kind in KINDS.values():
        if isinstance(config, kind.config):
            return kind
    raise TypeError(f"not the config of a task kind: {type(config).__name__}")


def kind_named(saved: dict) -> Kind:
    """The kind of a saved run (``config.json`` or ``resume.json``); a run folder written
    before kinds existed (format 1) is a seq2seq run."""
    name = saved.get("kind", "seq2seq")
    if name not in KINDS:
        raise ValueError(f"unknown kind {name!r}; expected one of {', '.join(KINDS)}")
    return KINDS[name]


def guess_kind(path: str | Path | None) -> str:
    """The kind a data file's extension implies (``.conllu``: tag, ``.ts``: classify,
    ``.csv``: forecast); anything else is a pair file (seq2seq), as before kinds existed."""
    if path is None:
        return "seq2seq"
    return EXTENSION_KINDS.get(Path(path).suffix.lower(), "seq2seq")


def task_kind(task: str) -> str | None:
    """The trainable kind one of whose built-in tasks is ``task``."""
    for name, kind in trainable_kinds().items():
        declared = kind.config.__dataclass_fields__.get("task")
        if declared is not None and task in (declared.metadata["choices"] or ()):
            return name
    return None
