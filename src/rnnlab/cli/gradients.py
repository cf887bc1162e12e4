"""``rnnlab gradients``: the vanishing gradient, measured (see ``rnnlab.experiments.gradients``)."""

from __future__ import annotations

import argparse
import sys
import time

from rnnlab.cli.options import (
    batch_int,
    learning_rate_float,
    length_int,
    name_list,
    positive_int,
    resolve_jobs,
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
Measure how the gradient of the loss at the last step with respect to each earlier input
shrinks with the lag, for SimpleRNN, LSTM and GRU of the same width (tanh, Keras's
initialisers), averaged over a batch of adding-problem sequences and several weight seeds;
at initialisation and, with --trained, after training on the adding problem. Writes
gradients.json and gradients.png."""

# Settings that --quick changes (an option given explicitly always wins).
DEFAULTS = dict(units=64, length=100, batch_size=32, seeds=3, train_steps=1000)
QUICK = dict(units=16, length=30, batch_size=8, seeds=2, train_steps=40)


def _cells():
    from rnnlab.experiments.claim_tasks import CELLS

    return CELLS


def add_parser(commands) -> None:
    p = commands.add_parser(
        "gradients", help="claim 1, measured: input gradients against lag", description=DESCRIPTION
    )
    p.add_argument(
        "--cells",
        type=name_list(_cells, "cell"),
        default=("rnn", "lstm", "gru"),
        help="comma-separated cells (default: rnn,lstm,gru)",
    )
    p.add_argument("--units", type=units_int, help="units H of every cell (default: 64)")
    p.add_argument("--length", type=length_int, help="sequence length T, lags 1..T (default: 100)")
    p.add_argument("--batch-size", type=batch_int, help="sequences averaged over (default: 32)")
    p.add_argument("--seeds", type=positive_int, help="weight seeds averaged over (default: 3)")
    p.add_argument("--trained", action="store_true", help="also measure after training")
    p.add_argument(
        "--train-steps", type=positive_int, help="Adam steps per trained model (default: 1000)"
    )
    p.add_argument(
        "--learning-rate",
        type=learning_rate_float,
        default=1e-2,
        help="Adam's step (default: 0.01)",
    )
    add_experiment_options(p, "with --trained: models", seed="first seed (default: 0)")
    p.set_defaults(run=run, parser=p)


def _config(args: argparse.Namespace):
    from rnnlab.experiments.gradients import GradientsConfig

    chosen = preset_values(args, DEFAULTS, QUICK)
    if chosen["length"] < 2:
        raise ValueError(f"argument --length: expected at least 2, got {chosen['length']}")
    return GradientsConfig(
        cells=tuple(args.cells),
        trained=args.trained,
        learning_rate=args.learning_rate,
        seed=args.seed,
        **chosen,
    )


def _table(result) -> str:
    lines = [
        f"{'cell':5}  {'g(1)':>9}  {'g(T)':>9}  {'g(1)/g(T)':>10}  {'decay/step':>10}  gate mean",
    ]
    for label, cells in (("init", result.initial), ("trained", result.trained)):
        if not cells:
            continue
        lines.append(f"-- {label}")
        for name, c in cells.items():
            d = c.to_dict()
            mse = f"  val MSE {d['val_mse_mean']:.4f}" if "val_mse_mean" in d else ""
            lines.append(
                f"{name:5}  {d['grad_norm'][0]:9.2e}  {d['grad_norm'][-1]:9.2e}  "
                f"{d['fold_first_to_last_lag']:10.3g}  {d['decay_per_step']:10.4f}  "
                f"{d['gate']} = {d['gate_mean']:.3f}{mse}"
            )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from rnnlab.experiments.gradients import run_gradients

    config = _config(args)
    out = output_folder(args, "gradients")
    use_one_thread()
    progress = Progress("gradients", enabled=not args.quiet)
    start = time.perf_counter()
    try:
        jobs = resolve_jobs(args.jobs, len(config.cells) * config.seeds)
        result = run_gradients(config, progress=progress, jobs=jobs)
    finally:
        progress.close()
    out.write(result.save)
    print(
        f"Gradient norm of the last-step loss w.r.t. the input at lag k (1 = last input), "
        f"k = 1..{config.length}; mean over {config.seeds} seed(s) x {config.batch_size} "
        "sequences. decay/step = exp(slope of ln g(k) against k)."
    )
    print(_table(result))
    print(
        f"\n{time.perf_counter() - start:.1f} s. Results written to {out.path}/ "
        "(gradients.json, gradients.png)"
    )
    sys.stdout.flush()
    return 0
