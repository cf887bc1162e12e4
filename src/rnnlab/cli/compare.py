"""``rnnlab compare``: the tutorial's experiment (see ``rnnlab.experiments.compare``)."""

from __future__ import annotations

import argparse
import sys

from rnnlab.cli.options import (
    add_jobs_option,
    as_options,
    batch_int,
    fraction,
    learning_rate_float,
    length_int,
    name_list,
    non_negative_int,
    one_of,
    positive_int,
    resolve_jobs,
    samples_int,
    split_seed_int,
)
from rnnlab.cli.runs import add_out_options, output_folder

DESCRIPTION = """\
Train several models on one task side by side and compare them. With no options this is
the tutorial exactly: reversal of 1,000 digit sequences (lengths 1-5, digits 1-9),
post-padded to 5, an 80/20 split, the unidirectional LSTM, bidirectional LSTM and LSTM
encoder-decoder, Adam, mean squared error, 10 epochs, batch 32."""


def _models():
    from rnnlab.models import MODELS

    return MODELS


def _tasks():
    from rnnlab.experiments.compare import COMPARE_TASKS

    return COMPARE_TASKS


def add_parser(commands) -> None:
    p = commands.add_parser(
        "compare", help="the tutorial's experiment: models side by side", description=DESCRIPTION
    )
    p.add_argument(
        "--task",
        type=one_of(_tasks, "task"),
        default="reverse",
        help="built-in task (default: reverse)",
    )
    p.add_argument(
        "--models",
        type=name_list(_models, "model"),
        default=("lstm", "bilstm", "seq2seq"),
        help="comma-separated model names (default: lstm,bilstm,seq2seq, the tutorial's; "
        "also gru, bigru, rnn, birnn, gru_seq2seq)",
    )
    p.add_argument("--epochs", type=positive_int, default=10, help="training epochs (default: 10)")
    p.add_argument(
        "--samples", type=samples_int, default=1000, help="pairs generated (default: 1000)"
    )
    p.add_argument(
        "--max-len",
        type=length_int,
        default=5,
        help="longest sequence and padded length (default: 5)",
    )
    p.add_argument(
        "--batch-size", type=batch_int, default=32, help="examples per step (default: 32)"
    )
    p.add_argument(
        "--learning-rate",
        type=learning_rate_float,
        default=1e-3,
        help="Adam's step size (default: 0.001)",
    )
    p.add_argument(
        "--test-size", type=fraction, default=0.2, help="held-out fraction (default: 0.2)"
    )
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed of data, weights and shuffling (default: 0)",
    )
    p.add_argument(
        "--split-seed",
        type=split_seed_int,
        default=42,
        help="seed of the split (default: 42, the tutorial's)",
    )
    p.add_argument(
        "--padding", choices=("post", "pre"), default="post", help="padding side (default: post)"
    )
    p.add_argument(
        "--formulation",
        choices=("values", "tokens"),
        default="values",
        help="values: numbers in, MSE (the tutorial's); tokens: embedded ids in, softmax out, "
        "cross-entropy over real target positions",
    )
    p.add_argument("--mask", action="store_true", help="mask padded steps (the tutorial does not)")
    add_out_options(p)
    add_jobs_option(p, "models")
    p.add_argument("--quiet", action="store_true", help="print only the final table")
    p.set_defaults(run=run, parser=p)


def _table(result) -> str:
    header = ("model", "params", "loss", "val_loss", "token acc", "exact match", "train s")
    rows = [header]
    for m in result.models:
        d = m.to_dict()
        rows.append(
            (
                m.name,
                f"{d['params']:,}",
                f"{d['loss']:.4f}",
                f"{d['val_loss']:.4f}",
                f"{d['token_accuracy']:.1%}",
                f"{d['exact_match']:.1%}",
                f"{d['train_seconds']:.2f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _print_ceilings(result) -> None:
    """Each one-way tagger's exact match next to the best any causal model could reach."""
    from rnnlab.experiments.context import EXPLANATION

    ceilings = [m for m in result.models if m.causal_ceiling is not None]
    if not ceilings:
        return
    print()
    for m in ceilings:
        print(
            f"{m.name}: exact match {m.metrics['exact_match']:.1%}; causal ceiling "
            f"{m.causal_ceiling:.1%} (the best any one-way model can reach on this data)"
        )
    print(f"Why: {EXPLANATION[result.config.task]}.")


def _config(args: argparse.Namespace):
    from rnnlab.experiments import CompareConfig

    return CompareConfig(
        task=args.task,
        samples=args.samples,
        max_len=args.max_len,
        models=tuple(args.models),
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        test_size=args.test_size,
        split_seed=args.split_seed,
        seed=args.seed,
        padding=args.padding,
        mask=args.mask,
        formulation=args.formulation,
    )


def run(args: argparse.Namespace) -> int:
    from rnnlab.cli.progress import ProgressBar
    from rnnlab.experiments import run_compare

    try:
        config = _config(args)
    except ValueError as exc:
        raise ValueError(as_options(str(exc))) from exc
    out = output_folder(args, "compare")
    jobs = resolve_jobs(args.jobs, len(config.models))

    def on_model_start(name, summary):
        if not args.quiet:
            print(summary, flush=True)

    def callbacks_for(name):
        row = config.models.index(name) if jobs > 1 else None
        return () if args.quiet else (ProgressBar(name, row=row),)

    try:
        result = run_compare(
            config, callbacks_for=callbacks_for, on_model_start=on_model_start, jobs=jobs
        )
    except ValueError as exc:
        raise ValueError(as_options(str(exc))) from exc
    out.write(result.save)
    print()
    print(
        f"Task {config.task!r}: {result.train_size} training and "
        f"{result.test_size} held-out pairs; "
        "metrics on the held-out pairs."
    )
    print(_table(result))
    _print_ceilings(result)
    print(f"\nResults written to {out.path}/ (results.json, learning_curves.png)")
    sys.stdout.flush()
    return 0
