"""Several processes training one model: PyTorch's DistributedDataParallel under ``torchrun``.

``torchrun --standalone --nproc_per_node N -m rnnlab train ...`` (or ``--nnodes M
--rdzv-endpoint HOST:PORT`` across machines) starts N processes with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous in their environment; ``start`` joins
them into one process group (gloo on CPUs, NCCL on GPUs) and returns its ``Group``.

How a step is shared (``rnnlab.training.Trainer`` does it):

- Every rank draws the same global batches as one process would (the shuffling generator
  has the same seed and state everywhere), and trains on its rows of each (``shard``):
  consecutive, disjoint parts as equal as they can be; the last, uneven batch included. A
  rank whose part is empty (a batch smaller than the world) still takes part, with weight 0.
- A batch's loss is a mean over some count (examples, or real tokens). The ranks sum their
  counts and weighted losses in one ``all_reduce`` before the backward pass, and each scales
  its loss so that DDP's average of the gradients is the gradient of the global batch's
  mean: N processes and one give the same steps, up to floating-point rounding.
- The step itself is DDP's: the model is wrapped with its loss (``LossModule``), so the
  gradients are averaged whichever of the model's methods the objective calls.

A collective that waits longer than the group's timeout (``RNNLAB_DIST_TIMEOUT`` seconds,
default 300) ends the process with ``CollectiveError``: a rank that crashed, or hangs, stops
the others instead of leaving them waiting for ever.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from dataclasses import dataclass

import torch
from torch import nn

TIMEOUT_ENV = "RNNLAB_DIST_TIMEOUT"
DEFAULT_TIMEOUT = 300.0  # seconds


class CollectiveError(RuntimeError):
    """A collective operation failed or timed out: another process has stopped."""


@dataclass(frozen=True)
class Group:
    """This process's place among ``world`` processes training one model."""

    rank: int
    world: int
    local_rank: int
    backend: str
    timeout: float

    @property
    def main(self) -> bool:
        """Rank 0: the one that prints progress and writes the run folder."""
        return self.rank == 0

    def sum(self, values: list[float], device: torch.device) -> list[float]:
        """Each value summed over every rank (one ``all_reduce``)."""
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        with collective("summing the batch's loss"):
            dist.all_reduce(tensor)
        return tensor.tolist()

    def from_main(self, value):
        """Rank 0's ``value`` (any picklable object), on every rank."""
        import torch.distributed as dist

        box = [value]
        with collective("receiving rank 0's results"):
            dist.broadcast_object_list(box, src=0)
        return box[0]


_current: Group | None = None


def launched() -> bool:
    """True in a process that a launcher started as one of several (``WORLD_SIZE`` > 1)."""
    return _env_int("WORLD_SIZE", 1) > 1


def local_world() -> int:
    """The processes of this launch on this machine (``LOCAL_WORLD_SIZE``; 1 without one)."""
    return _env_int("LOCAL_WORLD_SIZE", 1) if launched() else 1


def local_rank() -> int | None:
    return _env_int("LOCAL_RANK", 0) if launched() else None


def start(device: torch.device) -> Group | None:
    """Join the launcher's process group (None when this is the only process)."""
    global _current
    if not launched():
        return None
    if _current is not None:
        return _current
    import torch.distributed as dist

    rank, world = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1)
    backend = "nccl" if device.type == "cuda" else "gloo"
    timeout = _timeout()
    if device.type == "cuda":
        torch.cuda.set_device(device)
    try:
        dist.init_process_group(
            backend, timeout=datetime.timedelta(seconds=timeout), rank=rank, world_size=world
        )
    except (RuntimeError, ValueError) as exc:
        raise CollectiveError(
            f"rank {rank} of {world}: could not join the other processes ({_first_line(exc)}); "
            "check the launcher's rendezvous (MASTER_ADDR, MASTER_PORT or --rdzv-endpoint)"
        ) from None
    _current = Group(rank, world, _env_int("LOCAL_RANK", 0), backend, timeout)
    return _current


def current() -> Group | None:
    return _current


def stop() -> None:
    """Leave the process group (at the end of a command)."""
    global _current
    if _current is None:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    _current = None


