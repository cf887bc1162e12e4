"""Objectives: what a model's loss and metrics are, for one formulation of the data.

The trainer asks an objective for a batch's loss, for the metrics of a data set and for its
predictions; it never looks inside the model. Every objective follows ``Objective``.
``ValueRegression`` is the tutorial's formulation (numbers in, numbers out, mean squared
error); ``SequenceGeneration`` is an autoregressive decoder's (token ids in, a softmax per
output step, cross-entropy with teacher forcing, metrics on decoded sequences);
``TokenTagging`` a tagger's over token ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.data import SequenceDataset, TokenPairs, Vocabulary
from rnnlab.training.devices import model_device
from rnnlab.training.losses import get_loss
from rnnlab.training.metrics import round_to_tokens, sequence_accuracy, token_sequence_metrics


class Objective(Protocol):
    """What the trainer needs of a formulation of the data.

    ``metrics``: the names ``evaluate`` reports besides ``loss``; ``lower_is_better``: those
    of them that improve downwards (``loss`` always does).
    """

    metrics: tuple[str, ...]
    lower_is_better: tuple[str, ...]
    unit: str  # what ``loss_weight`` counts: "tokens", "sequences", "windows"

    def loss(self, model: nn.Module, batch) -> torch.Tensor:
        """The mean loss of one batch (a scalar with a gradient)."""

    def loss_weight(self, batch) -> int:
        """The count ``loss`` is a mean over (``len(batch)`` examples, or real tokens): what
        the processes of a distributed run weight their parts of a batch by."""

    def evaluate(self, model: nn.Module, data, batch_size: int) -> dict[str, float]:
        """``loss`` and every name in ``metrics``, over a whole data set."""

    def predict(self, model: nn.Module, data, batch_size: int):
        """The model's predictions for every example, in order."""


class ValueRegression:
    """Padded value sequences, a regression loss (the tutorial's MSE), rounded predictions.

    Args:
        loss: a loss name (``"mse"``).
        use_mask: pass the inputs' padding mask to the model.
        decode: outputs ``(N, T', O)`` to tokens ``(N, T')`` (default: round to integers).
    """

    metrics = ("token_accuracy", "exact_match")
    lower_is_better = ()
    unit = "sequences"

    def __init__(self, loss: str = "mse", use_mask: bool = False, decode: Callable | None = None):
        self.loss_fn = get_loss(loss)
        self.use_mask = use_mask
        self.decode = decode or (lambda y: round_to_tokens(y.squeeze(-1)))

    def outputs(self, model: nn.Module, batch: SequenceDataset) -> torch.Tensor:
        device = model_device(model)
        x = batch.inputs.to(device)
        if self.use_mask:
            return model(x, mask=batch.input_mask().to(device))
        return model(x)

    def loss(self, model: nn.Module, batch: SequenceDataset) -> torch.Tensor:
        return self.loss_fn(self.outputs(model, batch), batch.targets.to(model_device(model)))

    def loss_weight(self, batch: SequenceDataset) -> int:
        return len(batch)  # a mean over every (padded) target element, the same per row

    def predict(self, model: nn.Module, data: SequenceDataset, batch_size: int) -> torch.Tensor:
        return torch.cat([self.outputs(model, b).cpu() for b in data.batches(batch_size)])

    def evaluate(self, model: nn.Module, data: SequenceDataset, batch_size: int) -> dict:
        """``loss`` over whole padded targets; accuracies over the real positions only."""
        outputs = self.predict(model, data, batch_size)
        loss = self.loss_fn(outputs, data.targets).item()
        targets = data.targets.squeeze(-1).round().long()
        return {
            "loss": loss,
            **sequence_accuracy(self.decode(outputs), targets, data.target_mask()),
        }


