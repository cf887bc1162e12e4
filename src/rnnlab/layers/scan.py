r"""The "scan" implementation of an LSTM: any activations, any mask, backward written by hand.

The reference loop records about a dozen autograd nodes per step, and replaying them is most
of a training step's time for small layers. Here the whole sequence runs forward without a
graph, and one ``torch.autograd.Function`` does the backward pass through time by hand:

- forward, per step: one ``addmm`` (:math:`z_t = x_t W + b + h_{t-1} U`) and a few
  element-wise ops; the gates, cell activations and states are kept.
- backward, per step: the gate gradients :math:`\partial z_t` (element-wise, with
  multipliers precomputed for all steps at once) and one matmul,
  :math:`\partial h_{t-1} = \partial z_t U^\top`.
- after the loop, the weight gradient in one large matmul over all steps:
  :math:`\partial U = \sum_t h_{t-1}^\top \partial z_t`. The input projection
  :math:`x W + b` stays outside the function, so autograd forms :math:`\partial W` and
  :math:`\partial x` as single matmuls too.

It is the same arithmetic as ``LSTMCell.step`` (so it works with the tutorial's ``relu``,
which torch's fused kernel does not offer), and masks keep the loop's semantics exactly: a
masked step leaves the state unchanged and outputs zeros.

Legend: ``N`` batch, ``T`` time, ``H`` units.
"""

from __future__ import annotations

import torch

from rnnlab.layers.activations import ACTIVATIONS, DERIVATIVES
from rnnlab.layers.cells import LSTMCell, State


class _LSTMScan(torch.autograd.Function):
    """``(xp, U, h0, c0) -> (out, h_T, c_T)``; ``xp`` is the projected input ``(N, T, 4H)``."""

    @staticmethod
    def forward(ctx, xp, recurrent_kernel, h0, c0, mask, names, keep):
        activation, recurrent_activation = names
        act, sigma = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
        units = h0.shape[1]
        cell_block = slice(2 * units, 3 * units)
        h, c = h0, c0
        steps = mask.unsqueeze(-1).unbind(1) if mask is not None else [None] * xp.shape[1]
        hs, cs, c_news, gates, outs = [h0], [c0], [], [], []
        for xp_t, m in zip(xp.unbind(1), steps, strict=True):
            z = torch.addmm(xp_t, h, recurrent_kernel)  # (N, 4H)
            gate = sigma(z)
            gate[:, cell_block] = act(z[:, cell_block])
            i, f, g, o = gate.chunk(4, dim=1)
            c_new = torch.addcmul(f * c, i, g)
            h_new = o * act(c_new)
            if m is not None:  # a masked step keeps the state and outputs zeros
                c, h = torch.where(m, c_new, c), torch.where(m, h_new, h)
                outs.append(h_new * m)
            else:
                c, h = c_new, h_new
                outs.append(h_new)
            gates.append(gate)
            c_news.append(c_new)
            hs.append(h)
            cs.append(c)
        out = torch.stack(outs, dim=1)  # (N, T, H)
        ctx.masked = mask is not None
        ctx.names = names
        if keep:  # skipped under torch.no_grad(): inference needs no backward pass
            _save_for_backward(ctx, gates, hs, cs, c_news, recurrent_kernel, mask)
        return out, h, c

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out, d_h, d_c):
        multipliers, o_dact, forget, h_prev, recurrent_kernel, mask = ctx.saved_tensors
        units = d_h.shape[1]
        u_t = recurrent_kernel.t()
        steps = mask.unsqueeze(-1).unbind(1) if ctx.masked else [None] * d_out.shape[1]
        d_z = []
        for t in range(d_out.shape[1] - 1, -1, -1):
            m = steps[t]
            d_hn = d_h + d_out[:, t]  # gradient reaching this step's new h
            d_cn = d_c if m is None else d_c * m
            if m is not None:
                d_hn = d_hn * m
            d_cn = torch.addcmul(d_cn, d_hn, o_dact[:, t])  # (N, H)
            d_zt = torch.cat([d_cn, d_cn, d_cn, d_hn], dim=1).mul_(multipliers[:, t])  # (N, 4H)
            d_z.append(d_zt)
            if m is None:
                d_h = d_zt @ u_t
                d_c = d_cn * forget[:, t]
            else:  # what a masked step carried through unchanged flows straight back
                keep = 1.0 - m
                d_h = torch.addmm(d_h * keep, d_zt, u_t)
                d_c = torch.addcmul(d_c * keep, d_cn, forget[:, t])
        d_z.reverse()
        d_xp = torch.stack(d_z, dim=1)  # (N, T, 4H)
        d_u = h_prev.reshape(-1, units).t() @ d_xp.reshape(-1, 4 * units)  # (H, 4H), all steps
        return d_xp, d_u, d_h, d_c, None, None, None


def _save_for_backward(ctx, gates, hs, cs, c_news, recurrent_kernel, mask):
    """Precompute, for all steps at once, what the backward pass multiplies by."""
    activation, recurrent_activation = ctx.names
    units = recurrent_kernel.shape[0]
    gate = torch.stack(gates, dim=1)  # (N, T, 4H): i, f, g, o after their activations
    c_new = torch.stack(c_news, dim=1)  # (N, T, H): each step's new cell state
    c_prev = torch.stack(cs[:-1], dim=1)  # (N, T, H): the states each step started from
    h_prev = torch.stack(hs[:-1], dim=1)
    act_c = ACTIVATIONS[activation](c_new)
    i, f, g, o = gate.chunk(4, dim=2)
    d_gate = DERIVATIVES[recurrent_activation](gate)
    d_gate[..., 2 * units : 3 * units] = DERIVATIVES[activation](g)
    # dz = [dc * g, dc * c_prev, dc * i, dh * act(c)] * f'(gate), factored per step.
    multipliers = torch.cat([g, c_prev, i, act_c], dim=2).mul_(d_gate)
    o_dact = o * DERIVATIVES[activation](act_c)  # dh -> dc through h = o * act(c)
    saved_mask = mask.to(gate.dtype) if mask is not None else gate.new_empty(0)
    ctx.save_for_backward(multipliers, o_dact, f.contiguous(), h_prev, recurrent_kernel, saved_mask)


def run_scan(cell: LSTMCell, x, state: State, mask, *, go_backwards: bool, return_sequences: bool):
    """Run ``cell`` over ``x`` ``(N, T, I)``; returns the output and the final ``(h, c)``."""
    if go_backwards:
        x = x.flip(1)
        mask = None if mask is None else mask.flip(1)
    h0, c0 = state
    xp = cell.project_inputs(x)  # (N, T, 4H); autograd forms dW and dx from d(xp)
    out, h, c = _LSTMScan.apply(
        xp,
        cell.recurrent_kernel,
        h0,
        c0,
        mask,
        (cell.activation_name, cell.recurrent_activation_name),
        torch.is_grad_enabled(),
    )
    if return_sequences:
        return out, (h, c)
    last = h if mask is None else h * mask.any(dim=1, keepdim=True).to(h.dtype)
    return last, (h, c)
