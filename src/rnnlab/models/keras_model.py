"""``KerasModel``: a Keras 3 model's graph (its ``config.json``) over rnnlab layers, whose
outputs equal Keras's. ``rnnlab.interop.keras.load_keras`` reads the archive and builds one;
a run folder of kind ``keras`` rebuilds one from its saved config.

Layers are rnnlab's (whose weights have Keras's layout, so they are copied as they are: LSTM
gates input, forget, cell, output; GRU in either ``reset_after`` layout), wired as the
Sequential or functional model was, states passed between layers included
(``return_state``, ``initial_state``).

Supported layers: Input, LSTM, GRU, SimpleRNN, Bidirectional (every merge mode), Dense,
TimeDistributed (of Dense), RepeatVector, Embedding (``mask_zero`` too), Masking and Dropout
(a no-op at inference). Anything else, a stateful layer or a custom object is refused with
one line naming the layer. Regularisers and constraints are ignored: they act on training,
not on the forward pass.

Masks follow Keras: ``Embedding(mask_zero=True)`` and ``Masking`` make one, recurrent layers
read it (a masked step leaves the state unchanged), and it flows on through layers that keep
the time axis. At a masked step Keras's recurrent layers output the previous step's output
(``zero_output_for_mask=False``, their default) where rnnlab's write zeros; the import
repeats the previous output as Keras does, and writes zeros where the layer's config says
``zero_output_for_mask=True`` (as Keras sets it inside ``Bidirectional``).
"""

from __future__ import annotations

import torch
from torch import nn

from rnnlab.layers import GRU, LSTM, MERGE_MODES, Bidirectional, RepeatVector, SimpleRNN

RECURRENT = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}
OPS = ("NotEqual", "Any")  # operations a functional model records (an Embedding's mask)
SUPPORTED = (
    "InputLayer",
    *RECURRENT,
    "Bidirectional",
    "Dense",
    "TimeDistributed",
    "RepeatVector",
    "Embedding",
    "Masking",
    "Dropout",
)
ACTIVATIONS = {
    "linear": lambda x: x,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "softmax": lambda x: torch.softmax(x, dim=-1),
}


class KerasImportError(ValueError):
    """A ``.keras`` file that cannot be read, or holds what rnnlab does not reproduce."""


class KerasModel(nn.Module):
    """A Keras model's graph over rnnlab layers (see the module docstring)."""

    def __init__(self, config: dict, weights=None, source: str = "the model") -> None:
        """``config``: the parsed config.json; ``weights``: the open model.weights.h5 (None:
        layers of the right shapes, for ``load_state_dict``)."""
        super().__init__()
        self.source = source
        self.config = config
        kind = config["class_name"]
        if kind not in ("Sequential", "Functional"):
            raise KerasImportError(
                f"{source}: a {kind} model; expected a Sequential or functional model"
            )
        self.sequential = kind == "Sequential"
        layers = config["config"]["layers"]
        self.imported = nn.ModuleDict()
        # (layer, its call's index, arguments: tensor refs or constants, initial-state refs,
        # mask ref), in an order where each call's inputs come before it
        self.nodes: list[tuple[str, int, list, list, tuple | None]] = []
        if self.sequential and (not layers or layers[0]["class_name"] != "InputLayer"):
            raise KerasImportError(
                f"{source}: a Sequential model saved without its Input; expected a built model "
                "(keras.Input first)"
            )
        previous, paths = None, _weight_paths(layers)
        for layer, path in zip(layers, paths, strict=True):
            name = layer["config"]["name"]
            if layer["class_name"] == "InputLayer":
                previous = (name, 0, 0)
                continue
            group = SHAPES_ONLY if weights is None else _group(weights, path)
            self.imported[name] = _imported(layer, group, source)
            if self.sequential:
                self.nodes.append((name, 0, [("ref", previous)], [], None))
                previous = (name, 0, 0)
                continue
            for index, node in enumerate(layer.get("inbound_nodes", [])):
                arguments = _arguments(node.get("args", []))
                self.nodes.append((name, index, arguments, *_kwargs(node, source)))
        if self.sequential:
            self.inputs = [(layers[0]["config"]["name"], 0, 0)]
            self.outputs = [previous]
            self.single_output = True
        else:
            self.inputs = _ref_list(config["config"]["input_layers"])
            self.outputs = _ref_list(config["config"]["output_layers"])
            self.single_output = not _is_list_of_refs(config["config"]["output_layers"])
            self.nodes = _in_order(self.nodes, self.inputs, source)
        self.parameter_count = sum(p.numel() for p in self.parameters())

    def forward(self, *inputs: torch.Tensor):
        """Keras's outputs for ``inputs``: one tensor, or a list where the model has several
        outputs."""
        if len(inputs) != len(self.inputs):
            raise ValueError(f"the model takes {len(self.inputs)} input(s), got {len(inputs)}")
        values: dict[tuple, torch.Tensor] = dict(zip(self.inputs, inputs, strict=True))
        masks: dict[tuple, torch.Tensor | None] = {}  # a Sequential model's implicit masks
        for name, node, arguments, states, mask_ref in self.nodes:
            args = [values[v] if kind == "ref" else v for kind, v in arguments]
            if self.sequential:
                mask = masks.get(arguments[0][1])
            else:  # a functional model names each layer's mask
                mask = None if mask_ref is None else values[mask_ref]
            initial = [values[r] for r in states]
            outputs, out_mask = self.imported[name](args, mask, initial)
            for i, output in enumerate(outputs):
                values[(name, node, i)] = output
            masks[(name, node, 0)] = out_mask
        results = [values[r] for r in self.outputs]
        return results[0] if self.single_output else results


