"""Keras 3 ``.keras`` files read as rnnlab modules whose outputs equal Keras's.

A ``.keras`` file is a zip of ``config.json`` (the model's layers and how they connect),
``metadata.json`` and ``model.weights.h5``. ``load_keras`` reads the JSON and the HDF5 (with
h5py; nothing is unpickled, and archives that are not zips, lack a member, hold more than
``MOST_BYTES`` or are otherwise malformed are refused in one line) and builds a
``rnnlab.models.keras_model.KerasModel`` from them: which layers are supported, and how
masks and states follow Keras, is said there.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from rnnlab.models.keras_model import KerasImportError, KerasModel, summary

MOST_BYTES = 2 * 1024**3  # the largest archive (uncompressed) that is read
MEMBERS = ("config.json", "model.weights.h5")


def load_keras(path: str | Path) -> KerasModel:
    """The model saved in the Keras 3 file ``path``, as an rnnlab module in eval mode; call
    it with the inputs Keras's model takes (``model(x)``, or ``model(x1, x2)``)."""
    path = Path(path)
    config, weights = _read_archive(path)
    try:
        import h5py  # here: only this reader needs it
    except ImportError:
        raise KerasImportError(
            "reading a .keras file needs h5py; expected `pip install 'rnnlab[keras]'`"
        ) from None

    try:
        with h5py.File(io.BytesIO(weights), "r") as h5:
            model = KerasModel(config, h5, str(path))
    except OSError as exc:
        raise KerasImportError(f"{path}: model.weights.h5 is not a readable HDF5 ({exc})") from None
    return model.eval()


def _read_archive(path: Path) -> tuple[dict, bytes]:
    if not path.is_file():
        raise KerasImportError(f"{path}: no such file; expected a .keras file")
    if not zipfile.is_zipfile(path):
        raise KerasImportError(f"{path}: not a zip archive; expected a Keras 3 .keras file")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            missing = [m for m in MEMBERS if m not in infos]
            if missing:
                raise KerasImportError(
                    f"{path}: no {' or '.join(missing)} in the archive; expected a Keras 3 "
                    ".keras file (config.json, metadata.json, model.weights.h5)"
                )
            size = sum(info.file_size for info in infos.values())
            if size > MOST_BYTES:
                raise KerasImportError(
                    f"{path}: {size:,} bytes uncompressed; expected at most {MOST_BYTES:,}"
                )
            config = json.loads(archive.read("config.json").decode("utf-8"))
            weights = archive.read("model.weights.h5")
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, OSError) as exc:
        raise KerasImportError(f"{path}: a malformed archive ({exc})") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise KerasImportError(f"{path}: config.json does not describe a Keras model")
    return config, weights


__all__ = ["MOST_BYTES", "KerasImportError", "KerasModel", "load_keras", "summary"]
