"""Models: the tutorial's tagger and encoder-decoder, named builders, summaries."""

from rnnlab.models.encoder_decoder import EncoderDecoder
from rnnlab.models.registry import MODELS, TUTORIAL_MODELS, build_model
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig, Seq2SeqModelConfig
from rnnlab.models.summary import LayerRow, ModelSummary, summarize
from rnnlab.models.tagger import Tagger

__all__ = [
    "MODELS",
    "TUTORIAL_MODELS",
    "EncoderDecoder",
    "LayerRow",
    "ModelSummary",
    "Seq2Seq",
    "Seq2SeqConfig",
    "Seq2SeqModelConfig",
    "Tagger",
    "build_model",
    "summarize",
]
