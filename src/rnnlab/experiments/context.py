r"""What a one-way (causal) tagger can know: the best exact match any causal model can reach.

A unidirectional tagger emits its output at step ``t`` having read only the inputs
``x_0 .. x_t``. On a same-length task such as reversal, output ``t`` of a length-``n``
sequence is ``x_{n-1-t}``, which for the first half of the sequence has not been read yet.
The **causal ceiling** is the exact-match probability of the Bayes-optimal causal predictor
under the task's data distribution (lengths uniform in ``1..L``, digits uniform in ``1..D``,
exact match over each target's real positions):

.. math::
    C = \max_{y_t = f_t(x_0, \dots, x_t)} P\big(y_t = \text{target}_t \text{ for every } t < n\big).

**Reversal.** :math:`C = \frac1L \sum_{n=1}^{L} D^{-\lfloor n/2 \rfloor}` (0.2494 for the
tutorial's ``L = 5, D = 9``), whether or not the model can tell ``n``:

- *Upper bound, even knowing n.* Fix ``n``. For each of the ``floor(n/2)`` steps
  ``t < (n-1)/2`` of the first half, being right means ``x_{n-1-t} = f_t(x_0..x_t)``: a
  digit of the second half must equal a function of digits of the first half only. These
  pin ``floor(n/2)`` distinct second-half digits, which are independent of the first half
  and uniform, so all hold with probability exactly ``D^-floor(n/2)``.
- *Reached without knowing n.* The causal copy ``y_t = x_t`` is right exactly when the
  sequence is a palindrome, which has probability ``D^-floor(n/2)`` for every ``n``.

So with post padding (where the model only knows ``n > t`` at step ``t``) the ceiling is the
same as with pre padding (where leading padding tells it ``n``); tests/test_context.py checks
this against a brute force over every causal policy and an exact dynamic programme.

**Copy**: 1 (output ``t`` is input ``t``). **Sort**: not computed (None).
"""

from __future__ import annotations

from fractions import Fraction

from rnnlab.limits import check_int


def reverse_ceiling(max_len: int, digits: int = 9) -> Fraction:
    """``(1/L) sum_{n=1..L} D^-floor(n/2)``: the causal ceiling of reversal (exact)."""
    for name, value in (("max_len", max_len), ("digits", digits)):
        check_int(name, value)
    return sum(Fraction(1, digits ** (n // 2)) for n in range(1, max_len + 1)) / max_len


CEILINGS = {
    "reverse": lambda max_len, digits: float(reverse_ceiling(max_len, digits)),
    "copy": lambda max_len, digits: 1.0,
}

EXPLANATION = {
    "reverse": "at output step t a one-way model has read only inputs 1..t, so it must guess "
    "the first half of the reversal; its best is to copy (right on palindromes)",
    "copy": "output t is input t, which a one-way model has read",
}


def causal_ceiling(task: str, max_len: int, digits: int = 9) -> float | None:
    """The best exact match of any causal tagger on ``task`` (None where not computed)."""
    ceiling = CEILINGS.get(task)
    return None if ceiling is None else ceiling(max_len, digits)
