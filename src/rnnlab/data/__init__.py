"""Data: task generators, padding, splits and data sets (knows nothing of models)."""

from rnnlab.data.dataset import SequenceDataset
from rnnlab.data.files import atomic_write_bytes, atomic_write_text
from rnnlab.data.padding import pad_sequences
from rnnlab.data.pairs import PairFile, PairFileError, format_pairs, read_pairs
from rnnlab.data.split import train_test_split
from rnnlab.data.tasks import TASKS, make_pairs, reverse_pairs
from rnnlab.data.token_dataset import TokenPairs
from rnnlab.data.vocab import UnknownTokenError, Vocabulary

__all__ = [
    "TASKS",
    "PairFile",
    "PairFileError",
    "SequenceDataset",
    "TokenPairs",
    "UnknownTokenError",
    "Vocabulary",
    "atomic_write_bytes",
    "atomic_write_text",
    "format_pairs",
    "make_pairs",
    "pad_sequences",
    "read_pairs",
    "reverse_pairs",
    "train_test_split",
]
