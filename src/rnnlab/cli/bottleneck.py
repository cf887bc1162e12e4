"""``rnnlab bottleneck``: one context vector against attention as sequences grow (see
``rnnlab.experiments.bottleneck``)."""

from __future__ import annotations

import argparse
import sys
import time

from rnnlab.cli.options import (
    batch_int,
    int_list,
    learning_rate_float,
    name_list,
    positive_int,
    resolve_jobs,
    samples_int,
    units_int,
)
from rnnlab.cli.runs import (
    Progress,
    add_experiment_options,
    output_folder,
    preset_values,
    use_one_thread,
)

DESCRIPTION = """\
Train the tutorial's repeat-vector encoder-decoder, the token encoder-decoder without
attention and with attention (the same width and budget) to reverse digit sequences of
several lengths, and score each on held-out sequences: exact match and token accuracy
against the length. Writes bottleneck.json and bottleneck.png."""

DEFAULTS = dict(
    lengths=(5, 10, 20, 40, 80), units=64, train_steps=1000, batch_size=64, val_samples=500
)
QUICK = dict(lengths=(3, 6), units=8, train_steps=20, batch_size=16, val_samples=50)


def _models():
    from rnnlab.experiments.bottleneck import BOTTLENECK_MODELS

    return BOTTLENECK_MODELS


def add_parser(commands) -> None:
    p = commands.add_parser(
        "bottleneck",
        help="claim 4, measured: one context vector against attention as sequences grow",
        description=DESCRIPTION,
    )
    p.add_argument(
        "--lengths",
        type=int_list(1),
        help="comma-separated sequence lengths (default: 5,10,20,40,80)",
    )
    p.add_argument(
        "--models",
        type=name_list(_models, "model"),
        default=("repeat", "context", "attention"),
        help="comma-separated models (default: repeat,context,attention)",
    )
    p.add_argument("--units", type=units_int, help="units H of every layer (default: 64)")
    p.add_argument("--train-steps", type=positive_int, help="Adam steps per model (default: 1000)")
    p.add_argument("--batch-size", type=batch_int, help="sequences per step (default: 64)")
    p.add_argument(
        "--learning-rate", type=learning_rate_float, default=3e-3, help="Adam's step (0.003)"
    )
    p.add_argument("--val-samples", type=samples_int, help="held-out sequences (default: 500)")
    add_experiment_options(p, "runs")
    p.set_defaults(run=run, parser=p)


def _config(args: argparse.Namespace):
    from rnnlab.experiments.bottleneck import BottleneckConfig

    chosen = preset_values(args, DEFAULTS, QUICK)
    return BottleneckConfig(
        models=tuple(args.models), learning_rate=args.learning_rate, seed=args.seed, **chosen
    )


def run(args: argparse.Namespace) -> int:
    from rnnlab.experiments.bottleneck import run_bottleneck

    config = _config(args)
    out = output_folder(args, "bottleneck")
    use_one_thread()
    progress = Progress("bottleneck", enabled=not args.quiet)
    start = time.perf_counter()
    try:
        jobs = resolve_jobs(args.jobs, len(config.models) * len(config.lengths))
        result = run_bottleneck(config, progress=progress, jobs=jobs)
    finally:
        progress.close()
    out.write(result.save)
    print(
        f"Each model trained {config.train_steps} Adam steps x {config.batch_size} fresh "
        f"sequences (lr {config.learning_rate}, seed {config.seed}), scored on "
        f"{config.val_samples} held-out sequences: exact match (token accuracy), greedy."
    )
    print(result.table())
    print(
        f"\n{time.perf_counter() - start:.1f} s. Results written to {out.path}/ "
        "(bottleneck.json, bottleneck.png)"
    )
    sys.stdout.flush()
    return 0
