"""Independent references for the recurrent layers: weight maps to torch.nn, and NumPy loops."""

import numpy as np
import torch


def lstm_to_torch(cell, torch_lstm, suffix=""):
    """Copy a Keras-layout LSTMCell into torch.nn.LSTM (both use gate order i, f, g/c, o)."""
    with torch.no_grad():
        getattr(torch_lstm, f"weight_ih_l0{suffix}").copy_(cell.kernel.T)
        getattr(torch_lstm, f"weight_hh_l0{suffix}").copy_(cell.recurrent_kernel.T)
        getattr(torch_lstm, f"bias_ih_l0{suffix}").copy_(cell.bias)
        getattr(torch_lstm, f"bias_hh_l0{suffix}").zero_()


def _zrh_to_rzn(w, units):
    z, r, h = w[..., :units], w[..., units : 2 * units], w[..., 2 * units :]
    return torch.cat([r, z, h], dim=-1)


def gru_to_torch(cell, torch_gru):
    """Keras's GRU blocks are (z, r, h); torch.nn.GRU's are (r, z, n). reset_after=True only."""
    h = cell.units
    with torch.no_grad():
        torch_gru.weight_ih_l0.copy_(_zrh_to_rzn(cell.kernel, h).T)
        torch_gru.weight_hh_l0.copy_(_zrh_to_rzn(cell.recurrent_kernel, h).T)
        torch_gru.bias_ih_l0.copy_(_zrh_to_rzn(cell.bias[0], h))
        torch_gru.bias_hh_l0.copy_(_zrh_to_rzn(cell.bias[1], h))


def rnn_to_torch(cell, torch_rnn):
    with torch.no_grad():
        torch_rnn.weight_ih_l0.copy_(cell.kernel.T)
        torch_rnn.weight_hh_l0.copy_(cell.recurrent_kernel.T)
        torch_rnn.bias_ih_l0.copy_(cell.bias)
        torch_rnn.bias_hh_l0.zero_()


def _np(t):
    return t.detach().double().numpy()


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _relu(x):
    return np.maximum(x, 0.0)


def numpy_lstm(cell, x):
    """Keras's LSTM equations with relu activation, step by step in float64. x: (N, T, I)."""
    w, u, b, units = _np(cell.kernel), _np(cell.recurrent_kernel), _np(cell.bias), cell.units
    n = x.shape[0]
    h, c = np.zeros((n, units)), np.zeros((n, units))
    outs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ w + h @ u + b
        i, f = _sigmoid(z[:, :units]), _sigmoid(z[:, units : 2 * units])
        g, o = _relu(z[:, 2 * units : 3 * units]), _sigmoid(z[:, 3 * units :])
        c = f * c + i * g
        h = o * _relu(c)
        outs.append(h)
    return np.stack(outs, 1), h, c


def numpy_gru(cell, x):
    """Keras's GRU (reset_after=True) with relu activation, in float64."""
    w, u, b, units = _np(cell.kernel), _np(cell.recurrent_kernel), _np(cell.bias), cell.units
    h = np.zeros((x.shape[0], units))
    outs = []
    for t in range(x.shape[1]):
        xp = x[:, t] @ w + b[0]
        rec = h @ u + b[1]
        z = _sigmoid(xp[:, :units] + rec[:, :units])
        r = _sigmoid(xp[:, units : 2 * units] + rec[:, units : 2 * units])
        hh = _relu(xp[:, 2 * units :] + r * rec[:, 2 * units :])
        h = z * h + (1 - z) * hh
        outs.append(h)
    return np.stack(outs, 1), h


def numpy_gru_reset_before(cell, x):
    """Keras's GRU with reset_after=False, tanh activation, in float64."""
    w, u, b, units = _np(cell.kernel), _np(cell.recurrent_kernel), _np(cell.bias), cell.units
    h = np.zeros((x.shape[0], units))
    outs = []
    for t in range(x.shape[1]):
        xp = x[:, t] @ w + b
        z = _sigmoid(xp[:, :units] + h @ u[:, :units])
        r = _sigmoid(xp[:, units : 2 * units] + h @ u[:, units : 2 * units])
        hh = np.tanh(xp[:, 2 * units :] + (r * h) @ u[:, 2 * units :])
        h = z * h + (1 - z) * hh
        outs.append(h)
    return np.stack(outs, 1), h


def numpy_simple_rnn(cell, x):
    w, u, b = _np(cell.kernel), _np(cell.recurrent_kernel), _np(cell.bias)
    h = np.zeros((x.shape[0], cell.units))
    outs = []
    for t in range(x.shape[1]):
        h = _relu(x[:, t] @ w + h @ u + b)
        outs.append(h)
    return np.stack(outs, 1), h
