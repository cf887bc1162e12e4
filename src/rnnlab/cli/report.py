"""``rnnlab report``: one page from run folders (see ``rnnlab.experiments.report``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnlab.cli.runs import add_out_options, output_folder

DESCRIPTION = """\
Gather the results of rnnlab gradients, memory, compare and bottleneck (gradients.json,
memory.json, results.json, bottleneck.json) and of finished rnnlab train runs (metrics.json)
found in the given folders, or in their immediate subfolders, into one report.md with a
table per result and the pictures copied next to it."""


def add_parser(commands) -> None:
    p = commands.add_parser("report", help="one page from run folders", description=DESCRIPTION)
    p.add_argument("folders", nargs="+", type=Path, metavar="DIR", help="run folders")
    add_out_options(p, "report folder")
    p.set_defaults(run=run, parser=p)


def run(args: argparse.Namespace) -> int:
    from rnnlab.experiments.report import build_report

    out = output_folder(args, "report")
    report = build_report(args.folders)
    pictures = out.write(report.save)
    kinds = ", ".join(f"{r.kind} ({r.folder})" for r in report.results)
    print(
        f"Report of {kinds} written to {out.path / 'report.md'} "
        f"({len(pictures) - 1} picture(s) beside it)"
    )
    return 0
