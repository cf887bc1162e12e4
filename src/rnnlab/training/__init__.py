"""Training: fit / evaluate / predict, metrics, optimisers, losses, callbacks."""

from rnnlab.training.callbacks import Callback
from rnnlab.training.history import History
from rnnlab.training.losses import LOSSES
from rnnlab.training.metrics import round_to_tokens, sequence_accuracy, token_sequence_metrics
from rnnlab.training.objectives import SequenceGeneration, TokenTagging, ValueRegression
from rnnlab.training.optimizers import OPTIMIZERS, Adam
from rnnlab.training.trainer import Trainer

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "Adam",
    "Callback",
    "History",
    "SequenceGeneration",
    "TokenTagging",
    "Trainer",
    "ValueRegression",
    "round_to_tokens",
    "sequence_accuracy",
    "token_sequence_metrics",
]
