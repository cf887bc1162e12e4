"""Every tensor follows its model's device: the models, the layers' implementations, the
decoding loops and each kind's ``Run``.

Without a GPU, three checks stand in for one:

- on the "meta" device (shapes without data), each model's forward pass runs on meta inputs;
  a CPU tensor met on the way is an error there;
- a ``TorchFunctionMode`` records every tensor made by a factory (``torch.zeros``,
  ``torch.arange``, ...) without ``device=`` while a model runs, decodes or samples on the
  CPU: beside a model on a GPU such a tensor would be on the CPU. This reaches the decoding
  loops, which meta cannot (they read values);
- each kind's run, its model moved to meta, hands the model meta tensors only, and stops
  only where meta has no data to give (a value read, a copy to the CPU), never on a tensor
  of another device.

With CUDA, the GPU's outputs, predictions and generated text equal the CPU's, and the fused
kernels take their weights without cuDNN's "not part of single contiguous chunk of memory"
warning.
"""

from __future__ import annotations

import copy
import json
import traceback
import warnings

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

import rnnlab.kinds.forecast.calibration as forecast_calibration
import rnnlab.layers.implementations as implementations
from rnnlab.interop.keras import load_keras
from rnnlab.interop.keras import summary as keras_summary
from rnnlab.kinds.classify import ClassifyConfig
from rnnlab.kinds.forecast import ForecastConfig, ForecastKind
from rnnlab.kinds.keras import KerasConfig, KerasKind, input_specs
from rnnlab.kinds.lm import LMConfig
from rnnlab.kinds.runs import train
from rnnlab.kinds.seq2seq import Seq2SeqConfig
from rnnlab.kinds.tag import TagConfig
from rnnlab.layers import GRU, LSTM, Bidirectional, SimpleRNN, fused
from rnnlab.layers.crf import CRF
from rnnlab.models import EncoderDecoder, Seq2Seq, Seq2SeqModelConfig, Tagger
from rnnlab.models.decoding import next_tokens
from rnnlab.models.forecaster import ForecastEnsemble, ForecasterConfig
from rnnlab.models.language_model import LanguageModel, LanguageModelConfig
from rnnlab.models.sequence_classifier import SequenceClassifier, SequenceClassifierConfig
from rnnlab.models.sequence_tagger import SequenceTagger, SequenceTaggerConfig
from rnnlab.training.devices import Placement

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
KERAS = "tests/fixtures/keras"

# -- the models, each with inputs and the calls that read them ------------------------------


def _ids(rows: list[list[int]], width: int) -> torch.Tensor:
    return torch.tensor([r + [0] * (width - len(r)) for r in rows])  # post-padded


def _seq2seq(**kw):
    model = Seq2Seq(Seq2SeqModelConfig(9, 8, embedding_dim=6, units=5, **kw))
    inputs = (_ids([[4, 5, 6, 7, 8], [5, 6, 4]], 5), _ids([[1, 4, 5, 6], [1, 7]], 4))
    return model, inputs


def _tagger(**kw):
    config = dict(vocab_size=10, char_vocab_size=8, num_tags=7, embedding_dim=5, char_dim=3)
    model = SequenceTagger(SequenceTaggerConfig(**config, char_features=4, units=4, **kw))
    words = _ids([[5, 6, 7, 8], [9, 4]], 4)
    chars = torch.randint(1, 8, (2, 4, 3)).masked_fill((words == 0)[..., None], 0)
    chars[0, 1, 2] = 0  # a shorter word
    affixes = torch.randint(0, 5, (2, 4, 4))
    return model, (words, chars, words != 0, affixes)


def _classifier(**kw):
    tokens = "vocab_size" in kw
    model = SequenceClassifier(SequenceClassifierConfig(3, units=4, embedding_dim=5, **kw))
    mask = _ids([[1] * 5, [1] * 2], 5).bool()
    inputs = (
        _ids([[4, 5, 6, 7, 8], [5, 6]], 5) if tokens else torch.randn(2, 5, 3) * mask[..., None]
    )
    return model, (inputs, mask)


