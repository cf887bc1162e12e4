import itertools
import math

import pytest
import torch

from rnnlab.layers.crf import CRF


def random_crf(k, scale=1.0, dtype=torch.float64):
    """A CRF with parameters far from their small initial values, so every term matters."""
    crf = CRF(k).to(dtype)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_(0, scale)
    return crf


def mask_of(lengths, t):
    return torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]


def brute_force(crf, emissions):
    """Every tag sequence of one unpadded row ``(L, K)`` with its score, by plain loops."""
    a, pi, omega = crf.transitions.tolist(), crf.start.tolist(), crf.end.tolist()
    e = emissions.tolist()
    length, k = len(e), len(e[0])
    scores = {}
    for y in itertools.product(range(k), repeat=length):
        s = pi[y[0]] + omega[y[-1]] + sum(e[t][y[t]] for t in range(length))
        s += sum(a[y[t - 1]][y[t]] for t in range(1, length))
        scores[y] = s
    return scores


def logsumexp(values):
    m = max(values)
    return m + math.log(sum(math.exp(v - m) for v in values))


# --- parity with brute-force enumeration of all K^T tag sequences ----------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("t", [1, 2, 3, 4])
def test_matches_brute_force(seed, t):
    torch.manual_seed(seed)
    k = 3
    crf = random_crf(k)
    lengths = [t, *torch.randint(1, t + 1, (2,)).tolist()]  # a full row and two random ones
    emissions = torch.randn(len(lengths), t, k, dtype=torch.float64) * 2
    mask = mask_of(lengths, t)
    tags = torch.randint(0, k, (len(lengths), t))

    log_z = crf.log_partition(emissions, mask)
    log_lik = crf.log_likelihood(emissions, tags, mask)
    paths = crf.decode(emissions, mask)
    marginals = crf.marginals(emissions, mask)
    for n, length in enumerate(lengths):
        scores = brute_force(crf, emissions[n, :length])
        z = logsumexp(list(scores.values()))
        given = tuple(tags[n, :length].tolist())
        best = max(scores, key=scores.get)
        expected_marginals = torch.zeros(t, k, dtype=torch.float64)
        for y, s in scores.items():
            for step, tag in enumerate(y):
                expected_marginals[step, tag] += math.exp(s - z)

        assert log_z[n].item() == pytest.approx(z, abs=1e-10)
        assert log_lik[n].item() == pytest.approx(scores[given] - z, abs=1e-10)
        assert tuple(paths[n]) == best
        path = torch.tensor(paths[n] + [0] * (t - length))
        viterbi_score = crf.score(emissions[n : n + 1], path[None], mask[n : n + 1])
        assert viterbi_score.item() == pytest.approx(scores[best], abs=1e-10)
        torch.testing.assert_close(marginals[n], expected_marginals, atol=1e-10, rtol=0)


def test_likelihoods_of_all_sequences_sum_to_one():
    crf = random_crf(3)
    emissions = torch.randn(1, 4, 3, dtype=torch.float64)
    mask = torch.ones(1, 4, dtype=torch.bool)
    tags = torch.tensor(list(itertools.product(range(3), repeat=4)))  # (81, 4)
    log_lik = crf.log_likelihood(emissions.expand(len(tags), -1, -1), tags, mask.expand_as(tags))
    assert torch.logsumexp(log_lik, 0).item() == pytest.approx(0.0, abs=1e-12)


def test_marginals_are_the_gradient_of_log_partition():
    # An independent route to the marginals: d log Z / d E_tj = p(y_t = j | E).
    crf = random_crf(4)
    emissions = torch.randn(3, 6, 4, dtype=torch.float64, requires_grad=True)
    mask = mask_of([6, 2, 4], 6)
    (grad,) = torch.autograd.grad(crf.log_partition(emissions, mask).sum(), emissions)
    torch.testing.assert_close(crf.marginals(emissions, mask), grad, atol=1e-12, rtol=0)


def test_marginals_sum_to_one_at_real_steps_and_are_zero_at_padding():
    crf = random_crf(5, dtype=torch.float32)
    mask = mask_of([7, 1, 4], 7)
    marginals = crf.marginals(torch.randn(3, 7, 5), mask)
    torch.testing.assert_close(marginals.sum(-1), mask.float())
    assert (marginals[~mask] == 0).all()


