"""Models in and out of rnnlab: Keras 3 files read as rnnlab modules (``load_keras``)."""

from __future__ import annotations

from rnnlab.interop.keras import KerasImportError, KerasModel, load_keras

__all__ = ["KerasImportError", "KerasModel", "load_keras"]
