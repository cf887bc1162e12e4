"""``rnnlab evaluate RUN_DIR --data FILE``: a trained model's measures on a file of its kind."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rnnlab.cli.options import add_device_options, seed_int


def add_parser(commands) -> None:
    p = commands.add_parser(
        "evaluate",
        help="measures of a trained run on a file of its kind",
        description="The measures of a trained run on a file its kind reads: exact match, "
        "token accuracy and token error rate on a pair file (seq2seq), token accuracy on "
        "tagged sentences (tag), accuracy and macro F1 on labelled sequences (classify), loss "
        "in nats per token, bits per token and perplexity on a text (lm), MASE and sMAPE of the "
        "last --horizon values of every series beside naive, seasonal naive, Theta and ETS "
        "(forecast).",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--data", type=Path, required=True, help="a file of the run's kind")
    p.add_argument("--unknown", choices=("error", "map"), default="error")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--seed", type=seed_int, default=0, help="unused: evaluation is deterministic")
    p.add_argument(
        "--out",
        type=Path,
        help="also write metrics.json into this folder (new or empty; never the run folder)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the metrics.json an earlier `rnnlab evaluate` wrote in --out",
    )
    add_device_options(p)
    p.set_defaults(run=run, parser=p)


def run(args: argparse.Namespace) -> int:
    from rnnlab.data import atomic_write_text, read_pairs
    from rnnlab.data.files import OutputFolder
    from rnnlab.kinds import load
    from rnnlab.kinds.seq2seq import TrainedRun
    from rnnlab.training.devices import resolve_device
    from rnnlab.training.run_folder import json_numbers

    out = None if args.out is None else OutputFolder(args.out, "evaluate", overwrite=args.overwrite)
    trained = load(args.run_dir, device=resolve_device(args.device))
    if not isinstance(trained, TrainedRun):
        metrics = trained.evaluate_file(args.data)
        if out is not None:
            text = json.dumps(json_numbers(metrics), indent=2) + "\n"
            out.write(lambda stage: atomic_write_text(stage / "metrics.json", text))
        text = None if args.json else trained.describe(metrics) or _line(metrics)
        print(json.dumps(json_numbers(metrics)) if args.json else text)
        return 0
    pairs = read_pairs(args.data, trained.tokens)
    names = [f"{pairs.path}:{line}" for line in pairs.lines]
    metrics = trained.evaluate(pairs.sources, pairs.targets, names=names, unknown=args.unknown)
    metrics = {"pairs": len(pairs), **metrics}
    if out is not None:
        text = json.dumps(metrics, indent=2) + "\n"
        out.write(lambda stage: atomic_write_text(stage / "metrics.json", text))
    if args.json:
        print(json.dumps(metrics))
    else:
        print(
            f"{len(pairs)} pairs: exact match {metrics['exact_match']:.2%}, token accuracy "
            f"{metrics['token_accuracy']:.2%}, token error rate {metrics['token_error_rate']:.2%}, "
            f"loss {metrics['loss']:.4f}"
        )
    return 0


def _line(metrics: dict) -> str:
    """The measures as one readable line: fractions as percentages."""
    parts = []
    for key, value in metrics.items():
        if isinstance(value, list | dict) or value != value:  # a matrix; NaN: nothing measured
            continue
        if isinstance(value, float) and key != "loss" and 0.0 <= value <= 1.0:
            parts.append(f"{key.replace('_', ' ')} {value:.2%}")
        elif isinstance(value, float):
            parts.append(f"{key.replace('_', ' ')} {value:.4f}")
        else:
            parts.append(f"{value} {key}" if isinstance(value, int) else f"{key} {value}")
    return ", ".join(parts)
