"""ONNX export: onnxruntime (``rnnlab.interop.onnx.OnnxPredictor``, no torch) beside PyTorch
(``rnnlab.load(RUN).predict``) on the same exported runs: a tagger's, a classifier's and an
encoder-decoder's latency at batch 1 and 64, a character language model's greedy
generation, and the cold start of the first three (a fresh Python: import, load, first
prediction), side by side in one command.

    python -m benchmarks.onnx            # trains two small runs in a temporary folder first
    python -m benchmarks.onnx --repeats 50

The runs are small (trained for a few seconds on generated data): the figures are of
inference, not of accuracy.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COLD_TORCH = "import rnnlab, sys; r = rnnlab.load(sys.argv[1]); r.predict({inputs})"
COLD_ONNX = (
    "import sys; from rnnlab.interop.onnx import OnnxPredictor; "
    "OnnxPredictor(sys.argv[1]).predict({inputs})"
)


def timed(call, repeats: int) -> float:
    """The median seconds of ``call()`` over ``repeats`` calls, after one warm-up."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cold(code: str, folder: Path, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, str(folder)], check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def make_runs(folder: Path) -> tuple[Path, Path]:
    from rnnlab.cli import main

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)]
    data = folder / "classify.tsv"
    lines = []
    for _ in range(400):
        seq = rng.choice(words, size=rng.integers(5, 30))
        lines.append(" ".join(seq) + ("\tx" if "w1" in seq else "\ty"))
    data.write_text("\n".join(lines) + "\n")
    args = ["train", "--kind", "classify", "--data", str(data), "--epochs", "2", "--quiet"]
    main([*args, "--ensemble", "1", "--out", str(folder / "classify")])
    text = folder / "text.txt"
    text.write_text("the cat sat on the mat. the dog ran to the tree.\n" * 300)
    main(["train", "--kind", "lm", "--data", str(text), "--epochs", "1", "--quiet",
          "--out", str(folder / "lm")])  # fmt: skip
    main(["train", "--task", "reverse", "--epochs", "3", "--quiet", "--out",
          str(folder / "seq2seq")])  # fmt: skip
    main(["train", "--task", "neighbours", "--samples", "1000", "--epochs", "1", "--quiet",
          "--out", str(folder / "tag")])  # fmt: skip
    for name in ("classify", "lm", "seq2seq", "tag"):
        main(["export", str(folder / name), "--out", str(folder / f"{name}.onnx")])
    return folder / "classify", folder / "lm", folder / "seq2seq", folder / "tag"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=20, help="timed calls of each (median)")
    args = p.parse_args(argv)
    import rnnlab
    from rnnlab.interop.onnx import OnnxPredictor

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        classify, lm, seq2seq, tag = make_runs(Path(tmp))
        rng = np.random.default_rng(1)
        words = [f"w{i}" for i in range(50)]
        torch_run, onnx_run = rnnlab.load(classify), OnnxPredictor(f"{classify}.onnx")
        for batch in (1, 64):
            inputs = [list(rng.choice(words, size=20)) for _ in range(batch)]
            ours = timed(lambda i=inputs: onnx_run.probabilities(i), args.repeats)
            theirs = timed(lambda i=inputs: torch_run.probabilities(i), args.repeats)
            rows.append((f"classifier, batch {batch}, 20 steps", theirs, ours))
        tag_torch, tag_onnx = rnnlab.load(tag), OnnxPredictor(f"{tag}.onnx")
        letters = ["a", "b", "c", "d", "next", "prev"]
        for batch in (1, 64):
            sentences = [list(rng.choice(letters, size=20)) for _ in range(batch)]
            ours = timed(lambda s=sentences: tag_onnx.predict(s), args.repeats)
            theirs = timed(lambda s=sentences: tag_torch.predict(s), args.repeats)
            rows.append((f"tagger (neighbours), batch {batch}", theirs, ours))
        s2s_torch, s2s_onnx = rnnlab.load(seq2seq), OnnxPredictor(f"{seq2seq}.onnx")
        for batch in (1, 64):
            sources = [[str(d) for d in rng.integers(1, 10, size=5)] for _ in range(batch)]
            ours = timed(lambda s=sources: s2s_onnx.predict(s), args.repeats)
            theirs = timed(lambda s=sources: s2s_torch.predict(s), args.repeats)
            rows.append((f"seq2seq (reverse), batch {batch}", theirs, ours))
        lm_torch, lm_onnx = rnnlab.load(lm), OnnxPredictor(f"{lm}.onnx")
        ours = timed(lambda: lm_onnx.predict(["the "], length=100), max(3, args.repeats // 4))
        theirs = timed(lambda: lm_torch.predict(["the "], length=100), max(3, args.repeats // 4))
        rows.append(("lm, 100 greedy characters", theirs, ours))
        sample = repr([["w1", "w2", "w3"]])
        rows.append(
            (
                "classifier cold start",
                cold(COLD_TORCH.format(inputs=sample), classify),
                cold(COLD_ONNX.format(inputs=sample), Path(f"{classify}.onnx")),
            )
        )
        words = repr([["a", "next", "b"]])
        rows.append(
            (
                "tagger cold start",
                cold(COLD_TORCH.format(inputs=words), tag),
                cold(COLD_ONNX.format(inputs=words), Path(f"{tag}.onnx")),
            )
        )
        digits = repr([["3", "7", "2"]])
        rows.append(
            (
                "seq2seq cold start",
                cold(COLD_TORCH.format(inputs=digits), seq2seq),
                cold(COLD_ONNX.format(inputs=digits), Path(f"{seq2seq}.onnx")),
            )
        )
    print(f"\n{'':<34}{'PyTorch':>12}{'onnxruntime':>14}{'speed-up':>10}")
    for name, theirs, ours in rows:
        print(f"{name:<34}{theirs * 1000:>10.2f}ms{ours * 1000:>12.2f}ms{theirs / ours:>9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