def _forecaster(**kw):
    covariates = kw.get("covariates", 0)
    config = dict(inputs=2 + covariates, horizon=3, outputs=3, units=5, highway=4, members=2)
    model = ForecastEnsemble(ForecasterConfig(**{**config, **kw}))
    future = torch.randn(2, 3, covariates) if covariates else None
    return model, (torch.randn(2, 6, 2 + covariates), future)


def _language_model(**kw):
    model = LanguageModel(LanguageModelConfig(11, embedding_dim=6, units=5, layers=2, **kw))
    return model, (torch.randint(0, 11, (2, 6)),)


def _layer(layer, bidirectional=False, masked=False):
    model = Bidirectional(layer) if bidirectional else layer
    mask = _ids([[1] * 6, [1] * 4], 6).bool() if masked else None
    return model, (torch.randn(2, 6, 3), mask)


MODELS = {
    "seq2seq": lambda: _seq2seq(),
    "seq2seq, gru, dot": lambda: _seq2seq(cell="gru", attention="dot", layers=2),
    "seq2seq, general, one way": lambda: _seq2seq(attention="general", bidirectional=False),
    "seq2seq, rnn, no attention": lambda: _seq2seq(cell="rnn", attention=None),
    "tagger, crf, cnn": lambda: _tagger(crf=True, suffix_vocab_size=5),
    "tagger, crf, char lstm": lambda: _tagger(crf=True, char_encoder="lstm", layers=2),
    "tagger, gru": lambda: _tagger(cell="gru", bidirectional=False),
    "classifier, tokens": lambda: _classifier(vocab_size=9, pooling="max", members=2),
    "classifier, features": lambda: _classifier(features=3, pooling="last", layers=2),
    "forecaster": lambda: _forecaster(),
    "forecaster, recurrent, covariates": lambda: _forecaster(decoder="recurrent", covariates=1),
    "forecaster, gru, layers": lambda: _forecaster(cell="gru", layers=2),
    "language model": lambda: _language_model(),
    "language model, gru, tied": lambda: _language_model(cell="gru", tie_weights=True),
    "tutorial bilstm": lambda: (Tagger(units=4, bidirectional=True), (torch.randn(2, 5, 1),)),
    "tutorial seq2seq": lambda: (EncoderDecoder(units=4, output_steps=3), (torch.randn(2, 5, 1),)),
    "tutorial tokens": lambda: (Tagger(units=4, vocab_size=7), (torch.randint(1, 7, (2, 5)),)),
    "lstm fused": lambda: _layer(LSTM(4, input_size=3, return_sequences=True)),
    "lstm fused masked": lambda: _layer(LSTM(4, input_size=3, go_backwards=True), masked=True),
    "lstm reference masked": lambda: _layer(
        LSTM(4, input_size=3, activation="relu", return_state=True), masked=True
    ),
    "lstm scan masked": lambda: _layer(
        LSTM(4, input_size=3, activation="relu", implementation="scan"), masked=True
    ),
    "gru fused": lambda: _layer(GRU(4, input_size=3, return_state=True)),
    "gru reset before": lambda: _layer(GRU(4, input_size=3, reset_after=False), masked=True),
    "simple rnn relu": lambda: _layer(SimpleRNN(4, input_size=3, activation="relu")),
    "bilstm joint": lambda: _layer(LSTM(4, input_size=3, return_sequences=True), True),
    "bilstm masked": lambda: _layer(LSTM(4, input_size=3, return_state=True), True, True),
    "bilstm relu together": lambda: _layer(
        LSTM(4, input_size=3, activation="relu", return_sequences=True), True, True
    ),
    "bigru joint": lambda: _layer(GRU(4, input_size=3, return_state=True), True),
    "birnn no bias": lambda: _layer(SimpleRNN(4, input_size=3, use_bias=False), True, True),
}
NO_META = {"tagger, crf, char lstm"}  # torch.unique of the characters reads values


def _outputs(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _outputs(v)]
    return []


def _to(inputs, device) -> tuple:
    return tuple(None if x is None else x.to(device) for x in inputs)


