"""``train``'s former home: the seq2seq kind now lives in ``rnnlab.kinds.seq2seq`` and training
into a run folder, for every kind, in ``rnnlab.kinds.base``. These names stay importable."""

from rnnlab.kinds.base import CHANGEABLE_ON_RESUME, RESUME, prepare_run_folder, train
from rnnlab.kinds.base import load as load_run
from rnnlab.kinds.seq2seq import (
    TASK_DEFAULTS,
    TrainConfig,
    TrainedRun,
    attention_png,
    file_defaults,
    learning_curves_png,
    load_corpus,
)

__all__ = [
    "CHANGEABLE_ON_RESUME",
    "RESUME",
    "TASK_DEFAULTS",
    "TrainConfig",
    "TrainedRun",
    "attention_png",
    "file_defaults",
    "learning_curves_png",
    "load_corpus",
    "load_run",
    "prepare_run_folder",
    "train",
]
