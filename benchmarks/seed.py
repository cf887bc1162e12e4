"""The tutorial run through rnnlab against the same run written in plain PyTorch.

Compared, each as a separate process started the way a user would start it:

* ``rnnlab``: the console script ``rnnlab compare --out <tempdir> --overwrite`` (the tutorial: three
  models, 1,000 pairs, 10 epochs; it prints the summaries and the epochs, and writes
  results.json and a plot); it trains the models side by side in worker processes;
* ``plain``: ``python benchmarks/plain_seed.py``, a hand-written PyTorch port of the tutorial;
* ``keras``, when a Python with TensorFlow (and scikit-learn) is at hand: the tutorial in
  Keras itself, ``benchmarks/keras_seed.py``. rnnlab does not depend on TensorFlow: the
  Python running this benchmark is used if it has it, or ``--keras-python PATH``.

For each, the wall time of the whole process (start-up and imports included) and, from
``os.wait4``, the CPU time (user + system, its worker processes included); CPU time is the
steadier number on a busy machine. The runs are repeated, alternating the order (a, b, b,
a, ...), and the medians are reported with the ratios rnnlab/plain.

rnnlab's modules are byte-compiled first, as installing a package does: an editable install
(``pip install -e``, ``make``) leaves them as sources, and where Python may not write its
cache (``PYTHONDONTWRITEBYTECODE``, a read-only checkout) every start would compile them
again, 0.04 s that a user's second run does not pay.

Peak memory is measured in one more run of each, apart from the timed ones: the sum of the
proportional set size (PSS) of the process and all its descendants, sampled every 10 ms
from ``/proc``. PSS splits each shared page between the processes that share it, so the
sum is the memory the run really holds, workers included (``ru_maxrss`` would count only
the largest process, and summing RSS would count the pages forked workers share several
times). Where ``/proc`` has no ``smaps_rollup`` the peak RSS of the largest process is
reported instead, and the report says so.

Run from the repository root: ``python -m benchmarks.seed [--repeats N] [--json PATH]``
or ``make bench``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
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
KERAS_SCRIPT = Path(__file__).with_name("keras_seed.py")
KEYS = ("wall_s", "cpu_s", "peak_mb")
SAMPLE_EVERY = 0.01  # seconds between memory samples


def rnnlab_command(out_dir: str) -> list[str]:
    script = Path(sys.executable).parent / "rnnlab"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "rnnlab"]
    return [*base, "compare", "--out", out_dir, "--overwrite"]  # one folder for every repeat


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from the parent ids in ``/proc/*/stat``."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            parents[int(entry)] = int(fields[1])
    tree, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass  # gone meanwhile
    return 0


def pss_available() -> bool:
    return os.path.exists(f"/proc/{os.getpid()}/smaps_rollup")


def measure(command: list[str], *, sample_memory: bool = False) -> tuple[float, float, float]:
    """Run ``command``; return its wall and CPU (user + system, its reaped descendants
    included) seconds and its peak memory in MB: with ``sample_memory``, the peak sum of PSS
    over its process tree, else the peak RSS of its largest process (``ru_maxrss``)."""
    peak_kib = 0
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        while sample_memory:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak_kib = max(peak_kib, sum(_pss_kib(p) for p in _descendants(process.pid)))
            time.sleep(SAMPLE_EVERY)
        else:
            _, status, usage = os.wait4(process.pid, 0)  # reaps the child: its rusage alone
        wall = time.perf_counter() - start
        process.returncode = code = os.waitstatus_to_exitcode(status)  # tell Popen it is done
        if code != 0:
            stderr.seek(0)
            message = stderr.read().decode(errors="replace")
            raise RuntimeError(f"{' '.join(command)} exited with {code}:\n{message}")
    peak_kib = peak_kib if sample_memory else usage.ru_maxrss  # KiB on Linux
    return wall, usage.ru_utime + usage.ru_stime, peak_kib / 1024


def keras_python(requested: str | None) -> str | None:
    """The Python that runs the Keras baseline: ``requested``, else this one if it has
    TensorFlow, else None (no Keras row)."""
    if requested is not None:
        return requested
    return sys.executable if importlib.util.find_spec("tensorflow") is not None else None


def byte_compile_rnnlab() -> None:
    import compileall

    import rnnlab

    compileall.compile_dir(Path(rnnlab.__file__).parent, quiet=1)


def run(repeats: int, keras: str | None = None) -> dict:
    byte_compile_rnnlab()
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "rnnlab": rnnlab_command(tmp),
            "plain": [sys.executable, str(PLAIN_SCRIPT)],
        }
        if keras is not None:
            commands["keras"] = [keras, str(KERAS_SCRIPT)]
        samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
        for i in range(repeats):
            order = list(commands) if i % 2 == 0 else list(reversed(commands))
            for name in order:
                samples[name].append(measure(commands[name]))
        pss = pss_available()
        memory = {
            name: measure(command, sample_memory=pss)[2] for name, command in commands.items()
        }
    results: dict[str, dict] = {}
    for name, runs in samples.items():
        records = [dict(zip(KEYS, sample, strict=True)) for sample in runs]
        results[name] = {key: statistics.median(r[key] for r in records) for key in KEYS[:2]}
        results[name]["peak_mb"] = memory[name]
        results[name]["runs"] = records
    return {
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": importlib.metadata.version("torch"),
        },
        "repeats": repeats,
        "memory": "sum of PSS over the process tree" if pss else "ru_maxrss",
        "results": results,
        "ratio": {key: results["rnnlab"][key] / results["plain"][key] for key in KEYS},
        **(
            {"ratio_keras": {key: results["rnnlab"][key] / results["keras"][key] for key in KEYS}}
            if "keras" in results
            else {}
        ),
    }


def report(data: dict) -> str:
    m = data["machine"]
    rows = [("name", "wall s (median)", "cpu s (median)", "peak MB")]
    for name, r in data["results"].items():
        rows.append((name, f"{r['wall_s']:.2f}", f"{r['cpu_s']:.2f}", f"{r['peak_mb']:.0f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    ratio = data["ratio"]
    return "\n".join(
        [
            f"machine: {m['processor']}, {m['cpus']} CPUs, Python {m['python']}, "
            f"torch {m['torch']}",
            f"tutorial run ({data['repeats']} repeats each, medians; peak memory: "
            f"{data['memory']}, one more run)",
            *(
                "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
                for row in rows
            ),
            *(
                f"ratio rnnlab/{other}: wall {r['wall_s']:.2f}x, "
                f"peak memory {r['peak_mb']:.2f}x, cpu {r['cpu_s']:.2f}x"
                for other, r in (("plain", ratio), ("keras", data.get("ratio_keras")))
                if r is not None
            ),
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
    parser.add_argument(
        "--keras-python",
        default=None,
        help="a Python with TensorFlow and scikit-learn, for the Keras row (default: this "
        "Python if it has TensorFlow, else no Keras row)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    try:
        data = run(args.repeats, keras_python(args.keras_python))
    except RuntimeError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(report(data))
    if args.json is not None:
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
