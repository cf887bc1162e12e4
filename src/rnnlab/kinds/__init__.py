"""Task kinds: one module each (its data, model, objective, measures and output format), and
the one table that ``train``, ``predict``, ``evaluate`` and ``load`` dispatch through.

Adding a kind is one new module with a ``Kind`` subclass and one line in ``KINDS``.
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.kinds.base import FORMAT, Kind, Run, load, train
from rnnlab.kinds.classify import ClassifyKind
from rnnlab.kinds.forecast import ForecastKind
from rnnlab.kinds.keras import KerasKind
from rnnlab.kinds.lm import LMKind
from rnnlab.kinds.seq2seq import Seq2SeqKind
from rnnlab.kinds.tag import TagKind

KINDS: dict[str, Kind] = {
    "seq2seq": Seq2SeqKind(),
    "tag": TagKind(),
    "classify": ClassifyKind(),
    "forecast": ForecastKind(),
    "lm": LMKind(),
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


def config_class(saved: dict) -> type:
    """The config dataclass of a saved run (``config.json`` or ``resume.json``)."""
    name = saved.get("kind", "seq2seq")  # format 1: seq2seq, before kinds existed
    if name not in KINDS:
        raise ValueError(f"unknown kind {name!r}; expected one of {', '.join(KINDS)}")
    return KINDS[name].config


def guess_kind(path: str | Path | None) -> str:
    """The kind a data file's extension implies (``.conllu``: tag, ``.ts``: classify,
    ``.csv``: forecast); anything else is a pair file (seq2seq), as before kinds existed."""
    if path is None:
        return "seq2seq"
    return EXTENSION_KINDS.get(Path(path).suffix.lower(), "seq2seq")


__all__ = [
    "FORMAT",
    "KINDS",
    "Kind",
    "Run",
    "config_class",
    "guess_kind",
    "kind_of",
    "load",
    "train",
    "trainable_kinds",
]
