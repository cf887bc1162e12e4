"""Training any kind into a run folder, and loading a run folder back.

``train(config, out)`` drives the config's kind through the contract of
``rnnlab.kinds.base`` (read, resolve, prepare, train, calibrate, report, pictures), checks
that the run fits in memory, trains with checkpoints after every epoch, and writes the run
folder (``rnnlab.training.run_folder``), whose ``config.json`` names the kind and the format
version. ``history.csv`` grows by a row an epoch as the run goes.

A run trains on the ``Placement`` it is given (a device, a precision, and the processes of a
``torchrun`` launch, ``rnnlab.training.distributed``). Of several processes, rank 0 alone
checks and writes the run folder; the others read the data themselves, and what only the
folder holds (a resumed run's config and checkpoint) comes to them from rank 0, so that the
machines of a multi-node run need not share a file system. ``load(path)`` reads any run
folder back as the kind's ``Run``, ready to ``predict``; a folder written before kinds
existed has no ``kind`` and is a ``seq2seq`` run.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from rnnlab.config import check_values
from rnnlab.data.files import (
    MARKER,
    atomic_write_text,
    check_output_folder,
    folder_owner,
    mark_folder,
)
from rnnlab.kinds.base import Checkpointer, Finished, Phase, Prepared, Run, run_trainer
from rnnlab.kinds.registry import KINDS, kind_named, kind_of
from rnnlab.training.devices import Placement, check_precision, describe_device
from rnnlab.training.history import History
from rnnlab.training.resources import BYTES_PER_PARAMETER, check_fits, parameter_count
from rnnlab.training.run_folder import (
    HISTORY,
    METRICS,
    RESUME,
    RunFolderError,
    has_checkpoint,
    load_weights,
    read_checkpoint,
    read_json,
    read_run,
    remove_run_files,
    write_run,
)
from rnnlab.training.trainer import (
    BudgetTooShortError,
    NonFiniteLossError,
    format_epochs,
    format_seconds,
)

FORMAT = 2  # config.json's format: 1 (no "kind", seq2seq only), 2 (a "kind" and this number)
CHANGEABLE_ON_RESUME = ("epochs", "patience", "max_time")  # options a resumed run may change
MEMORY_ADVICE = (
    "reduce `batch_size`, `units`, `layers` or `embedding_dim`, or use shorter sequences"
)


def train(
    config,
    out: Path,
    *,
    callbacks=(),
    resume: bool = False,
    overwrite: bool = False,
    changes: dict | None = None,
    placement: Placement | None = None,
) -> Run:
    """Train ``config``'s kind into the run folder ``out``; returns the trained ``Run``.

    ``out`` must be new or empty, or with ``overwrite`` a run folder ``train`` made before
    (its files are replaced; files of others are left alone). With ``resume``, go on from the
    checkpoint an interrupted run in ``out`` left (from its start, when it was stopped before
    its first checkpoint), with ``changes`` to the fields in ``CHANGEABLE_ON_RESUME``; then
    ``config`` is not used and may be None. ``placement``: where to train (default: this
    process, on the CPU, in float32); a resumed run may train on another device, or with
    another number of processes, than it started with. Of several processes, only rank 0
    writes and tells ``callbacks``; the others return their copy of the run, without the
    kind's ``report``.
    """
    out = Path(out)
    placement = placement or Placement()
    group = placement.group
    main = group is None or group.main
    check_precision(placement.precision, placement.device)
    if resume:
        config = _from_main(group, lambda: read_resume_config(out))
        config = config.replace(**(changes or {}))
    elif main:
        prepare_run_folder(out, overwrite=overwrite)
    existed = out.exists()
    kind = kind_of(config)
    config, data, prepared = kind.ready(config)
    prepared.placement = placement
    _check_memory(prepared, config.data)
    torch.manual_seed(config.seed)
    model = prepared.build(prepared.model_config)
    checkpoint = _Checkpointer(out)
    callbacks = [*callbacks, checkpoint] if main else []
    trainer = run_trainer(model, prepared, config, callbacks=callbacks)
    share = kind.calibration_share(config)
    if config.max_time is not None:  # what a calibration phase needs is kept for it
        trainer.max_time = config.max_time * (1 - share)
    if main and not resume:
        announce(callbacks, kind.data_summary(data, prepared, config), model, prepared, config)
    run_config = {
        "kind": kind.name,
        "format": FORMAT,
        "train": asdict(config),
        **prepared.state,
        "model": asdict(prepared.model_config),
    }
    if main:
        if overwrite and not resume:
            clear_run_folder(out)
        out.mkdir(parents=True, exist_ok=True)
        mark_folder(out, "train")
        # where it trains, for a resume that does not say (the device's type: a GPU's index
        # is its process's)
        where = {"device": placement.device.type, "precision": placement.precision}
        atomic_write_text(out / RESUME, json.dumps({**run_config, "placement": where}) + "\n")
    if resume:
        saved = _from_main(group, lambda: read_checkpoint(out) if has_checkpoint(out) else None)
        if saved is not None:
            try:
                trainer.load_state(*saved)
            except (KeyError, TypeError, ValueError, RuntimeError) as exc:
                raise RunFolderError(
                    f"{out}: its checkpoint does not fit its run ({exc})"
                ) from None
        if main:
            write_history(out, trainer.history)  # what the checkpoint holds, no more
    for callback in callbacks:  # those that read the trainer's state (checkpoints, timing)
        if hasattr(callback, "trainer"):
            callback.trainer = trainer
    try:
        history = trainer.fit(prepared.train, epochs=config.epochs, validation=prepared.val)
    except NonFiniteLossError as exc:
        kept = "the last good epoch's checkpoint" if has_checkpoint(out) else "no checkpoint yet"
        raise ValueError(f"{exc}; the run folder {out} keeps {kept}") from None
    except BudgetTooShortError:
        if main and not resume:  # nothing of the run is kept: it never trained
            clear_run_folder(out)
            (out / MARKER).unlink(missing_ok=True)
            if not existed:
                _remove_if_empty(out)
        raise
    shown = [c for c in callbacks if c is not checkpoint]
    left = None if config.max_time is None else max(1.0, config.max_time - trainer.seconds)
    phase = Phase("calibrate", shown, out if main else None, group, max_time=left)
    start = time.perf_counter()
    calibrated = kind.calibrate(model, prepared, config, phase)  # saved with the rest
    prepared.state.update(calibrated)
    run_config.update(calibrated)
    seconds = trainer.seconds + time.perf_counter() - start  # the epochs' across resumes
    final = trainer.evaluate(prepared.val)
    metrics = {
        **{f"val_{k}": v for k, v in final.items()},
        "train_seconds": seconds,
        "epochs": history.epochs,
        "best_epoch": trainer.best_epoch() + 1,
        **_stopping(trainer, config),
        "train_size": len(prepared.train),
        "val_size": len(prepared.val),
        "device": describe_device(trainer.device),
        "precision": placement.precision,
        "processes": 1 if group is None else group.world,
    }
    run = kind.restore(config, model, run_config, metrics)
    if main:
        finished = Finished(run, data, prepared, history.history, metrics)
        metrics.update(kind.report(finished))
        compared = kind.baselines(finished)
        if compared is not None:
            metrics["baselines"] = compared.to_dict()
        pictures = kind.pictures(finished)
        write_run(out, run_config, model, history.to_csv(), metrics, pictures)
        (out / RESUME).unlink(missing_ok=True)
    _from_main(group, lambda: True)  # the others end once rank 0 has written the run
    return run


def _stopping(trainer, config) -> dict:
    """Why and where training stopped, for ``metrics.json``: ``stopped`` ("budget",
    "patience" or "epochs"), the epochs trained as a fraction, where the best ended, and the
    budget."""
    return {
        "stopped": trainer.stopped or "epochs",
        "epochs_trained": round(trainer.epochs_trained, 3),
        "best_at": round(trainer.best_at(), 3),
        "max_time": config.max_time,
    }


def stopping_line(metrics: dict) -> str:
    """How training ended, in words: "stopped at the 5 min budget after 3.4 epochs; best at
    3.2" (empty for a run folder older than budgets)."""
    if "stopped" not in metrics:
        return ""
    epochs, best = format_epochs(metrics["epochs_trained"]), format_epochs(metrics["best_at"])
    took = format_seconds(metrics["train_seconds"])
    if metrics["stopped"] == "epochs":
        return f"trained all {epochs} epochs ({took}); best at {best}"
    how = {
        "budget": f"stopped at the {format_seconds(metrics['max_time'] or 0)} budget",
        "patience": "stopped when validation stopped improving",
    }[metrics["stopped"]]
    return f"{how} after {epochs} epochs ({took}); best at {best}"