@pytest.fixture
def meta_lengths(monkeypatch):
    """A post-padding mask's lengths without ``torch.equal`` (meta has no values to compare):
    every mask here is post padding, so the fused kernels run on meta too."""
    monkeypatch.setattr(implementations, "post_padding_lengths", lambda mask: mask.sum(dim=1))


@pytest.mark.parametrize("name", [n for n in MODELS if n not in NO_META])
def test_every_forward_pass_runs_on_the_meta_device(name, meta_lengths):
    model, inputs = MODELS[name]()
    model.eval()
    expected = [tuple(t.shape) for t in _outputs(model(*inputs))]
    model.to("meta")
    outputs = _outputs(model(*_to(inputs, "meta")))
    assert [t.device.type for t in outputs] == ["meta"] * len(outputs)
    assert [tuple(t.shape) for t in outputs] == expected


def test_training_passes_and_losses_run_on_the_meta_device(meta_lengths):
    model, (source, decoder_input) = _seq2seq(dropout=0.2)
    model.to("meta")  # in training mode: dropout draws its masks on the device
    assert model(source.to("meta"), decoder_input.to("meta")).device.type == "meta"
    model, inputs = _tagger(locked_dropout=True, unk_replace=0.5, dropout=0.3)
    model.to("meta")
    assert model(*_to(inputs, "meta")).device.type == "meta"
    model, (inputs, mask) = _classifier(features=3, members=2)
    model.to("meta")
    labels = torch.tensor([0, 2], device="meta")
    assert model.loss(inputs.to("meta"), mask.to("meta"), labels).device.type == "meta"


# -- no tensor made without a device --------------------------------------------------------

FACTORIES = {
    torch.zeros, torch.ones, torch.full, torch.empty, torch.arange, torch.tensor,
    torch.as_tensor, torch.eye, torch.rand, torch.randn, torch.randint, torch.randperm,
    torch.linspace, torch.logspace,
}  # fmt: skip


class DevicelessFactories(TorchFunctionMode):
    """Records each call of a tensor factory that names no ``device``, with where it was."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES and kwargs.get("device") is None:
            frame = traceback.extract_stack()[-2]  # the caller
            self.calls.append(f"{func.__name__} at {frame.filename}:{frame.lineno}")
        return func(*args, **kwargs)


def _decoding_calls(name, model, inputs):
    """Every path of ``model`` beyond its forward pass: decoding, sampling, losses."""
    if name.startswith("seq2seq"):
        source = inputs[0]
        model.generate(source, max_len=4)
        model.generate(source, max_len=4, beam_width=3, return_attention=True)
    elif name.startswith("tagger"):
        model.decode(*inputs)
        tags = torch.where(inputs[2], 4, 0)
        model.loss(inputs[0], inputs[1], tags, inputs[2], inputs[3]).backward()
    elif name.startswith("classifier"):
        model.loss(*inputs, torch.tensor([0, 2], device=inputs[0].device)).backward()
    elif name.startswith("forecaster"):
        model.forecast(*inputs)
    elif name.startswith("language model"):
        generator = torch.Generator(device=inputs[0].device).manual_seed(0)
        list(model.sample([3, 4], 5, top_k=4, generator=generator))
        list(model.sample([3], 3, temperature=0))
    else:
        outputs = _outputs(model(*inputs))
        sum(t.sum() for t in outputs).backward()


@pytest.mark.parametrize("name", list(MODELS))
def test_no_path_makes_a_tensor_without_naming_its_device(name):
    model, inputs = MODELS[name]()
    watch = DevicelessFactories()
    with watch:
        model.train()
        model(*inputs)
        model.eval()
        model(*inputs)
        _decoding_calls(name, model, inputs)
    assert watch.calls == []


def test_the_crf_and_the_keras_summary_make_no_tensor_without_a_device():
    crf = CRF(5)
    emissions, tags = torch.randn(2, 4, 5), torch.randint(0, 5, (2, 4))
    mask = _ids([[1] * 4, [1] * 2], 4).bool()
    model = load_keras(f"{KERAS}/tutorial_bilstm.keras")
    watch = DevicelessFactories()
    with watch:
        crf.loss(emissions, tags, mask).backward()
        crf.decode(emissions, mask)
        crf.marginals(emissions, mask)
        keras_summary(model)
    assert watch.calls == []


def test_the_watch_sees_a_tensor_made_without_a_device():
    watch = DevicelessFactories()
    with watch:
        torch.arange(3)
        torch.zeros(2, device="cpu")
    assert len(watch.calls) == 1 and watch.calls[0].startswith("arange")


def test_sampling_draws_where_its_generator_is():
    """A seeded CPU generator serves a model on any device: the probabilities go to the
    generator (on meta, where they have no data to give, that copy is what fails)."""
    logits = torch.zeros(2, 5, device="meta")
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
        next_tokens(logits, generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(0)
    assert next_tokens(torch.zeros(2, 5), top_k=2, generator=generator).device.type == "cpu"


# -- under autocast: what lower precision changes ---------------------------------------------


def test_the_character_features_take_the_dtype_of_their_lstm():
    """Under autocast on a GPU the fused character LSTM gives float16/bfloat16 features; they
    must fill the word's features without a dtype clash (index_put refuses one)."""
    model, inputs = _tagger(crf=True, char_encoder="lstm")
    model.char_lstm.register_forward_hook(lambda module, args, out: out.to(torch.bfloat16))
    scores = model(*inputs)
    assert torch.isfinite(scores).all()


