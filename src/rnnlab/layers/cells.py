"""Recurrent cells: one time step, ``(x_t, state) -> (output, new_state)``.

A cell knows nothing of sequences; ``rnnlab.layers.recurrent.RNN`` loops any cell over time.
For speed the step is split in two: ``project_inputs`` multiplies the whole input sequence
by the input kernel at once, and ``step`` does the rest for one step.

Weights are laid out as Keras lays them out (``batch_first`` everywhere):

- ``kernel``: ``(I, G*H)``, ``recurrent_kernel``: ``(H, G*H)``, with ``G`` gate blocks side
  by side in the cell's gate order.
- ``bias``: ``(G*H,)``, or ``(2, G*H)`` for a GRU with ``reset_after=True`` (row 0 is added
  to the input projection, row 1 to the recurrent one).

Legend: ``N`` batch, ``T`` time, ``I`` input features, ``H`` units, ``G`` gate blocks.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from rnnlab.layers.activations import get_activation
from rnnlab.layers.initializers import orthogonal_
from rnnlab.layers.kernels import build_kernel, check_size, is_built, new_kernel

State = tuple[torch.Tensor, ...]


def add_product(xp_t: torch.Tensor, h: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``xp_t + h @ kernel`` in one op: ``(N, G*H)``, or ``(D, N, G*H)`` for ``D`` stacked
    directions with ``kernel`` ``(D, H, G*H)`` (see ``step_with``)."""
    if h.dim() == 2:
        return torch.addmm(xp_t, h, kernel)
    return torch.baddbmm(xp_t, h, kernel)


class RecurrentCell(nn.Module):
    """Base class: the kernels, bias and activations of a cell with ``gates`` gate blocks."""

    gates: int = 1
    state_names: tuple[str, ...] = ("h",)

    def __init__(
        self,
        units: int,
        *,
        input_size: int | None = None,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
        use_bias: bool = True,
    ) -> None:
        super().__init__()
        check_size(units, "units")
        check_size(input_size, "input_size", allow_none=True)
        self.units = units
        self.activation_name = activation
        self.recurrent_activation_name = recurrent_activation
        self.activation = get_activation(activation, "activation")
        self.recurrent_activation = get_activation(recurrent_activation, "recurrent_activation")
        self.use_bias = use_bias
        width = self.gates * units
        # Created in Keras's build order: kernel, recurrent kernel, bias.
        self.kernel = new_kernel(input_size, width)
        self.recurrent_kernel = nn.Parameter(orthogonal_(torch.empty(units, width)))
        self.bias = nn.Parameter(self._initial_bias()) if use_bias else None

    def _initial_bias(self) -> torch.Tensor:
        return torch.zeros(self.gates * self.units)

    @property
    def input_size(self) -> int | None:
        return self.kernel.shape[0] if is_built(self.kernel) else None

    @property
    def state_size(self) -> tuple[int, ...]:
        return (self.units,) * len(self.state_names)

    def build(self, input_size: int) -> None:
        """Create the input kernel for ``input_size`` features, if it is still open."""
        build_kernel(self.kernel, input_size, self.gates * self.units, type(self).__name__)

    def get_config(self) -> dict:
        return {
            "units": self.units,
            "input_size": self.input_size,
            "activation": self.activation_name,
            "recurrent_activation": self.recurrent_activation_name,
            "use_bias": self.use_bias,
        }

    def initial_state(self, x: torch.Tensor) -> State:
        """Zero state for the batch of ``x``, on its device and dtype."""
        return tuple(x.new_zeros(x.shape[0], size) for size in self.state_size)

    def project_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, T, I) -> (N, T, G*H)``: input kernel (and input bias) for all steps at once."""
        xp = x @ self.kernel
        if self.bias is not None:
            xp = xp + self.bias
        return xp

    def step(self, xp_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One step from the projected input ``(N, G*H)``; returns ``(output, new_state)``."""
        raise NotImplementedError

    # Cells whose step needs no weight but the recurrent kernel also offer
    # ``step_with(recurrent_kernel, xp_t, state)``: the same step for any recurrent kernel,
    # including several cells' kernels stacked ``(D, H, G*H)``, with the inputs and states
    # stacked the same way ``(D, N, ...)``. A bidirectional layer runs both directions in one
    # loop with it (``rnnlab.layers.recurrent.run_together``).
    stackable: bool = False

    def forward(self, x_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One step from a raw input ``(N, I)``."""
        self.build(x_t.shape[-1])
        return self.step(self.project_inputs(x_t), state)

    def extra_repr(self) -> str:
        return (
            f"units={self.units}, input_size={self.input_size}, activation={self.activation_name!r}"
        )


class SimpleRNNCell(RecurrentCell):
    r"""Elman cell: :math:`h_t = \phi(x_t W + h_{t-1} U + b)`.

    ``phi`` is ``activation`` (default tanh). State: ``(h,)``, each ``(N, H)``.
    """

    gates = 1

    def __init__(self, units, *, input_size=None, activation="tanh", use_bias=True):
        super().__init__(units, input_size=input_size, activation=activation, use_bias=use_bias)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["recurrent_activation"]
        return config

    stackable = True

    def step(self, xp_t, state):
        return self.step_with(self.recurrent_kernel, xp_t, state)

    def step_with(self, recurrent_kernel, xp_t, state):
        (h,) = state
        h = self.activation(add_product(xp_t, h, recurrent_kernel))
        return h, (h,)


class LSTMGates(NamedTuple):
    """One LSTM step's gates and new state, each ``(..., H)``."""

    input_gate: torch.Tensor  # i_t
    forget_gate: torch.Tensor  # f_t
    cell_candidate: torch.Tensor  # g_t
    output_gate: torch.Tensor  # o_t
    c: torch.Tensor  # c_t
    h: torch.Tensor  # h_t


class LSTMCell(RecurrentCell):
    r"""Long short-term memory cell, with Keras's gate order and a single bias vector.

    .. math::
        i_t = \sigma(x_t W_i + h_{t-1} U_i + b_i) \qquad
        f_t = \sigma(x_t W_f + h_{t-1} U_f + b_f)

        g_t = \phi(x_t W_c + h_{t-1} U_c + b_c) \qquad
        o_t = \sigma(x_t W_o + h_{t-1} U_o + b_o)

        c_t = f_t \odot c_{t-1} + i_t \odot g_t \qquad h_t = o_t \odot \phi(c_t)

    ``sigma`` is ``recurrent_activation`` (default sigmoid), ``phi`` is ``activation``
    (default tanh; the tutorial uses relu). Gate blocks in ``kernel``, ``recurrent_kernel``
    and ``bias``: input, forget, cell, output (the same order as ``torch.nn.LSTM``'s i, f, g, o).
    With ``unit_forget_bias`` (default) the forget block of the bias starts at 1.
    State: ``(h, c)``, each ``(N, H)``; the output is ``h``.
    """

    gates = 4
    state_names = ("h", "c")

    def __init__(
        self,
        units,
        *,
        input_size=None,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        unit_forget_bias=True,
    ):
        self.unit_forget_bias = unit_forget_bias
        super().__init__(
            units,
            input_size=input_size,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
        )

    def _initial_bias(self):
        bias = torch.zeros(4 * self.units)
        if self.unit_forget_bias:
            bias[self.units : 2 * self.units] = 1.0
        return bias

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}

    stackable = True

    def step(self, xp_t, state):
        return self.step_with(self.recurrent_kernel, xp_t, state)

    def step_with(self, recurrent_kernel, xp_t, state):
        h, c = state
        z = add_product(xp_t, h, recurrent_kernel)  # (N, 4H)
        gates = self.gates_of(z, c)
        return gates.h, (gates.h, gates.c)

    def gates_of(self, z: torch.Tensor, c: torch.Tensor) -> LSTMGates:
        """The gate equations, written once: from the pre-activations ``z = x_t W + h_{t-1}
        U + b`` ``(..., 4H)`` and the previous cell state ``c`` ``(..., H)``, every gate and
        the new state (the step, ``rnnlab gates`` and ``rnnlab gradients`` all use this)."""
        i, f, g, o = z.chunk(4, dim=-1)
        sigma = self.recurrent_activation
        i, f, g, o = sigma(i), sigma(f), self.activation(g), sigma(o)
        c = f * c + i * g
        return LSTMGates(i, f, g, o, c, o * self.activation(c))


