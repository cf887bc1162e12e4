"""Will it fit? An estimate of a training run's memory, checked before anything is allocated.

Linux hands out memory lazily: a run far too large for the machine does not fail when its
tensors are made, but is killed by the kernel minutes later, with no word. So a run's size
is estimated first, from the parameter count (the weights, their gradients and Adam's two
moments: 16 bytes a parameter) and from the activations a batch keeps for the backward pass
(``Seq2SeqConfig.activation_bytes``), and refused when it exceeds the memory available.
The estimate errs on the large side by design; it guards against sizes off by orders of
magnitude, not by percents.
"""

from __future__ import annotations

import os

import torch

BYTES_PER_PARAMETER = 16  # float32 weight, gradient, and Adam's first and second moments


class ResourceError(ValueError):
    """A run that cannot fit in this machine's memory; the message says what to reduce."""


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (Linux's ``MemAvailable``), or None
    where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def parameter_count(build) -> int:
    """Parameters of the module ``build()`` makes, counted without allocating them."""
    with torch.device("meta"):
        module = build()
    return sum(p.numel() for p in module.parameters())


def check_fits(needed: int, what: str, advice: str, available: int | None = None) -> None:
    """Raise ``ResourceError`` when ``needed`` bytes exceed the memory available."""
    available = available_memory() if available is None else available
    if available is not None and needed > available:
        raise ResourceError(
            f"{what} needs about {_gib(needed)} of memory, more than the {_gib(available)} "
            f"available; {advice}"
        )


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"
