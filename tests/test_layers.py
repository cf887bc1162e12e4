import numpy as np
import pytest
import torch
from reference import (
    gru_to_torch,
    lstm_to_torch,
    numpy_gru,
    numpy_gru_reset_before,
    numpy_lstm,
    numpy_simple_rnn,
    rnn_to_torch,
)

from rnnlab.layers import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    Dense,
    LSTMCell,
    RepeatVector,
    SimpleRNN,
    TimeDistributed,
)

ATOL = 1e-5


def randomize(layer, scale=0.5):
    """Non-default weights everywhere (biases included), so every term is tested."""
    with torch.no_grad():
        for p in layer.parameters():
            p.uniform_(-scale, scale)
    return layer


@pytest.mark.parametrize("n, t, i, h", [(1, 1, 1, 1), (3, 7, 4, 5), (2, 5, 1, 64)])
def test_lstm_matches_torch_lstm(n, t, i, h):
    layer = randomize(LSTM(h, input_size=i, return_sequences=True, return_state=True))
    ref = torch.nn.LSTM(i, h, batch_first=True)
    lstm_to_torch(layer.cell, ref)
    x = torch.randn(n, t, i)
    out, hT, cT = layer(x)
    ref_out, (ref_h, ref_c) = ref(x)
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(hT, ref_h[0], atol=ATOL, rtol=0)
    torch.testing.assert_close(cT, ref_c[0], atol=ATOL, rtol=0)


def test_lstm_gradients_match_torch_lstm():
    layer = randomize(LSTM(6, input_size=3, return_sequences=True))
    ref = torch.nn.LSTM(3, 6, batch_first=True)
    lstm_to_torch(layer.cell, ref)
    x = torch.randn(4, 5, 3)
    layer(x).square().sum().backward()
    ref(x)[0].square().sum().backward()
    torch.testing.assert_close(layer.cell.kernel.grad, ref.weight_ih_l0.grad.T, atol=1e-4, rtol=0)
    torch.testing.assert_close(
        layer.cell.recurrent_kernel.grad, ref.weight_hh_l0.grad.T, atol=1e-4, rtol=0
    )
    torch.testing.assert_close(layer.cell.bias.grad, ref.bias_ih_l0.grad, atol=1e-4, rtol=0)


@pytest.mark.parametrize("n, t, i, h", [(1, 1, 1, 1), (3, 7, 4, 5)])
def test_gru_matches_torch_gru(n, t, i, h):
    layer = randomize(GRU(h, input_size=i, return_sequences=True, return_state=True))
    ref = torch.nn.GRU(i, h, batch_first=True)
    gru_to_torch(layer.cell, ref)
    x = torch.randn(n, t, i)
    out, hT = layer(x)
    ref_out, ref_h = ref(x)
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(hT, ref_h[0], atol=ATOL, rtol=0)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_simple_rnn_matches_torch_rnn(activation):
    layer = randomize(SimpleRNN(5, input_size=3, activation=activation, return_sequences=True))
    ref = torch.nn.RNN(3, 5, nonlinearity=activation, batch_first=True)
    rnn_to_torch(layer.cell, ref)
    x = torch.randn(3, 6, 3)
    torch.testing.assert_close(layer(x), ref(x)[0], atol=ATOL, rtol=0)


def test_lstm_relu_matches_numpy_loop():
    layer = randomize(
        LSTM(7, input_size=3, activation="relu", return_sequences=True, return_state=True)
    )
    x = np.random.default_rng(0).normal(size=(4, 6, 3))
    out, hT, cT = layer(torch.tensor(x, dtype=torch.float32))
    ref_out, ref_h, ref_c = numpy_lstm(layer.cell, x)
    np.testing.assert_allclose(out.detach().numpy(), ref_out, atol=1e-5)
    np.testing.assert_allclose(hT.detach().numpy(), ref_h, atol=1e-5)
    np.testing.assert_allclose(cT.detach().numpy(), ref_c, atol=1e-5)


