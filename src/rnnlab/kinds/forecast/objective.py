"""``QuantileForecasting``: the quantile loss of every member's outputs."""

from __future__ import annotations

import torch

from rnnlab.data.series_windows import (
    SeriesWindows,
)
from rnnlab.training.devices import model_device


def _to(tensor: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return None if tensor is None else tensor.to(device)


def pinball(target: torch.Tensor, outputs: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """The mean quantile loss of ``outputs`` (``(..., H, Q)``, a column a level) for
    ``target`` (``(..., H)``), doubled: the median's part is the mean absolute error."""
    error = target[..., None] - outputs
    levels = levels.to(outputs.device)
    return 2 * torch.maximum(levels * error, (levels - 1) * error).mean()


class QuantileForecasting:
    """The quantile (pinball) loss of every member's outputs at every level, doubled so that
    the median's part is the mean absolute error."""

    metrics = ()
    lower_is_better = ()
    unit = "windows"

    def __init__(self, levels: list[float]) -> None:
        self.levels = torch.tensor(levels)

    def loss(self, model, batch) -> torch.Tensor:
        device = model_device(model)
        outputs = model(batch.window.to(device), _to(batch.future, device))  # (K, N, H, Q)
        return pinball(batch.target.to(device)[None], outputs, self.levels)

    def evaluate(self, model, data: SeriesWindows, batch_size: int) -> dict[str, float]:
        total, count = 0.0, 0
        for batch in data.batches(batch_size):
            total += self.loss(model, batch).item() * len(batch)
            count += len(batch)
        return {"loss": total / max(count, 1)}

    def predict(self, model, data: SeriesWindows, batch_size: int) -> torch.Tensor:
        device = model_device(model)
        return torch.cat(
            [
                model.forecast(b.window.to(device), _to(b.future, device)).cpu()
                for b in data.batches(batch_size)
            ]
        )
