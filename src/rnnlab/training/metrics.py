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
