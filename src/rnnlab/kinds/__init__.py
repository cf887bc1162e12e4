"""Task kinds: one module (or package) each, with its data, model, objective, measures and
output format, following the contract of ``rnnlab.kinds.base``; their table
(``rnnlab.kinds.registry``); training one into a run folder and loading it back
(``rnnlab.kinds.runs``).
"""

from __future__ import annotations

from rnnlab.kinds.base import Finished, Kind, Predictions, Prepared, Run
from rnnlab.kinds.registry import KINDS, guess_kind, kind_named, kind_of, trainable_kinds
from rnnlab.kinds.runs import FORMAT, load, train

__all__ = [
    "FORMAT",
    "KINDS",
    "Finished",
    "Kind",
    "Predictions",
    "Prepared",
    "Run",
    "guess_kind",
    "kind_named",
    "kind_of",
    "load",
    "train",
    "trainable_kinds",
]
