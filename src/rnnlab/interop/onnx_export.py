"""Runs exported to ONNX, for ``rnnlab.interop.onnx.OnnxPredictor`` (numpy and onnxruntime,
no torch).

Built so far: ``classify`` runs (one ``model.onnx``: inputs ``(N, T)`` ids or ``(N, T, F)``
vectors and a mask ``(N, T)`` of post-padded sequences in, log-probabilities out, dynamic
batch and length axes: the recurrent layers run torch's fused kernel over packed lengths,
which the exporter writes as ONNX LSTM/GRU/RNN ops with sequence lengths, so no loop is
unrolled), ``seq2seq`` runs (``encoder.onnx``, source ids in, the encoder's outputs,
attention keys and the decoder's first state out, dynamic batch and length; and
``decoder_step.onnx``, one step of the decoder with attention, which the runner loops
greedily), ``forecast`` runs (one ``model.onnx``: the window of ``lookback`` steps in,
the ensemble's sorted quantiles out, a dynamic batch axis; the window has one length per
model, so nothing is unrolled at a length the model does not read) and ``lm`` runs of
characters (``step.onnx``: one token and the state in, the logits and the new state out; the
runner feeds the prompt through it and decodes greedily). Both use torch's TorchScript-based
exporter (``dynamo=False``): the dynamo exporter was measured to fail on packed sequences,
which the variable-length kinds will need (see the module docstring of ``onnx``). Other kinds
are refused with one line.

Next to the graphs, ``rnnlab_onnx.json`` holds what the runner needs besides them: the kind,
and its scaling and windows (forecast) or vocabulary (lm).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn

SPEC = "rnnlab_onnx.json"
OPSET = 17


def export_onnx(run_dir, out: Path) -> list[str]:
    """Export the finished run in ``run_dir`` into the folder ``out`` (written whole by the
    caller); returns the names of the files written."""
    from rnnlab.kinds import load

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
    raise ValueError(
        f"{run_dir}: ONNX export of {kind} runs is not built yet; seq2seq, classify, forecast "
        "and lm runs export"
    )


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


class _Forecast(nn.Module):
    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, window):
        return self.model(window).mean(0).sort(dim=-1).values


def _forecast(run, out: Path) -> list[str]:
    state = run.state
    if run.model.config.covariates:
        raise ValueError("ONNX export of a forecaster with covariates is not built yet")
    features = run.model.config.inputs
    window = torch.zeros(2, state["lookback"], features)
    _export(
        _Forecast(run.model),
        (window,),
        out / "model.onnx",
        ["window"],
        ["quantiles"],
        {"window": {0: "batch"}, "quantiles": {0: "batch"}},
    )
    spec = {
        "kind": "forecast",
        "horizon": run.horizon,
        "lookback": state["lookback"],
        "lags": list(run.lags),
        "season": state["season"],
        "levels": state["levels"],
        "series": state["series"],
        "scaling": state["scaling"],
        "interval_widths": state.get("interval_widths"),
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
    if run.tokens != "chars":
        raise ValueError("ONNX export of a word-level (--tokens space) lm is not built yet")
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
        inputs = torch.tensor([[4, 5, 6, 7, 0], [5, 6, 0, 0, 0]])
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
    encoder = run.encoder
    spec = {"kind": "classify", "classes": encoder.classes, "form": encoder.form}
    if encoder.form == "tokens":
        spec["vocab"] = encoder.vocab.tokens
    else:
        spec["scaler"] = encoder.scaler.to_dict()
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
    source = torch.tensor([[4, 5, 6, 4, 5], [5, 6, 0, 0, 0]])
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
        "source_vocab": run.source_vocab.tokens,
        "target_vocab": run.target_vocab.tokens,
        "max_output_len": run.max_output_len,
        "attention": attention,
        "units": config.units,
        "states": len(names),
    }
    (out / SPEC).write_text(json.dumps(spec, ensure_ascii=False) + "\n")
    return ["encoder.onnx", "decoder_step.onnx", SPEC]
