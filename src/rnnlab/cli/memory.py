"""``rnnlab memory``: long-lag memory of RNN, LSTM and GRU (see ``rnnlab.experiments.memory``)."""

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
Train SimpleRNN, LSTM and GRU (tanh, Keras's initialisers, the same width and budget) on the
adding problem and on a long-lag copy task at several lengths, and score each on held-out
sequences next to the input-blind baseline. Writes memory.json and memory.png."""

# Settings that --quick changes (an option given explicitly always wins).
DEFAULTS = dict(
    lengths=(10, 25, 50, 100, 200), units=64, train_steps=1000, batch_size=32, val_samples=500
)
QUICK = dict(lengths=(4, 8), units=8, train_steps=20, batch_size=16, val_samples=100)


def _cells():
    from rnnlab.experiments.claim_tasks import CELLS

    return CELLS


def _tasks():
    from rnnlab.experiments.claim_tasks import CLAIM_TASKS

    return CLAIM_TASKS


def add_parser(commands) -> None:
    p = commands.add_parser(
        "memory", help="claim 2, measured: memory over long lags", description=DESCRIPTION
    )
    p.add_argument(
        "--tasks",
        type=name_list(_tasks, "task"),
        default=("adding", "copy"),
        help="comma-separated tasks (default: adding,copy)",
    )
    p.add_argument(
        "--lengths",
        type=int_list(2),
        help="comma-separated lengths: the adding problem's T, the copy task's delay "
        "(default: 10,25,50,100,200)",
    )
    p.add_argument(
        "--cells",
        type=name_list(_cells, "cell"),
        default=("rnn", "lstm", "gru"),
        help="comma-separated cells (default: rnn,lstm,gru)",
    )
    p.add_argument("--units", type=units_int, help="units H of every cell (default: 64)")
    p.add_argument("--train-steps", type=positive_int, help="Adam steps per model (default: 1000)")
    p.add_argument("--batch-size", type=batch_int, help="sequences per step (default: 32)")
    p.add_argument(
        "--learning-rate",
        type=learning_rate_float,
        default=1e-2,
        help="Adam's step (default: 0.01)",
    )
    p.add_argument("--val-samples", type=samples_int, help="held-out sequences (default: 500)")
    add_experiment_options(p, "runs")
    p.set_defaults(run=run, parser=p)


def _config(args: argparse.Namespace):
    from rnnlab.experiments.memory import MemoryConfig

    chosen = preset_values(args, DEFAULTS, QUICK)
    return MemoryConfig(
        tasks=tuple(args.tasks),
        cells=tuple(args.cells),
        learning_rate=args.learning_rate,
        seed=args.seed,
        **chosen,
    )


def _table(result) -> str:
    from rnnlab.experiments.claim_tasks import CLAIM_TASKS

    lines = []
    lengths = result.config.lengths
    for name in result.scores:
        task = CLAIM_TASKS[name]
        fmt = "{:.4f}" if task.metric == "mse" else "{:.1%}"
        label = "T" if name == "adding" else "delay"
        lines.append(
            f"{name}: held-out {task.metric} (baseline {task.baseline_name}: "
            f"{fmt.format(task.baseline)})"
        )
        lines.append(f"{'cell':5}" + "".join(f"{label + '=' + str(n):>10}" for n in lengths))
        for cell in result.scores[name]:
            values = result.metric(name, cell)
            lines.append(f"{cell:5}" + "".join(f"{fmt.format(v):>10}" for v in values))
        lines.append("")
    return "\n".join(lines).rstrip()


def run(args: argparse.Namespace) -> int:
    from rnnlab.experiments.memory import run_memory

    config = _config(args)
    out = output_folder(args, "memory")
    use_one_thread()
    progress = Progress("memory", enabled=not args.quiet)
    start = time.perf_counter()
    try:
        runs = len(config.tasks) * len(config.lengths) * len(config.cells)
        jobs = resolve_jobs(args.jobs, runs)
        result = run_memory(config, progress=progress, jobs=jobs)
    finally:
        progress.close()
    out.write(result.save)
    print(
        f"Each cell trained {config.train_steps} Adam steps x {config.batch_size} fresh "
        f"sequences (lr {config.learning_rate}, seed {config.seed}), scored on "
        f"{config.val_samples} held-out sequences."
    )
    print(_table(result))
    print(
        f"\n{time.perf_counter() - start:.1f} s. Results written to {out.path}/ "
        "(memory.json, memory.png)"
    )
    sys.stdout.flush()
    return 0
