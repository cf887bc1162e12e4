"""fit / evaluate / predict for any model that maps padded inputs to padded outputs.

The trainer knows no architecture: it takes a model (``model(x)`` or ``model(x, mask=...)``),
a loss, a decoding of outputs into tokens for the metrics, and callbacks for progress.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from rnnlab.data import SequenceDataset
from rnnlab.training.callbacks import Callback
from rnnlab.training.history import History
from rnnlab.training.losses import get_loss
from rnnlab.training.metrics import round_to_tokens, sequence_accuracy
from rnnlab.training.optimizers import make_optimizer


class Trainer:
    """Train and evaluate ``model`` on ``SequenceDataset``s.

    Args:
        model: maps ``(N, T, I)`` inputs to ``(N, T', O)`` outputs shaped like the targets.
        loss: a loss name (``"mse"``, the tutorial's).
        optimizer: an optimiser name (``"adam"``, Keras's Adam).
        learning_rate: the optimiser's step size (``1e-3``).
        batch_size: examples per step (32).
        shuffle: reshuffle the training set every epoch (True).
        seed: seed of the shuffling (a local generator; None for a random one).
        use_mask: pass the inputs' padding mask to the model (False: the tutorial masks nothing).
        decode: turns outputs ``(N, T', O)`` into tokens ``(N, T')`` for the metrics
            (default: round each regressed number to the nearest integer).
        callbacks: ``Callback``s told of every step and epoch.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        loss: str = "mse",
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        use_mask: bool = False,
        decode: Callable[[torch.Tensor], torch.Tensor] | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}.")
        self.model = model
        self.loss_fn = get_loss(loss)
        self.optimizer = make_optimizer(optimizer, model.parameters(), learning_rate)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.use_mask = use_mask
        self.decode = decode or (lambda y: round_to_tokens(y.squeeze(-1)))
        self.callbacks = list(callbacks)
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)
        else:
            self.generator.seed()

    def _device(self) -> torch.device:
        param = next(self.model.parameters(), None)
        return param.device if param is not None else torch.device("cpu")

    def _forward(self, batch: SequenceDataset) -> torch.Tensor:
        device = self._device()
        x = batch.inputs.to(device)
        if self.use_mask:
            return self.model(x, mask=batch.input_mask().to(device))
        return self.model(x)

    def fit(
        self, train: SequenceDataset, *, epochs: int = 10, validation: SequenceDataset | None = None
    ) -> History:
        """Train for ``epochs`` epochs; returns the per-epoch ``History``.

        Logged each epoch: ``loss`` (the mean training loss over the epoch's batches, as Keras
        reports it) and, with ``validation``, ``val_loss``, ``val_token_accuracy`` and
        ``val_exact_match``.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"`epochs` must be a positive int, got {epochs!r}.")
        steps = -(-len(train) // self.batch_size)
        history = History()
        for cb in self.callbacks:
            cb.on_train_begin(epochs=epochs, steps_per_epoch=steps)
        for epoch in range(epochs):
            for cb in self.callbacks:
                cb.on_epoch_begin(epoch)
            logs = {"loss": self._train_epoch(train)}
            if validation is not None:
                val = self.evaluate(validation)
                logs.update({f"val_{k}": v for k, v in val.items()})
            history.append(logs)
            for cb in self.callbacks:
                cb.on_epoch_end(epoch, logs)
        for cb in self.callbacks:
            cb.on_train_end(history.last())
        return history

    def _train_epoch(self, train: SequenceDataset) -> float:
        self.model.train()
        device = self._device()
        total, seen = 0.0, 0
        batches = train.batches(self.batch_size, shuffle=self.shuffle, generator=self.generator)
        for step, batch in enumerate(batches):
            loss = self.loss_fn(self._forward(batch), batch.targets.to(device))
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(batch)
            seen += len(batch)
            for cb in self.callbacks:
                cb.on_batch_end(step, {"loss": total / seen})
        return total / seen

    @torch.no_grad()
    def predict(self, data: SequenceDataset) -> torch.Tensor:
        """Model outputs for every example, batched: ``(N, T', O)`` on the CPU."""
        self.model.eval()
        return torch.cat([self._forward(b).cpu() for b in data.batches(self.batch_size)])

    @torch.no_grad()
    def evaluate(self, data: SequenceDataset) -> dict[str, float]:
        """``loss`` (over whole padded targets, as in training), ``token_accuracy`` and
        ``exact_match`` (over each target's real positions only)."""
        outputs = self.predict(data)
        loss = self.loss_fn(outputs, data.targets).item()
        tokens = self.decode(outputs)
        targets = data.targets.squeeze(-1).round().long()
        return {"loss": loss, **sequence_accuracy(tokens, targets, data.target_mask())}