def _in_order(nodes: list, inputs: list[tuple], source: str) -> list:
    """``nodes`` ordered so that every call comes after the calls whose outputs it reads (a
    layer called twice may read, the second time, a layer listed after it)."""
    ready = {ref[:2] for ref in inputs}
    pending, ordered = list(nodes), []
    while pending:
        waiting = []
        for node in pending:
            name, index, arguments, states, mask = node
            needed = [v for kind, v in arguments if kind == "ref"] + list(states)
            needed += [mask] if mask is not None else []
            if all(tuple(ref)[:2] in ready for ref in needed):
                ordered.append(node)
                ready.add((name, index))
            else:
                waiting.append(node)
        if len(waiting) == len(pending):
            raise KerasImportError(
                f"{source}: layer {waiting[0][0]!r} reads a tensor no layer makes; expected a "
                "connected model"
            )
        pending = waiting
    return ordered


def _weight_paths(layers: list[dict]) -> list[str]:
    """Where each layer's weights lie in model.weights.h5: its class name in snake case,
    numbered from the second of a class (``lstm``, ``lstm_1``), as Keras's saver names them."""
    counts: dict[str, int] = {}
    paths = []
    for layer in layers:
        snake = _snake(layer["class_name"])
        paths.append(snake if snake not in counts else f"{snake}_{counts[snake]}")
        counts[snake] = counts.get(snake, 0) + 1
    return paths


def _snake(name: str) -> str:
    out = []
    for i, c in enumerate(name):
        if (
            c.isupper()
            and i
            and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower()))
        ):
            out.append("_")
        out.append(c.lower())
    return "".join(out)


def _group(weights, name: str):
    layers = weights.get("layers")
    return None if layers is None else layers.get(name)


def _tensor_ref(arg) -> tuple | None:
    if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
        return tuple(arg["config"]["keras_history"])
    return None


def _arguments(args) -> list[tuple]:
    """A node's arguments in order: ``("ref", tensor)`` or ``("const", value)``."""
    out = []
    for arg in args if isinstance(args, list) else [args]:
        if isinstance(arg, list):
            out += _arguments(arg)
        elif (ref := _tensor_ref(arg)) is not None:
            out.append(("ref", ref))
        else:
            out.append(("const", arg))
    return out


