"""``rnnlab gates RUN_DIR --input "3 7 2 9"``: an LSTM's gates on one input, as pictures."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnlab.cli.options import seed_int
from rnnlab.cli.runs import add_out_options, output_folder


def add_parser(commands) -> None:
    p = commands.add_parser(
        "gates",
        help="an LSTM run's gate activations on one input",
        description="Input, forget and output gates and the cell state of a trained LSTM run's "
        "first encoder layer at every step and unit, on one source: gates.png and gates.json.",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished `rnnlab train` run")
    p.add_argument("--input", required=True, help='one source sequence, e.g. "3 7 2 9"')
    p.add_argument("--unknown", choices=("error", "map"), default="error")
    p.add_argument("--seed", type=seed_int, default=0, help="unused: the gates are deterministic")
    add_out_options(p)
    p.set_defaults(run=run, parser=p)


def run(args: argparse.Namespace) -> int:
    from rnnlab.data.pairs import split_tokens, token_problem
    from rnnlab.experiments.gates import run_gates
    from rnnlab.kinds.runs import load as load_run

    out = output_folder(args, "gates")
    trained = load_run(args.run_dir)
    if trained.kind.name != "seq2seq":
        raise ValueError(
            f"{args.run_dir}: `gates` reads a seq2seq run's encoder; this is a "
            f"{trained.kind.name} run"
        )
    tokens = split_tokens(args.input, trained.tokens)
    problem = token_problem(tokens, trained.tokens, "source")
    if problem is not None:
        raise ValueError(f"--input {args.input!r}: {problem}")
    result = run_gates(trained, tokens, args.unknown)
    out.write(result.save)
    forward = result.directions["forward"]
    header = f"{'step':<6}{'token':<8}{'input':>8}{'forget':>8}{'output':>8}{'|cell|':>8}"
    print(header + "  (means over units)")
    for t, token in enumerate(tokens):
        i, f, o = (
            forward[k][t].mean().item() for k in ("input_gate", "forget_gate", "output_gate")
        )
        c = forward["cell_state"][t].abs().mean().item()
        print(f"{t + 1:<6}{token!r:<8}{i:>8.3f}{f:>8.3f}{o:>8.3f}{c:>8.3f}")
    print(f"Results written to {out.path}/ (gates.json, gates.png)")
    return 0
