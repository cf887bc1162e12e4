"""Run folders: what a finished training run leaves, and the checkpoint of an unfinished one.

A finished run folder holds ``config.json`` (everything needed to rebuild the model and its
vocabularies), ``model.safetensors`` (weights; never pickle), ``history.csv``, PNGs, and,
written last, ``metrics.json``, which records the SHA-256 of the weights and the config. A
folder without ``metrics.json`` is unfinished and never loads as complete; one whose files
do not match their recorded hashes is refused.

While training, ``checkpoint/`` holds ``state.safetensors`` and ``state.json`` (see
``Trainer.state``), replaced as a whole after every epoch, so ``--resume`` can go on.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from rnnlab.data import atomic_write_bytes, atomic_write_text

CONFIG, WEIGHTS, HISTORY, METRICS, CHECKPOINT = (
    "config.json",
    "model.safetensors",
    "history.csv",
    "metrics.json",
    "checkpoint",
)
RESUME = "resume.json"  # what an unfinished run needs to start again; removed when it ends


RUN_FILES = (CONFIG, WEIGHTS, HISTORY, METRICS)


class RunFolderError(ValueError):
    """A run folder that is missing, unfinished, or does not match itself."""


def json_numbers(value):
    """``value`` with every non-finite float (NaN: a measure with nothing to measure) as
    None, so that the JSON written is valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_numbers(v) for v in value]
    return value


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_run(
    out: Path,
    config: dict,
    model: torch.nn.Module,
    history_csv: str,
    metrics: dict,
    pictures: dict[str, bytes] | None = None,
) -> None:
    """Write a finished run; ``metrics.json`` goes last, so a crash leaves it unfinished."""
    out.mkdir(parents=True, exist_ok=True)
    (out / METRICS).unlink(missing_ok=True)
    weights = save({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()})
    config_text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(out / CONFIG, config_text)
    atomic_write_bytes(out / WEIGHTS, weights)
    atomic_write_text(out / HISTORY, history_csv)
    for name, png in (pictures or {}).items():
        atomic_write_bytes(out / name, png)
    record = {
        **json_numbers(metrics),
        "files": {WEIGHTS: _sha256(weights), CONFIG: _sha256(config_text.encode("utf-8"))},
    }
    atomic_write_text(out / METRICS, json.dumps(record, indent=2) + "\n")
    remove_checkpoints(out)


def read_run(path: Path) -> tuple[dict, dict[str, torch.Tensor], dict]:
    """``(config, weights, metrics)`` of a finished run, checked against its recorded hashes."""
    path = Path(path)
    if not path.is_dir():
        raise RunFolderError(f"{path}: no such run folder")
    if not (path / METRICS).is_file() and (path / "rnnlab_onnx.json").is_file():
        raise RunFolderError(
            f"{path}: an ONNX export (rnnlab export), not a run folder; run it with "
            f"rnnlab.interop.onnx.OnnxPredictor('{path}'), or give the run folder it came from"
        )
    if not (path / METRICS).is_file():
        hint = (
            " (interrupted; continue it with `rnnlab train --resume`)"
            if (path / CHECKPOINT).is_dir()
            else ""
        )
        raise RunFolderError(f"{path}: unfinished run folder, no {METRICS}{hint}")
    metrics = read_json(path / METRICS)
    files = metrics.get("files") if isinstance(metrics, dict) else None
    if not isinstance(files, dict):
        raise RunFolderError(
            f"{path / METRICS}: not the metrics file of a finished run (no 'files' hashes)"
        )
    blobs = {}
    for name in (CONFIG, WEIGHTS):
        if not (path / name).is_file():
            raise RunFolderError(f"{path / name}: missing")
        blobs[name] = (path / name).read_bytes()
        if files.get(name) != _sha256(blobs[name]):
            raise RunFolderError(
                f"{path / name}: does not match the hash in {METRICS} (changed or from another run)"
            )
    config = read_json(path / CONFIG)
    if not isinstance(config, dict):
        raise RunFolderError(f"{path / CONFIG}: expected a JSON object")
    try:
        weights = load(blobs[WEIGHTS])
    except (SafetensorError, ValueError) as exc:
        raise RunFolderError(f"{path / WEIGHTS}: not a safetensors file ({exc})") from None
    return config, weights, metrics


