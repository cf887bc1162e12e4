"""``rnnlab doctor``: what this machine runs, and which implementation each layer gets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rnnlab.cli.options import non_negative_int, positive_int

DESCRIPTION = """\
Print the torch version, threads and device, and for each of the tutorial's models the
implementation each recurrent layer runs ("fused": torch's fused kernel with the Keras
weights mapped; "scan", opt-in: the LSTM loop with a hand-written backward pass; "reference": the
Python loop over the cell) and why, unmasked and with a post-padding mask."""


def add_parser(commands) -> None:
    p = commands.add_parser(
        "doctor",
        help="torch, threads, device, and the implementation of each layer",
        description=DESCRIPTION,
    )
    p.add_argument("--max-len", type=positive_int, default=5, help="time steps (default: 5)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="weights' seed (default: 0)")
    p.add_argument(
        "--out", type=Path, default=None, help="also write doctor.json into this new folder"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the doctor.json an earlier `rnnlab doctor` wrote in --out",
    )
    p.set_defaults(run=run, parser=p)


def _machine() -> dict[str, str]:
    import torch

    from rnnlab.training.workers import can_fork, default_jobs, usable_cpus

    device = "cpu"
    if torch.cuda.is_available():
        device = f"cuda ({torch.cuda.get_device_name()}, cuDNN {torch.backends.cudnn.version()})"
    return {
        "torch": torch.__version__,
        "threads": f"{torch.get_num_threads()} intra-op, "
        f"{torch.get_num_interop_threads()} inter-op",
        "device": device,
        "oneDNN (mkldnn)": "available" if torch.backends.mkldnn.is_available() else "absent",
        "compare --jobs auto": f"{default_jobs(3)} worker processes for the tutorial's 3 models "
        f"({usable_cpus()} usable CPU cores"
        + (")" if can_fork() else "; no fork here, so one after the other)"),
    }


def _layers(name: str, max_len: int) -> list[dict[str, str]]:
    """Each recurrent layer of model ``name``: what it runs unmasked and post-padded."""
    import torch

    from rnnlab.data.dataset import length_mask
    from rnnlab.layers import RNN, Bidirectional
    from rnnlab.models import build_model

    model = build_model(name, time_steps=max_len)
    post_padded = length_mask(torch.tensor([max_len, 1]), max_len)  # as `compare --mask`
    rows, inside = [], set()
    for path, module in model.named_modules():
        if isinstance(module, Bidirectional):
            inside.update(id(m) for m in module.modules() if m is not module)
        elif not isinstance(module, RNN) or id(module) in inside:
            continue
        rows.append(
            {
                "layer": f"{path} ({type(module).__name__})",
                "unmasked": str(module.describe()),
                "masked": str(module.describe(mask=post_padded)),
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    import torch

    from rnnlab.data.files import OutputFolder, atomic_write_text
    from rnnlab.models import TUTORIAL_MODELS

    out = None if args.out is None else OutputFolder(args.out, "doctor", overwrite=args.overwrite)
    torch.manual_seed(args.seed)
    machine = _machine()
    for key, value in machine.items():
        print(f"{key + ':':<17} {value}")
    report = {"machine": machine, "models": {}}
    for name in TUTORIAL_MODELS:
        rows = _layers(name, args.max_len)
        report["models"][name] = rows
        print(f"\n{name}")
        for row in rows:
            print(f"  {row['layer']}")
            print(f"    unmasked:          {row['unmasked']}")
            print(f"    post-padding mask: {row['masked']}")
    if out is not None:
        text = json.dumps(report, indent=2) + "\n"
        out.write(lambda stage: atomic_write_text(stage / "doctor.json", text))
    return 0