def _kwargs(node: dict, source: str) -> tuple[list, tuple | None]:
    """The initial-state refs and the mask ref a node was called with."""
    kwargs = node.get("kwargs", {})
    unknown = [k for k in kwargs if k not in ("training", "mask", "initial_state")]
    if unknown:
        raise KerasImportError(
            f"{source}: a layer called with {', '.join(unknown)}; expected only "
            "initial_state, mask and training"
        )
    states = [v for kind, v in _arguments(kwargs.get("initial_state", [])) if kind == "ref"]
    mask = kwargs.get("mask")
    mask = _tensor_ref(mask[0] if isinstance(mask, list) else mask)
    return states, mask


def _is_list_of_refs(value) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], list)


def _ref_list(value) -> list[tuple]:
    return [tuple(v) for v in value] if _is_list_of_refs(value) else [tuple(value)]


SHAPES_ONLY = object()  # a weights "group" that builds layers of the right shapes, untouched


def _vars(group, layer: str, *path: str) -> list[Stored] | None:
    """The arrays of ``group/path.../vars`` in order (0, 1, ...), checked but not yet read (a
    problem names ``layer``: the archive and the layer, then the array); None for
    ``SHAPES_ONLY``."""
    if group is SHAPES_ONLY:
        return None
    where = "/".join((*path, "vars"))
    for part in (*path, "vars"):
        group = None if group is None else group.get(part)
    if group is None:
        return []
    arrays = []
    for i in range(len(group)):
        dataset = group.get(str(i))
        name = getattr(dataset, "name", f"{where}/{i}")
        arrays.append(Stored(dataset, f"{layer}: model.weights.h5 {name}"))
    return arrays


class Stored:
    """A weight array of model.weights.h5, read only once its layer has checked its shape,
    and only if its numbers lie inside the file itself: not in external files, not a virtual
    dataset gathering other files, not compressed or filtered, not declared larger than what
    the file stores (a sparse dataset), and numeric."""

    def __init__(self, dataset, where: str) -> None:
        if dataset is None or not hasattr(dataset, "shape") or not hasattr(dataset, "id"):
            raise KerasImportError(f"{where}: not an array; expected a layer's weight")
        problem = _storage_problem(dataset)
        if problem is not None:
            raise KerasImportError(f"{where}: {problem}; expected an array stored in the file")
        self.dataset, self.where = dataset, where
        self.shape = tuple(int(n) for n in dataset.shape)

    def read(self) -> torch.Tensor:
        return torch.from_numpy(self.dataset[()])


def _storage_problem(dataset) -> str | None:
    """What is wrong with where ``dataset`` keeps its numbers, or None."""
    if getattr(dataset, "is_virtual", False):
        return "a virtual dataset, whose numbers lie in other files"
    if getattr(dataset, "external", None):
        return "stored in external files"
    if dataset.id.get_create_plist().get_nfilters():
        return "compressed or filtered"
    dtype = dataset.dtype
    if dtype.kind not in "fiu" or dtype.fields is not None or dataset.shape is None:
        return f"holds {dtype}, not numbers"
    declared = int(dataset.size) * dtype.itemsize
    if declared and dataset.id.get_storage_size() < declared:
        return f"declares {declared:,} bytes but the file stores fewer"
    return None


def _copy(parameter: nn.Parameter | None, value: Stored | None, what: str, *, transposed=False):
    """Read ``value`` into ``parameter`` (as its transpose, with ``transposed``), once its
    shape is known to fit."""
    if value is None:  # shapes only
        return
    shape = value.shape[::-1] if transposed else value.shape
    if parameter is None or tuple(parameter.shape) != shape:
        expected = None if parameter is None else tuple(parameter.shape)
        raise KerasImportError(f"{what}: a weight of shape {value.shape}; expected {expected}")
    tensor = value.read()
    with torch.no_grad():
        parameter.copy_(tensor.T if transposed else tensor)