def test_the_crf_computes_half_precision_emissions_in_float32():
    crf = CRF(5)
    emissions = torch.randn(2, 4, 5).to(torch.bfloat16)
    tags, mask = torch.randint(0, 5, (2, 4)), _ids([[1] * 4, [1] * 3], 4).bool()
    loss = crf.loss(emissions, tags, mask)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, crf.loss(emissions.float(), tags, mask))
    assert crf.decode(emissions, mask) == crf.decode(emissions.float(), mask)


# -- each kind's run, its model on meta -----------------------------------------------------


def _text(path):
    lines = [f"the {a} sat on the {b}." for a in ("cat", "dog", "bird") for b in ("mat", "log")]
    path.write_text("\n".join(lines * 8) + "\n")
    return path


def _vectors(path, n=60):
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        for _ in range(n):
            x = rng.normal(size=(int(rng.integers(3, 8)), 2))
            label = "up" if x[:, 0].mean() > 0 else "down"
            f.write(json.dumps({"sequence": x.round(4).tolist(), "label": label}) + "\n")
    return path


def _series(path):
    t = np.arange(120)
    columns = {"a": 50 + 20 * np.sin(t / 1.7), "b": 30 + 10 * np.cos(t / 2.3)}
    lines = ["year,a,b"] + [f"{1800 + i},{columns['a'][i]:.4f},{columns['b'][i]:.4f}" for i in t]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("device")


@pytest.fixture(scope="module")
def runs(folder):
    """A tiny trained run of each kind (one epoch on the CPU), by kind."""
    tiny = dict(units=8, epochs=1)
    text, vectors, series = _text(folder / "t.txt"), _vectors(folder / "v.jsonl"), folder / "s.csv"
    configs = {
        "seq2seq": Seq2SeqConfig(task="reverse", samples=200, max_len=4, embedding_dim=8, **tiny),
        "tag": TagConfig(
            task="neighbours",
            samples=120,
            char_features=4,
            char_encoder="lstm",
            crf=True,
            embedding_dim=8,
            layers=1,
            **tiny,
        ),
        "classify": ClassifyConfig(data=str(vectors), **{**tiny, "units": 4}),
        "forecast": ForecastConfig(data=str(_series(series)), horizon=4, **tiny),
        "lm": LMConfig(data=str(text), embedding_dim=8, layers=1, bptt=8, batch_size=4, **tiny),
    }
    out = {kind: train(config, folder / kind) for kind, config in configs.items()}
    model = load_keras(f"{KERAS}/tutorial_bilstm.keras")
    saved = {"inputs": input_specs(model.config)}
    out["keras"] = KerasKind().restore(KerasConfig(), model, saved, {})
    return out


