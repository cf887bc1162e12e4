"""Which implementation a recurrent layer runs, and why: the one place that decides.

Three implementations compute the same function (each is tested against the reference):

- ``"fused"``: torch's fused kernel (``torch._VF.lstm`` / ``gru`` / ``rnn_*``; oneDNN on the
  CPU, cuDNN on a GPU) with the Keras weights mapped on the fly (``rnnlab.layers.fused``).
  Only tanh/sigmoid LSTMs and GRUs (``reset_after=True``), tanh/relu SimpleRNNs, and masks
  that are post padding.
- ``"scan"``: for LSTMs with any activations (the tutorial's relu) and any mask: the forward
  loop without a graph and a hand-written backward pass (``rnnlab.layers.scan``). Opt-in
  only: on the reference CPU it was no faster than the reference loop at the tutorial's size
  (T=5, H=64: 4% slower) or at H=256, T=100 (10% slower), and 5-12% faster only between.
- ``"reference"``: the Python loop over ``cell.step``, recorded by autograd; runs anything.

``"auto"`` (the default) runs ``"fused"`` when it can, else ``"reference"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnnlab.layers.cells import LSTMCell, RecurrentCell
from rnnlab.layers.fused import FUSED_KERNELS, fused_unsupported, post_padding_lengths

IMPLEMENTATIONS = ("auto", "fused", "scan", "reference")
AUTO_ORDER = ("fused", "reference")  # measured: see the module's docstring


@dataclass(frozen=True)
class KernelChoice:
    """The implementation a call runs (``"fused"``, ``"scan"`` or ``"reference"``) and why.

    ``lengths`` holds each row's length ``(N,)`` when a fused kernel runs a post-padded batch.
    """

    implementation: str
    reason: str
    lengths: torch.Tensor | None = None

    def __str__(self) -> str:
        return f"{self.implementation}: {self.reason}"


def check_implementation(implementation: str, cell: RecurrentCell) -> None:
    """Raise ValueError if ``implementation`` is unknown or can never run ``cell``."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(
            f"`implementation` must be one of {list(IMPLEMENTATIONS)}, got {implementation!r}."
        )
    why = _static_refusal(implementation, cell)
    if why is not None:
        raise ValueError(f"`implementation={implementation!r}` cannot run this layer: {why}.")


def _static_refusal(implementation: str, cell: RecurrentCell) -> str | None:
    if implementation == "fused":
        return fused_unsupported(cell)
    if implementation == "scan" and type(cell) is not LSTMCell:
        return f"{type(cell).__name__} has no scan implementation (LSTMCell only)"
    return None


def _dtype_refusal(dtype: torch.dtype | None) -> str | None:
    if dtype is not None and not dtype.is_floating_point:
        return f"inputs of dtype {dtype} are not floating point"
    return None


def choose(
    cell: RecurrentCell,
    implementation: str,
    mask: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
) -> KernelChoice:
    """The implementation that runs ``cell`` on a call with ``mask``, for ``"auto"`` or a
    requested one; a requested one that cannot run the call raises ValueError, naming why."""
    if implementation != "auto":
        choice = _try(implementation, cell, mask, dtype)
        if isinstance(choice, str):
            raise ValueError(f"`implementation={implementation!r}` cannot run this call: {choice}.")
        return choice
    refusals = []
    for name in AUTO_ORDER:
        choice = _try(name, cell, mask, dtype)
        if isinstance(choice, KernelChoice):
            if refusals:  # say why the faster ones were passed over
                reason = f"{choice.reason} (not {'; not '.join(refusals)})"
                choice = KernelChoice(choice.implementation, reason, choice.lengths)
            return choice
        refusals.append(f"{name}: {choice}")
    raise AssertionError("the reference implementation runs anything")  # unreachable


def _try(name: str, cell: RecurrentCell, mask, dtype) -> KernelChoice | str:
    """A ``KernelChoice`` if ``name`` can run the call, else the reason it cannot."""
    why = _static_refusal(name, cell) or (_dtype_refusal(dtype) if name != "reference" else None)
    if why is not None:
        return why
    if name == "fused":
        kernel = FUSED_KERNELS[type(cell)].name
        if mask is None:
            return KernelChoice(name, f"{kernel} with the Keras weights mapped")
        lengths = post_padding_lengths(mask)
        if lengths is None:
            return "the mask is not post padding (True on a prefix of each row)"
        return KernelChoice(name, f"{kernel} on the padded batch, post-padding mask", lengths)
    if name == "scan":
        return KernelChoice(name, "LSTM forward loop without a graph, backward written by hand")
    return KernelChoice(name, "the Python loop over cell.step, recorded by autograd")
