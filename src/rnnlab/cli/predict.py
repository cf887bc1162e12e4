"""``rnnlab predict RUN_DIR``: one predicted target a line for one source a line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlab.cli.options import add_device_options, beam_int, seed_int


def add_parser(commands) -> None:
    p = commands.add_parser(
        "predict",
        help="predict targets for sources with a trained run",
        description="Read source sequences, one a line, from --input FILE or standard input, "
        "and write the predicted targets, one a line, in the same order, to standard output. "
        "Lines end at \\n, \\r\\n or \\r only. Forecast runs read a CSV of series (--input) "
        "and write CSV series,step,forecast,lower,upper for the steps after each series' end.",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished `rnnlab train` run")
    p.add_argument(
        "--input", type=Path, help="sources, one a line (default, or '-': standard input)"
    )
    p.add_argument("--beam-width", type=beam_int, help="beam width (default: the run's)")
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
        help="also draw the attention weights of the first source (a new file)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="let --plot-attention replace an existing file"
    )
    p.add_argument(
        "--proba",
        action="store_true",
        help="classify runs: each class's probability after the label",
    )
    p.add_argument("--seed", type=seed_int, default=0, help="unused: decoding is deterministic")
    add_device_options(p)
    p.set_defaults(run=run, parser=p)


def read_sources(path: Path | None, tokens: str) -> tuple[list[list[str]], list[str]]:
    """Source token lists and their names (``FILE:LINE``) from a file or standard input."""
    from rnnlab.data.pairs import read_sequence_lines

    return read_sequence_lines(path, tokens, "source")


def run(args: argparse.Namespace) -> int:
    from rnnlab.data import atomic_write_bytes
    from rnnlab.data.files import check_output_file
    from rnnlab.kinds import load
    from rnnlab.kinds.seq2seq import TrainedRun, attention_png
    from rnnlab.training.devices import resolve_device

    if args.plot_attention is not None:
        check_output_file(args.plot_attention, overwrite=args.overwrite, what="--plot-attention")
    trained = load(args.run_dir, device=resolve_device(args.device))
    if not isinstance(trained, TrainedRun):  # the other kinds read and write their own formats
        for option in ("beam_width", "plot_attention"):
            if getattr(args, option) is not None:
                name = "--" + option.replace("_", "-")
                raise ValueError(
                    f"{name}: only for seq2seq runs; this is a {trained.kind.name} run"
                )
        options = {"proba": True} if args.proba else {}
        if args.proba and trained.kind.name != "classify":
            raise ValueError(f"--proba: only for classify runs; this is a {trained.kind.name} run")
        sys.stdout.write(trained.predict_file(args.input, **options))
        return 0
    if args.proba:
        raise ValueError("--proba: only for classify runs; this is a seq2seq run")
    sources, names = read_sources(args.input, trained.tokens)
    long = trained.longer_than_training(sources)
    if long:
        first = long[0]
        sys.stderr.write(
            f"rnnlab predict: warning: {len(long)} source(s) longer than any in training "
            f"(the first: {names[first]}, {len(sources[first])} tokens); their predictions "
            "may be cut short\n"
        )
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
        check_output_file(args.plot_attention, overwrite=args.overwrite, what="--plot-attention")
        atomic_write_bytes(args.plot_attention, attention_png(sources[0], outputs[0], weights[0]))
    sys.stdout.write("".join(trained.join(o) + "\n" for o in outputs))
    return 0