def _predictions(kind, run):
    """What each kind's run gives for a few inputs: its prediction or generated text."""
    if kind == "seq2seq":
        known = run.source_vocab.tokens[4:]  # after the special tokens
        return run.predict([known[:3], known[1:][::-1]], beam_width=2)
    if kind == "tag":
        return run.predict([["a", "b", "c"], ["b", "a"]])
    if kind == "classify":
        return np.asarray(run.probabilities([np.ones((4, 2)), -np.ones((6, 2))]))
    if kind == "forecast":
        return run.predict([np.linspace(10.0, 40.0, 60)])
    if kind == "lm":
        return [run.predict(["the "], length=8)[0], "".join(run.generate("the", 8, seed=3))]
    return run.predict([np.zeros((5, 1)), np.ones((5, 1))])


class WrongDevice(AssertionError):
    pass


def _stops_where_meta_has_no_data(call) -> None:
    """Run ``call`` with every module's inputs checked to be on meta: it must fail where a
    meta tensor has no value to give, never on a tensor of another device."""
    seen = []

    def check(module, args):
        for t in _outputs(args):
            if t.device.type != "meta":
                raise WrongDevice(f"{type(module).__name__} got a tensor on {t.device}")
        seen.append(type(module).__name__)

    hook = torch.nn.modules.module.register_module_forward_pre_hook(check)
    try:
        with pytest.raises((NotImplementedError, RuntimeError)) as caught:
            call()
    finally:
        hook.remove()
    message = str(caught.value)
    no_data = ("Cannot copy out of meta tensor", "on meta tensors", "with Meta tensors")
    assert any(m in message for m in no_data), message
    assert seen, "the model was never called"


@pytest.mark.parametrize("kind", ["seq2seq", "tag", "classify", "forecast", "lm", "keras"])
def test_each_run_hands_its_model_tensors_on_the_models_device(kind, runs):
    run = copy.deepcopy(runs[kind])
    run.model.to("meta")
    _stops_where_meta_has_no_data(lambda: _predictions(kind, run))


def test_the_runs_evaluate_on_the_models_device(runs):
    run = copy.deepcopy(runs["seq2seq"])
    run.model.to("meta")
    pair = run.source_vocab.tokens[4:6], run.target_vocab.tokens[4:6]
    _stops_where_meta_has_no_data(lambda: run.evaluate([pair[0]], [pair[1]]))
    run = copy.deepcopy(runs["tag"])
    run.model.to("meta")
    tags = [run.labels.tokens[4:6]]  # after the special tokens
    _stops_where_meta_has_no_data(lambda: run.evaluate([["a", "b"]], tags))
    run = copy.deepcopy(runs["classify"])
    run.model.to("meta")
    _stops_where_meta_has_no_data(lambda: run.evaluate([np.ones((4, 2))], ["up"]))
    run = copy.deepcopy(runs["lm"])
    run.model.to("meta")
    _stops_where_meta_has_no_data(lambda: run.evaluate_text("the cat sat on the mat."))


@pytest.mark.parametrize("model", ["rnn", "hybrid"])
def test_forecast_calibration_forecasts_on_the_device_it_trained_on(folder, monkeypatch, model):
    """``calibrate`` trains a second model, then forecasts with it: where the trainer put
    it (meta here, in place of a GPU)."""
    path = str(_series(folder / "c.csv"))
    config = ForecastConfig(data=path, horizon=4, units=8, epochs=1, model=model)
    config, _, prepared = ForecastKind().ready(config)

    class OnMeta:
        def __init__(self, model, *args, **kwargs):
            self.model = model

        def fit(self, *args, **kwargs):
            self.model.to("meta")

    monkeypatch.setattr(forecast_calibration, "run_trainer", OnMeta)
    model = prepared.build(prepared.model_config)
    _stops_where_meta_has_no_data(lambda: ForecastKind().calibrate(model, prepared, config))


# -- the fused path's buffer for cuDNN ------------------------------------------------------


def _gapped_layout(params, name, hidden, both):
    """A layout with room before, between and after the parameters, in reverse order."""
    offsets, at = {}, 3
    for i in reversed(range(len(params))):
        offsets[i] = at
        at += params[i].numel() + 2
    return tuple(offsets[i] for i in range(len(params))), at + 5