class GRUCell(RecurrentCell):
    r"""Gated recurrent unit, in Keras's layout (gate blocks: update z, reset r, candidate).

    With ``reset_after=True`` (Keras's default, and cuDNN's / ``torch.nn.GRU``'s form):

    .. math::
        z_t = \sigma(x_t W_z + b^x_z + h_{t-1} U_z + b^h_z) \qquad
        r_t = \sigma(x_t W_r + b^x_r + h_{t-1} U_r + b^h_r)

        \tilde h_t = \phi(x_t W_h + b^x_h + r_t \odot (h_{t-1} U_h + b^h_h)) \qquad
        h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t

    where ``b^x`` is ``bias[0]`` and ``b^h`` is ``bias[1]`` (``bias`` is ``(2, 3H)``). With
    ``reset_after=False`` the reset gate applies before the product,
    :math:`\tilde h_t = \phi(x_t W_h + (r_t \odot h_{t-1}) U_h + b_h)`, and ``bias`` is ``(3H,)``.
    State: ``(h,)``, ``(N, H)``; the output is ``h``.
    """

    gates = 3

    def __init__(
        self,
        units,
        *,
        input_size=None,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        reset_after=True,
    ):
        self.reset_after = reset_after
        super().__init__(
            units,
            input_size=input_size,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
        )

    def _initial_bias(self):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        return torch.zeros(shape)

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}

    def project_inputs(self, x):
        xp = x @ self.kernel
        if self.bias is not None:
            xp = xp + (self.bias[0] if self.reset_after else self.bias)
        return xp

    def step(self, xp_t, state):
        (h,) = state
        sigma, units = self.recurrent_activation, self.units
        xz, xr, xh = xp_t.chunk(3, dim=1)
        if self.reset_after:
            rec = h @ self.recurrent_kernel  # (N, 3H)
            if self.bias is not None:
                rec = rec + self.bias[1]
            rz, rr, rh = rec.chunk(3, dim=1)
            z, r = sigma(xz + rz), sigma(xr + rr)
            candidate = self.activation(xh + r * rh)
        else:
            rz, rr = (h @ self.recurrent_kernel[:, : 2 * units]).chunk(2, dim=1)
            z, r = sigma(xz + rz), sigma(xr + rr)
            candidate = self.activation(xh + (r * h) @ self.recurrent_kernel[:, 2 * units :])
        h = candidate + z * (h - candidate)  # = z * h + (1 - z) * candidate
        return h, (h,)


CELLS: dict[str, type[RecurrentCell]] = {
    "SimpleRNNCell": SimpleRNNCell,
    "LSTMCell": LSTMCell,
    "GRUCell": GRUCell,
}
