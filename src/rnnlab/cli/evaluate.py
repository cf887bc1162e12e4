"""``rnnlab evaluate RUN_DIR --data FILE``: a trained model's measures on a file of its kind."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rnnlab.cli.options import add_device_options, add_ignored_seed, beam_int, warn_ignored_seed


def add_parser(commands) -> None:
    p = commands.add_parser(
        "evaluate",
        help="measures of a trained run on a file of its kind",
        description="The measures of a trained run on a file its kind reads: exact match, "
        "token accuracy and token error rate on a pair file (seq2seq), token accuracy on "
        "tagged sentences (tag), accuracy and macro F1 on labelled sequences (classify), loss "
        "in nats per token, bits per token and perplexity on a text (lm), MASE and sMAPE of the "
        "last --horizon values of every series beside naive, seasonal naive, Theta and ETS "
        "(forecast), character (or token) and word error rates and exact match on transcribed "
        "frames or audio (transcribe).",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--data", type=Path, required=True, help="a file of the run's kind")
    p.add_argument(
        "--unknown",
        choices=("error", "map"),
        help="seq2seq runs: a token the vocabulary lacks is an error (default) or <unk>",
    )
    p.add_argument(
        "--beam-width",
        type=beam_int,
        help="seq2seq and transcribe runs: beam width (1: greedy; default: the run's)",
    )
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument(
        "--out",
        type=Path,
        help="also write metrics.json (and the PNGs of the kind, such as classify's confusion.png) "
        "into this folder (new or empty; never the run folder)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the metrics.json an earlier `rnnlab evaluate` wrote in --out",
    )
    add_device_options(p)
    add_ignored_seed(p, "evaluation is deterministic")
    p.set_defaults(run=run, parser=p)


def run(args: argparse.Namespace) -> int:
    warn_ignored_seed(args)
    from rnnlab.cli.predict import run_options
    from rnnlab.data import atomic_write_bytes, atomic_write_text
    from rnnlab.data.files import OutputFolder
    from rnnlab.kinds.runs import load
    from rnnlab.training.devices import resolve_device
    from rnnlab.training.run_folder import json_numbers

    out = None if args.out is None else OutputFolder(args.out, "evaluate", overwrite=args.overwrite)
    trained = load(args.run_dir, device=resolve_device(args.device))
    options = run_options(args, trained.evaluate_options, trained.kind.name)
    metrics = trained.evaluate_file(args.data, **options)
    if out is not None:
        text = json.dumps(json_numbers(metrics), indent=2) + "\n"
        pictures = trained.evaluation_pictures(metrics)

        def write(stage):
            atomic_write_text(stage / "metrics.json", text)
            for name, png in pictures.items():
                atomic_write_bytes(stage / name, png)

        out.write(write)
    if args.json:
        print(json.dumps(json_numbers(metrics)))
        return 0
    print(trained.describe(metrics))
    if "baselines" in metrics:
        from rnnlab.kinds.baselines import from_dict

        print("\n".join(from_dict(metrics["baselines"]).lines()))
    return 0