FUSED_LAYERS = {
    "lstm": lambda **k: LSTM(5, input_size=3, **k),
    "lstm without bias": lambda **k: LSTM(5, input_size=3, use_bias=False, **k),
    "gru": lambda **k: GRU(5, input_size=3, **k),
    "rnn tanh": lambda **k: SimpleRNN(5, input_size=3, **k),
    "rnn relu": lambda **k: SimpleRNN(5, input_size=3, activation="relu", **k),
}


def _fused_and_reference(make, bidirectional):
    pair = [make(return_sequences=True), make(return_sequences=True, implementation="reference")]
    if bidirectional:
        pair = [Bidirectional(layer) for layer in pair]
    pair[1].load_state_dict(pair[0].state_dict())
    return pair


def _outputs_and_gradients(layer, x, mask):
    layer.zero_grad()
    out = layer(x, mask=mask)
    (out * torch.linspace(-1, 1, out.shape[-1], device=out.device)).sum().backward()
    return [out.cpu(), *(p.grad.cpu() for p in layer.parameters())]


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("name", list(FUSED_LAYERS))
def test_the_buffer_for_cudnn_holds_views_whose_gradients_reach_the_parameters(
    name, bidirectional, monkeypatch
):
    """The path cuDNN takes, run on the CPU: each weight a view at its offset into one
    buffer (with gaps, in any order), and the numbers those of the reference loop."""
    built, build = [], fused.flat_views

    def views(params, offsets, size):
        out = build(params, offsets, size)
        storage = out[0].untyped_storage()
        assert storage.nbytes() == size * out[0].element_size()
        for view, offset in zip(out, offsets, strict=True):
            assert view.untyped_storage().data_ptr() == storage.data_ptr()
            assert view.storage_offset() == offset and view.is_contiguous()
        built.append(len(out))
        return out

    monkeypatch.setattr(fused, "_cudnn_runs", lambda x: True)
    monkeypatch.setattr(fused, "_cudnn_layout", _gapped_layout)
    monkeypatch.setattr(fused, "flat_views", views)
    layer, reference = _fused_and_reference(FUSED_LAYERS[name], bidirectional)
    x = torch.randn(2, 4, 3)
    for mask in (None, _ids([[1] * 4, [1] * 2], 4).bool()):
        for got, expected in zip(
            _outputs_and_gradients(layer, x, mask),
            _outputs_and_gradients(reference, x, mask),
            strict=True,
        ):
            torch.testing.assert_close(got, expected)
    assert built and all(n in (4, 8) for n in built)  # with both biases, zeros if none


# -- on a GPU -------------------------------------------------------------------------------


@pytest.fixture
def exact_float32():
    """float32 as float32: no TF32 in cuDNN's or cuBLAS's matrix products."""
    cudnn, cublas = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = cudnn.allow_tf32, cublas.allow_tf32
    cudnn.allow_tf32 = cublas.allow_tf32 = False
    yield
    cudnn.allow_tf32, cublas.allow_tf32 = saved


def _close(got, expected):
    if isinstance(got, torch.Tensor | np.ndarray):
        got, expected = torch.as_tensor(got).cpu(), torch.as_tensor(expected)
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    elif isinstance(got, list | tuple):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            _close(g, e)
    else:
        assert got == expected


@needs_cuda
@pytest.mark.parametrize("name", list(MODELS))
def test_on_cuda_every_model_gives_what_it_gives_on_the_cpu(name, exact_float32):
    model, inputs = MODELS[name]()
    model.eval()
    on_gpu = copy.deepcopy(model).to("cuda")
    with torch.no_grad():
        _close(_outputs(on_gpu(*_to(inputs, "cuda"))), _outputs(model(*inputs)))


