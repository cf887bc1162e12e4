"""Every fast path against the reference loop: outputs, states and gradients.

Random weights (biases included), inputs, initial states, post-padding and arbitrary masks,
``go_backwards``, ``return_sequences`` / ``return_state``, and gradients with respect to the
weights, the inputs and the initial state.
"""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab.cli import main
from rnnlab.data.dataset import length_mask
from rnnlab.layers import GRU, LSTM, Bidirectional, SimpleRNN
from rnnlab.layers.fused import post_padding_lengths

ATOL = 1e-5

LAYERS = {
    "lstm": (lambda **kw: LSTM(5, input_size=3, **kw), ("fused", "scan")),
    "lstm_relu": (lambda **kw: LSTM(5, input_size=3, activation="relu", **kw), ("scan",)),
    "lstm_hard": (
        lambda **kw: LSTM(
            5, input_size=3, activation="linear", recurrent_activation="hard_sigmoid", **kw
        ),
        ("scan",),
    ),
    "lstm_nobias": (lambda **kw: LSTM(5, input_size=3, use_bias=False, **kw), ("fused", "scan")),
    "gru": (lambda **kw: GRU(5, input_size=3, **kw), ("fused",)),
    "gru_nobias": (lambda **kw: GRU(5, input_size=3, use_bias=False, **kw), ("fused",)),
    "rnn": (lambda **kw: SimpleRNN(5, input_size=3, **kw), ("fused",)),
    "rnn_relu": (lambda **kw: SimpleRNN(5, input_size=3, activation="relu", **kw), ("fused",)),
}


def randomize(module, scale=0.5):
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-scale, scale)
    return module


def twin(layer, implementation):
    """The same layer (same weights) forced to run ``implementation``."""
    clone = type(layer).from_config({**layer.get_config(), "implementation": implementation})
    clone.load_state_dict(layer.state_dict())
    return clone


def run(layer, x, mask, initial_state):
    """Outputs and gradients (weights, input, initial state) of a squared-sum loss."""
    x = x.clone().requires_grad_()
    state = [s.clone().requires_grad_() for s in initial_state] if initial_state else None
    y = layer(x, mask=mask, initial_state=state)
    y = y if isinstance(y, tuple) else (y,)
    sum((t * torch.linspace(0.5, 1.5, t.shape[-1])).square().sum() for t in y).backward()
    grads = [p.grad for p in layer.parameters()] + [x.grad] + [s.grad for s in state or []]
    return [t.detach() for t in y], grads


def assert_all_close(got, want):
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, atol=ATOL, rtol=1e-4)


def masks(draw_lengths, steps, post_padding):
    lengths = torch.tensor(draw_lengths)
    if post_padding:
        return length_mask(lengths, steps)
    return torch.rand(len(draw_lengths), steps) < 0.7  # arbitrary holes


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(LAYERS)),
    lengths=st.lists(st.integers(0, 6), min_size=1, max_size=4),
    mask_kind=st.sampled_from(["none", "post", "arbitrary"]),
    go_backwards=st.booleans(),
    return_sequences=st.booleans(),
    with_initial_state=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_fast_paths_match_the_reference_loop(
    kind, lengths, mask_kind, go_backwards, return_sequences, with_initial_state, seed
):
    torch.manual_seed(seed)
    make, implementations = LAYERS[kind]
    flags = dict(return_sequences=return_sequences, return_state=True, go_backwards=go_backwards)
    layer = randomize(make(**flags))
    steps = 6
    x = torch.randn(len(lengths), steps, 3)
    mask = None if mask_kind == "none" else masks(lengths, steps, mask_kind == "post")
    state = None
    if with_initial_state:
        state = [torch.randn(len(lengths), 5) for _ in layer.cell.state_size]
    want = run(twin(layer, "reference"), x, mask, state)
    for implementation in implementations:
        fast = twin(layer, implementation)
        if implementation == "fused" and mask is not None and post_padding_lengths(mask) is None:
            with pytest.raises(ValueError, match="not post padding"):
                fast(x, mask=mask, initial_state=state)
            continue
        got = run(fast, x, mask, state)
        assert_all_close(got[0], want[0])
        assert_all_close(got[1], want[1])


@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("masked", [False, True])
def test_bidirectional_fast_paths_match_the_reference(kind, merge_mode, return_sequences, masked):
    make = LAYERS[kind][0]
    flags = dict(return_sequences=return_sequences, return_state=True)
    fast = randomize(Bidirectional(make(**flags), merge_mode=merge_mode))
    slow = Bidirectional(make(**flags, implementation="reference"), merge_mode=merge_mode)
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(3, 6, 3)
    mask = length_mask(torch.tensor([6, 2, 0]), 6) if masked else None
    state = [torch.randn(3, 5) for _ in range(2 * len(fast.forward_layer.cell.state_size))]

    def flat(y):
        return [t for v in y for t in (v if isinstance(v, tuple) else (v,))]

    outputs = []
    for model in (fast, slow):
        x_ = x.clone().requires_grad_()
        y = flat(model(x_, mask=mask, initial_state=state))
        sum(t.square().sum() for t in y).backward()
        outputs.append(([t.detach() for t in y], [p.grad for p in model.parameters()] + [x_.grad]))
    assert_all_close(*(o[0] for o in outputs))
    assert_all_close(*(o[1] for o in outputs))


