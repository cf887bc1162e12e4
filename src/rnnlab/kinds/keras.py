"""Kind ``keras``: a model imported from a Keras 3 file (``rnnlab import-keras``), kept as an
ordinary run folder: ``config.json`` holds Keras's own model config, ``model.safetensors``
the weights, so ``rnnlab.load`` and ``rnnlab predict`` open it like any run. It is not
trained by ``rnnlab train``.

``predict`` reads one input sequence a line: steps separated by spaces, a step's features by
commas (``0.1,2 0.3,4``), or token ids for an integer input; it writes the model's output
for each line the same way (several outputs separated by a tab).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch

from rnnlab.config import Config, option
from rnnlab.data.files import InputFileError, decode_text, read_text_file
from rnnlab.data.pairs import split_lines
from rnnlab.kinds.base import Kind, Predictions, Run
from rnnlab.models.keras_model import KerasModel


@dataclass(frozen=True)
class KerasConfig(Config):
    """What an imported run records of its origin."""

    source: str | None = option("the .keras file it was imported from", cli=False)
    seed: int = option("unused: an imported model is not trained", cli=False, default=0)


NOT_TRAINED = "a keras run is imported (`rnnlab import-keras FILE`), not trained"


class KerasKind(Kind):
    name = "keras"
    config = KerasConfig
    description = "models imported from Keras 3 files"
    trainable = False

    def read(self, config):
        raise ValueError(NOT_TRAINED)

    def resolve(self, config, data):
        raise ValueError(NOT_TRAINED)

    def prepare(self, config, data):
        raise ValueError(NOT_TRAINED)

    def build(self, saved: dict) -> KerasModel:
        return KerasModel(saved["keras"])

    def restore(self, config, model, saved, metrics) -> KerasRun:
        return KerasRun(self, config, model, saved, metrics)


def input_specs(keras_config: dict) -> list[dict]:
    """Each model input's ``shape`` (without the batch axis) and ``dtype``."""
    layers = {layer["config"]["name"]: layer for layer in keras_config["config"]["layers"]}
    if keras_config["class_name"] == "Sequential":
        names = [keras_config["config"]["layers"][0]["config"]["name"]]
    else:
        refs = keras_config["config"]["input_layers"]
        names = [r[0] for r in refs] if refs and isinstance(refs[0], list) else [refs[0]]
    specs = []
    for name in names:
        config = layers[name]["config"]
        specs.append({"shape": config["batch_shape"][1:], "dtype": config.get("dtype", "float32")})
    return specs


@dataclass
class KerasRun(Run):
    """An imported Keras model."""

    @property
    def inputs(self) -> list[dict]:
        return self.state["inputs"]

    def predict(self, inputs: list) -> list:
        """The model's outputs for each input (an array of the model's input shape, without
        the batch axis): one array each, or a list of arrays for a model of several
        outputs."""
        if len(self.inputs) != 1:
            raise ValueError("a model of several inputs: call the module (`run.model`) directly")
        dtype = torch.long if "int" in self.inputs[0]["dtype"] else torch.float32
        param = next(self.model.parameters(), None)
        like = {"dtype": dtype, "device": param.device if param is not None else None}
        out = []
        with torch.no_grad():
            for x in inputs:
                y = self.model(torch.as_tensor(np.asarray(x), **like)[None])
                if isinstance(y, list):  # several outputs
                    out.append([t[0].cpu().numpy() for t in y])
                else:
                    out.append(y[0].cpu().numpy())
        return out

    def predict_file(self, path=None) -> Predictions:
        if path is None or str(path) == "-":
            name, text = "<stdin>", decode_text(sys.stdin.buffer.read(), "<stdin>")
        else:
            name, text = str(path), read_text_file(path)
        spec = self.inputs[0] if len(self.inputs) == 1 else None
        if spec is None:
            raise ValueError("a model of several inputs: call the module (`run.model`) directly")
        features = spec["shape"][-1] if len(spec["shape"]) > 1 else None
        inputs = []
        for number, line in enumerate(split_lines(text), start=1):
            inputs.append(_parse_line(line, features, f"{name}:{number}"))
        if not inputs:
            raise InputFileError(f"{name}: no inputs; expected one sequence a line")
        lines = []
        for outputs in self.predict(inputs):
            outputs = outputs if isinstance(outputs, list) else [outputs]
            lines.append("\t".join(_format(o) for o in outputs))
        return Predictions("\n".join(lines) + "\n")

    def evaluate_file(self, path) -> dict:
        raise ValueError("an imported Keras model has no measures of its own; use `predict`")


def _parse_line(line: str, features: int | None, where: str) -> np.ndarray:
    steps = line.split()
    if not steps:
        raise InputFileError(f"{where}: an empty line; expected a sequence")
    try:
        values = [[float(v) for v in step.split(",")] for step in steps]
    except ValueError:
        raise InputFileError(f"{where}: not numbers; expected steps of numbers") from None
    if features is None:
        if any(len(v) != 1 for v in values):
            raise InputFileError(f"{where}: steps of several numbers; expected one a step")
        return np.array([v[0] for v in values])
    if any(len(v) != features for v in values):
        raise InputFileError(f"{where}: expected {features} comma-separated numbers a step")
    return np.array(values)


def _format(array: np.ndarray) -> str:
    array = np.asarray(array)
    if array.ndim == 0:
        return f"{float(array):.6g}"
    if array.ndim == 1:
        return " ".join(f"{v:.6g}" for v in array)
    return " ".join(",".join(f"{v:.6g}" for v in step) for step in array)
