"""``rnnlab import-keras FILE.keras --out RUN_DIR``: a Keras 3 model as an rnnlab run folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnlab.cli.runs import add_out_options, output_folder

DESCRIPTION = """\
Read a Keras 3 .keras file (Sequential or functional models of Input, LSTM, GRU, SimpleRNN,
Bidirectional, Dense, TimeDistributed, RepeatVector, Embedding, Masking and Dropout layers)
into rnnlab layers whose outputs equal Keras's, and write it as a run folder that `rnnlab
predict` and `rnnlab.load` open. Prints the model's summary (Keras's parameter counts)."""


def add_parser(commands) -> None:
    p = commands.add_parser(
        "import-keras", help="a Keras 3 model as an rnnlab run folder", description=DESCRIPTION
    )
    p.add_argument("file", type=Path, metavar="FILE.keras", help="what Keras's model.save wrote")
    add_out_options(p, "run folder")
    p.add_argument("--seed", type=int, default=0, help="unused: importing is deterministic")
    p.set_defaults(run=run, parser=p)


def run(args: argparse.Namespace) -> int:
    from rnnlab.interop.keras import load_keras, summary
    from rnnlab.kinds.keras import input_specs
    from rnnlab.kinds.runs import FORMAT
    from rnnlab.training.run_folder import write_run

    out = output_folder(args, "import-keras")
    model = load_keras(args.file)
    text = summary(model)
    config = {
        "kind": "keras",
        "format": FORMAT,
        "train": {"source": str(args.file.absolute()), "seed": 0},
        "inputs": input_specs(model.config),
        "keras": model.config,
        "model": {},
    }
    metrics = {"parameters": model.parameter_count}
    out.write(lambda stage: write_run(stage, config, model, "epoch\n", metrics))
    print(text)
    print(f"Run written to {out.path}/")
    return 0