class collective:
    """Turns a failed or timed-out collective into a one-line ``CollectiveError``."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if not _is_collective_failure(exc):
            return False
        group = _current
        who = f"rank {group.rank} of {group.world}" if group else "this process"
        waited = f" (the timeout is {group.timeout:g} s, {TIMEOUT_ENV})" if group else ""
        raise CollectiveError(
            f"{who}: another process stopped while {self.what}{waited}; see that process's "
            f"output for why ({_first_line(exc)})"
        ) from None


def _is_collective_failure(exc: BaseException | None) -> bool:
    """A failure of the process group's communication (a peer gone, a timeout), as opposed
    to one of the computation (out of memory, a bug)."""
    import torch.distributed as dist

    if exc is None or isinstance(exc, CollectiveError):
        return False
    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        word in text
        for word in ("gloo", "nccl", "connection closed", "connection reset", "timed out")
    )


def shard(batch, rank: int, world: int):
    """Rank ``rank``'s rows of ``batch`` (``rows(batch, start, stop)``), and whether it has
    any: a rank with none gets the first row, which it trains on with weight 0."""
    n = len(batch)
    start, stop = rank * n // world, (rank + 1) * n // world
    if start == stop:
        return rows(batch, 0, 1), False
    return rows(batch, start, stop), True


def rows(batch, start: int, stop: int):
    """Rows ``start:stop`` of a batch: its ``subset`` where it has one, else every tensor
    field of a dataclass that has a row per example (other fields are kept)."""
    if hasattr(batch, "subset"):
        return batch.subset(slice(start, stop))
    n = len(batch)
    changes = {}
    for f in dataclasses.fields(batch):
        value = getattr(batch, f.name)
        if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == n:
            changes[f.name] = value[start:stop]
    return dataclasses.replace(batch, **changes)


class LossModule(nn.Module):
    """``model`` with its objective's loss as the forward pass: what DDP wraps, so that the
    gradients are averaged however the objective calls the model."""

    def __init__(self, model: nn.Module, objective) -> None:
        super().__init__()
        self.model = model
        self.objective = objective

    def forward(self, batch) -> torch.Tensor:
        return self.objective.loss(self.model, batch)


def wrap(model: nn.Module, objective, group: Group) -> nn.Module:
    """The DDP module that trains ``model`` across ``group`` (its weights are rank 0's).

    Without ``device_ids`` (allowed for a module on one device), DDP leaves the batch as it
    is: the objective moves its tensors to the model's device itself. On CPUs (gloo) the
    gradients go in one bucket, averaged once the backward pass is done: the cores that
    would overlap the communication with the backward pass are all computing it. Measured on
    2 cores, 2 processes against 2 threads: the language model 0.96x with 25 MB buckets,
    0.98x with one; the EWT tagger 0.90x and 0.94x (``benchmarks.scale``). GPUs (NCCL) keep
    DDP's 25 MB buckets, which overlap.
    """
    from torch.nn.parallel import DistributedDataParallel

    module = LossModule(model, objective)
    buckets = {"bucket_cap_mb": 256} if group.backend == "gloo" else {}
    with collective("sharing the initial weights"):
        return DistributedDataParallel(
            module,
            device_ids=None,
            forward_sync_buffers=False,  # buffers (the tagger's rare words) are data's, alike
            gradient_as_bucket_view=True,
            **buckets,
        )


def dropout_seed(seed: int, epoch: int, rank: int) -> int:
    """The seed of ``rank``'s random numbers (dropout) in ``epoch``: different for every
    rank and epoch, the same for a resumed run."""
    return ((seed * 1_000_003 + epoch) * 4099 + rank + 1) % 2**63


def check_batch(batch_size: int, group: Group | None) -> None:
    """A batch that does not split evenly across the processes is refused: every step would
    leave some of them waiting for the others."""
    if group is not None and batch_size % group.world:
        raise ValueError(
            f"`batch_size` {batch_size} does not split evenly across {group.world} processes; "
            f"give a multiple of {group.world} (it is the global batch: each process trains on "
            "its share of it)"
        )


def _timeout() -> float:
    text = os.environ.get(TIMEOUT_ENV)
    if text is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"{TIMEOUT_ENV}={text!r}: expected a number of seconds > 0")
    return value


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r}: expected an integer (set by torchrun)") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
