"""Decoding a CTC model's scores with numpy alone (no torch: the ONNX runner uses it too).

``scores`` are log-probabilities ``(T, K + 1)`` of one sequence's real steps, the blank at
index 0 (``BLANK``); a transcript is a list of label ids 1..K. See ``rnnlab.models.ctc``.
"""

from __future__ import annotations

import numpy as np

BLANK = 0  # CTC's blank label; label ``k`` of a run's label list is output ``k + 1``
_NONE = -np.inf


def greedy(scores: np.ndarray) -> list[int]:
    """The best label at every step, repeats merged and blanks dropped."""
    best = np.asarray(scores).argmax(-1)
    kept = np.ones(len(best), dtype=bool)
    kept[1:] = best[1:] != best[:-1]
    return [int(k) for k in best[kept & (best != BLANK)]]


def prefix_beam_search(
    scores: np.ndarray, beam_width: int = 8, prune: float = 1e-4
) -> tuple[list[int], float]:
    """The most probable transcript that a beam of ``beam_width`` finds, and its log-probability.

    Args:
        scores: ``(T, K + 1)`` log-probabilities of one sequence's real steps.
        beam_width: the transcripts kept after each step.
        prune: labels less probable than this at a step are not tried there (the blank always
            is); 0 tries every label.
    """
    scores = np.asarray(scores, dtype=np.float64)
    # prefix -> (log p of the steps so far ending in a blank, ... ending in its last label)
    beams: dict[tuple, tuple[float, float]] = {(): (0.0, _NONE)}
    floor = np.log(prune) if prune > 0 else _NONE
    for step in scores:
        tried = [k for k in np.flatnonzero(step >= floor) if k != BLANK]
        grown: dict[tuple, list[float]] = {}

        def add(prefix, blank, label, grown=grown):
            pair = grown.setdefault(prefix, [_NONE, _NONE])
            pair[0] = np.logaddexp(pair[0], blank)
            pair[1] = np.logaddexp(pair[1], label)

        for prefix, (ends_blank, ends_label) in beams.items():
            either = np.logaddexp(ends_blank, ends_label)
            add(prefix, either + step[BLANK], _NONE)  # a blank: the same transcript
            last = prefix[-1] if prefix else None
            for k in tried:
                k = int(k)
                if k == last:
                    # the last label repeated is merged into it; after a blank it is a new one
                    add(prefix, _NONE, ends_label + step[k])
                    add((*prefix, k), _NONE, ends_blank + step[k])
                else:
                    add((*prefix, k), _NONE, either + step[k])
        ranked = sorted(grown.items(), key=lambda kv: -np.logaddexp(*kv[1]))
        beams = {prefix: (b, n) for prefix, (b, n) in ranked[:beam_width]}
    prefix, (ends_blank, ends_label) = max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))
    return list(prefix), float(np.logaddexp(ends_blank, ends_label))
