"""A Keras-style model summary: layer, output shape and parameters, with totals."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LayerRow:
    name: str  # e.g. "lstm (LSTM)"
    output_shape: str  # e.g. "(None, 5, 64)"
    params: int


@dataclass(frozen=True)
class ModelSummary:
    title: str
    rows: tuple[LayerRow, ...]
    total_params: int
    trainable_params: int

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        header = ("Layer (type)", "Output Shape", "Param #")
        cells = [header] + [(r.name, r.output_shape, f"{r.params:,}") for r in self.rows]
        widths = [max(len(c[i]) for c in cells) + 2 for i in range(3)]

        def line(left: str, mid: str, right: str, fill: str = "─") -> str:
            return left + mid.join(fill * w for w in widths) + right

        def row(values) -> str:
            parts = [f" {values[0]:<{widths[0] - 1}}", f" {values[1]:<{widths[1] - 1}}"]
            parts.append(f"{values[2]:>{widths[2] - 1}} ")
            return "│" + "│".join(parts) + "│"

        out = [f'Model: "{self.title}"', line("┌", "┬", "┐"), row(header), line("├", "┼", "┤")]
        for i, r in enumerate(cells[1:]):
            out.append(row(r))
            out.append(line("├", "┼", "┤") if i < len(cells) - 2 else line("└", "┴", "┘"))
        out.append(f" Total params: {_count(self.total_params)}")
        out.append(f" Trainable params: {_count(self.trainable_params)}")
        out.append(f" Non-trainable params: {_count(self.non_trainable_params)}")
        return "\n".join(out)


def _count(n: int) -> str:
    return f"{n:,} ({n * 4 / 1024:,.2f} KB)"  # float32 bytes, as Keras shows them


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _shape(value) -> str:
    if isinstance(value, torch.Tensor):
        return str((None, *value.shape[1:])).replace(",)", ")")
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_shape(v) for v in value) + "]"
    return "?"


def summarize(
    model: nn.Module,
    input_shape: tuple[int, ...],
    title: str | None = None,
    dtype: torch.dtype = torch.float32,
) -> ModelSummary:
    """Summarise ``model``'s top-level layers by running it once on zeros of ``(2, *input_shape)``.

    ``input_shape`` excludes the batch axis, e.g. ``(5, 1)`` for the tutorial's models, or
    ``(5,)`` with ``dtype=torch.long`` for token models.
    Rows are named as Keras names layers: ``snake_case`` of the class, numbered from the
    second of a kind (``lstm``, ``lstm_1``).
    """
    outputs: dict[str, object] = {}
    hooks = [
        child.register_forward_hook(lambda _m, _i, out, key=key: outputs.__setitem__(key, out))
        for key, child in model.named_children()
    ]
    try:
        with torch.no_grad():
            param = next(model.parameters(), None)
            device = param.device if param is not None else None
            model(torch.zeros(2, *input_shape, device=device, dtype=dtype))
    finally:
        for hook in hooks:
            hook.remove()

    seen: dict[str, int] = {}
    rows = []
    for key, child in model.named_children():
        kind = type(child).__name__
        base = _snake(kind)
        name = base if base not in seen else f"{base}_{seen[base]}"
        seen[base] = seen.get(base, 0) + 1
        params = sum(p.numel() for p in child.parameters())
        rows.append(LayerRow(f"{name} ({kind})", _shape(outputs.get(key)), params))
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return ModelSummary(title or _snake(type(model).__name__), tuple(rows), total, trainable)
