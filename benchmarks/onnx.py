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
        letters = ["a", "b", "c", "d", "next", "prev"]
        cases = {  # name: (run folder, one input, a sample for the cold start)
            "classifier": (classify, lambda: list(rng.choice(words, size=20)), [["w1", "w2"]]),
            "tagger": (tag, lambda: list(rng.choice(letters, size=20)), [["a", "next", "b"]]),
            "seq2seq": (seq2seq, lambda: [str(d) for d in rng.integers(1, 10, size=5)], [["3"]]),
        }
        for name, (folder, one, _) in cases.items():
            torch_run, onnx_run = rnnlab.load(folder), OnnxPredictor(f"{folder}.onnx")
            for batch in (1, 64):
                inputs = [one() for _ in range(batch)]
                ours = timed(lambda i=inputs, r=onnx_run: r.predict(i), args.repeats)
                theirs = timed(lambda i=inputs, r=torch_run: r.predict(i), args.repeats)
                rows.append((f"{name}, batch {batch}", theirs, ours))
        lm_torch, lm_onnx = rnnlab.load(lm), OnnxPredictor(f"{lm}.onnx")
        ours = timed(lambda: lm_onnx.predict(["the "], length=100), max(3, args.repeats // 4))
        theirs = timed(lambda: lm_torch.predict(["the "], length=100), max(3, args.repeats // 4))
        rows.append(("lm, 100 greedy characters", theirs, ours))
        for name, (folder, _, sample) in cases.items():
            code = repr(sample)
            rows.append(
                (
                    f"{name} cold start",
                    cold(COLD_TORCH.format(inputs=code), folder),
                    cold(COLD_ONNX.format(inputs=code), Path(f"{folder}.onnx")),
                )
            )
    print(f"\n{'':<34}{'PyTorch':>12}{'onnxruntime':>14}{'speed-up':>10}")
    for name, theirs, ours in rows:
        print(f"{name:<34}{theirs * 1000:>10.2f}ms{ours * 1000:>12.2f}ms{theirs / ours:>9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
