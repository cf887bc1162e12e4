"""The record of a training run: one row of numbers per epoch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class History:
    """Per-epoch logs, column by column: ``history.history["loss"][epoch]`` (as Keras)."""

    history: dict[str, list[float]] = field(default_factory=dict)

    def append(self, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    @property
    def epochs(self) -> int:
        return len(next(iter(self.history.values()), []))

    def last(self) -> dict[str, float]:
        return {key: values[-1] for key, values in self.history.items()}

    def to_csv(self) -> str:
        keys = list(self.history)
        lines = [",".join(["epoch", *keys])]
        for i in range(self.epochs):
            lines.append(",".join([str(i + 1)] + [repr(self.history[k][i]) for k in keys]))
        return "\n".join(lines) + "\n"