class SequenceGeneration:
    """Token pairs, teacher-forced cross-entropy, metrics on greedy or beam-search output.

    The model must offer ``model(sources, decoder_inputs) -> logits (N, T, V)`` and
    ``model.generate(sources, max_len=, beam_width=, length_penalty=) -> list of id lists``.

    Args:
        beam_width: 1 for greedy decoding.
        length_penalty: the exponent of the length normalisation of beam scores.
        extra_steps: generated sequences may be this much longer than the longest target.
    """

    metrics = ("exact_match", "token_accuracy", "token_error_rate")
    shown = ("exact_match", "token_accuracy")  # on the progress line
    lower_is_better = ("token_error_rate",)
    unit = "tokens"

    def __init__(self, beam_width: int = 1, length_penalty: float = 0.6, extra_steps: int = 5):
        self.beam_width = beam_width
        self.length_penalty = length_penalty
        self.extra_steps = extra_steps

    def loss(self, model: nn.Module, batch: TokenPairs) -> torch.Tensor:
        device = model_device(model)
        logits = model(batch.sources.to(device), batch.decoder_inputs().to(device))  # (N, T, V)
        targets = batch.targets.to(device)
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=0)

    def loss_weight(self, batch: TokenPairs) -> int:
        return int((batch.targets != 0).sum())  # the real target tokens

    def generate(self, model: nn.Module, sources: torch.Tensor, max_len: int) -> list[list[int]]:
        return model.generate(
            sources.to(model_device(model)),
            max_len=max_len,
            beam_width=self.beam_width,
            length_penalty=self.length_penalty,
        )

    def predict(self, model: nn.Module, data: TokenPairs, batch_size: int) -> list[list[int]]:
        """The decoded target ids of every source (without the end token)."""
        max_len = int(data.target_lengths.max()) + self.extra_steps
        return [
            ids
            for batch in data.batches(batch_size)
            for ids in self.generate(model, batch.sources, max_len)
        ]

    def evaluate(self, model: nn.Module, data: TokenPairs, batch_size: int) -> dict:
        """Teacher-forced ``loss`` (per target token), and ``exact_match``, ``token_accuracy``
        and ``token_error_rate`` of the decoded sequences."""
        total, tokens = 0.0, 0
        predicted, references = [], []
        max_len = int(data.target_lengths.max()) + self.extra_steps
        for batch in data.batches(batch_size):
            n_tokens = int((batch.targets != 0).sum())
            total += self.loss(model, batch).item() * n_tokens
            tokens += n_tokens
            predicted += self.generate(model, batch.sources, max_len)
            # a target's <unk> (a token training lacks) is never right, even written as <unk>
            unknown = Vocabulary.unk_id
            references += [
                [-1 if i == unknown else i for i in t[: n - 1].tolist()]
                for t, n in zip(batch.targets, batch.target_lengths, strict=True)
            ]
        return {"loss": total / tokens, **token_sequence_metrics(predicted, references)}


class TokenTagging:
    """Padded token ids (stored as values in a ``SequenceDataset``), a softmax per output
    step, cross-entropy over the target's real positions only, argmax predictions.

    The model maps ids ``(N, T)`` to logits ``(N, T', V)``.
    """

    metrics = ("token_accuracy", "exact_match")
    lower_is_better = ()
    unit = "tokens"

    def __init__(self, use_mask: bool = True) -> None:
        self.use_mask = use_mask

    def logits(self, model: nn.Module, batch: SequenceDataset) -> torch.Tensor:
        device = model_device(model)
        ids = batch.inputs.squeeze(-1).round().long().to(device)  # (N, T)
        if self.use_mask:
            return model(ids, mask=batch.input_mask().to(device))
        return model(ids)

    def loss(self, model: nn.Module, batch: SequenceDataset) -> torch.Tensor:
        logits = self.logits(model, batch)  # (N, T', V)
        targets = batch.targets.squeeze(-1).round().long().to(logits.device)
        mask = batch.target_mask().to(logits.device)
        return F.cross_entropy(logits[mask], targets[mask])

    def loss_weight(self, batch: SequenceDataset) -> int:
        return int(batch.target_mask().sum())

    def predict(self, model: nn.Module, data: SequenceDataset, batch_size: int) -> torch.Tensor:
        return torch.cat([self.logits(model, b).cpu() for b in data.batches(batch_size)])

    def evaluate(self, model: nn.Module, data: SequenceDataset, batch_size: int) -> dict:
        logits = self.predict(model, data, batch_size)
        targets = data.targets.squeeze(-1).round().long()
        mask = data.target_mask()
        loss = F.cross_entropy(logits[mask], targets[mask]).item()
        return {"loss": loss, **sequence_accuracy(logits.argmax(-1), targets, mask)}