@needs_cuda
def test_on_cuda_decoding_gives_what_it_gives_on_the_cpu(exact_float32):
    model, (source, _) = _seq2seq()
    model.eval()
    on_gpu = copy.deepcopy(model).to("cuda")
    for beam in (1, 3):
        options = dict(max_len=6, beam_width=beam, return_attention=True)
        _close(on_gpu.generate(source.cuda(), **options), model.generate(source, **options))
    model, inputs = _tagger(crf=True, char_encoder="lstm")
    model.eval()
    on_gpu = copy.deepcopy(model).to("cuda")
    assert on_gpu.decode(*_to(inputs, "cuda")) == model.decode(*inputs)
    model, _ = _language_model()
    model.eval()
    on_gpu = copy.deepcopy(model).to("cuda")
    for where in ("cpu", "cuda"):  # the draws happen where the generator is
        drawn = []
        for m in (model, on_gpu):
            generator = torch.Generator(device=where).manual_seed(5)
            drawn.append(list(m.sample([3, 4], 12, generator=generator)))
        assert drawn[0] == drawn[1], where
    model, inputs = _forecaster(decoder="recurrent", covariates=1)
    model.eval()
    on_gpu = copy.deepcopy(model).to("cuda")
    _close(on_gpu.forecast(*_to(inputs, "cuda")), model.forecast(*inputs))


@needs_cuda
def test_sampling_with_a_cpu_generator_draws_the_same_on_cuda():
    logits = torch.randn(4, 9)
    cpu = next_tokens(logits, top_k=5, generator=torch.Generator().manual_seed(1))
    gpu = next_tokens(logits.cuda(), top_k=5, generator=torch.Generator().manual_seed(1))
    assert gpu.device.type == "cuda" and gpu.tolist() == cpu.tolist()


@needs_cuda
@pytest.mark.parametrize("kind", ["seq2seq", "tag", "classify", "forecast", "lm", "keras"])
def test_on_cuda_each_run_predicts_what_it_predicts_on_the_cpu(kind, runs, exact_float32):
    on_gpu = copy.deepcopy(runs[kind])
    on_gpu.model.to("cuda")
    _close(_predictions(kind, on_gpu), _predictions(kind, runs[kind]))


@needs_cuda
def test_on_cuda_forecast_calibration_trains_and_forecasts_there(folder):
    config = ForecastConfig(data=str(_series(folder / "g.csv")), horizon=4, units=8, epochs=2)
    config, _, prepared = ForecastKind().ready(config)
    prepared.placement = Placement(device=torch.device("cuda"))
    model = prepared.build(prepared.model_config).cuda()
    widths = ForecastKind().calibrate(model, prepared, config)["interval_widths"]
    assert len(widths) == 4 and np.isfinite(widths).all()


@needs_cuda
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("name", list(FUSED_LAYERS))
def test_on_cuda_the_fused_kernels_warn_nothing_and_match_the_reference(
    name, bidirectional, exact_float32
):
    """Forward and backward through cuDNN, twice, masked and not: no warning (cuDNN's
    "not part of single contiguous chunk of memory" above all), and the reference loop's
    outputs and gradients (the reference run on the CPU)."""
    layer, reference = _fused_and_reference(FUSED_LAYERS[name], bidirectional)
    layer.cuda()
    x = torch.randn(3, 6, 3)
    for mask in (None, _ids([[1] * 6, [1] * 2, [1] * 5], 6).bool()):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(2):
                got = _outputs_and_gradients(layer, x.cuda(), None if mask is None else mask.cuda())
        assert [str(w.message) for w in caught] == []
        _close(got, _outputs_and_gradients(reference, x, mask))
    assert fused._CUDNN_LAYOUTS  # the path cuDNN takes ran


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_on_cuda_under_autocast_every_model_trains(dtype):
    if dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        pytest.skip("no bfloat16 on this GPU")
    for name in MODELS:
        model, inputs = MODELS[name]()
        model.cuda()
        inputs = _to(inputs, "cuda")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with torch.autocast("cuda", dtype=dtype):
                outputs = _outputs(model(*inputs))
                if name.startswith("tagger"):
                    tags = torch.where(inputs[2], 4, 0)
                    outputs = [model.loss(inputs[0], inputs[1], tags, inputs[2], inputs[3])]
            sum(t.float().sum() for t in outputs).backward()
        assert all(torch.isfinite(t).all() for t in outputs), name
        assert not [w for w in caught if "contiguous chunk" in str(w.message)], name
