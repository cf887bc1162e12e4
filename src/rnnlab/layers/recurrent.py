"""The recurrent layer: a loop over time around any cell, with Keras's options.

``RNN(cell)`` owns everything that is about sequences: the initial state, masks,
``go_backwards``, ``return_sequences`` and ``return_state``. ``SimpleRNN``, ``LSTM`` and ``GRU``
are thin: each builds its cell and says which constructor arguments it has.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rnnlab.layers.cells import CELLS, GRUCell, LSTMCell, RecurrentCell, SimpleRNNCell, State
from rnnlab.layers.fused import run_fused
from rnnlab.layers.implementations import KernelChoice, check_implementation, choose
from rnnlab.layers.scan import run_scan


class RNN(nn.Module):
    r"""Run a recurrent cell over a batch of sequences (``batch_first``).

    Args:
        cell: the ``RecurrentCell`` to loop.
        return_sequences: return the output of every step ``(N, T, H)`` instead of the
            last one ``(N, H)``. Default False.
        return_state: also return the final state tensors. Default False.
        go_backwards: read the sequence from its last step to its first; the returned
            sequence is then in that reversed order too (as in Keras). Default False.
        implementation: ``"auto"`` (default): torch's fused kernel when it can run the call,
            else the reference loop; or ``"fused"``, ``"scan"`` or ``"reference"`` to insist
            on one, with a ValueError instead of a silent fallback when it cannot run the
            layer or a call (see ``rnnlab.layers.implementations`` and ``describe()``).

    Inputs: ``forward(x, mask=None, initial_state=None)``
        - ``x``: ``(N, T, I)``.
        - ``mask``: optional ``(N, T)`` bool, True at real steps. A masked step leaves the
          state unchanged and outputs zeros, so a padded sequence gives what it gives alone.
        - ``initial_state``: optional list of the cell's state tensors, each ``(N, H)``
          (``[h, c]`` for an LSTM); zeros by default.

    Outputs:
        ``output`` (``(N, T, H)`` or ``(N, H)``), followed by the final state tensors when
        ``return_state`` is set: ``(output, h, c)`` for an LSTM, ``(output, h)`` otherwise.
        The last output and the final state are those of each sequence's last real step.

    Legend: ``N`` batch, ``T`` time, ``I`` input features, ``H`` units.
    """

    def __init__(
        self,
        cell: RecurrentCell,
        *,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        implementation: str = "auto",
    ) -> None:
        super().__init__()
        if not isinstance(cell, RecurrentCell):
            raise TypeError(f"`cell` must be a RecurrentCell, got {type(cell).__name__}.")
        check_implementation(implementation, cell)
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.implementation = implementation

    @property
    def units(self) -> int:
        return self.cell.units

    def get_config(self) -> dict:
        return {
            "cell": {"class_name": type(self.cell).__name__, "config": self.cell.get_config()},
            **self._loop_config(),
        }

    def _loop_config(self) -> dict:
        return {
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "implementation": self.implementation,
        }

    @classmethod
    def from_config(cls, config: dict) -> RNN:
        config = dict(config)
        cell_config = config.pop("cell")
        cell = CELLS[cell_config["class_name"]](**cell_config["config"])
        return cls(cell, **config)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        initial_state: Sequence[torch.Tensor] | None = None,
    ):
        self._check_inputs(x)
        self.cell.build(x.shape[-1])
        mask = self._check_mask(mask, x)
        state = self._check_initial_state(initial_state, x)
        choice = self._choose(mask, x.dtype)
        flags = {"go_backwards": self.go_backwards, "return_sequences": self.return_sequences}
        if choice.implementation == "fused":
            output, state = run_fused(self.cell, x, state, choice.lengths, **flags)
        elif choice.implementation == "scan":
            output, state = run_scan(self.cell, x, state, mask, **flags)
        else:
            output, state = self._reference(x, state, mask)
        return (output, *state) if self.return_state else output

    def _choose(self, mask: torch.Tensor | None, dtype: torch.dtype) -> KernelChoice:
        if mask is not None:  # depends on the mask's values
            return choose(self.cell, self.implementation, mask, dtype)
        # Unmasked, the choice depends only on the configuration: remembered, because at the
        # tutorial's size (T=5) a call takes well under a millisecond.
        cell = self.cell
        key = (self.implementation, dtype, cell.activation_name, cell.recurrent_activation_name)
        cache = self.__dict__.setdefault("_choices", {})
        if key not in cache:
            cache[key] = choose(self.cell, self.implementation, None, dtype)
        return cache[key]

    def describe(self, mask: torch.Tensor | None = None) -> KernelChoice:
        """Which implementation runs a call with ``mask`` (None: no mask), and why.

        Example::

            >>> print(LSTM(64, activation="relu").describe())
            reference: the Python loop over cell.step, recorded by autograd (not fused: ...)
        """
        return choose(self.cell, self.implementation, mask)

    def _reference(self, x: torch.Tensor, state: State, mask: torch.Tensor | None):
        if self.go_backwards:
            x = x.flip(1)
            mask = None if mask is None else mask.flip(1)
        xp = self.cell.project_inputs(x)
        outputs, last, state = _loop(self.cell.step, xp, state, mask, self.return_sequences)
        output = torch.stack(outputs, dim=1) if self.return_sequences else last
        return output, state

    def _check_inputs(self, x) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"{type(self).__name__} expected a torch.Tensor input, got {type(x).__name__}."
            )
        if x.dim() != 3:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (batch, time, features), "
                f"got a {x.dim()}D tensor of shape {tuple(x.shape)}."
            )
        if x.shape[1] == 0:
            raise ValueError(f"{type(self).__name__} expected at least one time step, got 0.")

    def _check_mask(self, mask, x):
        if mask is None:
            return None
        if mask.shape != x.shape[:2]:
            raise ValueError(
                f"`mask` must have shape (batch, time) = {tuple(x.shape[:2])}, "
                f"got {tuple(mask.shape)}."
            )
        return mask.to(device=x.device, dtype=torch.bool)

    def _check_initial_state(self, initial_state, x) -> State:
        if initial_state is None:
            return self.cell.initial_state(x)
        if isinstance(initial_state, torch.Tensor):
            initial_state = [initial_state]
        expected = [(x.shape[0], size) for size in self.cell.state_size]
        got = [tuple(s.shape) for s in initial_state]
        if got != expected:
            names = ", ".join(self.cell.state_names)
            raise ValueError(
                f"`initial_state` must be [{names}] with shapes {expected}, got shapes {got}."
            )
        return tuple(initial_state)

    def extra_repr(self) -> str:
        flags = [k for k, v in self._loop_config().items() if v is True]
        if self.implementation != "auto":
            flags.append(f"implementation={self.implementation!r}")
        return ", ".join(flags)


def _loop(step, xp: torch.Tensor, state: State, mask: torch.Tensor | None, keep_outputs: bool):
    """Step through projected inputs ``(..., N, T, G*H)`` (time is the next-to-last axis);
    returns the outputs (if ``keep_outputs``), the last output and the final state."""
    outputs = []
    last = None
    steps = xp.shape[-2]
    step_masks = [None] * steps if mask is None else mask.unsqueeze(-1).unbind(-2)
    for xp_t, m in zip(xp.unbind(-2), step_masks, strict=True):
        out, new_state = step(xp_t, state)
        if m is not None:
            # A padded step keeps the state, outputs zeros, and keeps the last real output.
            new_state = tuple(torch.where(m, n, s) for n, s in zip(new_state, state, strict=True))
            last = out if last is None else torch.where(m, out, last)
            out = out.masked_fill(~m, 0.0)
        else:
            last = out
        state = new_state
        if keep_outputs:
            outputs.append(out)
    if mask is not None:
        last = last.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)  # all-padding rows
    return outputs, last, state


def can_run_together(layers: Sequence[RNN], mask: torch.Tensor | None, dtype) -> bool:
    """Whether ``run_together`` can run these layers (the directions of a Bidirectional):
    cells of one stackable kind and configuration, each of which would run the reference
    loop."""
    first = layers[0].cell
    return (
        first.stackable
        and all(type(layer.cell) is type(first) for layer in layers)
        and all(layer.cell.get_config() == first.get_config() for layer in layers)
        and all(layer._choose(mask, dtype).implementation == "reference" for layer in layers)
    )


def run_together(layers: Sequence[RNN], x, mask, initial_states) -> list:
    """Each layer's result on ``x``, as ``layer(x, mask, initial_state)`` gives it, from one
    reference loop over all of them: inputs, weights and states are stacked on a leading
    axis, so each step is one batched matrix product and one set of element-wise ops for all
    directions instead of one per direction (about 25% less time for a bidirectional LSTM at
    the tutorial's size, where the per-op overhead dominates)."""
    cells = [layer.cell for layer in layers]
    for layer in layers:
        layer._check_inputs(x)
        layer.cell.build(x.shape[-1])
    mask = layers[0]._check_mask(mask, x)
    directions, (batch, steps, features) = len(layers), x.shape
    if all(state is None for state in initial_states):
        state = tuple(x.new_zeros(directions, batch, size) for size in cells[0].state_size)
    else:
        states = [
            layer._check_initial_state(state, x)
            for layer, state in zip(layers, initial_states, strict=True)
        ]
        state = tuple(torch.stack(parts) for parts in zip(*states, strict=True))  # (D, N, H)
    flip = [layer.go_backwards for layer in layers]
    xs = torch.stack([x.flip(1) if f else x for f in flip]).view(directions, -1, features)
    kernel = torch.stack([c.kernel for c in cells])  # (D, I, G*H)
    if cells[0].use_bias:  # (D, N*T, G*H): x W + b for all directions and steps, one op
        bias = torch.stack([c.bias for c in cells]).unsqueeze(1)
        xp = torch.baddbmm(bias, xs, kernel)
    else:
        xp = torch.bmm(xs, kernel)
    xp = xp.view(directions, batch, steps, -1)
    masks = None if mask is None else torch.stack([mask.flip(1) if f else mask for f in flip])
    kernel = torch.stack([c.recurrent_kernel for c in cells])  # (D, H, G*H)

    def step(xp_t, state):
        return cells[0].step_with(kernel, xp_t, state)

    return_sequences = layers[0].return_sequences
    outputs, last, state = _loop(step, xp, state, masks, return_sequences)
    output = torch.stack(outputs, dim=2) if return_sequences else last  # (D, N, T, H)
    results = []
    for d, layer in enumerate(layers):
        final = tuple(s[d] for s in state)
        results.append((output[d], *final) if layer.return_state else output[d])
    return results


class _CellLayer(RNN):
    """A recurrent layer defined by its cell class and the cell's constructor arguments."""

    cell_class: type[RecurrentCell]

    def __init__(self, cell_args: dict, **loop_args) -> None:
        super().__init__(self.cell_class(**cell_args), **loop_args)

    def get_config(self) -> dict:
        return {**self.cell.get_config(), **self._loop_config()}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class SimpleRNN(_CellLayer):
    """Fully connected recurrent layer (Elman network); see ``SimpleRNNCell`` and ``RNN``.

    Example::

        >>> layer = SimpleRNN(8, return_sequences=True)
        >>> layer(torch.zeros(2, 5, 3)).shape
        torch.Size([2, 5, 8])
    """

    cell_class = SimpleRNNCell

    def __init__(
        self,
        units: int,
        *,
        input_size: int | None = None,
        activation: str = "tanh",
        use_bias: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        implementation: str = "auto",
    ) -> None:
        super().__init__(
            dict(units=units, input_size=input_size, activation=activation, use_bias=use_bias),
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            implementation=implementation,
        )


class LSTM(_CellLayer):
    """Long short-term memory layer (Keras's definition); see ``LSTMCell`` and ``RNN``.

    Parameters: ``4 * H * (I + H + 1)`` (one bias vector).

    Example::

        >>> layer = LSTM(64, activation="relu", return_sequences=True)
        >>> layer(torch.zeros(2, 5, 1)).shape
        torch.Size([2, 5, 64])
        >>> out, h, c = LSTM(64, return_state=True)(torch.zeros(2, 5, 1))
        >>> out.shape, h.shape, c.shape
        (torch.Size([2, 64]), torch.Size([2, 64]), torch.Size([2, 64]))
    """

    cell_class = LSTMCell

    def __init__(
        self,
        units: int,
        *,
        input_size: int | None = None,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
        use_bias: bool = True,
        unit_forget_bias: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        implementation: str = "auto",
    ) -> None:
        super().__init__(
            dict(
                units=units,
                input_size=input_size,
                activation=activation,
                recurrent_activation=recurrent_activation,
                use_bias=use_bias,
                unit_forget_bias=unit_forget_bias,
            ),
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            implementation=implementation,
        )


class GRU(_CellLayer):
    """Gated recurrent unit layer (Keras's definition, ``reset_after=True`` by default).

    Parameters: ``3 * H * (I + H + 2)`` with ``reset_after``, ``3 * H * (I + H + 1)`` without.

    Example::

        >>> GRU(16, return_sequences=True)(torch.zeros(2, 5, 3)).shape
        torch.Size([2, 5, 16])
    """

    cell_class = GRUCell

    def __init__(
        self,
        units: int,
        *,
        input_size: int | None = None,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
        use_bias: bool = True,
        reset_after: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        implementation: str = "auto",
    ) -> None:
        super().__init__(
            dict(
                units=units,
                input_size=input_size,
                activation=activation,
                recurrent_activation=recurrent_activation,
                use_bias=use_bias,
                reset_after=reset_after,
            ),
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            implementation=implementation,
        )


RECURRENT_LAYERS: dict[str, type[RNN]] = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}


def recurrent_layer(cell: str, units: int, **kwargs) -> nn.Module:
    """A ``SimpleRNN``, ``LSTM`` or ``GRU`` layer by name (``"rnn"``, ``"lstm"``, ``"gru"``)."""
    try:
        layer_class = RECURRENT_LAYERS[cell]
    except KeyError:
        raise ValueError(
            f"`cell` must be one of {sorted(RECURRENT_LAYERS)}, got {cell!r}."
        ) from None
    return layer_class(units, **kwargs)