def read_json(path: Path):
    """The JSON value in the file ``path``, with a one-line error naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path}: not valid JSON ({exc})") from None
    except ValueError as exc:  # an integer longer than Python converts
        raise RunFolderError(f"{path}: not usable JSON ({exc})") from None
    except RecursionError:
        raise RunFolderError(f"{path}: JSON nested too deeply") from None


def recorded_placement(out: Path) -> tuple[str, str] | None:
    """The device type and precision an interrupted run in ``out`` trained with, as its
    ``resume.json`` records them (None: no record, or none readable)."""
    try:
        recorded = json.loads((Path(out) / RESUME).read_text(encoding="utf-8"))["placement"]
        device, precision = recorded["device"], recorded["precision"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    if isinstance(device, str) and isinstance(precision, str):
        return device, precision
    return None


def has_checkpoint(out: Path, name: str = CHECKPOINT) -> bool:
    """Whether ``out`` holds a checkpoint (``name``: of a phase, see
    ``rnnlab.kinds.base.Phase``) to resume from."""
    return any((Path(out) / folder).is_dir() for folder in (name, name + ".old"))


def remove_checkpoints(out: Path) -> None:
    """Remove every checkpoint in ``out``: training's and each phase's."""
    for folder in Path(out).glob(CHECKPOINT + "*"):
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def remove_run_files(out: Path, extra: tuple[str, ...] = ()) -> None:
    """Remove the files a run wrote into ``out`` (and ``extra``), nothing else."""
    for name in (*RUN_FILES, *extra):
        (out / name).unlink(missing_ok=True)
    remove_checkpoints(out)


def load_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor], path: Path) -> None:
    """Load ``weights`` into ``model``, with a one-line error naming the first mismatch."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise RunFolderError(
            f"{path / WEIGHTS}: does not fit the model in {CONFIG} "
            f"(missing {missing[:3]}, unexpected {extra[:3]})"
        )
    for key, tensor in weights.items():
        if tensor.shape != expected[key].shape:
            raise RunFolderError(
                f"{path / WEIGHTS}: {key} has shape {tuple(tensor.shape)}, the model in {CONFIG} "
                f"expects {tuple(expected[key].shape)}"
            )
    model.load_state_dict(weights)


def write_checkpoint(
    out: Path, tensors: dict[str, torch.Tensor], numbers: dict, name: str = CHECKPOINT
) -> None:
    """Replace ``out/checkpoint`` (or ``out/NAME``) as a whole: write a new folder, then
    swap it in."""
    out.mkdir(parents=True, exist_ok=True)
    fresh, old, final = out / (name + ".new"), out / (name + ".old"), out / name
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    (fresh / "state.safetensors").write_bytes(save(tensors))
    (fresh / "state.json").write_text(json.dumps(numbers) + "\n")
    if final.exists():
        final.rename(old)
    fresh.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def read_checkpoint(out: Path, name: str = CHECKPOINT) -> tuple[dict[str, torch.Tensor], dict]:
    folder = Path(out) / name
    if not folder.is_dir() and (Path(out) / (name + ".old")).is_dir():
        folder = Path(out) / (name + ".old")  # interrupted between the two renames
    if not folder.is_dir():
        raise RunFolderError(f"{out}: no checkpoint to resume from")
    try:
        tensors = load((folder / "state.safetensors").read_bytes())
        numbers = json.loads((folder / "state.json").read_text())
    except (OSError, SafetensorError, ValueError, RecursionError) as exc:
        raise RunFolderError(f"{folder}: unreadable checkpoint ({exc})") from None
    if not isinstance(numbers, dict):
        raise RunFolderError(f"{folder / 'state.json'}: expected a JSON object")
    return tensors, numbers
