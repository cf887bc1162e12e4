"""The "fused" implementation: torch's own recurrent kernels, fed the Keras-layout weights.

``torch._VF.lstm`` / ``gru`` / ``rnn_tanh`` / ``rnn_relu`` are what ``torch.nn.LSTM`` and
friends call: oneDNN on the CPU, cuDNN on a GPU. The weights stay the layer's parameters in
Keras's layout; each call maps them to torch's (a transpose, and for the GRU a reordering of
the gate blocks, z r h -> r z n), and autograd carries the gradients back through the map.

Masks: the kernels know only full-length sequences, but with a *post-padding* mask (each row
True on a prefix, as ``pad_sequences(..., padding="post")`` gives) a real step never sees a
later padded one, so the kernel runs on the whole padded batch and the padding is fixed up
afterwards: outputs after each sequence's end are zeroed and the final state is read at its
last real step. ``go_backwards`` reverses each sequence within its own length instead of
flipping the whole padded tensor. An LSTM's final cell state is not among the kernel's
per-step outputs, so one extra input feature, 1 at padded steps, drives the forget gate to
exactly 1 and the input gate to exactly 0 there: the cell state is carried through padding
unchanged (and so is its gradient, since a saturated sigmoid has a zero derivative).

On a GPU, cuDNN reads its weights from one flat buffer in a layout of its own; given separate
tensors it copies them into one at every call and warns ("RNN module weights are not part of
single contiguous chunk of memory"). ``torch.nn.LSTM`` keeps its parameters in such a buffer
(``flatten_parameters``); here the parameters stay in Keras's layout, so each call that cuDNN
runs builds the buffer once, in cuDNN's layout (asked of torch once per shape), and hands the
kernel views into it; autograd carries the gradients back through the views and the map.

Legend: ``N`` batch, ``T`` time, ``I`` input features, ``H`` units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import _VF

from rnnlab.layers.cells import GRUCell, LSTMCell, RecurrentCell, SimpleRNNCell, State

# Pre-activation added to the forget (+) and input (-) gates at padded steps: sigmoid of it is
# exactly 1.0 / 0.0 in float32 and float64, and so its derivative is exactly 0.
_SATURATE = 1e4


def post_padding_lengths(mask: torch.Tensor) -> torch.Tensor | None:
    """Each row's length ``(N,)`` if ``mask`` ``(N, T)`` is True exactly on a prefix of each
    row (post padding), else None."""
    lengths = mask.sum(dim=1)
    steps = torch.arange(mask.shape[1], device=mask.device)
    return lengths if torch.equal(mask, steps < lengths[:, None]) else None


def _reverse_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse the first ``lengths[n]`` steps of each row of ``x`` ``(N, T, F)``; the padding
    stays where it is. Its own inverse."""
    steps = torch.arange(x.shape[1], device=x.device)
    index = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)  # (N, T)
    return x.gather(1, index.unsqueeze(-1).expand_as(x))


