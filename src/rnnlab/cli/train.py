"""``rnnlab train``: one model of any task kind, into a run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlab.cli.options import UsageError, add_device_options, given_options
from rnnlab.cli.runs import default_out

DESCRIPTION = """\
Train one model into a run folder (--out): a sequence-to-sequence model on a built-in task
(--task) or a pair file (--data: 'source<TAB>target' lines, or JSONL), a tagger (--kind tag:
CoNLL-U, CoNLL columns or JSONL), a classifier (--kind classify: TSV, JSONL or .ts), a
forecaster (--kind forecast: a long or wide CSV of series, or a shipped set such as --task
sunspots, with --horizon), or a language model (--kind lm: a UTF-8 text, or --task pydoc).
The kind follows from --task or the file's extension where --kind is not given (.conllu:
tag, .ts: classify, .csv: forecast, anything else: seq2seq). Each kind and built-in task has
defaults that solve it. The run folder holds config.json, model.safetensors, history.csv,
metrics.json and PNGs; an interrupted run continues with --resume. --device cuda trains on
a GPU; under torchrun (torchrun --standalone --nproc_per_node N -m rnnlab train ...) the
processes train one model with DistributedDataParallel, --batch-size being the global
batch."""

KIND_OPTIONS = {"kind", "resume", "out", "overwrite", "quiet"}  # the command's own options
# besides the config fields a resumed run may change: where and how it runs, not what it is
RESUME_OPTIONS = {"resume", "quiet", "device", "precision", "tensorboard"}


def add_parser(commands) -> None:
    p = commands.add_parser(
        "train", help="train one model into a run folder", description=DESCRIPTION
    )
    p.populate = _add_options
    p.set_defaults(run=run, parser=p)


def _add_options(p) -> None:
    from rnnlab.cli.config_options import add_config_options, cli_fields
    from rnnlab.kinds.registry import trainable_kinds

    kinds = trainable_kinds()
    p.add_argument(
        "--kind",
        choices=list(kinds),
        help="the task kind (default: from --task or the --data file's extension)",
    )
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue an interrupted run")
    p.add_argument(
        "--out", type=Path, help="run folder: new or empty (default: a new folder under runs/)"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run that an earlier `rnnlab train` left in --out",
    )
    p.add_argument("--quiet", action="store_true", help="print only the final figures")
    add_device_options(p, precision=True)
    p.add_argument(
        "--tensorboard",
        type=Path,
        metavar="DIR",
        help="also log loss, metrics, learning rate and throughput to TensorBoard event files "
        "in DIR (needs the tensorboard package)",
    )
    configs = {name: kind.config for name, kind in kinds.items()}
    add_config_options(p, configs)
    p.config_fields = {f.name for config in configs.values() for f in cli_fields(config)}


def _choose_kind(args: argparse.Namespace) -> str:
    """``--kind``, or the kind whose tasks include ``--task``, or the one ``--data`` implies."""
    from rnnlab.kinds.registry import guess_kind, task_kind

    if args.kind is not None:
        return args.kind
    if getattr(args, "task", None) is not None:
        found = task_kind(args.task)
        if found is not None:
            return found
    return guess_kind(getattr(args, "data", None))


def run(args: argparse.Namespace) -> int:
    from rnnlab.cli.config_options import config_from_args
    from rnnlab.cli.progress import ProgressBar
    from rnnlab.kinds.baselines import from_dict as baselines_from
    from rnnlab.kinds.registry import KINDS
    from rnnlab.kinds.runs import stopping_line, train
    from rnnlab.training import distributed
    from rnnlab.training.run_folder import RESUME

    given = given_options(args)
    if args.resume is not None:
        changes = _resume_changes(args, given)
        config, out = None, args.resume
        _resume_placement(args, given)
    else:
        if not given & {"task", "data"}:
            args.parser.error("give --task NAME, --data FILE or --resume RUN_DIR")
        kind = _choose_kind(args)
        changes, out = None, args.out or default_out("train")
        config = config_from_args(KINDS[kind].config, kind, args, given)
    placement = placement_from_args(args)
    main = placement.group is None or placement.group.main
    callbacks = []
    if main and not args.quiet:
        callbacks.append(ProgressBar("train"))  # the numbers its objective headlines
    if main and args.tensorboard is not None:
        from rnnlab.training.tensorboard import TensorBoard

        callbacks.append(TensorBoard(args.tensorboard))
    try:
        result = train(
            config,
            out,
            callbacks=callbacks,
            resume=args.resume is not None,
            overwrite=args.overwrite,
            changes=changes,
            placement=placement,
        )
    except KeyboardInterrupt:
        if (out / RESUME).is_file():
            hint = f"continue with: rnnlab train --resume {out}"
        else:
            hint = "nothing was written"
        if main:
            sys.stderr.write(f"\nrnnlab train: interrupted; {hint}\n")
        return 130
    finally:
        for callback in callbacks:
            if hasattr(callback, "close"):
                callback.close()
        distributed.stop()
    if main:
        print(result.summary())
        stopping = stopping_line(result.metrics)
        if stopping and not args.quiet:
            print(stopping[0].upper() + stopping[1:] + ".")
        if "baselines" in result.metrics:
            print("\n".join(baselines_from(result.metrics["baselines"]).lines()))
        print(f"Run written to {out}/")
    return 0


def placement_from_args(args: argparse.Namespace):
    """Where the command runs: ``--device`` and ``--precision``, and the processes of a
    ``torchrun`` launch (joined here; the device of a process under ``--device cuda`` is
    the GPU of its local rank)."""
    from rnnlab.training import distributed
    from rnnlab.training.devices import Placement, check_precision, resolve_device

    if distributed.local_world() > 1 and args.device.strip().lower().startswith("cuda:"):
        raise UsageError(
            f"--device {args.device}: under torchrun each process takes the GPU of its local "
            "rank; give --device cuda (CUDA_VISIBLE_DEVICES chooses which GPUs)"
        )
    device = resolve_device(args.device, local_rank=distributed.local_rank())
    precision = getattr(args, "precision", "fp32")
    check_precision(precision, device)
    return Placement(device, precision, distributed.start(device))


def _resume_placement(args: argparse.Namespace, given: set[str]) -> None:
    """A resumed run trains where it trained (``resume.json`` records the device's type and
    the precision) unless ``--device`` or ``--precision`` say otherwise."""
    from rnnlab.training.run_folder import recorded_placement

    if given & {"device", "precision"}:
        return
    recorded = recorded_placement(args.resume)
    if recorded is not None:  # else an older run, or none to resume: train says what is wrong
        args.device, args.precision = recorded


def _resume_changes(args: argparse.Namespace, given: set[str]) -> dict:
    """The config changes ``--resume`` was given with; an option that would change what the
    run is (its data, model or seed) is refused, not dropped."""
    from rnnlab.kinds.runs import CHANGEABLE_ON_RESUME

    allowed = RESUME_OPTIONS | set(CHANGEABLE_ON_RESUME)
    refused = sorted(given - allowed)
    if refused:
        names = ", ".join("--" + dest.replace("_", "-") for dest in refused)
        may = ", ".join("--" + name.replace("_", "-") for name in sorted(allowed - {"resume"}))
        raise UsageError(
            f"--resume continues a run as it was started, so {names} cannot be given with it "
            f"(only {may} can)"
        )
    return {name: getattr(args, name) for name in CHANGEABLE_ON_RESUME if name in given}