def test_describe_says_what_runs_and_why():
    assert LSTM(4).describe().implementation == "fused"
    relu = LSTM(4, activation="relu").describe()
    assert relu.implementation == "reference"
    assert "relu" in relu.reason
    assert LSTM(4, activation="relu", implementation="scan").describe().implementation == "scan"
    assert GRU(4, reset_after=False).describe().implementation == "reference"
    holes = torch.tensor([[True, False, True]])
    assert LSTM(4).describe(mask=holes).implementation == "reference"
    assert "not post padding" in LSTM(4).describe(mask=holes).reason
    assert "one call" in Bidirectional(LSTM(4)).describe().reason
    assert Bidirectional(LSTM(4)).describe(mask=holes).implementation == "reference"


def test_strict_implementation_raises_instead_of_falling_back():
    with pytest.raises(ValueError, match=r"`implementation='fused'` cannot run this layer.*relu"):
        LSTM(4, activation="relu", implementation="fused")
    with pytest.raises(ValueError, match="no scan implementation"):
        GRU(4, implementation="scan")
    with pytest.raises(ValueError, match="`implementation` must be one of"):
        LSTM(4, implementation="fast")
    layer = LSTM(4, input_size=2, implementation="fused")
    with pytest.raises(ValueError, match="cannot run this call: the mask is not post padding"):
        layer(torch.zeros(1, 3, 2), mask=torch.tensor([[True, False, True]]))


def test_implementation_round_trips_through_the_config():
    layer = LSTM(4, implementation="scan")
    assert LSTM.from_config(layer.get_config()).implementation == "scan"
    assert "implementation='scan'" in repr(layer)
    assert Bidirectional(layer).backward_layer.implementation == "scan"


def test_fast_paths_keep_the_weights_and_their_names():
    layer = LSTM(4, input_size=3)
    shapes = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
    assert shapes == {"cell.kernel": (3, 16), "cell.recurrent_kernel": (4, 16), "cell.bias": (16,)}


def test_inference_without_grad_matches():
    layer = randomize(LSTM(5, input_size=3, activation="relu", return_sequences=True))
    x = torch.randn(2, 4, 3)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), twin(layer, "reference")(x))


def test_doctor_prints_what_each_tutorial_layer_runs(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "threads" in out and "worker processes" in out
    assert "lstm" in out and "reference" in out and "fused" in out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["lstm_relu", "lstm_hard", "lstm_nobias", "rnn"]),
    mask_kind=st.sampled_from(["none", "post", "arbitrary"]),
    return_sequences=st.booleans(),
    with_initial_state=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_both_directions_in_one_loop_match_two_loops(
    kind, mask_kind, return_sequences, with_initial_state, seed
):
    """A Bidirectional whose layers run the reference loop runs them together (stacked);
    the result is what the two layers give one after the other."""
    torch.manual_seed(seed)
    make = LAYERS[kind][0]
    flags = dict(return_sequences=return_sequences, return_state=True, implementation="reference")
    bi = randomize(Bidirectional(make(**flags)))
    x = torch.randn(4, 6, 3)
    mask = None if mask_kind == "none" else masks([6, 3, 1, 0], 6, mask_kind == "post")
    n_states = len(bi.forward_layer.cell.state_size)
    state = [torch.randn(4, 5) for _ in range(2 * n_states)] if with_initial_state else None

    def together():
        return bi(x_, mask=mask, initial_state=state)

    def apart():
        half = None if state is None else (state[:n_states], state[n_states:])
        out_f, *s_f = bi.forward_layer(x_, mask=mask, initial_state=half and half[0])
        out_b, *s_b = bi.backward_layer(x_, mask=mask, initial_state=half and half[1])
        if return_sequences:
            out_b = out_b.flip(1)
        return (torch.cat([out_f, out_b], dim=-1), *s_f, *s_b)

    results = []
    for run_ in (together, apart):
        x_ = x.clone().requires_grad_()
        bi.zero_grad()
        y = run_()
        sum((t * torch.linspace(0.5, 1.5, t.shape[-1])).square().sum() for t in y).backward()
        grads = [p.grad.clone() for p in bi.parameters()] + [x_.grad]
        results.append(([t.detach() for t in y], grads))
    assert_all_close(results[0][0], results[1][0])
    assert_all_close(results[0][1], results[1][1])


def test_a_relu_bidirectional_lstm_runs_its_directions_together():
    from rnnlab.layers.recurrent import can_run_together

    bi = Bidirectional(LSTM(4, activation="relu", return_sequences=True))
    bi(torch.zeros(2, 3, 1))
    layers = (bi.forward_layer, bi.backward_layer)
    assert can_run_together(layers, None, torch.float32)
    assert "both directions in one stacked loop" in bi.describe().reason
    assert not can_run_together((bi.forward_layer, LSTM(4, input_size=1)), None, torch.float32)
    gru = Bidirectional(GRU(4, activation="relu"))
    gru(torch.zeros(2, 3, 1))
    assert not can_run_together((gru.forward_layer, gru.backward_layer), None, torch.float32)
