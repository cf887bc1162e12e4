r"""Connectionist temporal classification (Graves et al., 2006): the loss, and decoding.

A CTC model scores, at each of ``T`` steps, every label and a *blank* (``BLANK``, index 0).
An *alignment* is one choice a step; it reads as a transcript once repeats are merged and
blanks dropped (``a a - b -`` is ``ab``; ``a - a`` is ``aa``). The probability of a
transcript is the sum over every alignment that reads as it, which the loss computes with a
forward pass (``torch.nn.functional.ctc_loss``). A transcript of ``S`` labels, ``R`` of them
a repeat of the one before, needs at least ``S + R`` steps (a blank must part the repeats):
``steps_needed``.

Decoding:

Both decoders live in ``rnnlab.ctc_decoding`` (numpy alone, for the ONNX runner too);
``decode`` applies one to each sequence of a batch:

- ``greedy``: the best label at every step, merged: fast, and the best alignment's reading
  (not always the most probable transcript).
- ``prefix_beam_search``: the ``beam_width`` most probable transcripts so far, each with its
  probability of ending in a blank and in its last label, extended one step at a time
  (Hannun et al., 2014, without a language model). With a beam as wide as the transcripts
  there are, it finds the most probable transcript exactly (the tests check it against
  enumerating every alignment).

Scores are log-probabilities, ``(T, K + 1)`` for one sequence or ``(N, T, K + 1)`` with a
mask of the real steps.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from rnnlab.ctc_decoding import BLANK, greedy, prefix_beam_search


def steps_needed(labels: Sequence) -> int:
    """The fewest steps an alignment of ``labels`` takes: one a label, and a blank between
    each pair of equal neighbours."""
    labels = list(labels)
    return len(labels) + sum(a == b for a, b in itertools.pairwise(labels))


def ctc_loss(
    scores: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor
) -> torch.Tensor:
    """The mean over sequences of ``-log p(target | frames)``.

    Args:
        scores: ``(N, T, K + 1)`` log-probabilities, the blank at 0.
        mask: ``(N, T)`` the real steps (each sequence's come first).
        targets: ``(N, S)`` label ids (1..K), padded with anything past each length.
        target_lengths: ``(N,)``; 0 is a transcript of nothing (every step a blank).

    Every sequence must have ``steps_needed`` steps for its target: torch gives an infinite
    loss otherwise, which the callers refuse by name before training.
    """
    return F.ctc_loss(
        scores.transpose(0, 1).float(),  # (T, N, K + 1), as torch reads it
        targets,
        mask.sum(1),
        target_lengths,
        blank=BLANK,
        reduction="sum",
    ) / max(1, len(targets))


def decode(scores: torch.Tensor, mask: torch.Tensor, beam_width: int = 1) -> list[list[int]]:
    """Label ids (1..K) for each sequence of a batch, from ``scores (N, T, K + 1)`` and the
    mask of their real steps: ``greedy`` with a beam of 1, else ``prefix_beam_search``."""
    scores, lengths = scores.float().cpu().numpy(), mask.sum(1).tolist()
    if beam_width <= 1:
        return [greedy(s[:n]) for s, n in zip(scores, lengths, strict=True)]
    return [prefix_beam_search(s[:n], beam_width)[0] for s, n in zip(scores, lengths, strict=True)]
