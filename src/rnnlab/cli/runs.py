"""What the commands share: the output folder policy, a progress bar, threads."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tqdm import tqdm


def default_out(command: str) -> Path:
    """A new folder ``runs/COMMAND-YYYYmmdd-HHMMSS[-n]`` (not created here)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path("runs") / f"{command}-{stamp}"
    n = 1
    while out.exists():
        n += 1
        out = Path("runs") / f"{command}-{stamp}-{n}"
    return out


def use_one_thread() -> None:
    """Run PyTorch's CPU kernels on one thread.

    The claim experiments multiply matrices of a few thousand elements, one time step after
    another; extra threads buy nothing there, and on a busy machine their synchronisation
    made one training step 35 times slower (27 ms against 960 ms for a SimpleRNN at T=100).
    """
    import torch

    torch.set_num_threads(1)


def add_out_options(parser, what: str = "results folder") -> None:
    """``--out`` and ``--overwrite``, with the one output policy of every command."""
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"{what}: a new or empty folder (default: a new folder under runs/)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace what an earlier run of this command wrote in --out",
    )


def add_experiment_options(parser, jobs: str, seed: str = "seed (default: 0)") -> None:
    """The options every claim experiment shares: ``--seed``, ``--quick`` (its small preset),
    ``--jobs`` (``jobs`` says of what), ``--out``/``--overwrite`` and ``--quiet``."""
    from rnnlab.cli.options import add_jobs_option, non_negative_int

    parser.add_argument("--seed", type=non_negative_int, default=0, help=seed)
    parser.add_argument("--quick", action="store_true", help="a small run that takes seconds")
    add_jobs_option(parser, jobs)
    add_out_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def preset_values(args, defaults: dict, quick: dict) -> dict:
    """Each field of the preset (``quick`` with ``--quick``, else ``defaults``), or the
    option given for it."""
    preset = quick if args.quick else defaults
    return {k: getattr(args, k) if getattr(args, k) is not None else v for k, v in preset.items()}


def output_folder(args, command: str):
    """The checked ``OutputFolder`` of ``args.out`` (default: a new one under runs/)."""
    from rnnlab.data.files import OutputFolder

    return OutputFolder(args.out or default_out(command), command, overwrite=args.overwrite)


class Progress:
    """``progress(what, done, total)`` for the experiments: a tqdm bar on standard error.

    On a terminal the bar moves; elsewhere (logs, tests) one line is written the first time
    each ``what`` comes (runs side by side take turns), so a log still shows how far the
    run got.
    """

    def __init__(self, label: str, stream=None, enabled: bool = True) -> None:
        self.label, self.enabled = label, enabled
        self.stream = stream if stream is not None else sys.stderr  # the one current now
        self.bar: tqdm | None = None
        self.what = None
        self.seen: set[str] = set()
        self.start = time.perf_counter()

    def __call__(self, what: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm  # here, not at start-up: importing it takes 0.03 s

            self.bar = tqdm(
                total=total,
                desc=self.label,
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
                mininterval=0.2,
                disable=not (hasattr(self.stream, "isatty") and self.stream.isatty()),
            )
        if what != self.what:
            self.what = what
            self.bar.set_description(f"{self.label}: {what}")
            if self.bar.disable and what not in self.seen:
                self.seen.add(what)
                seconds = time.perf_counter() - self.start
                print(f"[{seconds:6.1f}s] {self.label}: {what}", file=self.stream, flush=True)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
