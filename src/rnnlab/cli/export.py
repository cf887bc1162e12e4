"""``rnnlab export RUN_DIR --format onnx --out DIR``: a run's model as ONNX graphs."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnlab.cli.options import add_ignored_seed, warn_ignored_seed
from rnnlab.cli.runs import add_out_options, output_folder

DESCRIPTION = """\
Export a finished run as ONNX graphs, with rnnlab_onnx.json beside them, for
rnnlab.interop.onnx.OnnxPredictor (numpy and onnxruntime, no torch): tag, classify and
forecast runs as one model.onnx; seq2seq runs as an encoder and a one-step decoder; lm runs
as a one-step graph. The graphs take any batch and length (masks of sequences padded at
the end)."""


def add_parser(commands) -> None:
    p = commands.add_parser("export", help="a run's model as ONNX graphs", description=DESCRIPTION)
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished run folder")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="the format (onnx)")
    add_out_options(p, "export folder")
    add_ignored_seed(p, "exporting is deterministic")
    p.set_defaults(run=run, parser=p)


def run(args: argparse.Namespace) -> int:
    warn_ignored_seed(args)
    from rnnlab.interop.onnx_export import export_onnx
    from rnnlab.kinds.runs import load

    load(args.run_dir)  # a missing, unfinished or altered run folder: one line, before --out
    out = output_folder(args, "export")
    files = out.write(lambda stage: export_onnx(args.run_dir, stage))
    print(f"Exported {', '.join(files)} to {out.path}/")
    return 0
