"""Training throughput of rnnlab's recurrent layers, side by side with torch.nn's.

Each configuration times a plain training step (forward, mean-squared loss, backward, Adam
update) of an rnnlab layer and of a baseline in the same process, alternating the two so
that both see the same machine load, and reports the median time per step.

    python -m benchmarks.layers                  # H=256, B=64, T=100, I=256
    python -m benchmarks.layers --quick          # a short run (smaller T, fewer repeats)
    python -m benchmarks.layers --device cuda    # on a GPU: rnnlab's layers against cuDNN

Columns: rnnlab and baseline ms per step, ratio = baseline time / rnnlab time (rnnlab's
throughput relative to the baseline; the issue's target beside it), rnnlab tokens/s
(``B * T`` per step) and achieved GFLOP/s, counting an LSTM training step as
``24 H (I + H) B T`` floating-point operations per direction (GRU 18, SimpleRNN 6). The float32
matmul peak measured in the same run is printed above the table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from rnnlab.data.dataset import length_mask
from rnnlab.layers import GRU, LSTM, Bidirectional
from rnnlab.training.optimizers import Adam

Step = Callable[[], None]
DEVICE = torch.device("cpu")  # where the models, inputs and steps run (--device)
FLOPS_PER_UNIT = {"lstm": 24, "gru": 18, "rnn": 6}  # x H (I + H) B T per direction


@dataclass(frozen=True)
class Shape:
    batch: int
    steps: int
    inputs: int
    units: int


@dataclass(frozen=True)
class Case:
    name: str
    baseline: str
    target: float  # the minimum ratio
    flops: float  # per training step
    build: Callable[[Shape], tuple[Step, Step]]  # (rnnlab step, baseline step)


def synchronize() -> None:
    """Wait for the device's queued work (a GPU runs asynchronously; the CPU needs nothing)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def training_step(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None = None) -> Step:
    """A closure running one plain training step of ``model`` on ``x``, finished when it
    returns (on a GPU too)."""
    model.to(DEVICE)
    optimizer = Adam(model.parameters())

    def step() -> None:
        out = model(x) if mask is None else model(x, mask=mask)
        out = out[0] if isinstance(out, tuple) else out  # torch.nn's (output, state)
        loss = out.square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        synchronize()

    return step


def _inputs(shape: Shape) -> torch.Tensor:
    return torch.randn(shape.batch, shape.steps, shape.inputs).to(DEVICE)


def _variable_lengths(shape: Shape) -> torch.Tensor:
    """A post-padding mask, lengths uniform in 1..T (a fixed seed)."""
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, shape.steps + 1, (shape.batch,), generator=generator)
    return length_mask(lengths, shape.steps).to(DEVICE)


def _vs_torch(layer: Callable[..., nn.Module], reference: Callable[..., nn.Module], **kw):
    def build(shape: Shape) -> tuple[Step, Step]:
        x = _inputs(shape)
        ours = layer(shape.units, input_size=shape.inputs, return_sequences=True, **kw)
        theirs = reference(shape.inputs, shape.units, batch_first=True)
        return training_step(ours, x), training_step(theirs, x)

    return build


def _bidirectional(layer, reference, **kw):
    def build(shape: Shape) -> tuple[Step, Step]:
        x = _inputs(shape)
        ours = Bidirectional(
            layer(shape.units, input_size=shape.inputs, return_sequences=True, **kw)
        )
        theirs = reference(shape.inputs, shape.units, batch_first=True, bidirectional=True)
        return training_step(ours, x), training_step(theirs, x)

    return build


def _masked(make: Callable[[Shape], nn.Module]):
    """The same model on a variable-length masked batch and on a full-length one."""

    def build(shape: Shape) -> tuple[Step, Step]:
        x, model = _inputs(shape), make(shape)
        return training_step(model, x, _variable_lengths(shape)), training_step(model, x)

    return build


def _lstm(**kw):
    return lambda s: LSTM(s.units, input_size=s.inputs, return_sequences=True, **kw)


