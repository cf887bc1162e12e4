"""``rnnlab predict RUN_DIR``: one predicted target a line for one source a line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlab.cli.options import positive_int


def add_parser(commands) -> None:
    p = commands.add_parser(
        "predict",
        help="predict targets for sources with a trained run",
        description="Read source sequences, one a line, from --input FILE or standard input, "
        "and write the predicted targets, one a line, in the same order, to standard output.",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished `rnnlab train` run")
    p.add_argument("--input", type=Path, help="sources, one a line (default: standard input)")
    p.add_argument("--beam-width", type=positive_int, help="beam width (default: the run's)")
    p.add_argument(
        "--unknown",
        choices=("error", "map"),
        default="error",
        help="a token the vocabulary lacks: an error (default) or <unk>",
    )
    p.add_argument(
        "--plot-attention",
        type=Path,
        metavar="OUT.png",
        help="also draw the attention weights of the first source",
    )
    p.add_argument("--seed", type=int, default=0, help="unused: decoding is deterministic")
    p.set_defaults(run=run, parser=p)


def read_sources(path: Path | None, tokens: str) -> tuple[list[list[str]], list[str]]:
    """Source token lists and their names (``FILE:LINE``) from a file or standard input."""
    from rnnlab.data.pairs import split_tokens

    name = str(path) if path is not None else "<stdin>"
    if path is None:
        raw = sys.stdin.buffer.read()
    else:
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise ValueError(f"--input {path}: no such file") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(f"{name}:{line}: not UTF-8 text") from None
    sources, names = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens_ = split_tokens(line, tokens)
        if not tokens_ or "" in tokens_:
            raise ValueError(f"{name}:{number}: empty source or empty token")
        sources.append(tokens_)
        names.append(f"{name}:{number}")
    if not sources:
        raise ValueError(f"{name}: no sources")
    return sources, names


def run(args: argparse.Namespace) -> int:
    from rnnlab.data import atomic_write_bytes
    from rnnlab.experiments.train import attention_png, load_run

    trained = load_run(args.run_dir)
    sources, names = read_sources(args.input, trained.tokens)
    outputs = trained.predict(
        sources, names=names, unknown=args.unknown, beam_width=args.beam_width
    )
    if args.plot_attention is not None:
        ids = trained.encode_sources(sources[:1], names[:1], args.unknown)
        _, weights = trained.model.generate(
            ids, max_len=trained.max_output_len, return_attention=True
        )
        if weights[0] is None:
            raise ValueError("--plot-attention: this run's model has no attention")
        atomic_write_bytes(args.plot_attention, attention_png(sources[0], outputs[0], weights[0]))
    sys.stdout.write("".join(trained.join(o) + "\n" for o in outputs))
    return 0