def test_zero_transitions_reduce_to_per_token_cross_entropy():
    # With A, pi and omega all zero the CRF factorises over steps, so the "mean" loss is
    # exactly the mean cross-entropy over real tokens; the scales match by construction.
    crf = CRF(6)
    with torch.no_grad():
        for p in crf.parameters():
            p.zero_()
    emissions = torch.randn(4, 9, 6)
    mask = mask_of([9, 3, 1, 5], 9)
    tags = torch.randint(0, 6, (4, 9)).masked_fill(~mask, -100)
    expected = torch.nn.functional.cross_entropy(emissions.transpose(1, 2), tags)
    torch.testing.assert_close(crf.loss(emissions, tags, mask), expected)
    assert crf.decode(emissions, mask) == [
        row[:n].tolist() for row, n in zip(emissions.argmax(-1), [9, 3, 1, 5], strict=True)
    ]


def test_reductions():
    crf = random_crf(3, dtype=torch.float32)
    emissions, tags = torch.randn(3, 5, 3), torch.randint(0, 3, (3, 5))
    mask = mask_of([5, 2, 1], 5)
    none = crf.loss(emissions, tags, mask, reduction="none")
    assert none.shape == (3,)
    torch.testing.assert_close(none, -crf.log_likelihood(emissions, tags, mask))
    torch.testing.assert_close(crf.loss(emissions, tags, mask, reduction="sum"), none.sum())
    torch.testing.assert_close(crf.loss(emissions, tags, mask), none.sum() / 8)
    assert (none > 0).all()


# --- padding -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_padded_batch_equals_each_sequence_alone(dtype):
    k, lengths = 5, [6, 1, 3, 6, 2]
    t = max(lengths)
    crf = random_crf(k, dtype=dtype)
    mask = mask_of(lengths, t)
    emissions = torch.randn(len(lengths), t, k, dtype=dtype)
    emissions[~mask] = float("nan")  # padded steps must never be read
    tags = torch.randint(0, k, (len(lengths), t)).masked_fill(~mask, -100)

    log_lik = crf.log_likelihood(emissions, tags, mask)
    paths = crf.decode(emissions, mask)
    marginals = crf.marginals(emissions, mask)
    for n, length in enumerate(lengths):
        e, y = emissions[n : n + 1, :length], tags[n : n + 1, :length]
        alone = torch.ones(1, length, dtype=torch.bool)
        torch.testing.assert_close(log_lik[n : n + 1], crf.log_likelihood(e, y, alone))
        assert paths[n] == crf.decode(e, alone)[0]
        assert len(paths[n]) == length
        torch.testing.assert_close(marginals[n, :length], crf.marginals(e, alone)[0])
    assert (marginals[~mask] == 0).all()
    assert torch.isfinite(log_lik).all()


def test_padding_changes_nothing_in_the_gradients():
    crf = random_crf(4, dtype=torch.float64)
    mask = mask_of([5, 2], 5)
    emissions = torch.randn(2, 5, 4, dtype=torch.float64)
    emissions[~mask] = float("inf")
    emissions.requires_grad_()
    tags = torch.randint(0, 4, (2, 5))
    crf.loss(emissions, tags, mask, reduction="sum").backward()
    padded_grads = [p.grad.clone() for p in crf.parameters()]
    assert torch.isfinite(emissions.grad).all()
    assert (emissions.grad[~mask] == 0).all()
    weights = torch.randn(2, 5, 4, dtype=torch.float64)
    (marginals_grad,) = torch.autograd.grad(
        (crf.marginals(emissions, mask) * weights).sum(), emissions
    )
    assert torch.isfinite(marginals_grad).all()

    crf.zero_grad()
    short = emissions.detach()[1:, :2].requires_grad_()
    crf.loss(emissions.detach()[:1], tags[:1], mask[:1], reduction="sum").backward()
    crf.loss(short, tags[1:, :2], mask[1:, :2], reduction="sum").backward()
    for padded, alone in zip(padded_grads, crf.parameters(), strict=True):
        torch.testing.assert_close(padded, alone.grad)
    torch.testing.assert_close(emissions.grad[1:, :2], short.grad)


# --- gradients, dtypes and numerics ------------------------------------------------------------


def test_gradients_flow_and_are_finite():
    crf = CRF(17)
    emissions = torch.randn(8, 12, 17, requires_grad=True)
    mask = mask_of([12, 1, 5, 12, 7, 3, 9, 2], 12)
    tags = torch.randint(0, 17, (8, 12))
    crf.loss(emissions, tags, mask).backward()
    for grad in (crf.transitions.grad, crf.start.grad, crf.end.grad, emissions.grad):
        assert grad is not None
        assert torch.isfinite(grad).all()
        assert grad.abs().sum() > 0


