"""What ``test_distributed`` runs under ``torchrun --nproc_per_node 2``: the runs of
``RUNS`` (a JSON file of name -> ``rnnlab train`` arguments), each with ``--out
OUT/name``, then the special cases the test checks:

- ``cut``: the first run, interrupted (as by Ctrl-C) as its second epoch begins, on every
  rank, for the test to resume with one process;
- ``odd``: the first run with a batch that does not split across the processes;
- ``drop``: the first run with dropout, whole, and ``drop-cut``: the same, interrupted as
  its second epoch begins and resumed in this launch.

Rank 1 records in ``OUT/rank1_writes.txt`` every run-folder write it attempts (there must
be none), and the exit status of each run goes to ``OUT/status-RANK.json``.
"""

import json
import os
import sys
from pathlib import Path

from commands import stopped_at_epoch

import rnnlab.kinds.base as contract
import rnnlab.kinds.runs as base
from rnnlab.cli import main
from rnnlab.training import distributed


def main_of_test(runs_file: str, out: str) -> None:
    runs = json.loads(Path(runs_file).read_text())
    out = Path(out)
    rank = int(os.environ["RANK"])
    stop = distributed.stop
    distributed.stop = lambda: None  # one process group for all the runs of this script
    if rank == 1:
        _record_writes(out / "rank1_writes.txt")
    status = {}
    for name, args in runs.items():
        status[name] = main(["train", *args, "--quiet", "--out", str(out / name)])
    first = next(iter(runs.values()))
    dropout = [*first, "--dropout", "0.3"]
    status["drop"] = main(["train", *dropout, "--quiet", "--out", str(out / "drop")])
    with stopped_at_epoch(1):
        status["cut"] = main(["train", *first, "--quiet", "--out", str(out / "cut")])
        status["drop-cut"] = main(["train", *dropout, "--quiet", "--out", str(out / "drop-cut")])
    status["drop-resumed"] = main(["train", "--resume", str(out / "drop-cut"), "--quiet"])
    odd = [*first, "--batch-size", "33"]
    status["odd"] = main(["train", *odd, "--quiet", "--out", str(out / "odd")])
    (out / f"status-{rank}.json").write_text(json.dumps(status))
    stop()


def _record_writes(path: Path) -> None:
    path.write_text("")

    def recorder(name, function):
        def record(*args, **kwargs):
            with path.open("a") as f:
                f.write(f"{name} {args[0] if args else ''}\n")
            return function(*args, **kwargs)

        return record

    names = ("write_run", "write_checkpoint", "write_history", "atomic_write_text", "mark_folder")
    for module in (base, contract):  # the checkpoints are written by the contract's callback
        for name in names:
            if hasattr(module, name):
                setattr(module, name, recorder(name, getattr(module, name)))


if __name__ == "__main__":
    main_of_test(*sys.argv[1:])
