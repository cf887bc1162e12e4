"""Named model builders: the one place that lists the models ``compare`` can run.

Each builder takes the data's shape (``time_steps``, ``input_size``, ``output_size``) and
returns a fresh model. The first three names are the tutorial's models.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from rnnlab.models.encoder_decoder import EncoderDecoder
from rnnlab.models.tagger import Tagger

Builder = Callable[..., nn.Module]


def _tagger(cell: str, bidirectional: bool) -> Builder:
    def build(*, time_steps: int, input_size=1, output_size=1, units=64, vocab_size=None):
        return Tagger(
            input_size=input_size,
            units=units,
            output_size=output_size,
            cell=cell,
            bidirectional=bidirectional,
            vocab_size=vocab_size,
        )

    return build


def _encoder_decoder(cell: str) -> Builder:
    def build(*, time_steps: int, input_size=1, output_size=1, units=64, vocab_size=None):
        return EncoderDecoder(
            input_size=input_size,
            units=units,
            output_size=output_size,
            output_steps=time_steps,
            cell=cell,
            vocab_size=vocab_size,
        )

    return build


MODELS: dict[str, Builder] = {
    "lstm": _tagger("lstm", bidirectional=False),  # seed model 1
    "bilstm": _tagger("lstm", bidirectional=True),  # seed model 2
    "seq2seq": _encoder_decoder("lstm"),  # seed model 3
    "gru": _tagger("gru", bidirectional=False),
    "bigru": _tagger("gru", bidirectional=True),
    "rnn": _tagger("rnn", bidirectional=False),
    "birnn": _tagger("rnn", bidirectional=True),
    "gru_seq2seq": _encoder_decoder("gru"),
}

TUTORIAL_MODELS = ("lstm", "bilstm", "seq2seq")


def build_model(name: str, **shape) -> nn.Module:
    """A fresh model by name; ``shape`` holds ``time_steps`` and optionally feature sizes."""
    try:
        builder = MODELS[name]
    except KeyError:
        raise ValueError(f"Unknown model {name!r}; expected one of {list(MODELS)}.") from None
    return builder(**shape)
