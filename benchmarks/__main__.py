"""Run every benchmark in turn: ``python -m benchmarks`` from the repository root."""

from __future__ import annotations

import sys

from benchmarks import layers, seed, solve

BENCHMARKS = (seed, layers, solve)


def main(argv: list[str] | None = None) -> int:
    status = 0
    for i, benchmark in enumerate(BENCHMARKS):
        if i:
            print()
        print(f"== {benchmark.__name__}")
        status = benchmark.main(argv) or status
    return status


if __name__ == "__main__":
    sys.exit(main())