def test_gru_relu_matches_numpy_loop():
    layer = randomize(GRU(5, input_size=2, activation="relu", return_sequences=True))
    x = np.random.default_rng(1).normal(size=(3, 6, 2))
    out = layer(torch.tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(out.detach().numpy(), numpy_gru(layer.cell, x)[0], atol=1e-5)


def test_gru_reset_before_matches_numpy_loop():
    layer = randomize(GRU(5, input_size=2, reset_after=False, return_sequences=True))
    assert layer.cell.bias.shape == (15,)
    x = np.random.default_rng(2).normal(size=(3, 6, 2))
    out = layer(torch.tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(
        out.detach().numpy(), numpy_gru_reset_before(layer.cell, x)[0], atol=1e-5
    )


def test_simple_rnn_relu_matches_numpy_loop():
    layer = randomize(SimpleRNN(4, input_size=2, activation="relu", return_sequences=True))
    x = np.random.default_rng(3).normal(size=(3, 5, 2))
    out = layer(torch.tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(out.detach().numpy(), numpy_simple_rnn(layer.cell, x)[0], atol=1e-5)


@pytest.mark.parametrize(
    "make, count",
    [
        (lambda: LSTM(64, input_size=1), 4 * 64 * (1 + 64 + 1)),
        (lambda: GRU(32, input_size=3), 3 * 32 * (3 + 32 + 2)),
        (lambda: GRU(32, input_size=3, reset_after=False), 3 * 32 * (3 + 32 + 1)),
        (lambda: SimpleRNN(16, input_size=4), 16 * (4 + 16 + 1)),
        (lambda: Dense(1, input_size=64), 65),
    ],
)
def test_parameter_counts_follow_keras(make, count):
    assert sum(p.numel() for p in make().parameters()) == count


def test_keras_default_initialisers():
    cell = LSTMCell(8, input_size=3)
    bias = cell.bias.detach()
    assert bias[8:16].eq(1).all() and bias[:8].eq(0).all() and bias[16:].eq(0).all()
    u = cell.recurrent_kernel.detach()  # (8, 32): orthonormal rows
    torch.testing.assert_close(u @ u.T, torch.eye(8), atol=1e-5, rtol=0)
    limit = (6 / (3 + 32)) ** 0.5
    assert cell.kernel.abs().max() <= limit
    assert LSTMCell(8, input_size=3, unit_forget_bias=False).bias.eq(0).all()


def test_return_shapes():
    x = torch.randn(2, 5, 3)
    assert LSTM(4)(x).shape == (2, 4)
    assert LSTM(4, return_sequences=True)(x).shape == (2, 5, 4)
    assert [t.shape for t in GRU(4, return_state=True)(x)] == [(2, 4), (2, 4)]
    assert [t.shape for t in SimpleRNN(4, return_state=True)(x)] == [(2, 4), (2, 4)]


def test_last_output_is_last_step_of_sequence():
    layer = LSTM(4, input_size=3)
    seq = LSTM.from_config({**layer.get_config(), "return_sequences": True})
    seq.load_state_dict(layer.state_dict())
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(layer(x), seq(x)[:, -1])


def test_go_backwards_reads_reversed_and_returns_reversed_order():
    fwd = LSTM(4, input_size=3, return_sequences=True)
    bwd = LSTM(4, input_size=3, return_sequences=True, go_backwards=True)
    bwd.load_state_dict(fwd.state_dict())
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(bwd(x), fwd(x.flip(1)))


def test_initial_state_is_used():
    layer = LSTM(4, input_size=2, return_state=True)
    x = torch.randn(3, 4, 2)
    h0, c0 = torch.randn(3, 4), torch.randn(3, 4)
    _, h_a, _ = layer(x)
    _, h_b, _ = layer(x, initial_state=[h0, c0])
    assert not torch.allclose(h_a, h_b)
    # Continuing from a state = running the concatenation.
    _, h1, c1 = layer(x[:, :2])
    _, h2, _ = layer(x[:, 2:], initial_state=[h1, c1])
    torch.testing.assert_close(h2, layer(x)[1])


def test_input_size_is_inferred_at_first_call():
    layer = LSTM(8)
    assert layer.cell.input_size is None
    layer(torch.zeros(1, 2, 3))
    assert layer.cell.kernel.shape == (3, 32)
    assert sum(p.numel() for p in layer.parameters()) == 4 * 8 * (3 + 8 + 1)
    with pytest.raises(ValueError, match=r"LSTMCell expected inputs with 3 features .* got 5"):
        layer(torch.zeros(1, 2, 5))


def test_config_round_trip():
    layer = GRU(6, input_size=2, activation="relu", reset_after=False, return_sequences=True)
    clone = GRU.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    generic = RNN(LSTMCell(3, input_size=2), go_backwards=True)
    assert RNN.from_config(generic.get_config()).get_config() == generic.get_config()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: LSTM(0), ValueError, r"`units` must be a positive int, got 0"),
        (
            lambda: LSTM(4, activation="swish"),
            ValueError,
            r"`activation` must be one of .* got 'swish'",
        ),
        (
            lambda: GRU(4, recurrent_activation="x"),
            ValueError,
            r"`recurrent_activation` must be one of",
        ),
        (
            lambda: LSTM(4)(torch.zeros(2, 3)),
            ValueError,
            r"expected input of shape \(batch, time, features\), got a 2D",
        ),
        (lambda: LSTM(4)(torch.zeros(2, 0, 3)), ValueError, r"at least one time step"),
        (
            lambda: LSTM(4)(torch.zeros(2, 3, 1), mask=torch.ones(2, 4, dtype=torch.bool)),
            ValueError,
            r"`mask` must have shape \(batch, time\) = \(2, 3\), got \(2, 4\)",
        ),
        (
            lambda: LSTM(4)(torch.zeros(2, 3, 1), initial_state=[torch.zeros(2, 4)]),
            ValueError,
            r"`initial_state` must be \[h, c\] with shapes \[\(2, 4\), \(2, 4\)\]",
        ),
        (
            lambda: Bidirectional(LSTM(4), merge_mode="max"),
            ValueError,
            r"`merge_mode` must be one of",
        ),
        (lambda: Bidirectional(Dense(3)), TypeError, r"`layer` must be a recurrent layer"),
        (
            lambda: RepeatVector(3)(torch.zeros(2, 3, 1)),
            ValueError,
            r"RepeatVector expected input of shape",
        ),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bidirectional_matches_torch_bidirectional_lstm():
    bi = Bidirectional(randomize(LSTM(5, input_size=3, return_sequences=True)))
    randomize(bi.backward_layer)
    ref = torch.nn.LSTM(3, 5, batch_first=True, bidirectional=True)
    lstm_to_torch(bi.forward_layer.cell, ref)
    lstm_to_torch(bi.backward_layer.cell, ref, suffix="_reverse")
    x = torch.randn(2, 6, 3)
    torch.testing.assert_close(bi(x), ref(x)[0], atol=ATOL, rtol=0)


@pytest.mark.parametrize(
    "mode, combine",
    [
        ("sum", lambda a, b: a + b),
        ("mul", lambda a, b: a * b),
        ("ave", lambda a, b: (a + b) / 2),
        ("concat", lambda a, b: torch.cat([a, b], -1)),
    ],
)
def test_bidirectional_merge_modes(mode, combine):
    bi = Bidirectional(LSTM(4, input_size=2, return_sequences=True), merge_mode=mode)
    x = torch.randn(3, 5, 2)
    a, b = bi.forward_layer(x), bi.backward_layer(x).flip(1)
    torch.testing.assert_close(bi(x), combine(a, b))


def test_bidirectional_states_and_pair_mode():
    bi = Bidirectional(LSTM(4, input_size=2, return_state=True), merge_mode=None)
    (y_f, y_b), h_f, _c_f, h_b, _c_b = bi(torch.randn(3, 5, 2))
    torch.testing.assert_close(y_f, h_f)
    torch.testing.assert_close(y_b, h_b)
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards


def test_backward_copy_has_its_own_weights():
    bi = Bidirectional(LSTM(4, input_size=2))
    assert bi.forward_layer.cell.kernel.data_ptr() != bi.backward_layer.cell.kernel.data_ptr()
    assert not torch.equal(bi.forward_layer.cell.kernel, bi.backward_layer.cell.kernel)


def test_time_distributed_and_repeat_vector():
    dense = Dense(3, input_size=4)
    x = torch.randn(2, 5, 4)
    torch.testing.assert_close(TimeDistributed(dense)(x), x @ dense.kernel + dense.bias)
    r = RepeatVector(5)(torch.randn(2, 4))
    assert r.shape == (2, 5, 4) and torch.equal(r[:, 0], r[:, 4])
