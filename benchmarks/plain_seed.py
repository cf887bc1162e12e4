"""The Keras sequence-reversal tutorial, ported to plain PyTorch by hand (no rnnlab).

This is the baseline of ``benchmarks/seed.py``: what a competent user would write without
rnnlab. 1,000 random digit sequences (lengths 1-5, digits 1-9), targets are the reversed
sequences, both post-padded with zeros to length 5; an 80/20 split; three models (LSTM,
bidirectional LSTM, LSTM encoder-decoder) trained with Adam and the mean squared error for
10 epochs of batch 32, the validation loss measured after each epoch.

Run: ``python benchmarks/plain_seed.py``
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

SEED = 0
N_SAMPLES = 1000
MAX_LEN = 5
EPOCHS = 10
BATCH_SIZE = 32
HIDDEN = 64

# The tutorial's LSTMs use activation="relu"; nn.LSTM has no such option, so these use tanh.


def make_data(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Random digit sequences and their reversals, post-padded with zeros: (N, 5, 1) float32."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, MAX_LEN + 1, size=N_SAMPLES)
    x = np.zeros((N_SAMPLES, MAX_LEN, 1), dtype=np.float32)
    y = np.zeros((N_SAMPLES, MAX_LEN, 1), dtype=np.float32)
    for i, n in enumerate(lengths):
        seq = rng.integers(1, 10, size=int(n))
        x[i, :n, 0] = seq
        y[i, :n, 0] = seq[::-1]
    return x, y


class Tagger(nn.Module):
    """An LSTM (optionally bidirectional) with a linear output at every step."""

    def __init__(self, bidirectional: bool = False) -> None:
        super().__init__()
        self.lstm = nn.LSTM(1, HIDDEN, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(HIDDEN * (2 if bidirectional else 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(x)
        return self.out(h)


class EncoderDecoder(nn.Module):
    """Encoder LSTM; its last output repeated 5 times feeds a decoder started from its state."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.LSTM(1, HIDDEN, batch_first=True)
        self.decoder = nn.LSTM(HIDDEN, HIDDEN, batch_first=True)
        self.out = nn.Linear(HIDDEN, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, c) = self.encoder(x)
        repeated = h[-1].unsqueeze(1).repeat(1, x.shape[1], 1)
        y, _ = self.decoder(repeated, (h, c))
        return self.out(y)


def train(
    name: str,
    model: nn.Module,
    train_set: TensorDataset,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
) -> tuple[float, float]:
    loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    loss = val_loss = float("nan")
    for epoch in range(1, EPOCHS + 1):
        model.train()
        total, count = 0.0, 0
        for xb, yb in loader:
            optimizer.zero_grad()
            batch_loss = loss_fn(model(xb), yb)
            batch_loss.backward()
            optimizer.step()
            total += batch_loss.item() * len(xb)
            count += len(xb)
        loss = total / count
        model.eval()
        with torch.no_grad():
            val_loss = loss_fn(model(x_test), y_test).item()
        print(f"{name} epoch {epoch}/{EPOCHS}: loss {loss:.4f}, val_loss {val_loss:.4f}")
    return loss, val_loss


def main() -> None:
    torch.manual_seed(SEED)
    x, y = make_data()
    perm = np.random.RandomState(42).permutation(N_SAMPLES)
    n_test = N_SAMPLES // 5
    test_idx, train_idx = perm[:n_test], perm[n_test:]
    x_train, y_train = torch.from_numpy(x[train_idx]), torch.from_numpy(y[train_idx])
    x_test, y_test = torch.from_numpy(x[test_idx]), torch.from_numpy(y[test_idx])
    train_set = TensorDataset(x_train, y_train)

    models = {
        "lstm": Tagger(),
        "bilstm": Tagger(bidirectional=True),
        "seq2seq": EncoderDecoder(),
    }
    results = {name: train(name, m, train_set, x_test, y_test) for name, m in models.items()}
    for name, (loss, val_loss) in results.items():
        print(f"{name:8s} loss {loss:.4f}  val_loss {val_loss:.4f}")


if __name__ == "__main__":
    main()