def _imported(layer: dict, group, source: str) -> nn.Module:
    kind, config = layer["class_name"], layer["config"]
    where = f"{source}: layer {config['name']!r} ({kind})"
    if kind in OPS and str(layer.get("module", "")).startswith("keras.src.ops"):
        return _Op(kind, config)
    if kind not in SUPPORTED:
        raise KerasImportError(
            f"{where} is not supported; expected one of {', '.join(SUPPORTED[1:])}"
        )
    try:
        if kind in RECURRENT:
            return _Recurrent(config, _recurrent(layer, _vars(group, where, "cell"), where))
        if kind == "Bidirectional":
            return _BidirectionalLayer(config, group, where)
        if kind == "Dense":
            return _Keeps(_dense(layer, _vars(group, where), where))
        if kind == "TimeDistributed":
            inner = config["layer"]
            if inner["class_name"] != "Dense":
                raise KerasImportError(
                    f"{where} of {inner['class_name']}; expected TimeDistributed(Dense)"
                )
            return _Keeps(_dense(inner, _vars(group, where, "layer"), where))
        if kind == "RepeatVector":
            return _Drops(RepeatVector(int(config["n"])))
        if kind == "Embedding":
            return _Embedding(config, _vars(group, where), where)
        if kind == "Masking":
            return _Masking(float(config["mask_value"]))
        return _Keeps(nn.Identity())  # Dropout: nothing at inference
    except KeyError as exc:
        raise KerasImportError(f"{where}: its config lacks {exc}") from None


def _activation(name, where: str, argument: str = "activation", recurrent: bool = False):
    """``name``, an activation the layer supports: rnnlab's recurrent layers take their own
    (``rnnlab.layers.ACTIVATIONS``), Dense layers ``ACTIVATIONS`` here."""
    from rnnlab.layers import ACTIVATIONS as RECURRENT_ACTIVATIONS

    allowed = RECURRENT_ACTIVATIONS if recurrent else ACTIVATIONS
    if name not in allowed:
        raise KerasImportError(
            f"{where}: {argument} {name!r}; expected one of {', '.join(sorted(allowed))}"
        )
    return name


def _input_size(layer: dict, where: str) -> int:
    """The feature size Keras built ``layer`` for (its ``build_config``)."""
    built = layer.get("build_config") or {}
    shape = built.get("input_shape") or (built.get("shapes_dict") or {}).get("sequences_shape")
    if not shape or shape[-1] is None:
        raise KerasImportError(f"{where}: no input shape in its build_config")
    return int(shape[-1])


def _recurrent(layer: dict, arrays: list[Stored] | None, where: str) -> nn.Module:
    kind, config = layer["class_name"], layer["config"]
    if config.get("stateful"):
        raise KerasImportError(f"{where}: a stateful layer; expected stateful=False")
    if arrays is not None and len(arrays) != (3 if config.get("use_bias", True) else 2):
        raise KerasImportError(f"{where}: {len(arrays)} weights; expected kernel, recurrent, bias")
    options = {
        "input_size": arrays[0].shape[0] if arrays else _input_size(layer, where),
        "activation": _activation(config.get("activation", "tanh"), where, recurrent=True),
        "use_bias": config.get("use_bias", True),
        "return_sequences": bool(config.get("return_sequences")),
        "return_state": bool(config.get("return_state")),
        "go_backwards": bool(config.get("go_backwards")),
    }
    if kind != "SimpleRNN":
        recurrent = _activation(
            config.get("recurrent_activation", "sigmoid"), where, "recurrent_activation", True
        )
        options["recurrent_activation"] = recurrent
    if kind == "GRU":
        options["reset_after"] = config.get("reset_after", True)
    module = RECURRENT[kind](int(config["units"]), **options)
    cell = module.cell
    for parameter, value, what in zip(
        (cell.kernel, cell.recurrent_kernel, cell.bias),
        arrays or (),
        ("kernel", "recurrent", "bias"),
        strict=False,
    ):
        _copy(parameter, value, f"{where} {what}")
    return module