def test_gradcheck_float64():
    crf = random_crf(3)
    emissions = torch.randn(3, 4, 3, dtype=torch.float64, requires_grad=True)
    mask = mask_of([4, 1, 2], 4)
    tags = torch.randint(0, 3, (3, 4))
    params = (crf.transitions, crf.start, crf.end)
    assert torch.autograd.gradcheck(
        lambda e, *_: crf.loss(e, tags, mask, reduction="none"), (emissions, *params)
    )
    assert torch.autograd.gradcheck(lambda e, *_: crf.marginals(e, mask), (emissions, *params))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_follows_the_dtype_of_the_emissions(dtype):
    crf = CRF(4)  # float32 parameters, cast to the emissions' dtype
    emissions, tags = torch.randn(2, 3, 4, dtype=dtype), torch.randint(0, 4, (2, 3))
    mask = torch.ones(2, 3, dtype=torch.bool)
    assert crf.log_likelihood(emissions, tags, mask).dtype == dtype
    assert crf.loss(emissions, tags, mask).dtype == dtype
    assert crf.marginals(emissions, mask).dtype == dtype


def test_stable_with_large_scores():
    crf = random_crf(4, scale=50.0, dtype=torch.float32)
    emissions = torch.randn(2, 20, 4) * 1000
    mask = mask_of([20, 11], 20)
    tags = torch.randint(0, 4, (2, 20))
    log_lik = crf.log_likelihood(emissions, tags, mask)
    assert torch.isfinite(log_lik).all() and (log_lik <= 1e-3).all()
    assert torch.isfinite(crf.marginals(emissions, mask)).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_the_device_of_the_emissions():
    crf = random_crf(5, dtype=torch.float64)
    emissions, tags = torch.randn(3, 6, 5, dtype=torch.float64), torch.randint(0, 5, (3, 6))
    mask = mask_of([6, 1, 4], 6)
    on_gpu = CRF(5).to("cuda", torch.float64)
    on_gpu.load_state_dict(crf.state_dict())
    cuda = {"device": "cuda"}
    torch.testing.assert_close(
        on_gpu.log_likelihood(emissions.to(**cuda), tags.to(**cuda), mask.to(**cuda)).cpu(),
        crf.log_likelihood(emissions, tags, mask),
    )
    torch.testing.assert_close(
        on_gpu.marginals(emissions.to(**cuda), mask.to(**cuda)).cpu(),
        crf.marginals(emissions, mask),
    )
    assert on_gpu.decode(emissions.to(**cuda), mask.to(**cuda)) == crf.decode(emissions, mask)


# --- learning ---------------------------------------------------------------------------------


def _train(crf, params, batch, steps=150, lr=0.1):
    optimizer = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        emissions, tags, mask = batch()
        optimizer.zero_grad()
        crf.loss(emissions, tags, mask).backward()
        optimizer.step()


def _accuracy(crf, emissions, tags, mask):
    paths = crf.decode(emissions, mask)
    right = sum(p == tags[n, : len(p)].tolist() for n, p in enumerate(paths))
    return right / len(paths)


def test_learns_alternating_tags_from_uninformative_emissions():
    # Tags are A B A B ...; the emissions are noise in [0, 1), independent of the tags, so only
    # the CRF's own parameters (transitions, start, end) can learn the pattern. Bounded noise
    # makes 100% reachable: any margin above 1 can no longer be overturned.
    generator = torch.Generator().manual_seed(0)

    def batch(n=32, t=9):
        lengths = torch.randint(1, t + 1, (n,), generator=generator).tolist()
        mask = mask_of(lengths, t)
        tags = (torch.arange(t) % 2).expand(n, t)
        return torch.rand(n, t, 2, generator=generator), tags, mask

    crf = CRF(2)
    assert _accuracy(crf, *batch(256)) < 0.5
    _train(crf, crf.parameters(), batch)
    assert _accuracy(crf, *batch(256)) == 1.0


def test_learns_a_tag_cycle_with_transitions_alone():
    # The first tag is random and shown by the first step's emission; every later tag is
    # (previous + 1) mod K and the later emissions are noise in [0, 1), so only the
    # transitions (the one parameter trained) can predict them.
    k, generator = 4, torch.Generator().manual_seed(0)

    def batch(n=32, t=10):
        lengths = torch.randint(1, t + 1, (n,), generator=generator).tolist()
        first = torch.randint(0, k, (n, 1), generator=generator)
        tags = (first + torch.arange(t)) % k
        emissions = torch.rand(n, t, k, generator=generator)
        emissions[:, 0] += 8 * torch.nn.functional.one_hot(first[:, 0], k)
        return emissions, tags, mask_of(lengths, t)

    crf = CRF(k)
    start, end = crf.start.clone(), crf.end.clone()
    assert _accuracy(crf, *batch(256)) < 0.5
    _train(crf, [crf.transitions], batch)
    assert _accuracy(crf, *batch(256)) == 1.0
    assert crf.transitions.argmax(1).tolist() == [(i + 1) % k for i in range(k)]
    assert torch.equal(crf.start, start) and torch.equal(crf.end, end)


