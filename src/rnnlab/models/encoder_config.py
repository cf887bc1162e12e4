"""The recurrent encoder's options, declared once: ``RecurrentConfig`` (cell, units, layers,
dropout) for kinds whose network reads one way, ``EncoderConfig`` adding the direction.

Each kind's config inherits one of them and states only the defaults that differ
(``rnnlab.config.override``); the command line lists them under "recurrent encoder".
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rnnlab.config import Config, option
from rnnlab.layers.recurrent import RECURRENT_LAYERS


@dataclass(frozen=True)
class RecurrentConfig(Config):
    """A stack of recurrent layers."""

    cell: str = option("the recurrent cell", choices=tuple(RECURRENT_LAYERS), default="lstm")
    units: int | None = option("recurrent units, each direction", value="units", default=64)
    layers: int = option("stacked recurrent layers", value="layers", default=1)
    dropout: float | None = option("dropout in [0, 1)", value="dropout", default=0.0)

    def encoder(self) -> dict:
        """The fields of this section, as the models' configs take them."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in self.section()}

    @classmethod
    def section(cls) -> tuple[str, ...]:
        return ("cell", "units", "layers", "dropout")


@dataclass(frozen=True)
class EncoderConfig(RecurrentConfig):
    """A stack of recurrent layers that reads both ways unless told."""

    bidirectional: bool = option(
        "a one-way encoder (default: bidirectional)", flag="--unidirectional", default=True
    )

    @classmethod
    def section(cls) -> tuple[str, ...]:
        return (*super().section(), "bidirectional")