def _at_step(y: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """``y[n, step[n]]`` for each row: ``(N, T, H) -> (N, H)``."""
    index = step.clamp(min=0).view(-1, 1, 1).expand(-1, 1, y.shape[2])
    return y.gather(1, index).squeeze(1)


def _zrh_to_rzn(w: torch.Tensor) -> torch.Tensor:
    """Keras's GRU gate blocks (z, r, h) on the last axis to torch's (r, z, n)."""
    z, r, h = w.chunk(3, dim=-1)
    return torch.cat([r, z, h], dim=-1)


def _weights(kernel, recurrent_kernel, bias_ih=None, bias_hh=None) -> list[torch.Tensor]:
    """torch's parameter list: ``(G*H, I)`` and ``(G*H, H)`` weights (contiguous: faster),
    then both biases if there are any (Keras's single bias leaves torch's second one zero)."""
    weights = [kernel.t().contiguous(), recurrent_kernel.t().contiguous()]
    if bias_ih is None:
        return weights
    return [*weights, bias_ih, torch.zeros_like(bias_ih) if bias_hh is None else bias_hh]


def _lstm_params(cell: LSTMCell) -> list[torch.Tensor]:
    return _weights(cell.kernel, cell.recurrent_kernel, cell.bias)


def _gru_params(cell: GRUCell) -> list[torch.Tensor]:
    bias = cell.bias
    biases = (_zrh_to_rzn(bias[0]), _zrh_to_rzn(bias[1])) if bias is not None else ()
    return _weights(_zrh_to_rzn(cell.kernel), _zrh_to_rzn(cell.recurrent_kernel), *biases)


def _lstm(cell: LSTMCell, x, state: State, padded: torch.Tensor | None):
    kernel, units = cell.kernel, cell.units
    if padded is not None:  # one more input feature: 1 at padded steps, frozen cell state
        freeze = kernel.new_zeros(1, 4 * units)
        freeze[0, :units], freeze[0, units : 2 * units] = -_SATURATE, _SATURATE
        kernel = torch.cat([kernel, freeze], dim=0)  # (I + 1, 4H)
        x = torch.cat([x, padded.unsqueeze(-1).to(x.dtype)], dim=2)  # (N, T, I + 1)
    params = _weights(kernel, cell.recurrent_kernel, cell.bias)
    h0, c0 = state
    out, h, c = run_kernel("lstm", x, (h0[None], c0[None]), params, cell.use_bias)
    return out, (h[0], c[0])


def _gru(cell: GRUCell, x, state: State, padded):
    out, h = run_kernel("gru", x, state[0][None], _gru_params(cell), cell.use_bias)
    return out, (h[0],)


def _simple_rnn(cell: SimpleRNNCell, x, state: State, padded):
    name = "rnn_tanh" if cell.activation_name == "tanh" else "rnn_relu"
    params = _lstm_params(cell)  # the same layout: one weight pair and bias
    out, h = run_kernel(name, x, state[0][None], params, cell.use_bias)
    return out, (h[0],)


def run_kernel(name: str, x, hx, params: list[torch.Tensor], has_biases: bool, both=False):
    """``torch._VF.<name>`` (``"lstm"``, ``"gru"``, ``"rnn_tanh"``, ``"rnn_relu"``) over ``x``
    ``(N, T, I)``: one layer, batch first, both directions with ``both``; ``hx`` is ``(D, N,
    H)``, a pair of them for an LSTM; ``params`` in torch's layout (``_weights``)."""
    if _cudnn_runs(x):
        hidden = (hx[0] if isinstance(hx, tuple) else hx).shape[-1]
        params, has_biases = _cudnn_flat(params, has_biases, name, hidden, both)
    kernel = getattr(_VF, name)
    return kernel(x, hx, params, has_biases, 1, 0.0, _train(), both, True)


def _cudnn_runs(x: torch.Tensor) -> bool:
    """Whether cuDNN runs torch's kernel on ``x``, reading its weights from a flat buffer."""
    return (
        x.is_cuda
        and torch._use_cudnn_rnn_flatten_weight()
        and torch.backends.cudnn.is_acceptable(x)
    )


def _cudnn_flat(params, has_biases: bool, name: str, hidden: int, both: bool):
    """``params`` as views into one new buffer laid out as cuDNN lays out its weights, so that
    it reads them where they are (without the buffer it copies them at every call, and
    warns). cuDNN always adds both biases: without any, they are zeros."""
    if not has_biases:
        per_direction = [params[i : i + 2] for i in range(0, len(params), 2)]
        params = [t for w in per_direction for t in (*w, *_zero_biases(w[0]))]
    offsets, size = _cudnn_layout(params, name, hidden, both)
    return flat_views(params, offsets, size), True


def _zero_biases(weight_ih: torch.Tensor) -> list[torch.Tensor]:
    return [weight_ih.new_zeros(weight_ih.shape[0]) for _ in range(2)]


# (device, dtype, kernel, H, both directions, the parameters' shapes) -> (offsets, size)
_CUDNN_LAYOUTS: dict[tuple, tuple[tuple[int, ...], int]] = {}


def _cudnn_layout(params, name: str, hidden: int, both: bool) -> tuple[tuple[int, ...], int]:
    """Where cuDNN wants each of ``params`` in its flat buffer (offsets in elements) and the
    buffer's size: asked of torch once per shape, by letting ``torch._cudnn_rnn_flatten_weight``
    (what ``torch.nn.LSTM.flatten_parameters`` calls) point stand-ins into a buffer of its own."""
    first = params[0]
    shapes = tuple(tuple(p.shape) for p in params)
    key = (first.device, first.dtype, name, hidden, both, shapes)
    if key not in _CUDNN_LAYOUTS:
        from torch.backends.cudnn.rnn import get_cudnn_mode

        like = {"device": first.device, "dtype": first.dtype}
        stand_ins = [torch.empty(shape, **like) for shape in shapes]
        mode = get_cudnn_mode(name.upper())  # "LSTM", "GRU", "RNN_TANH", "RNN_RELU"
        with torch.no_grad(), torch.cuda.device(first.device):
            buffer = torch._cudnn_rnn_flatten_weight(
                stand_ins, 4, shapes[0][1], mode, hidden, 0, 1, True, both
            )
        _CUDNN_LAYOUTS[key] = (tuple(t.storage_offset() for t in stand_ins), buffer.numel())
    return _CUDNN_LAYOUTS[key]


def flat_views(params: list[torch.Tensor], offsets, size: int) -> list[torch.Tensor]:
    """Copies of ``params`` as views into one new 1-D buffer of ``size`` elements, each at
    its offset (zeros in any gap), made by one ``cat``: differentiable, so each parameter
    gets the gradient of its view."""
    pieces, where, end = [], {}, 0
    for i in sorted(range(len(params)), key=lambda i: offsets[i]):
        if offsets[i] > end:  # a gap in cuDNN's layout
            pieces.append(params[i].new_zeros(offsets[i] - end))
        where[i] = len(pieces)
        pieces.append(params[i].reshape(-1))
        end = offsets[i] + params[i].numel()
    if size > end:
        pieces.append(params[0].new_zeros(size - end))
    parts = torch.cat(pieces).split([p.numel() for p in pieces])  # views into one buffer
    return [parts[where[i]].view(p.shape) for i, p in enumerate(params)]


def _train() -> bool:
    # oneDNN keeps what its backward pass needs only when told it is training.
    return torch.is_grad_enabled()


def _lstm_unsupported(cell: LSTMCell) -> str | None:
    if (cell.activation_name, cell.recurrent_activation_name) != ("tanh", "sigmoid"):
        return (
            f"activation={cell.activation_name!r}, recurrent_activation="
            f"{cell.recurrent_activation_name!r}: torch's fused LSTM has only tanh and sigmoid"
        )
    return None


def _gru_unsupported(cell: GRUCell) -> str | None:
    if (cell.activation_name, cell.recurrent_activation_name) != ("tanh", "sigmoid"):
        return (
            f"activation={cell.activation_name!r}, recurrent_activation="
            f"{cell.recurrent_activation_name!r}: torch's fused GRU has only tanh and sigmoid"
        )
    if not cell.reset_after:
        return "reset_after=False: torch's fused GRU applies the reset gate after the product"
    return None


def _simple_rnn_unsupported(cell: SimpleRNNCell) -> str | None:
    if cell.activation_name not in ("tanh", "relu"):
        return f"activation={cell.activation_name!r}: torch's fused RNN has only tanh and relu"
    return None


@dataclass(frozen=True)
class FusedKernel:
    name: str  # what describe() shows
    unsupported: Callable[[RecurrentCell], str | None]  # why a cell cannot run it, or None
    run: Callable  # (cell, x, state, padded) -> (out (N, T, H), final state)
    params: Callable[[RecurrentCell], list[torch.Tensor]]  # torch's layout, for two directions
    kernel: str | None = None  # the _VF function's name, for a two-direction call


FUSED_KERNELS: dict[type[RecurrentCell], FusedKernel] = {
    LSTMCell: FusedKernel("torch._VF.lstm", _lstm_unsupported, _lstm, _lstm_params, "lstm"),
    GRUCell: FusedKernel("torch._VF.gru", _gru_unsupported, _gru, _gru_params, "gru"),
    SimpleRNNCell: FusedKernel(
        "torch._VF.rnn_tanh/rnn_relu", _simple_rnn_unsupported, _simple_rnn, _lstm_params
    ),
}


def run_fused_bidirectional(forward_cell, backward_cell, x, state_f: State, state_b: State):
    """Both directions in one call of torch's kernel (one oneDNN / cuDNN call instead of two,
    and no flipping): ``x`` ``(N, T, I)`` -> ``out`` ``(N, T, 2H)`` (the backward half in
    forward time order), the last output of each direction, and the two final states."""
    fused = FUSED_KERNELS[type(forward_cell)]
    params = fused.params(forward_cell) + fused.params(backward_cell)
    hx = tuple(torch.stack([f, b]) for f, b in zip(state_f, state_b, strict=True))  # (2, N, H)
    hx = hx if len(hx) > 1 else hx[0]
    out, *final = run_kernel(fused.kernel, x, hx, params, forward_cell.use_bias, both=True)
    units = forward_cell.units
    # The backward direction's last output is the one it gave at the first step.
    last = (out[:, -1, :units], out[:, 0, units:])
    return out, last, tuple(s[0] for s in final), tuple(s[1] for s in final)


def joint_bidirectional(forward_cell, backward_cell) -> bool:
    """Whether the two cells can run as one two-direction call of torch's kernel."""
    fused = FUSED_KERNELS.get(type(forward_cell))
    return (
        fused is not None
        and fused.kernel is not None
        and type(backward_cell) is type(forward_cell)
        and backward_cell.get_config() == forward_cell.get_config()
    )


def fused_unsupported(cell: RecurrentCell) -> str | None:
    """Why ``cell`` cannot run a fused kernel, or None if it can."""
    kernel = FUSED_KERNELS.get(type(cell))
    if kernel is None:
        return f"{type(cell).__name__} has no fused kernel"
    return kernel.unsupported(cell)


def warm_up() -> None:
    """Run torch's fused LSTM once, forward and backward, on tiny zero tensors, for what its
    first training step in a process sets up once.

    On the CPU that is oneDNN's kernels for the backward pass, generated at run time: about
    25 ms on the reference machine, more than ten training steps of the tutorial's
    encoder-decoder. Processes forked afterwards inherit them. It touches no random
    generator, so it may run in a thread beside code that seeds and builds models
    (``compare`` does).

    Where an accelerator (a GPU) is visible it does nothing: there a backward pass starts
    autograd's threads for the device, after which torch refuses autograd in any process
    forked from this one.
    """
    if accelerator_visible():
        return
    torch.get_num_threads()  # in a new thread, takes torch's count (else OpenMP's default)
    units = 16  # a single unit takes another path (matrix-vector), which sets up less
    x = torch.zeros(1, 1, 1)
    shapes = ((4 * units, 1), (4 * units, units), (4 * units,), (4 * units,))
    weights = [torch.zeros(shape, requires_grad=True) for shape in shapes]
    state = torch.zeros(1, 1, units)
    with torch.enable_grad():
        out, _, _ = _VF.lstm(x, (state, state), weights, True, 1, 0.0, True, False, True)
        out.sum().backward()


def accelerator_visible() -> bool:
    """Whether torch sees a GPU (or another accelerator) on this machine."""
    accelerator = getattr(torch, "accelerator", None)  # torch 2.6 and later
    if accelerator is not None:
        return accelerator.is_available()
    return torch.cuda.is_available()


def run_fused(
    cell: RecurrentCell,
    x: torch.Tensor,
    state: State,
    lengths: torch.Tensor | None,
    *,
    go_backwards: bool,
    return_sequences: bool,
):
    """Run ``cell`` over ``x`` ``(N, T, I)`` with torch's kernel; ``lengths`` ``(N,)`` for a
    post-padded batch. Returns the output (in reading order) and the final state."""
    run = FUSED_KERNELS[type(cell)].run
    if lengths is None:
        out, final = run(cell, x.flip(1) if go_backwards else x, state, None)
        return (out if return_sequences else out[:, -1]), final
    if go_backwards:
        x = _reverse_within(x, lengths)
    steps = torch.arange(x.shape[1], device=x.device)
    real = steps < lengths[:, None]  # (N, T), still a prefix after the reversal
    out, final = run(cell, x, state, ~real)
    out = out * real.unsqueeze(-1).to(out.dtype)  # padded steps output zeros
    started = (lengths > 0)[:, None]
    last = _at_step(out, lengths - 1)  # zeros for an all-padding row
    # h is read at the last real step (the initial one for an all-padding row); an LSTM's c
    # was carried through the padding by the kernel itself.
    final = (torch.where(started, last, state[0]), *final[1:])
    if not return_sequences:
        return last, final
    if go_backwards:  # Keras's order: the whole padded row read backwards, padding first
        shift = (steps[None, :] + lengths[:, None]) % x.shape[1]  # (N, T)
        out = out.gather(1, shift.unsqueeze(-1).expand_as(out))
    return out, final
