"""Sequence metrics: how many predicted tokens, and whole sequences, are right."""

from __future__ import annotations

import torch


def round_to_tokens(values: torch.Tensor) -> torch.Tensor:
    """The value formulation's decoding: each regressed number to the nearest integer token."""
    return torch.round(values).long()


def sequence_accuracy(
    predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> dict[str, float]:
    """Token accuracy and exact match over the real (unpadded) target positions.

    Args:
        predicted: ``(N, T)`` predicted tokens.
        target: ``(N, T)`` target tokens.
        mask: ``(N, T)`` bool, True at the target's real positions.

    Returns:
        ``token_accuracy``: the fraction of real positions predicted right;
        ``exact_match``: the fraction of sequences with every real position right.
    """
    if predicted.shape != target.shape or mask.shape != target.shape:
        raise ValueError(
            f"`predicted`, `target` and `mask` must have one shape, got {tuple(predicted.shape)}, "
            f"{tuple(target.shape)} and {tuple(mask.shape)}."
        )
    right = (predicted == target) | ~mask
    real = mask.sum().item()
    token_accuracy = ((predicted == target) & mask).sum().item() / real if real else float("nan")
    exact_match = right.all(dim=1).float().mean().item() if len(target) else float("nan")
    return {"token_accuracy": token_accuracy, "exact_match": exact_match}


def edit_distance(a, b) -> int:
    """Levenshtein distance between two token sequences (insertions, deletions, substitutions)."""
    a, b = list(a), list(b)
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def token_sequence_metrics(predicted, targets) -> dict[str, float]:
    """Metrics of predicted token sequences (lists) against targets of any lengths.

    ``exact_match``: the fraction of sequences predicted whole; ``token_accuracy``: the
    fraction of target positions whose token the prediction has at the same position;
    ``token_error_rate``: total edit distance over total target length (the character error
    rate when tokens are characters).
    """
    predicted, targets = list(predicted), list(targets)
    if len(predicted) != len(targets):
        raise ValueError(f"got {len(predicted)} predictions for {len(targets)} targets.")
    if not targets:
        raise ValueError("no sequences to score.")
    exact = sum(list(p) == list(t) for p, t in zip(predicted, targets, strict=True))
    total = sum(len(t) for t in targets)
    right = sum(
        sum(a == b for a, b in zip(p, t, strict=False))
        for p, t in zip(predicted, targets, strict=True)
    )
    edits = sum(edit_distance(p, t) for p, t in zip(predicted, targets, strict=True))
    return {
        "exact_match": exact / len(targets),
        "token_accuracy": right / total if total else float("nan"),
        "token_error_rate": edits / total if total else float("nan"),
    }


def is_span_scheme(labels) -> bool:
    """Whether ``labels`` are chunk tags (BIO or BIOES: ``B-X``, ``I-X``, ``O``, ...)."""
    labels = [t for t in labels if t not in ("<pad>", "<s>", "</s>", "<unk>")]
    return bool(labels) and all(
        t == "O" or (len(t) > 2 and t[1] == "-" and t[0] in "BIESL") for t in labels
    )


def spans(tags) -> set[tuple[int, int, str]]:
    """The chunks ``(start, end, type)`` of one BIO/BIOES tag sequence, as CoNLL's
    ``conlleval`` reads them: a chunk starts at ``B``/``S``, or at an ``I``/``E`` whose type
    differs from the chunk before (an ``I`` without its ``B`` starts one), and ends before
    ``O``, ``B``, ``S``, another type, or after ``E``/``S``."""
    found, start, kind = set(), None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        ends = start is not None and (
            prefix in ("O", "B", "S") or label != kind or prefix not in ("I", "E", "L")
        )
        if ends:
            found.add((start, i, kind))
            start = kind = None
        if prefix in ("B", "S") or (prefix in ("I", "E", "L") and start is None):
            start, kind = i, label
        if start is not None and prefix in ("E", "S", "L"):
            found.add((start, i + 1, kind))
            start = kind = None
    return found


def span_scores(predicted, references) -> dict[str, float]:
    """Micro-averaged chunk precision, recall and F1 over sentences (the CoNLL definition:
    a chunk counts only if its start, end and type are all right)."""
    right = guessed = real = 0
    for p, r in zip(predicted, references, strict=True):
        ps, rs = spans(p), spans(r)
        right, guessed, real = right + len(ps & rs), guessed + len(ps), real + len(rs)
    precision = right / guessed if guessed else 0.0
    recall = right / real if real else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"span_precision": precision, "span_recall": recall, "span_f1": f1}
