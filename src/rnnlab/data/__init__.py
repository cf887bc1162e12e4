"""Data: task generators, padding, splits and data sets (knows nothing of models)."""

from rnnlab.data.dataset import SequenceDataset
from rnnlab.data.files import atomic_write_bytes, atomic_write_text
from rnnlab.data.padding import pad_sequences
from rnnlab.data.split import train_test_split
from rnnlab.data.tasks import TASKS, make_pairs, reverse_pairs

__all__ = [
    "TASKS",
    "SequenceDataset",
    "atomic_write_bytes",
    "atomic_write_text",
    "make_pairs",
    "pad_sequences",
    "reverse_pairs",
    "train_test_split",
]
