"""The causal ceiling against a brute force over every causal policy and an exact programme."""

import itertools
import json
from fractions import Fraction
from functools import cache

import numpy as np
import pytest

from rnnlab.experiments.context import causal_ceiling, reverse_ceiling


def _brute_force_reverse(max_len: int, digits: int) -> Fraction:
    """Try every causal policy: an output digit for every prefix (no padding seen yet).

    Lengths are uniform in 1..max_len, digits uniform; a policy is right on a sequence when
    its output at every step t < n, a function of x_0..x_t only, is x_{n-1-t}.
    """
    prefixes = [
        p for k in range(1, max_len + 1) for p in itertools.product(range(digits), repeat=k)
    ]
    index = {p: i for i, p in enumerate(prefixes)}
    policies = np.array(list(itertools.product(range(digits), repeat=len(prefixes))))  # (P, S)
    total = np.zeros(len(policies), dtype=np.int64)  # weighted count of exact matches
    weight = {n: digits ** (max_len - n) for n in range(1, max_len + 1)}  # common denominator
    for seq in prefixes:
        n = len(seq)
        right = np.ones(len(policies), dtype=bool)
        for t in range(n):
            right &= policies[:, index[seq[: t + 1]]] == seq[n - 1 - t]
        total += weight[n] * right
    return Fraction(int(total.max()), max_len * digits**max_len)


def _programme_reverse(max_len: int, digits: int) -> Fraction:
    """Exact dynamic programme over what the model has read (xs) and said (ys), n unknown.

    V = max_y [ P(n = t+1 | n > t) * 1[said all right if n = t+1]
                + P(n > t+1 | n > t) * E_x V(xs + x, ys + y) ], digits renamed canonically.
    """

    def canonical(xs, ys):
        names = {}
        for i in range(len(xs)):
            for seq in (xs, ys):
                if i < len(seq) and seq[i] not in names:
                    names[seq[i]] = len(names)
        return tuple(names[x] for x in xs), tuple(names[y] for y in ys)

    @cache
    def value(xs, ys):
        t = len(xs) - 1
        labels = max(xs + ys) + 1
        end = Fraction(1, max_len - t)
        best = Fraction(0)
        for y in range(min(labels + 1, digits)):
            said = (*ys, y)
            v = end if all(said[s] == xs[t - s] for s in range(t + 1)) else Fraction(0)
            if t + 1 < max_len:
                seen = max(xs + said) + 1
                for x in range(min(seen + 1, digits)):
                    p = Fraction(1, digits) if x < seen else Fraction(digits - seen, digits)
                    v += (1 - end) * p * value(*canonical((*xs, x), said))
            best = max(best, v)
        return best

    return value((0,), ())


@pytest.mark.parametrize("max_len, digits", [(1, 2), (2, 2), (3, 2), (2, 3), (1, 4)])
def test_reverse_ceiling_matches_brute_force(max_len, digits):
    assert reverse_ceiling(max_len, digits) == _brute_force_reverse(max_len, digits)


@pytest.mark.parametrize("max_len", [1, 2, 3, 4, 5])
def test_reverse_ceiling_matches_the_programme_for_the_tutorials_digits(max_len):
    assert reverse_ceiling(max_len, 9) == _programme_reverse(max_len, 9)


def test_tutorial_values():
    assert causal_ceiling("reverse", 5) == pytest.approx((1 + 2 / 9 + 2 / 81) / 5)
    assert causal_ceiling("reverse", 1) == 1.0
    assert causal_ceiling("copy", 5) == 1.0
    assert causal_ceiling("sort", 5) is None
    with pytest.raises(ValueError, match="`max_len` must be a positive integer"):
        reverse_ceiling(0)


def test_compare_reports_the_ceiling_of_one_way_taggers_only(tmp_path, capsys):
    from rnnlab.cli import main

    out = tmp_path / "run"
    args = ["compare", "--epochs", "1", "--samples", "60", "--models", "lstm,bilstm,gru"]
    assert main([*args, "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "lstm: exact match" in printed and "causal ceiling 24.9%" in printed
    models = json.loads((out / "results.json").read_text())["models"]
    assert models["lstm"]["causal_ceiling"] == models["gru"]["causal_ceiling"]
    assert models["lstm"]["causal_ceiling"] == pytest.approx(float(reverse_ceiling(5, 9)))
    assert "causal_ceiling" not in models["bilstm"]
    for key in ("params", "loss", "val_loss", "token_accuracy", "exact_match", "history"):
        assert key in models["bilstm"] and key in models["lstm"]  # every existing key kept