def _carry(outputs: torch.Tensor, mask: torch.Tensor, backwards: bool) -> torch.Tensor:
    """``outputs (N, T, H)`` with each masked step holding the output of the step before it
    in reading order (zeros before the first real one), as Keras's recurrent layers give."""
    steps = range(outputs.shape[1] - 1, -1, -1) if backwards else range(outputs.shape[1])
    held = torch.zeros_like(outputs[:, 0])
    out = outputs.clone()
    for t in steps:
        real = mask[:, t, None]
        held = torch.where(real, outputs[:, t], held)
        out[:, t] = held
    return out


class _Recurrent(nn.Module):
    def __init__(self, config: dict, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer
        self.zeros = bool(config.get("zero_output_for_mask", False))

    def forward(self, inputs, mask, initial):
        x = inputs[0]
        out = self.layer(x, mask=mask, initial_state=initial or None)
        outputs = list(out) if isinstance(out, tuple) else [out]
        if not self.layer.return_sequences:
            return outputs, None
        if mask is not None and not self.zeros:
            # rnnlab's go_backwards output is in reading order, as Keras's is
            reading = mask.flip(1) if self.layer.go_backwards else mask
            outputs[0] = _carry(outputs[0], reading, backwards=False)
        return outputs, mask


class _BidirectionalLayer(nn.Module):
    def __init__(self, config: dict, group, where: str) -> None:
        super().__init__()
        forward_config, backward_config = config["layer"], config.get("backward_layer")
        backward_config = backward_config or {
            **forward_config,
            "config": {
                **forward_config["config"],
                "go_backwards": not forward_config["config"].get("go_backwards"),
            },
        }
        layers = []
        for part, sub in (("forward_layer", forward_config), ("backward_layer", backward_config)):
            if sub["class_name"] not in RECURRENT:
                raise KerasImportError(f"{where} of {sub['class_name']}; expected an RNN layer")
            arrays = _vars(group, where, part, "cell")
            layers.append(_recurrent(sub, arrays, f"{where} {part}"))
        self.merge_mode = config.get("merge_mode", "concat")
        if self.merge_mode not in MERGE_MODES:
            raise KerasImportError(f"{where}: merge_mode {self.merge_mode!r}")
        self.layer = Bidirectional(layers[0], merge_mode=None, backward_layer=layers[1])
        self.zeros = [
            bool(c["config"].get("zero_output_for_mask", False))
            for c in (forward_config, backward_config)
        ]
        self.sequences = layers[0].return_sequences

    def forward(self, inputs, mask, initial):
        x = inputs[0]
        out = self.layer(x, mask=mask, initial_state=initial or None)
        if self.layer.forward_layer.return_state:  # ((forward, backward), *states)
            (forward, backward), states = out[0], list(out[1:])
        else:
            (forward, backward), states = out, []
        if self.sequences and mask is not None:
            if not self.zeros[0]:
                forward = _carry(forward, mask, backwards=False)
            if not self.zeros[1]:
                backward = _carry(backward, mask, backwards=True)
        merge = MERGE_MODES[self.merge_mode]
        outputs = [forward, backward] if merge is None else [merge(forward, backward)]
        return [*outputs, *states], mask if self.sequences else None


def _dense(layer: dict, arrays: list[Stored] | None, where: str) -> nn.Module:
    """A Dense layer; its kernel ``(inputs, units)`` checked against the input size Keras
    built it for."""
    config = layer["config"]
    if arrays is not None and not arrays:
        raise KerasImportError(f"{where}: no weights in model.weights.h5")
    activation = ACTIVATIONS[_activation(config.get("activation", "linear"), where)]
    built = (layer.get("build_config") or {}).get("input_shape")
    units = int(config["units"])
    inputs = int(built[-1]) if built else arrays[0].shape[0]
    if arrays is None:
        use_bias = bool(config.get("use_bias", True))
        return nn.Sequential(nn.Linear(inputs, units, bias=use_bias), _Function(activation))
    if tuple(arrays[0].shape) != (inputs, units):
        raise KerasImportError(
            f"{where} kernel: a weight of shape {tuple(arrays[0].shape)}; expected "
            f"{(inputs, units)}"
        )
    linear = nn.Linear(inputs, units, bias=len(arrays) > 1)
    _copy(linear.weight, arrays[0], f"{where} kernel", transposed=True)
    if len(arrays) > 1:
        _copy(linear.bias, arrays[1], f"{where} bias")
    return nn.Sequential(linear, _Function(activation))


class _Function(nn.Module):
    def __init__(self, function) -> None:
        super().__init__()
        self.function = function

    def forward(self, x):
        return self.function(x)


class _Keeps(nn.Module):
    """A layer that keeps the time axis, and so the mask."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, inputs, mask, initial):
        return [self.layer(inputs[0])], mask


class _Drops(_Keeps):
    """A layer after which there is no mask."""

    def forward(self, inputs, mask, initial):
        return [self.layer(inputs[0])], None


class _Embedding(nn.Module):
    def __init__(self, config: dict, arrays: list[Stored] | None, where: str) -> None:
        super().__init__()
        if arrays is not None and len(arrays) != 1:
            raise KerasImportError(f"{where}: {len(arrays)} weights; expected the embeddings")
        self.embedding = nn.Embedding(int(config["input_dim"]), int(config["output_dim"]))
        _copy(self.embedding.weight, arrays[0] if arrays else None, f"{where} embeddings")
        self.mask_zero = bool(config.get("mask_zero"))

    def forward(self, inputs, mask, initial):
        ids = inputs[0].long()
        return [self.embedding(ids)], (ids != 0) if self.mask_zero else None


class _Masking(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, inputs, mask, initial):
        x = inputs[0]
        mask = (x != self.value).any(dim=-1)
        return [x * mask[..., None].to(x.dtype)], mask


class _Op(nn.Module):
    """An operation of ``keras.ops`` in a functional graph (the mask of an Embedding)."""

    def __init__(self, kind: str, config: dict) -> None:
        super().__init__()
        self.kind = kind
        self.axis, self.keepdims = config.get("axis", -1), bool(config.get("keepdims"))

    def forward(self, inputs, mask, initial):
        if self.kind == "NotEqual":
            return [inputs[0] != inputs[1]], None
        x = inputs[0]
        if self.axis is None:
            return [x.any()], None
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for axis in sorted((a % x.dim() for a in axes), reverse=True):
            x = x.any(dim=axis, keepdim=self.keepdims)
        return [x], None


def summary(model: KerasModel) -> str:
    """A Keras-style summary: each layer, its output shape (from a pass over zeros of the
    input shape) and its parameters, with the totals (as Keras counts them)."""
    from rnnlab.models.summary import LayerRow, ModelSummary, _shape

    shapes: dict[str, str] = {}
    inputs = []
    param = next(model.parameters(), None)
    device = param.device if param is not None else None  # where the model is
    for layer in model.config["config"]["layers"]:
        if layer["class_name"] == "InputLayer":
            config = layer["config"]
            dims = [2 if d is None else d for d in config["batch_shape"]]
            dtype = torch.long if "int" in config.get("dtype", "float32") else torch.float32
            inputs.append(torch.ones(dims, dtype=dtype, device=device))

    def record(name):
        def hook(module, args, out) -> None:  # out: (outputs, mask)
            shapes.setdefault(name, _shape(out[0]))

        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in model.imported.items()]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    rows = []
    for layer in model.config["config"]["layers"]:
        name = layer["config"]["name"]
        if name in model.imported:
            count = sum(p.numel() for p in model.imported[name].parameters())
            shape = shapes.get(name, "?")
            shape = shape[1:-1] if shape.startswith("[") and shape.count("(") == 1 else shape
            rows.append(LayerRow(f"{name} ({layer['class_name']})", shape, count))
    total = model.parameter_count
    title = model.config["config"].get("name", "model")
    return str(ModelSummary(title, tuple(rows), total, total))
