"""The bidirectional wrapper: one recurrent layer reads forwards, a copy reads backwards."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from rnnlab.layers.fused import joint_bidirectional, run_fused_bidirectional
from rnnlab.layers.implementations import KernelChoice
from rnnlab.layers.recurrent import RNN, can_run_together, run_together

MERGE_MODES: dict[str | None, Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None] = {
    "concat": lambda a, b: torch.cat([a, b], dim=-1),
    "sum": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "ave": lambda a, b: (a + b) / 2,
    None: None,  # return the two outputs as a pair
}


class Bidirectional(nn.Module):
    r"""Run a recurrent layer over the sequence in both directions and merge the outputs.

    The backward layer is a fresh copy of ``layer`` (same configuration, its own weights)
    with ``go_backwards`` flipped, unless ``backward_layer`` is given. With
    ``return_sequences`` its output is turned back into forward time order before merging, so
    step ``t`` of the result sees ``x[:, :t+1]`` through the forward layer and ``x[:, t:]``
    through the backward one. With a mask, padded steps of either direction leave its state
    unchanged, so a post-padded sequence gives what it gives alone.

    Args:
        layer: a recurrent layer (``SimpleRNN``, ``LSTM``, ``GRU`` or ``RNN``).
        merge_mode: ``"concat"`` (default, ``(..., 2H)``), ``"sum"``, ``"mul"``, ``"ave"``
            (``(..., H)``), or ``None`` for the pair ``(forward, backward)``.
        backward_layer: an explicit backward layer; it must have the same
            ``return_sequences`` and ``return_state`` as ``layer`` and the opposite
            ``go_backwards``.

    Inputs: ``forward(x, mask=None, initial_state=None)``, as ``RNN``; ``initial_state`` is
    the forward layer's state tensors followed by the backward layer's.

    Outputs: the merged output, followed with ``return_state`` by the forward states and
    then the backward states: ``(output, h_f, c_f, h_b, c_b)`` for an LSTM.

    Example::

        >>> bi = Bidirectional(LSTM(64, activation="relu", return_sequences=True))
        >>> bi(torch.zeros(2, 5, 1)).shape
        torch.Size([2, 5, 128])
    """

    def __init__(
        self, layer: RNN, merge_mode: str | None = "concat", backward_layer: RNN | None = None
    ):
        super().__init__()
        if not isinstance(layer, RNN):
            raise TypeError(f"`layer` must be a recurrent layer (RNN), got {type(layer).__name__}.")
        if merge_mode not in MERGE_MODES:
            allowed = [m for m in MERGE_MODES if m is not None] + [None]
            raise ValueError(f"`merge_mode` must be one of {allowed}, got {merge_mode!r}.")
        if backward_layer is None:
            backward_layer = layer.from_config(
                {**layer.get_config(), "go_backwards": not layer.go_backwards}
            )
        self._check_backward_layer(layer, backward_layer)
        self.forward_layer = layer
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode

    @staticmethod
    def _check_backward_layer(layer: RNN, backward: RNN) -> None:
        for flag in ("return_sequences", "return_state"):
            if getattr(layer, flag) != getattr(backward, flag):
                raise ValueError(
                    f"`backward_layer.{flag}` must equal `layer.{flag}` "
                    f"({getattr(layer, flag)}), got {getattr(backward, flag)}."
                )
        if layer.go_backwards == backward.go_backwards:
            raise ValueError(
                "`backward_layer.go_backwards` must be the opposite of `layer.go_backwards`, "
                f"got {backward.go_backwards} for both."
            )

    @property
    def return_sequences(self) -> bool:
        return self.forward_layer.return_sequences

    @property
    def return_state(self) -> bool:
        return self.forward_layer.return_state

    @property
    def units(self) -> int:
        return self.forward_layer.units

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, initial_state=None):
        initial_f = initial_b = None
        if initial_state is not None:
            half = len(initial_state) // 2
            initial_f, initial_b = list(initial_state[:half]), list(initial_state[half:])
        plan = self._plan(mask, x)
        if plan == "joint":
            return self._forward_joint(x, initial_f, initial_b)
        if plan == "together":
            layers = (self.forward_layer, self.backward_layer)
            y_f, y_b = run_together(layers, x, mask, (initial_f, initial_b))
        else:
            y_f = self.forward_layer(x, mask=mask, initial_state=initial_f)
            y_b = self.backward_layer(x, mask=mask, initial_state=initial_b)
        states: tuple = ()
        if self.return_state:
            (y_f, *states_f), (y_b, *states_b) = y_f, y_b
            states = (*states_f, *states_b)
        if self.return_sequences:
            y_b = y_b.flip(1)  # back to forward time order
        return self._merge(y_f, y_b, states)

    def _merge(self, y_f, y_b, states):
        merge = MERGE_MODES[self.merge_mode]
        output = (y_f, y_b) if merge is None else merge(y_f, y_b)
        return (output, *states) if self.return_state else output

    def _plan(self, mask, x) -> str:
        """``"joint"`` (one fused call), ``"together"`` (one stacked loop) or ``"apart"``."""
        if mask is None:  # then it depends only on the configuration: remembered per dtype
            cache = self.__dict__.setdefault("_plans", {})
            layers = (self.forward_layer, self.backward_layer)
            key = (x.dtype, x.shape[-1], *(layer.implementation for layer in layers))
            if key not in cache:
                cache[key] = self._decide(None, x.dtype)
            return cache[key]
        return self._decide(mask, x.dtype)

    def _decide(self, mask, dtype) -> str:
        if self._joint(mask, dtype):
            return "joint"
        if can_run_together((self.forward_layer, self.backward_layer), mask, dtype):
            return "together"
        return "apart"

    def _joint(self, mask, dtype) -> bool:
        """Whether one two-direction call of torch's fused kernel can run both layers: no
        mask (padding would be read first backwards), both fused, the same configuration."""
        if mask is not None or self.forward_layer.go_backwards:
            return False
        layers = (self.forward_layer, self.backward_layer)
        if any(layer._choose(None, dtype).implementation != "fused" for layer in layers):
            return False
        return joint_bidirectional(self.forward_layer.cell, self.backward_layer.cell)

    def _forward_joint(self, x, initial_f, initial_b):
        forward_layer, backward_layer = self.forward_layer, self.backward_layer
        for layer in (forward_layer, backward_layer):
            layer._check_inputs(x)
            layer.cell.build(x.shape[-1])
        state_f = forward_layer._check_initial_state(initial_f, x)
        state_b = backward_layer._check_initial_state(initial_b, x)
        out, last, final_f, final_b = run_fused_bidirectional(
            forward_layer.cell, backward_layer.cell, x, state_f, state_b
        )
        states = (*final_f, *final_b) if self.return_state else ()
        if not self.return_sequences:
            return self._merge(*last, states)
        if self.merge_mode == "concat":  # torch's layout already: (N, T, 2H)
            return (out, *states) if self.return_state else out
        return self._merge(*out.chunk(2, dim=-1), states)

    def describe(self, mask: torch.Tensor | None = None) -> KernelChoice:
        """Which implementation runs a call with ``mask`` (None: no mask), and why."""
        if self._joint(mask, None):
            reason = self.forward_layer.describe(mask).reason
            return KernelChoice("fused", f"both directions in one call: {reason}")
        f, b = self.forward_layer.describe(mask), self.backward_layer.describe(mask)
        layers = (self.forward_layer, self.backward_layer)
        if can_run_together(layers, mask, None):
            return KernelChoice("reference", f"both directions in one stacked loop: {f.reason}")
        if str(f) == str(b):
            return KernelChoice(f.implementation, f"each direction: {f.reason}")
        name = f.implementation if f.implementation == b.implementation else "mixed"
        return KernelChoice(name, f"forward: {f}; backward: {b}")

    def extra_repr(self) -> str:
        return f"merge_mode={self.merge_mode!r}"


def stacked_layers(
    cell: str,
    units: int,
    layers: int,
    input_size: int,
    *,
    bidirectional: bool = True,
    last_returns_sequences: bool = True,
    **options,
) -> nn.ModuleList:
    """``layers`` recurrent layers (``recurrent_layer(cell, units, ...)``), each reading the
    outputs of the one before, each wrapped in ``Bidirectional`` (concatenated directions)
    unless ``bidirectional`` is False; every layer returns its sequence of outputs, the last
    only with ``last_returns_sequences``. ``options`` go to every layer (``return_state``)."""
    from rnnlab.layers.recurrent import recurrent_layer

    directions = 2 if bidirectional else 1
    stack = nn.ModuleList()
    for layer in range(layers):
        rnn = recurrent_layer(
            cell,
            units,
            input_size=input_size if layer == 0 else directions * units,
            return_sequences=last_returns_sequences or layer < layers - 1,
            **options,
        )
        stack.append(Bidirectional(rnn) if bidirectional else rnn)
    return stack
