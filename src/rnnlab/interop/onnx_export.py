"""Runs exported to ONNX, for ``rnnlab.interop.onnx.OnnxPredictor`` (numpy and onnxruntime,
no torch). Every kind:

- ``tag``: one ``model.onnx``: words, their characters, a mask and the words' endings and
  shapes in, tag scores out; the runner decodes them (Viterbi with the CRF's saved
  transitions, where the run has a CRF).
- ``classify``: one ``model.onnx``: ``(N, T)`` ids or ``(N, T, F)`` vectors and a mask in,
  log-probabilities out.
- ``seq2seq``: ``encoder.onnx`` (source ids in; the encoder's outputs, the attention keys and
  the decoder's first state out) and ``decoder_step.onnx`` (one decoder step), which the
  runner loops greedily.
- ``forecast``: one ``model.onnx``: the window of ``lookback`` steps (and the covariates of
  the steps to forecast) in, the ensemble's sorted quantiles out (the window has one length
  per model).
- ``transcribe``: one ``model.onnx``: standardised frames ``(N, T, F)`` and a mask in, the
  label scores (log-probabilities, the blank first) of every step out; the runner decodes
  them as the run does (greedy, or prefix beam search of the run's width).
- ``lm``: ``step.onnx``, one token and the state in, the logits and the new state out; the
  runner feeds the prompt through it and decodes greedily.

Batch and length axes are dynamic, and masks are of sequences padded at the end (as every
kind pads; the graphs are traced for that): the recurrent layers run torch's fused kernel
over the whole padded batch (``rnnlab.layers.fused`` then fixes up the padded steps), which
torch's TorchScript exporter (``dynamo=False``) writes as ONNX LSTM/GRU/RNN ops, so no loop
is unrolled at the example's length. (Both exporters unroll rnnlab's step-by-step
implementations; the dynamo exporter also fails on packed sequences.) A cell without a fused
kernel (a relu LSTM, as the tutorial's) would be unrolled: ``check_other_lengths`` refuses
such a graph. seq2seq runs record their beam width, which the runner uses.

Next to the graphs, ``rnnlab_onnx.json`` holds what the runner needs besides them: the kind,
its vocabularies, scaling or label set.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

SPEC = "rnnlab_onnx.json"
OPSET = 17


def export_onnx(run_dir, out: Path) -> list[str]:
    """Export the finished run in ``run_dir`` into the folder ``out`` (written whole by the
    caller); returns the names of the files written."""
    from rnnlab.kinds.runs import load

    run = load(run_dir)
    kind = run.kind.name
    out = Path(out)
    if kind == "forecast":
        return _forecast(run, out)
    if kind == "lm":
        return _lm(run, out)
    if kind == "classify":
        return _classify(run, out)
    if kind == "seq2seq":
        return _seq2seq(run, out)
    if kind == "tag":
        return _tag(run, out)
    if kind == "transcribe":
        return _transcribe(run, out)
    raise ValueError(f"{run_dir}: ONNX export of {kind} runs is not built yet")


def _export(module: nn.Module, args: tuple, path: Path, names, outputs, dynamic) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            args,
            str(path),
            dynamo=False,
            input_names=names,
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=OPSET,
        )


def check_other_lengths(module: nn.Module, path: Path, names: list[str], inputs: tuple) -> None:
    """Run the exported graph on ``inputs`` (another batch and length than the export's
    example) beside ``module``: a model whose recurrent layers ran step by step (a cell
    without a fused kernel, as a relu LSTM) was unrolled at the example's length, and is
    refused here rather than written."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        wanted = {i.name for i in session.get_inputs()}
        feed = {n: t.numpy() for n, t in zip(names, inputs, strict=True) if n in wanted}
        got = session.run(None, feed)[0]
    except Exception as exc:  # onnxruntime's errors have no common base class
        got, problem = None, str(exc).splitlines()[0][:200]
    with torch.no_grad():
        expected = module(*inputs)
    expected = (expected[0] if isinstance(expected, tuple) else expected).numpy()
    if got is None or got.shape != expected.shape or not np.allclose(got, expected, atol=1e-3):
        why = problem if got is None else "its outputs differ from PyTorch's"
        raise ValueError(
            f"{path.name}: the graph does not take another length than the example's ({why}); "
            "expected recurrent layers with torch's fused kernel (tanh cells)"
        )


