"""The tutorial run through rnnlab against the same run written in plain PyTorch.

Compared, each as a separate process started the way a user would start it:

* ``rnnlab``: the console script ``rnnlab compare --quiet --out <tempdir>`` (the tutorial:
  three models, 1,000 pairs, 10 epochs; it also writes results.json and a plot);
* ``plain``: ``python benchmarks/plain_seed.py``, a hand-written PyTorch port of the tutorial.

For each, the wall time of the whole process (start-up and imports included), and from
``os.wait4`` the peak resident memory (``ru_maxrss``) and CPU time (user + system) of that
child alone; CPU time is the steadier number on a busy machine. The runs are repeated,
alternating the order (a, b, b, a, ...), and the medians are reported with the ratios
rnnlab/plain.

Run from the repository root: ``python -m benchmarks.seed [--repeats N] [--json PATH]``
or ``make bench``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN_SCRIPT = Path(__file__).with_name("plain_seed.py")
KEYS = ("wall_s", "cpu_s", "peak_mb")


def rnnlab_command(out_dir: str) -> list[str]:
    script = Path(sys.executable).parent / "rnnlab"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "rnnlab"]
    return [*base, "compare", "--quiet", "--out", out_dir]


def measure(command: list[str]) -> tuple[float, float, float]:
    """Run ``command``; return its wall and CPU (user + system) seconds and its peak RSS in MB."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)  # reaps the child: its rusage alone
        wall = time.perf_counter() - start
        process.returncode = code = os.waitstatus_to_exitcode(status)  # tell Popen it is done
        if code != 0:
            stderr.seek(0)
            message = stderr.read().decode(errors="replace")
            raise RuntimeError(f"{' '.join(command)} exited with {code}:\n{message}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # KiB on Linux


def run(repeats: int) -> dict:
    samples: dict[str, list[tuple[float, float, float]]] = {"rnnlab": [], "plain": []}
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "rnnlab": rnnlab_command(tmp),
            "plain": [sys.executable, str(PLAIN_SCRIPT)],
        }
        for i in range(repeats):
            order = ("rnnlab", "plain") if i % 2 == 0 else ("plain", "rnnlab")
            for name in order:
                samples[name].append(measure(commands[name]))
    results: dict[str, dict] = {}
    for name, runs in samples.items():
        records = [dict(zip(KEYS, sample, strict=True)) for sample in runs]
        results[name] = {key: statistics.median(r[key] for r in records) for key in KEYS}
        results[name]["runs"] = records
    return {
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": importlib.metadata.version("torch"),
        },
        "repeats": repeats,
        "results": results,
        "ratio": {key: results["rnnlab"][key] / results["plain"][key] for key in KEYS},
    }


def report(data: dict) -> str:
    m = data["machine"]
    rows = [("name", "wall s (median)", "cpu s (median)", "peak MB (median)")]
    for name, r in data["results"].items():
        rows.append((name, f"{r['wall_s']:.2f}", f"{r['cpu_s']:.2f}", f"{r['peak_mb']:.0f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    ratio = data["ratio"]
    return "\n".join(
        [
            f"machine: {m['processor']}, {m['cpus']} CPUs, Python {m['python']}, "
            f"torch {m['torch']}",
            f"tutorial run ({data['repeats']} repeats each, medians)",
            *(
                "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
                for row in rows
            ),
            f"ratio rnnlab/plain: wall {ratio['wall_s']:.2f}x, "
            f"peak memory {ratio['peak_mb']:.2f}x, cpu {ratio['cpu_s']:.2f}x",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.seed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default: 3)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    try:
        data = run(args.repeats)
    except RuntimeError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(report(data))
    if args.json is not None:
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
