import pytest
import torch

from rnnlab.layers import LSTM, Bidirectional
from rnnlab.models import MODELS, TUTORIAL_MODELS, EncoderDecoder, Tagger, build_model, summarize


@pytest.mark.parametrize(
    "name, params", [("lstm", 16_961), ("bilstm", 33_921), ("seq2seq", 49_985)]
)
def test_tutorial_parameter_counts(name, params):
    model = build_model(name, time_steps=5)
    assert sum(p.numel() for p in model.parameters()) == params


def test_tutorial_architectures():
    tagger = build_model("lstm", time_steps=5)
    assert isinstance(tagger.recurrent, LSTM) and tagger.recurrent.cell.activation_name == "relu"
    bi = build_model("bilstm", time_steps=5)
    assert isinstance(bi.recurrent, Bidirectional) and bi.recurrent.merge_mode == "concat"
    seq = build_model("seq2seq", time_steps=5)
    assert seq.encoder.cell.activation_name == "tanh" and seq.encoder.return_state
    assert seq.decoder.return_sequences and seq.repeat.n == 5


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_maps_inputs_to_target_shape(name):
    model = build_model(name, time_steps=6)
    assert model(torch.randn(3, 6, 1)).shape == (3, 6, 1)


def test_encoder_decoder_decodes_from_the_encoder_state():
    model = EncoderDecoder(units=8, output_steps=4)
    x = torch.randn(2, 5, 1)
    context, state = model.encode(x)
    assert context.shape == (2, 8) and [s.shape for s in state] == [(2, 8), (2, 8)]
    torch.testing.assert_close(model.decode(context, state), model(x))
    other = model.decode(context, [torch.zeros(2, 8), torch.zeros(2, 8)])
    assert not torch.allclose(other, model(x))


def test_tagger_output_at_t_ignores_later_inputs():
    model = Tagger(units=8)
    x = torch.randn(1, 5, 1)
    y = x.clone()
    y[0, 3:] += 1.0
    torch.testing.assert_close(model(x)[:, :3], model(y)[:, :3])


def test_summary_rows_match_keras():
    rows = summarize(build_model("seq2seq", time_steps=5), (5, 1)).rows
    assert [(r.name, r.output_shape, r.params) for r in rows] == [
        ("lstm (LSTM)", "[(None, 64), (None, 64), (None, 64)]", 16_896),
        ("repeat_vector (RepeatVector)", "(None, 5, 64)", 0),
        ("lstm_1 (LSTM)", "(None, 5, 64)", 33_024),
        ("time_distributed (TimeDistributed)", "(None, 5, 1)", 65),
    ]
    bi = summarize(build_model("bilstm", time_steps=5), (5, 1))
    assert [(r.name, r.output_shape, r.params) for r in bi.rows] == [
        ("bidirectional (Bidirectional)", "(None, 5, 128)", 33_792),
        ("time_distributed (TimeDistributed)", "(None, 5, 1)", 129),
    ]


def test_summary_text():
    text = str(summarize(build_model("lstm", time_steps=5), (5, 1), title="lstm"))
    assert 'Model: "lstm"' in text
    assert "Total params: 16,961 (66.25 KB)" in text
    assert "Trainable params: 16,961 (66.25 KB)" in text
    assert "lstm (LSTM)" in text and "(None, 5, 64)" in text and "16,896" in text


def test_frozen_parameters_are_not_trainable():
    model = build_model("lstm", time_steps=5)
    model.head.requires_grad_(False)
    s = summarize(model, (5, 1))
    assert (s.total_params, s.trainable_params, s.non_trainable_params) == (16_961, 16_896, 65)


def test_unknown_model():
    with pytest.raises(ValueError, match=r"Unknown model 'transformer'; expected one of \['lstm'"):
        build_model("transformer", time_steps=5)
    with pytest.raises(ValueError, match=r"`cell` must be one of \['gru', 'lstm', 'rnn'\]"):
        Tagger(cell="lstmx")


def test_tutorial_models_listed_first():
    assert list(MODELS)[:3] == list(TUTORIAL_MODELS)
