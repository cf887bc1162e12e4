"""Recurrent layers with Keras's definitions, as ``torch.nn.Module``s (``batch_first``)."""

from rnnlab.layers.activations import ACTIVATIONS
from rnnlab.layers.bidirectional import MERGE_MODES, Bidirectional
from rnnlab.layers.cells import GRUCell, LSTMCell, RecurrentCell, SimpleRNNCell
from rnnlab.layers.core import Dense, RepeatVector, TimeDistributed
from rnnlab.layers.recurrent import GRU, LSTM, RECURRENT_LAYERS, RNN, SimpleRNN, recurrent_layer

__all__ = [
    "ACTIVATIONS",
    "GRU",
    "LSTM",
    "MERGE_MODES",
    "RECURRENT_LAYERS",
    "RNN",
    "Bidirectional",
    "Dense",
    "GRUCell",
    "LSTMCell",
    "RecurrentCell",
    "RepeatVector",
    "SimpleRNN",
    "SimpleRNNCell",
    "TimeDistributed",
    "recurrent_layer",
]