def announce(callbacks, lines: list[str], model, prepared: Prepared, config) -> None:
    """Tell ``callbacks`` that can (``announce``) what the run will do, before it trains:
    the kind's summary of the data, then the validation split, the model and the plan."""
    params = sum(p.numel() for p in model.parameters())
    budget = config.max_time
    steps = -(-len(prepared.train) // config.batch_size) if len(prepared.train) else 0
    plan = f"up to {config.epochs} epochs of {steps:,} steps (batch {config.batch_size})"
    if config.patience is not None:
        plan += f", stopping after {config.patience} without a better {prepared.monitor}"
    if budget is not None:
        plan += f", within {format_seconds(budget)}"
    lines = [
        *lines,
        f"model: {type(model).__name__}, {params:,} parameters",
        f"plan: {plan}",
    ]
    for callback in callbacks:
        if hasattr(callback, "announce"):
            callback.announce(lines)


def _remove_if_empty(out: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: files of others stay
        out.rmdir()


def _from_main(group, read: Callable[[], Any]):
    """What ``read()`` gives on rank 0, on every rank (``read()`` itself without a group).
    An error on rank 0 ends it; the others are ended by the launcher or the timeout."""
    if group is None:
        return read()
    return group.from_main(read() if group.main else None)


def write_history(out: Path, history: History) -> None:
    """Bring ``history.csv`` up to ``history``: the new epoch's row appended when the file
    holds every row before it, else the file written again (a resumed run's file may hold
    an epoch its checkpoint does not)."""
    path = out / HISTORY
    rows = history.to_csv().splitlines(keepends=True)
    try:
        held = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        held = []
    if held and len(held) == len(rows) - 1 and held == rows[:-1]:
        with path.open("a", encoding="utf-8") as file:
            file.write(rows[-1])
    elif held != rows:
        atomic_write_text(path, "".join(rows))


def prepare_run_folder(out: Path, *, overwrite: bool = False) -> None:
    """Check that ``train`` may start a new run in ``out`` (see ``train``); with
    ``overwrite``, ``clear_run_folder`` removes what the earlier run left, once the new one
    is ready to start (so a refused or interrupted start keeps it)."""
    if folder_owner(out, guess=False) != "train":
        check_output_folder(out, "train", overwrite=overwrite)
        return
    if not overwrite:
        if (out / RESUME).exists() or has_checkpoint(out):
            raise ValueError(
                f"`out` {out}: holds an interrupted run; continue it with `resume`, or give "
                "`overwrite` to start it again"
            )
        what = "a finished run" if (out / METRICS).exists() else "a run's files"
        raise ValueError(
            f"`out` {out}: already holds {what}; choose another folder, or give `overwrite` "
            "to replace it"
        )


def clear_run_folder(out: Path) -> None:
    """Remove the files an earlier run of ``train`` left in ``out`` (and nothing else)."""
    if folder_owner(out, guess=False) == "train":
        pictures = [p.name for p in out.glob("*.png")]
        remove_run_files(out, extra=(RESUME, *pictures))


def _check_memory(prepared: Prepared, data) -> None:
    """Refuse a run that cannot fit in memory, before anything large is allocated; the
    message names the data it was sized for."""
    params = parameter_count(lambda: prepared.build(prepared.model_config))
    where = f"{data}: " if data else ""
    check_fits(
        BYTES_PER_PARAMETER * params + prepared.activation_bytes,
        f"{where}a model of {params:,} parameters {prepared.sizes}".rstrip(),
        MEMORY_ADVICE,
    )


def read_resume_config(out: Path):
    """The config of the interrupted run in ``out``, checked."""
    if not out.is_dir():
        raise RunFolderError(f"`resume` {out}: no such run folder")
    if (out / METRICS).exists():
        raise ValueError(f"`resume` {out}: the run is already finished")
    path = out / RESUME
    if not path.is_file():
        raise RunFolderError(
            f"`resume` {out}: no interrupted run to resume (no {RESUME}); expected the folder "
            "of an `rnnlab train` that was stopped"
        )
    saved = read_json(path)
    try:
        config = saved_config(saved)
        if config.epochs is None or config.batch_size is None:
            raise ValueError("its defaults are not filled in")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RunFolderError(f"{path}: not the resume file of `rnnlab train` ({exc})") from None
    return config


def saved_config(saved: dict):
    """The config a run folder's ``config.json`` (or ``resume.json``) records, checked."""
    config = kind_named(saved).config(**saved["train"])
    check_values(config)
    return config


class _Checkpointer(Checkpointer):
    """Writes the trainer's state after every epoch, then the epoch's row of the history."""

    def on_epoch_end(self, epoch, logs):
        super().on_epoch_end(epoch, logs)
        write_history(self.out, self.trainer.history)


def load(path, *, device: torch.device | str | None = None) -> Run:
    """Rebuild a finished run of any kind from its folder, checking every file; its model
    on ``device`` (default: the CPU), where its inputs follow it."""
    path = Path(path)
    saved, weights, metrics = read_run(path)
    try:
        kind = kind_named(saved)
        config = saved_config(saved)
        model = kind.build(saved)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise RunFolderError(
            f"{path / 'config.json'}: not an rnnlab train config ({type(exc).__name__}: {exc})"
        ) from None
    load_weights(model, weights, path)
    model.eval()
    if device is not None:
        model.to(device)
    try:
        return kind.restore(config, model, saved, metrics)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise RunFolderError(
            f"{path / 'config.json'}: not an rnnlab train config ({type(exc).__name__}: {exc})"
        ) from None


__all__ = ["CHANGEABLE_ON_RESUME", "FORMAT", "KINDS", "RESUME", "load", "train"]
