"""Where a run computes: the device (``--device``) and the arithmetic (``--precision``).

``resolve_device`` turns the option into a ``torch.device`` and refuses, in one line, a
device this machine does not have. ``Precision`` is a run's arithmetic: ``fp32`` (the
default), or mixed precision on a CUDA device, ``bf16`` or ``fp16``: the forward pass runs
under ``torch.autocast`` while the weights, the optimiser's moments and the loss stay in
float32, and ``fp16``'s small range is handled by dynamic loss scaling
(``torch.amp.GradScaler``: a step whose gradients overflow is skipped and the scale halved).
Mixed precision is refused on a CPU: PyTorch's CPU LSTM kernel (oneDNN) has no bf16 or fp16
form, and a small recurrent model gains nothing there.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field

import torch

DEVICES = "auto, cpu, cuda or cuda:N"
PRECISIONS = ("fp32", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
_CUDA = re.compile(r"cuda(?::(\d+))?")


def resolve_device(spec: str | torch.device | None = None, *, local_rank: int | None = None):
    """The ``torch.device`` that ``spec`` names (``auto``: a GPU when one is visible, else the
    CPU; None: the CPU). Under a launcher, ``cuda`` is the GPU of this process's
    ``local_rank``. A device this machine lacks, or an unknown name, is a ``ValueError`` that
    names the option."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = "cpu" if spec is None else spec.strip().lower()
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return torch.device("cpu")
    found = _CUDA.fullmatch(spec)
    if found is None:
        raise ValueError(f"`device` {spec!r}: unknown; expected {DEVICES}")
    if not torch.cuda.is_available():
        raise ValueError(
            f"`device` {spec}: no CUDA GPU is visible to PyTorch here (torch "
            f"{torch.__version__}, CUDA {torch.version.cuda or 'not built in'}); use --device "
            "cpu, or auto to take a GPU only when there is one"
        )
    count = torch.cuda.device_count()
    index = int(found.group(1)) if found.group(1) is not None else (local_rank or 0)
    if index >= count:
        raise ValueError(
            f"`device` cuda:{index}: this machine has {count} CUDA device(s), cuda:0 to "
            f"cuda:{count - 1}"
        )
    return torch.device("cuda", index)


def describe_device(device: torch.device) -> str:
    """``cpu (2 threads)`` or ``cuda:0 (NVIDIA H200)``: for summaries and metrics.json."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


class Precision:
    """A run's arithmetic on ``device``: ``autocast()`` for the forward passes, ``scaler`` (a
    ``GradScaler`` for ``fp16``, else None) for the backward pass and the step."""

    def __init__(self, name: str = "fp32", device: torch.device | str = "cpu") -> None:
        if name not in PRECISIONS:
            raise ValueError(f"`precision` {name!r}: unknown; expected one of {list(PRECISIONS)}")
        self.name, self.device = name, torch.device(device)
        self.dtype = _DTYPES.get(name)
        self.scaler = torch.amp.GradScaler(self.device.type) if name == "fp16" else None

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)


@dataclass(frozen=True)
class Placement:
    """Where a run trains: its device, its arithmetic (a ``PRECISIONS`` name) and the
    processes it shares its steps with (a ``distributed.Group``, or None)."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    precision: str = "fp32"
    group: object = None


def check_precision(name: str, device: torch.device) -> None:
    """Refuse an arithmetic the device cannot do (one line naming the option)."""
    if name not in PRECISIONS:
        raise ValueError(f"`precision` {name!r}: unknown; expected one of {list(PRECISIONS)}")
    if name == "fp32":
        return
    if device.type != "cuda":
        raise ValueError(
            f"`precision` {name}: mixed precision needs a CUDA device (--device cuda); on a "
            "CPU use fp32 (PyTorch's CPU LSTM kernel has no half-precision form)"
        )
    if name == "bf16" and torch.cuda.get_device_capability(device) < (8, 0):  # before Ampere
        raise ValueError(
            f"`precision` bf16: {torch.cuda.get_device_name(device)} has no bfloat16; use "
            "fp16 (loss-scaled) or fp32"
        )


class DeviceMemoryError(ValueError):
    """A CUDA device ran out of memory at a batch: says which, and what to change."""

    def __init__(self, device: torch.device, batch_size: int, where: str) -> None:
        free, total = torch.cuda.mem_get_info(device) if torch.cuda.is_available() else (0, 0)
        room = f", {free / 2**30:.1f} of {total / 2**30:.1f} GiB free" if total else ""
        super().__init__(
            f"{device} ran out of memory at a batch of {batch_size} ({where}{room}); give a "
            "smaller `batch_size`, or --precision bf16"
        )
        self.batch_size = batch_size


def is_device_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "CUDA out of memory" in str(exc)
    )


def model_device(model: torch.nn.Module) -> torch.device:
    """Where ``model``'s parameters are (the CPU for a model without any)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")
