"""A generated tagging task that a left-to-right tagger cannot solve and a bidirectional one can.

The tutorial says bidirectional LSTMs serve NLP "where a word depends on both sides". This
task makes that claim measurable. Six words: the letters ``a b c d`` are always tagged
``A B C D``; ``next`` is tagged like the word after it, ``prev`` like the word before it::

    tokens:  b  next  c  d  prev  a  next  a
    tags:    B  C     C  D  D     A  A     A

A tagger that reads left to right reaches ``next`` before the word that decides its tag, and
that word is a letter drawn uniformly whatever came before, so the best it can do there is
guess, right one time in four. Reading right to left has the same trouble with ``prev``. A
bidirectional tagger sees both neighbours of every word, and the tags are a function of them:
it can be right every time.

How a sentence is drawn: a length uniform in ``min_len..max_len``; then, left to right, each
word is ``next`` with probability 1/4 and ``prev`` with probability 1/4, otherwise a letter
drawn uniformly, except that ``next`` and ``prev`` always have a letter on the side they
read: ``next`` is never last, ``prev`` never first, and two of them are never side by side
(where one is not allowed, a letter is drawn instead). With the default lengths (3 to 12)
about 16% of the words are ``next``, so a left-to-right tagger can reach at most 0.882 token
accuracy (a right-to-left one 0.890, ``prev`` being a little rarer). ``expected_ceilings``
gives the exact figures; ``causal_ceiling`` and ``bidirectional_ceiling`` measure them on
given sentences.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np

LETTERS = ("a", "b", "c", "d")  # tagged by themselves, upper-cased
NEXT, PREV = "next", "prev"  # tagged like the word after, or before, them
P_NEXT = P_PREV = 0.25  # the chance of each at a position that allows it


def make_tag_task(
    samples: int, *, min_len: int = 3, max_len: int = 12, seed: int | None = 0
) -> tuple[list[list[str]], list[list[str]]]:
    """``samples`` sentences of the neighbour-tag task (see the module) and their tags.

    Each sentence has a length uniform in ``min_len..max_len``. The same ``seed`` gives the
    same sentences; the generator is a local ``numpy.random.Generator``, so the global random
    state is left alone.

    Example: ``make_tag_task(1, min_len=4, max_len=6, seed=20)`` gives the sentence
    ``[['b', 'next', 'd', 'prev', 'c', 'd']]`` and its tags ``[['B', 'D', 'D', 'D', 'C',
    'D']]``: ``next`` takes the tag of the ``d`` after it, ``prev`` that of the ``d`` before
    it.
    """
    _check_task_arguments(samples, min_len, max_len)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, size=samples)
    # one uniform number and one letter for every position, drawn at once (a loop of small
    # draws is ten times slower); a position uses the letter only if it gets no next or prev
    draws = rng.random(int(lengths.sum())).tolist()
    letters = rng.integers(len(LETTERS), size=len(draws)).tolist()
    tokens, start = [], 0
    for length in lengths.tolist():
        end = start + length
        tokens.append(_sentence(draws[start:end], letters[start:end]))
        start = end
    return tokens, [tag_sentence(sentence) for sentence in tokens]


def _sentence(draws: list[float], letters: list[int]) -> list[str]:
    words: list[str] = []
    for i, (u, letter) in enumerate(zip(draws, letters, strict=True)):
        after_letter = not words or words[-1] in LETTERS
        if u < P_NEXT and after_letter and i < len(draws) - 1:
            words.append(NEXT)
        elif P_NEXT <= u < P_NEXT + P_PREV and after_letter and i > 0:
            words.append(PREV)
        else:
            words.append(LETTERS[letter])
    return words


def tag_sentence(tokens: Sequence[str]) -> list[str]:
    """The tags of one sentence of the task: ``['b', 'next', 'c']`` → ``['B', 'C', 'C']``."""
    tags = []
    for i, word in enumerate(tokens):
        source = (
            _at(tokens, i + 1) if word == NEXT else _at(tokens, i - 1) if word == PREV else word
        )
        if source not in LETTERS:
            raise ValueError(
                f"`tokens` must be a sentence of the task (letters {LETTERS}, with a letter "
                f"beside each {NEXT!r} and {PREV!r} on the side it reads), got {list(tokens)}."
            )
        tags.append(source.upper())
    return tags


def causal_ceiling(
    tokens: Sequence[Sequence[Hashable]], tags: Sequence[Sequence[str]], *, context: int = 1
) -> float:
    """The best token accuracy a left-to-right tagger can reach on these sentences.

    Such a tagger decides token ``t``'s tag from tokens ``1..t`` alone. Counting how often each
    tag follows each view of the past and always choosing the most frequent one is the best
    any such rule can do on the data. The view is the token and the ``context`` tokens before
    it (``context=None``: the whole prefix). For ``make_tag_task`` ``context=1`` loses nothing:
    every tag is fixed by the word and the one before it, except ``next``'s, which depends on
    a letter drawn independently of everything before it. (The whole prefix would be a worse
    estimate on a finite sample: most long prefixes occur once, and a prefix seen once is
    "predicted" perfectly by memory.)

    The right-to-left ceiling is the same count on reversed sentences.
    """
    _check_tagged(tokens, tags)
    views = []
    for sentence in tokens:
        for t in range(len(sentence)):
            if context is None:
                views.append(tuple(sentence[: t + 1]))
            else:
                views.append(tuple(_at(sentence, j) for j in range(t - context, t + 1)))
    return _majority_accuracy(views, [tag for sentence in tags for tag in sentence])


def bidirectional_ceiling(
    tokens: Sequence[Sequence[Hashable]], tags: Sequence[Sequence[str]], *, context: int = 1
) -> float:
    """The best token accuracy of a tagger that sees ``context`` tokens on each side.

    1.0 on ``make_tag_task`` with ``context=1``: every tag there is a function of the word
    and its two neighbours.
    """
    _check_tagged(tokens, tags)
    views = [
        tuple(_at(sentence, j) for j in range(t - context, t + context + 1))
        for sentence in tokens
        for t in range(len(sentence))
    ]
    return _majority_accuracy(views, [tag for sentence in tags for tag in sentence])


def expected_ceilings(*, min_len: int = 3, max_len: int = 12) -> dict[str, float]:
    """The exact expected ceilings of ``make_tag_task`` (over all its sentences, pooled).

    A left-to-right tagger is right on every word but ``next``, where it is right one time in
    four, so its ceiling is ``1 - 3/4 * E[number of next] / E[length]``; right to left, the
    same with ``prev``. Both expectations follow from the drawing rule position by position.
    """
    _check_task_arguments(1, min_len, max_len)
    counts = {NEXT: 0.0, PREV: 0.0}
    for length in range(min_len, max_len + 1):
        after_letter = 1.0  # the chance that the word before position i is a letter (or none)
        for i in range(length):
            p_next = after_letter * P_NEXT * (i < length - 1)
            p_prev = after_letter * P_PREV * (i > 0)
            counts[NEXT] += p_next
            counts[PREV] += p_prev
            after_letter = 1.0 - p_next - p_prev
    words = sum(range(min_len, max_len + 1))
    return {
        "left_to_right": 1.0 - 0.75 * counts[NEXT] / words,
        "right_to_left": 1.0 - 0.75 * counts[PREV] / words,
        "bidirectional": 1.0,
    }


def _at(sentence: Sequence[Hashable], j: int) -> Hashable:
    """Token ``j`` of ``sentence``, or None beyond either end (a tagger knows the ends)."""
    return sentence[j] if 0 <= j < len(sentence) else None


def _majority_accuracy(views: list[tuple], tags: list[str]) -> float:
    counts: dict[tuple, Counter] = {}
    for view, tag in zip(views, tags, strict=True):
        counts.setdefault(view, Counter())[tag] += 1
    return sum(max(c.values()) for c in counts.values()) / len(tags)


def _check_tagged(tokens, tags) -> None:
    lengths = [len(s) for s in tokens]
    if lengths != [len(t) for t in tags] or not any(lengths):
        raise ValueError(
            "`tokens` and `tags` must hold the same number of sentences, one tag per token, "
            f"and at least one token; got token counts {lengths[:5]} and tag counts "
            f"{[len(t) for t in tags][:5]} (first five)."
        )


def _check_task_arguments(samples: int, min_len: int, max_len: int) -> None:
    if samples < 1:
        raise ValueError(f"`samples` must be >= 1, got {samples}.")
    if not 1 <= min_len <= max_len:
        raise ValueError(
            f"`min_len` and `max_len` must satisfy 1 <= min_len <= max_len, got {min_len} "
            f"and {max_len}."
        )