def cases(shape: Shape) -> list[Case]:
    def flops(kind: str, directions: int = 1) -> float:
        per_unit = FLOPS_PER_UNIT[kind] * directions
        return per_unit * shape.units * (shape.inputs + shape.units) * shape.batch * shape.steps

    bi_lstm = lambda s: Bidirectional(_lstm()(s))  # noqa: E731
    return [
        Case("LSTM tanh", "nn.LSTM", 0.95, flops("lstm"), _vs_torch(LSTM, nn.LSTM)),
        Case("GRU tanh", "nn.GRU", 0.95, flops("gru"), _vs_torch(GRU, nn.GRU)),
        Case("BiLSTM tanh", "nn.LSTM bidir", 0.95, flops("lstm", 2), _bidirectional(LSTM, nn.LSTM)),
        Case("BiGRU tanh", "nn.GRU bidir", 0.95, flops("gru", 2), _bidirectional(GRU, nn.GRU)),
        Case(
            "LSTM relu",
            "nn.LSTM tanh",
            0.5,
            flops("lstm"),
            _vs_torch(LSTM, nn.LSTM, activation="relu"),
        ),
        Case(
            "BiLSTM relu",
            "nn.LSTM bidir tanh",
            0.5,
            flops("lstm", 2),
            _bidirectional(LSTM, nn.LSTM, activation="relu"),
        ),
        Case(
            "LSTM relu, scan",
            "nn.LSTM tanh",
            0.5,
            flops("lstm"),
            _vs_torch(LSTM, nn.LSTM, activation="relu", implementation="scan"),
        ),
        Case("LSTM tanh masked", "same, full length", 0.8, flops("lstm"), _masked(_lstm())),
        Case("BiLSTM masked", "same, full length", 0.8, flops("lstm", 2), _masked(bi_lstm)),
        Case(
            "LSTM relu masked",
            "same, full length",
            0.8,
            flops("lstm"),
            _masked(_lstm(activation="relu")),
        ),
    ]


def time_pair(ours: Step, theirs: Step, warmup: int, repeats: int) -> tuple[float, float]:
    """Median seconds per step of each, measured alternately after ``warmup`` steps each."""
    for _ in range(warmup):
        ours(), theirs()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for step, bucket in zip((ours, theirs), times, strict=True):
            start = time.perf_counter()
            step()
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def matmul_peak(size: int | None = None, repeats: int = 10) -> float:
    """Best float32 matmul GFLOP/s of ``(size, size) @ (size, size)`` on the device (size
    1024 on a CPU, 8192 on a GPU, which a small product would leave mostly idle)."""
    size = size or (8192 if DEVICE.type == "cuda" else 1024)
    a, b = (torch.randn(size, size, device=DEVICE) for _ in range(2))
    a @ b
    synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i in (0, 3) else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.layers", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="T=20, fewer repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per side")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--only", default=None, help="run configurations whose name contains this")
    parser.add_argument(
        "--device", default="cpu", help="cpu (default), cuda or cuda:N: where everything runs"
    )
    args = parser.parse_args(argv)
    try:
        args.device = torch.device(args.device)
    except RuntimeError:
        parser.error(f"--device: expected cpu, cuda or cuda:N, got {args.device!r}")
    if args.device.type not in ("cpu", "cuda"):
        parser.error(f"--device: expected cpu, cuda or cuda:N, got {args.device!r}")
    if args.device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: this torch sees no CUDA device")
    return args


def main(argv: list[str] | None = None) -> int:
    global DEVICE
    args = parse_args(argv)
    DEVICE = args.device
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = Shape(batch=64, steps=20 if args.quick else 100, inputs=256, units=256)
    repeats = args.repeats or (3 if args.quick else 7)
    peak = matmul_peak()
    where = (
        torch.cuda.get_device_name(DEVICE)
        if DEVICE.type == "cuda"
        else f"{torch.get_num_threads()} threads"
    )
    print(
        f"torch {torch.__version__}, {where}; H={shape.units}, "
        f"B={shape.batch}, T={shape.steps}, I={shape.inputs}; median of {repeats} training "
        f"steps each; float32 matmul peak {peak:.0f} GFLOP/s"
    )
    header = ("configuration", "rnnlab ms", "baseline ms", "baseline", "ratio", "target")
    rows = [(*header, "tokens/s", "GFLOP/s", "% peak")]
    for case in cases(shape):
        if args.only and args.only.lower() not in case.name.lower():
            continue
        ours, theirs = time_pair(*case.build(shape), warmup=1 if args.quick else 2, repeats=repeats)
        gflops = case.flops / ours / 1e9
        rows.append(
            (
                case.name,
                f"{ours * 1e3:.1f}",
                f"{theirs * 1e3:.1f}",
                case.baseline,
                f"{theirs / ours:.2f}",
                f">={case.target:.2f}",
                f"{shape.batch * shape.steps / ours:,.0f}",
                f"{gflops:.1f}",
                f"{gflops / peak:.0%}",
            )
        )
        print(format_table(rows).splitlines()[-1], flush=True)
    peak_after = matmul_peak()
    print(f"\nfloat32 matmul peak: {peak:.0f} GFLOP/s before, {peak_after:.0f} after the runs")
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
