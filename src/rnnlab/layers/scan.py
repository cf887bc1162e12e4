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
        act, sigma = ACTIVATIONS[names[0]], ACTIVATIONS[names[1]]
        units = h0.shape[1]
        h, c = h0, c0
        steps = mask.unsqueeze(-1).unbind(1) if mask is not None else [None] * xp.shape[1]
        hs, cs, sig, cand, c_new, act_c, outs = [h0], [c0], [], [], [], [], []
        for xp_t, m in zip(xp.unbind(1), steps, strict=True):
            z = torch.addmm(xp_t, h, recurrent_kernel)  # (N, 4H)
            s = sigma(z)  # all four blocks: one op; the cell block's is unused
            g = act(z[:, 2 * units : 3 * units])
            i, f, _, o = s.chunk(4, dim=1)
            c_t = torch.addcmul(f * c, i, g)
            a_t = act(c_t)
            h_t = o * a_t
            if m is not None:  # a masked step keeps the state and outputs zeros
                c, h = torch.where(m, c_t, c), torch.where(m, h_t, h)
                outs.append(h_t * m)
            else:
                c, h = c_t, h_t
                outs.append(h_t)
            sig.append(s), cand.append(g), c_new.append(c_t), act_c.append(a_t)
            hs.append(h), cs.append(c)
        out = torch.stack(outs, dim=1)  # (N, T, H)
        if keep:  # skipped under torch.no_grad(): inference needs no backward pass
            ctx.names, ctx.masked = names, mask is not None
            stacked = [torch.stack(v, dim=1) for v in (sig, cand, act_c, hs[:-1], cs[:-1])]
            saved_mask = mask.to(xp.dtype) if mask is not None else xp.new_empty(0)
            ctx.save_for_backward(*stacked, recurrent_kernel, saved_mask)
        return out, h, c

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out, d_h, d_c):
        sig, cand, act_c, h_prev, c_prev, recurrent_kernel, mask = ctx.saved_tensors
        multipliers, o_dact = _multipliers(ctx.names, sig, cand, act_c, c_prev)
        units = d_h.shape[1]
        forget = sig[..., units : 2 * units].unbind(1)
        u_t = recurrent_kernel.t()
        steps = mask.unsqueeze(-1).unbind(1) if ctx.masked else [None] * d_out.shape[1]
        per_step = zip(
            d_out.unbind(1), multipliers.unbind(1), o_dact.unbind(1), forget, steps, strict=True
        )
        d_z = []
        for d_out_t, mult_t, o_dact_t, f_t, m in reversed(list(per_step)):
            d_hn = d_h + d_out_t  # gradient reaching this step's new h
            d_cn = d_c
            if m is not None:
                d_hn, d_cn = d_hn * m, d_c * m
            d_cn = torch.addcmul(d_cn, d_hn, o_dact_t)  # (N, H)
            d_zt = torch.cat([d_cn, d_cn, d_cn, d_hn], dim=1).mul_(mult_t)  # (N, 4H)
            d_z.append(d_zt)
            if m is None:
                d_h, d_c = d_zt @ u_t, d_cn * f_t
            else:  # what a masked step carried through unchanged flows straight back
                keep = 1.0 - m
                d_h = torch.addmm(d_h * keep, d_zt, u_t)
                d_c = torch.addcmul(d_c * keep, d_cn, f_t)
        d_z.reverse()
        d_xp = torch.stack(d_z, dim=1)  # (N, T, 4H)
        d_u = h_prev.reshape(-1, units).t() @ d_xp.reshape(-1, 4 * units)  # (H, 4H), all steps
        return d_xp, d_u, d_h, d_c, None, None, None


def _multipliers(names, sig, cand, act_c, c_prev):
    """For all steps at once: ``dz = [dc, dc, dc, dh] * multipliers``; ``dc += dh * o_dact``.

    With ``s = sigma(z)``, ``g = phi(z_c)`` and ``a = phi(c)``, the gate gradients are
    ``[dc g sigma'(i), dc c_prev sigma'(f), dc i phi'(g), dh a sigma'(o)]``, and ``h = o a``
    sends ``dh o phi'(a)`` to ``dc``.
    """
    activation, recurrent_activation = names
    i, _, _, o = sig.chunk(4, dim=2)
    d_sig = DERIVATIVES[recurrent_activation](sig)  # (N, T, 4H)
    units = cand.shape[2]
    d_sig[..., 2 * units : 3 * units] = i * DERIVATIVES[activation](cand)
    multipliers = torch.cat([cand, c_prev, torch.ones_like(i), act_c], dim=2).mul_(d_sig)
    return multipliers, o * DERIVATIVES[activation](act_c)


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