# --- construction ------------------------------------------------------------------------------


def test_parameters_and_initialisation():
    torch.manual_seed(3)
    crf = CRF(7)
    assert crf.transitions.shape == (7, 7)
    assert crf.start.shape == crf.end.shape == (7,)
    for p in crf.parameters():
        assert (p.abs() <= 0.1).all() and p.std() > 0.02
    torch.manual_seed(3)
    again = CRF(7)
    for p, q in zip(crf.parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q)
    assert repr(crf) == "CRF(num_tags=7)"


def test_decode_length_one_and_single_tag():
    crf = CRF(1)
    emissions = torch.randn(3, 4, 1)
    mask = mask_of([4, 1, 2], 4)
    assert crf.decode(emissions, mask) == [[0, 0, 0, 0], [0], [0, 0]]
    tags = torch.zeros(3, 4, dtype=torch.long)
    torch.testing.assert_close(crf.log_likelihood(emissions, tags, mask), torch.zeros(3))


# --- validation -----------------------------------------------------------------------------------


def _inputs(n=2, t=3, k=4):
    return torch.randn(n, t, k), torch.zeros(n, t, dtype=torch.long), torch.ones(n, t).bool()


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda e, y, m: (e[0], y, m), r"`emissions` must have shape \(batch, time, num_tags\)"),
        (lambda e, y, m: (e[..., :3], y, m), r"num_tags = 4, got \(2, 3, 3\)"),
        (lambda e, y, m: (e.long(), y, m), r"`emissions` must be a floating point .*torch.int64"),
        (lambda e, y, m: (e[:, :0], y[:, :0], m[:, :0]), r"at least one time step, got 0"),
        (lambda e, y, m: (e, y, m[:, :2]), r"`mask` must have shape .* \(2, 3\), got \(2, 2\)"),
        (lambda e, y, m: (e, y, m.long()), r"`mask` must be a bool tensor, got torch.int64"),
        (lambda e, y, m: (e, y, m.index_fill(1, torch.tensor([0]), False)), r"first step"),
        (
            lambda e, y, m: (e, y, torch.tensor([[True, True, True], [True, False, True]])),
            r"`mask` must be left-aligned .* rows \[1\]",
        ),
        (lambda e, y, m: (e, y[:, :2], m), r"`tags` must have shape .* got \(2, 2\)"),
        (lambda e, y, m: (e, y.int(), m), r"`tags` must be a torch.long tensor, got torch.int32"),
        (lambda e, y, m: (e, y + 4, m), r"`tags` must be in \[0, 4\) at real steps .* got 4"),
        (lambda e, y, m: (e, y - 1, m), r"`tags` must be in \[0, 4\) .* got -1"),
    ],
)
def test_rejects_bad_inputs(change, match):
    crf = CRF(4)
    emissions, tags, mask = change(*_inputs())
    with pytest.raises(ValueError, match=match):
        crf.loss(emissions, tags, mask)
    if "tags" not in match:  # the methods without tags check the same way
        for method in (crf.decode, crf.marginals, crf.log_partition):
            with pytest.raises(ValueError, match=match):
                method(emissions, mask)


def test_first_step_error_names_the_rows():
    mask = torch.tensor([[True, True], [False, False], [False, False]])
    with pytest.raises(ValueError, match=r"first step of every row .* rows \[1, 2\]"):
        CRF(4).decode(torch.randn(3, 2, 4), mask)


def test_tags_at_padded_steps_are_ignored():
    emissions, tags, mask = _inputs()
    mask[1, 2:] = False
    tags[1, 2] = -100
    assert torch.isfinite(CRF(4).loss(emissions, tags, mask))


def test_rejects_unknown_reduction():
    with pytest.raises(ValueError, match=r"`reduction` must be one of \['mean', 'sum', 'none'\]"):
        CRF(4).loss(*_inputs(), reduction="avg")


@pytest.mark.parametrize("num_tags, error", [(0, ValueError), (-2, ValueError), (2.0, TypeError)])
def test_rejects_bad_num_tags(num_tags, error):
    with pytest.raises(error, match=r"`num_tags` must be a positive int"):
        CRF(num_tags)


@pytest.mark.parametrize("argument", ["emissions", "tags", "mask"])
def test_rejects_non_tensors(argument):
    inputs = dict(zip(["emissions", "tags", "mask"], _inputs(), strict=True))
    inputs[argument] = inputs[argument].tolist()
    with pytest.raises(TypeError, match=rf"`{argument}` must be a torch.Tensor, got list"):
        CRF(4).loss(**inputs)
