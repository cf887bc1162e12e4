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
import tempfile
import zipfile
from pathlib import Path

from rnnlab.models.keras_model import KerasImportError, KerasModel, summary

MOST_BYTES = 2 * 1024**3  # the largest archive (uncompressed) that is read
MEMBERS = ("config.json", "model.weights.h5")


MOST_CONFIG_BYTES = 64 * 1024**2  # config.json: a model's description, never this large
CHUNK = 1024**2  # what is decompressed at a time


def load_keras(path: str | Path) -> KerasModel:
    """The model saved in the Keras 3 file ``path``, as an rnnlab module in eval mode; call
    it with the inputs Keras's model takes (``model(x)``, or ``model(x1, x2)``).

    The archive's members are decompressed a chunk at a time and never past the size they
    declare; the weights go to a temporary file, not to memory, and each array is checked
    (stored inside the file, unfiltered, numeric, of its layer's shape) before it is read.
    """
    path = Path(path)
    try:
        import h5py  # here: only this reader needs it
    except ImportError:
        raise KerasImportError(
            "reading a .keras file needs h5py; expected `pip install 'rnnlab[keras]'`"
        ) from None
    with tempfile.TemporaryDirectory(prefix="rnnlab-keras-") as folder:
        weights = Path(folder) / "model.weights.h5"
        config = _read_archive(path, weights)
        try:
            with h5py.File(weights, "r") as h5:
                model = KerasModel(config, h5, str(path))
        except OSError as exc:
            raise KerasImportError(
                f"{path}: model.weights.h5 is not a readable HDF5 ({exc})"
            ) from None
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
            if isinstance(exc, KerasImportError):
                raise
            raise KerasImportError(
                f"{path}: config.json is not a Keras model config rnnlab reads "
                f"({type(exc).__name__}: {exc}); expected one saved by Keras 3"
            ) from None
    return model.eval()


def _read_archive(path: Path, weights: Path) -> dict:
    """``config.json``'s model description; ``model.weights.h5`` copied to ``weights``."""
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
            size = sum(infos[m].file_size for m in MEMBERS)
            if size > MOST_BYTES:
                raise KerasImportError(
                    f"{path}: {size:,} bytes uncompressed; expected at most {MOST_BYTES:,}"
                )
            text = io.BytesIO()
            _extract(archive, infos["config.json"], text, MOST_CONFIG_BYTES, path)
            with weights.open("wb") as out:
                _extract(archive, infos["model.weights.h5"], out, MOST_BYTES, path)
        config = json.loads(text.getvalue().decode("utf-8"))
    except KerasImportError:
        raise
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, OSError) as exc:
        raise KerasImportError(f"{path}: a malformed archive ({exc})") from None
    except (ValueError, RecursionError) as exc:  # a number too long, JSON nested too deeply
        raise KerasImportError(f"{path}: config.json is not usable JSON ({exc})") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise KerasImportError(f"{path}: config.json does not describe a Keras model")
    return config


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, out, most: int, path) -> None:
    """Decompress the member ``info`` into ``out`` a chunk at a time, refusing one that
    holds more than it declares or than ``most`` bytes, is encrypted, or is compressed by a
    method this Python cannot read."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise KerasImportError(f"{path}: {name} is encrypted; expected a plain .keras file")
    if info.file_size > most:
        raise KerasImportError(
            f"{path}: {name} declares {info.file_size:,} bytes; expected at most {most:,}"
        )
    written = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(CHUNK):
                written += len(chunk)
                if written > info.file_size:
                    raise KerasImportError(
                        f"{path}: {name} holds more than the {info.file_size:,} bytes it "
                        "declares; expected a well-formed archive"
                    )
                out.write(chunk)
    except zipfile.BadZipFile as exc:  # zipfile stops at the declared size: the CRC fails
        raise KerasImportError(
            f"{path}: {name} does not match its declared size and checksum ({exc}); expected "
            "a well-formed archive"
        ) from None
    except NotImplementedError as exc:  # a compression method zipfile lacks
        raise KerasImportError(f"{path}: {name} cannot be read here ({exc})") from None
    except RuntimeError as exc:  # encrypted, by another flag
        raise KerasImportError(f"{path}: {name} cannot be read ({exc})") from None


__all__ = ["MOST_BYTES", "KerasImportError", "KerasModel", "load_keras", "summary"]
