"""Models in and out of rnnlab: Keras 3 files read as rnnlab modules (``load_keras``), and
runs exported to ONNX (``rnnlab.interop.onnx_export``) that ``OnnxPredictor``
(``rnnlab.interop.onnx``) runs with numpy and onnxruntime alone.

The names are imported on first use, so that ``rnnlab.interop.onnx`` does not import torch.
"""

from __future__ import annotations

_NAMES = {
    "KerasImportError": "rnnlab.interop.keras",
    "KerasModel": "rnnlab.interop.keras",
    "load_keras": "rnnlab.interop.keras",
    "OnnxPredictor": "rnnlab.interop.onnx",
    "export_onnx": "rnnlab.interop.onnx_export",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module 'rnnlab.interop' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_NAMES[name]), name)