def _within(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Example token ids (4, 5, ...; 0 for padding) that a vocabulary of ``vocab_size`` holds:
    wrapped among its tokens, or ``<unk>`` where it has only the four special ones."""
    if vocab_size <= 4:
        return torch.where(ids > 0, 3, ids)
    return torch.where(ids > 0, 4 + (ids - 4) % (vocab_size - 4), ids)


class _Forecast(nn.Module):
    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, window, future=None):
        return self.model(window, future).mean(0).sort(dim=-1).values


def _forecast(run, out: Path) -> list[str]:
    state = run.state
    if state.get("forecaster") == "hybrid":
        raise ValueError(
            "ONNX export of the hybrid forecaster is not built (its smoothing "
            "runs over each whole history); expected a run of --model rnn"
        )
    config = run.model.config
    args = [torch.zeros(2, state["lookback"], config.inputs)]
    names = ["window"]
    if config.covariates:  # the covariates of the steps to forecast
        args.append(torch.zeros(2, config.horizon, config.covariates))
        names.append("future")
    _export(
        _Forecast(run.model),
        tuple(args),
        out / "model.onnx",
        names,
        ["quantiles"],
        {**{n: {0: "batch"} for n in names}, "quantiles": {0: "batch"}},
    )
    spec = {
        "kind": "forecast",
        "horizon": run.horizon,
        "lookback": state["lookback"],
        "lags": list(run.lags),
        "padded": state.get("padded", False),
        "least": run.least,
        "season": state["season"],
        "levels": state["levels"],
        "series": state["series"],
        "scaling": state["scaling"],
        "interval_widths": state.get("interval_widths"),
        "covariate_names": state["covariate_names"],
    }
    (out / SPEC).write_text(json.dumps(spec) + "\n")
    return ["model.onnx", SPEC]


class _Step(nn.Module):
    """One step of a language model: token ids and the flat state in, logits and state out."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model
        self.per_layer = 2 if model.config.cell == "lstm" else 1

    def forward(self, tokens, *flat):
        k = self.per_layer
        state = [tuple(flat[i * k : (i + 1) * k]) for i in range(len(flat) // k)]
        logits, new_state, _ = self.model.step(tokens, state)
        return (logits, *[t for s in new_state for t in s])


def _lm(run, out: Path) -> list[str]:
    model = run.model
    step = _Step(model)
    layers, units = model.config.layers, model.config.units
    names = [f"state{i}" for i in range(layers * step.per_layer)]
    state = [torch.zeros(2, units) for _ in names]
    tokens = torch.zeros(2, dtype=torch.long)
    dynamic = {n: {0: "batch"} for n in ["tokens", "logits", *names, *[f"new_{n}" for n in names]]}
    _export(
        step,
        (tokens, *state),
        out / "step.onnx",
        ["tokens", *names],
        ["logits", *[f"new_{n}" for n in names]],
        dynamic,
    )
    spec = {
        "kind": "lm",
        "tokens": run.tokens,
        "vocab": run.vocab.tokens,
        "units": units,
        "states": len(names),
    }
    (out / SPEC).write_text(json.dumps(spec, ensure_ascii=False) + "\n")
    return ["step.onnx", SPEC]


def _classify(run, out: Path) -> list[str]:
    config = run.model.config
    if config.vocab_size is not None:
        inputs = _within(torch.tensor([[4, 5, 6, 7, 0], [5, 6, 0, 0, 0]]), config.vocab_size)
    else:
        inputs = torch.zeros(2, 5, config.features)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    _export(
        run.model,
        (inputs, mask),
        out / "model.onnx",
        ["inputs", "mask"],
        ["log_probabilities"],
        {
            "inputs": {0: "batch", 1: "steps"},
            "mask": {0: "batch", 1: "steps"},
            "log_probabilities": {0: "batch"},
        },
    )
    if config.vocab_size is not None:
        longer = torch.tensor([[4] * 8, [5] * 3 + [0] * 5, [6] * 6 + [0] * 2])
        longer = _within(longer, config.vocab_size)
    else:
        longer = torch.randn(3, 8, config.features)
    longer_mask = torch.tensor([[True] * 8, [True] * 3 + [False] * 5, [True] * 6 + [False] * 2])
    check_other_lengths(run.model, out / "model.onnx", ["inputs", "mask"], (longer, longer_mask))
    encoder = run.encoder
    spec = {"kind": "classify", "classes": encoder.classes, "form": encoder.form}
    if encoder.form == "tokens":
        spec["vocab"] = encoder.vocab.tokens
    else:
        spec["scaler"] = encoder.scaler.to_dict()
        spec["scaling"] = encoder.scaling
    (out / SPEC).write_text(json.dumps(spec, ensure_ascii=False) + "\n")
    return ["model.onnx", SPEC]


class _Encode(nn.Module):
    """``source (N, S)`` -> the encoder outputs, the attention keys and the decoder's first
    state, flat (layer by layer: h, and c for an LSTM)."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, source):
        memory, (states, _) = self.model.encode(source)
        flat = [t for s in states for t in s]
        keys = [memory.keys] if self.model.config.attention else []
        return (memory.outputs, *keys, *flat)


class _DecodeStep(nn.Module):
    """One decoder step over the encoder's outputs: tokens, the flat state (and with
    attention the attentional vector fed back) in; logits and the new ones out."""

    def __init__(self, model, per_layer: int) -> None:
        super().__init__()
        self.model, self.per_layer = model, per_layer

    def forward(self, tokens, *rest):
        from rnnlab.models.seq2seq import Memory

        attention = bool(self.model.config.attention)
        if attention:  # the encoder's outputs, mask and keys, and the fed-back vector
            outputs, mask, keys, feed, flat = rest[0], rest[1], rest[2], rest[3], rest[4:]
        else:  # the decoder reads only its state
            outputs, mask, keys, feed, flat = None, None, None, None, rest
        k = self.per_layer
        states = [tuple(flat[i * k : (i + 1) * k]) for i in range(len(flat) // k)]
        logits, (new_states, new_feed), _ = self.model.decode_step(
            tokens, (states, feed), Memory(outputs, keys, mask)
        )
        extra = [new_feed] if attention else []
        return (logits, *extra, *[t for s in new_states for t in s])


def _seq2seq(run, out: Path) -> list[str]:
    model = run.model
    config = model.config
    per_layer = 2 if config.cell == "lstm" else 1
    names = [f"state{i}" for i in range(config.layers * per_layer)]
    attention = bool(config.attention)
    source = _within(torch.tensor([[4, 5, 6, 4, 5], [5, 6, 0, 0, 0]]), config.source_vocab_size)
    memory_names = ["outputs", *(["keys"] if attention else [])]
    _export(
        _Encode(model),
        (source,),
        out / "encoder.onnx",
        ["source"],
        [*memory_names, *names],
        {"source": {0: "batch", 1: "steps"}, "outputs": {0: "batch", 1: "steps"},
         **({"keys": {0: "batch", 1: "steps"}} if attention else {}),
         **{n: {0: "batch"} for n in names}},
    )  # fmt: skip
    longer = torch.tensor([[4, 5, 6, 4, 5, 6, 4, 5], [5, 6, 4, 0, 0, 0, 0, 0], [6] * 7 + [0]])
    longer = _within(longer, config.source_vocab_size)
    check_other_lengths(_Encode(model), out / "encoder.onnx", ["source"], (longer,))
    with torch.no_grad():
        encoded = _Encode(model)(source)
    outputs, keys = encoded[0], encoded[1] if attention else None
    flat = list(encoded[2:] if attention else encoded[1:])
    feed = [torch.zeros(2, config.units)] if attention else []
    tokens = torch.ones(2, dtype=torch.long)
    memory = (outputs, source != 0, keys, *feed) if attention else ()
    inputs = (tokens, *memory, *flat)
    step_in = ["tokens", *(["outputs", "mask", "keys", "feed"] if attention else []), *names]
    step_out = ["logits", *(["new_feed"] if attention else []), *[f"new_{n}" for n in names]]
    dynamic = {n: {0: "batch"} for n in ["tokens", "logits", "feed", "new_feed", *names]}
    dynamic.update({f"new_{n}": {0: "batch"} for n in names})
    dynamic.update({n: {0: "batch", 1: "steps"} for n in ("outputs", "mask", "keys")})
    dynamic = {k: v for k, v in dynamic.items() if k in step_in or k in step_out}
    _export(_DecodeStep(model, per_layer), inputs, out / "decoder_step.onnx", step_in, step_out,
            dynamic)  # fmt: skip
    spec = {
        "kind": "seq2seq",
        "tokens": run.tokens,  # how a line of text splits: "space" or "chars"
        "source_vocab": run.source_vocab.tokens,
        "target_vocab": run.target_vocab.tokens,
        "max_output_len": run.max_output_len,
        "beam_width": run.config.beam_width,
        "length_penalty": run.config.length_penalty,
        "attention": attention,
        "units": config.units,
        "states": len(names),
    }
    (out / SPEC).write_text(json.dumps(spec, ensure_ascii=False) + "\n")
    return ["encoder.onnx", "decoder_step.onnx", SPEC]


class _Tagger(nn.Module):
    """A tagger's scores ``(N, T, K)``, its character LSTM reading every word of the batch
    (the trained model reads each distinct word once, through ``torch.unique`` and boolean
    indexing, which do not export; masked, both give the same features)."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model
        if model.config.char_features and model.config.char_encoder == "lstm":
            model._char_lstm = self._every_word

    def _every_word(self, flat):
        model = self.model
        mask = flat != 0
        features = model.char_lstm(model.char_embedding(flat), mask=mask)  # (N*T, C)
        return features * mask[:, :1].to(features.dtype)  # padding words: zeros

    def forward(self, words, chars, mask, affixes):
        return self.model(words, chars, mask, affixes)


def _tag(run, out: Path) -> list[str]:
    from rnnlab.words import SUFFIXES

    model = run.model
    n_words, n_chars = model.config.vocab_size, model.config.char_vocab_size
    words = _within(torch.tensor([[4, 5, 6], [5, 4, 0]]), n_words)
    chars = torch.tensor([[[4, 5, 0], [5, 0, 0], [4, 4, 4]], [[5, 5, 0], [4, 0, 0], [0, 0, 0]]])
    chars = _within(chars, n_chars)
    mask = words != 0
    affixes = torch.zeros(2, 3, len(SUFFIXES) + 1, dtype=torch.long)
    steps = {0: "batch", 1: "steps"}
    _export(
        _Tagger(model),
        (words, chars, mask, affixes),
        out / "model.onnx",
        ["words", "chars", "mask", "affixes"],
        ["scores"],
        {"words": steps, "chars": {**steps, 2: "letters"}, "mask": steps, "affixes": steps,
         "scores": steps},
    )  # fmt: skip
    longer = torch.tensor([[4, 5, 6, 4, 5, 6, 4], [5, 4, 0, 0, 0, 0, 0], [6] * 5 + [0, 0]])
    longer_chars = torch.zeros(3, 7, 4, dtype=torch.long)
    longer_chars[..., 0] = longer  # one character a word, at least
    longer_chars[0, :, 1:] = 5
    longer, longer_chars = _within(longer, n_words), _within(longer_chars, n_chars)
    check_other_lengths(
        _Tagger(model),
        out / "model.onnx",
        ["words", "chars", "mask", "affixes"],
        (longer, longer_chars, longer != 0, torch.zeros(3, 7, len(SUFFIXES) + 1, dtype=torch.long)),
    )
    crf = model.crf
    spec = {
        "kind": "tag",
        "words": run.words.tokens,
        "chars": run.chars.tokens,
        "labels": run.labels.tokens,
        "suffixes": run.suffixes.tokens if run.suffixes is not None else None,
        "crf": None
        if crf is None
        else {
            "transitions": crf.transitions.detach().tolist(),
            "start": crf.start.detach().tolist(),
            "end": crf.end.detach().tolist(),
        },
    }
    (out / SPEC).write_text(json.dumps(spec, ensure_ascii=False) + "\n")
    return ["model.onnx", SPEC]


class _Scores(nn.Module):
    """A transcriber's label scores alone (its output mask is the runner's arithmetic)."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, frames, mask):
        return self.model(frames, mask)[0]


def _transcribe(run, out: Path) -> list[str]:
    config = run.model.config
    scores = _Scores(run.model)
    mask = torch.tensor([[True] * 9, [True] * 5 + [False] * 4])
    _export(
        scores,
        (torch.zeros(2, 9, config.features), mask),
        out / "model.onnx",
        ["frames", "mask"],
        ["scores"],
        {
            "frames": {0: "batch", 1: "frames"},
            "mask": {0: "batch", 1: "frames"},
            "scores": {0: "batch", 1: "steps"},
        },
    )
    longer_mask = torch.tensor([[True] * 16, [True] * 7 + [False] * 9, [True] * 12 + [False] * 4])
    longer = torch.randn(3, 16, config.features) * longer_mask[..., None]
    check_other_lengths(scores, out / "model.onnx", ["frames", "mask"], (longer, longer_mask))
    encoder = run.encoder
    spec = {
        "kind": "transcribe",
        "labels": encoder.labels,
        "tokens": encoder.tokens,
        "scaler": encoder.scaler.to_dict(),
        "reduction": config.reduction,
        "beam_width": run.config.beam_width,
        "audio": run.state.get("audio"),
    }
    (out / SPEC).write_text(json.dumps(spec, ensure_ascii=False) + "\n")
    return ["model.onnx", SPEC]
