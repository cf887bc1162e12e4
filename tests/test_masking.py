"""A padded batch gives, for each sequence, what that sequence gives alone."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab.data.dataset import length_mask
from rnnlab.layers import GRU, LSTM, Bidirectional, SimpleRNN

LAYERS = {
    "lstm": lambda **kw: LSTM(4, input_size=2, **kw),
    "lstm_relu": lambda **kw: LSTM(4, input_size=2, activation="relu", **kw),
    "gru": lambda **kw: GRU(4, input_size=2, **kw),
    "rnn": lambda **kw: SimpleRNN(4, input_size=2, **kw),
}


def pad(sequences, steps, padding):
    x = torch.zeros(len(sequences), steps, 2)
    for i, s in enumerate(sequences):
        if padding == "post":
            x[i, : len(s)] = s
        else:
            x[i, steps - len(s) :] = s
    return x


def real_steps(y, i, n, steps, padding):
    return y[i, :n] if padding == "post" else y[i, steps - n :]


def padded_steps(y, i, n, steps, padding):
    return y[i, n:] if padding == "post" else y[i, : steps - n]


batches = st.lists(st.integers(1, 6), min_size=1, max_size=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lengths=batches,
    kind=st.sampled_from(sorted(LAYERS)),
    go_backwards=st.booleans(),
    padding=st.sampled_from(["post", "pre"]),
    seed=st.integers(0, 2**16),
)
def test_padded_batch_equals_each_sequence_alone(lengths, kind, go_backwards, padding, seed):
    torch.manual_seed(seed)
    layer = LAYERS[kind](return_sequences=True, return_state=True, go_backwards=go_backwards)
    steps = max(lengths) + 1  # at least one padded step somewhere
    sequences = [torch.randn(n, 2) for n in lengths]
    x = pad(sequences, steps, padding)
    mask = length_mask(torch.tensor(lengths), steps, padding)
    out, *states = layer(x, mask=mask)
    for i, (s, n) in enumerate(zip(sequences, lengths, strict=True)):
        alone, *alone_states = layer(s[None])
        if go_backwards:  # outputs come in reading order; realign them to the input positions
            out_i, alone_i = out[i].flip(0)[None], alone.flip(1)
        else:
            out_i, alone_i = out[i][None], alone
        torch.testing.assert_close(
            real_steps(out_i, 0, n, steps, padding), alone_i[0], atol=1e-5, rtol=0
        )
        assert padded_steps(out_i, 0, n, steps, padding).eq(0).all()
        for state, alone_state in zip(states, alone_states, strict=True):
            torch.testing.assert_close(state[i], alone_state[0], atol=1e-5, rtol=0)


@settings(max_examples=20, deadline=None)
@given(lengths=batches, seed=st.integers(0, 2**16), merge=st.sampled_from(["concat", "sum"]))
def test_bidirectional_padded_batch_equals_each_sequence_alone(lengths, seed, merge):
    torch.manual_seed(seed)
    bi = Bidirectional(LSTM(3, input_size=2, return_sequences=True), merge_mode=merge)
    steps = max(lengths) + 2
    sequences = [torch.randn(n, 2) for n in lengths]
    x = pad(sequences, steps, "post")
    y = bi(x, mask=length_mask(torch.tensor(lengths), steps))
    for i, (s, n) in enumerate(zip(sequences, lengths, strict=True)):
        torch.testing.assert_close(y[i, :n], bi(s[None])[0], atol=1e-5, rtol=0)
        assert y[i, n:].eq(0).all()


def test_last_output_with_mask_is_last_real_step():
    layer = LSTM(3, input_size=2)
    x = torch.randn(2, 5, 2)
    mask = length_mask(torch.tensor([2, 5]), 5)
    last = layer(x, mask=mask)
    torch.testing.assert_close(last[0], layer(x[:1, :2])[0])
    torch.testing.assert_close(last[1], layer(x[1:])[0])


def test_mask_changes_nothing_when_all_true():
    layer = GRU(3, input_size=2, return_sequences=True)
    x = torch.randn(3, 4, 2)
    torch.testing.assert_close(layer(x, mask=torch.ones(3, 4, dtype=torch.bool)), layer(x))


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_masked_gradients_ignore_padding(kind):
    layer = LAYERS[kind](return_sequences=True)
    x = torch.randn(2, 5, 2, requires_grad=True)
    mask = length_mask(torch.tensor([3, 5]), 5)
    layer(x, mask=mask).sum().backward()
    assert x.grad[0, 3:].eq(0).all()
    assert x.grad[0, :3].abs().sum() > 0
