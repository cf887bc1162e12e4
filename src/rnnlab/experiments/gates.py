"""``gates``: what an LSTM's gates do, step by step, on one input of a trained run.

For the first encoder layer of a trained LSTM run (its forward direction, and its backward
one when the encoder is bidirectional) and a source sequence, the input, forget and output
gates, the cell candidate, the cell state and the output at every step and unit:

    i_t = σ(x_t W_i + h_{t-1} U_i + b_i)    f_t = σ(x_t W_f + h_{t-1} U_f + b_f)
    g_t = φ(x_t W_c + h_{t-1} U_c + b_c)    o_t = σ(x_t W_o + h_{t-1} U_o + b_o)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t          h_t = o_t ⊙ φ(c_t)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from rnnlab.layers import LSTMCell
from rnnlab.plots.figures import png_bytes, pyplot, save_result

GATES = ("input_gate", "forget_gate", "output_gate", "cell_candidate", "cell_state", "hidden")


@torch.no_grad()
def lstm_gates(cell: LSTMCell, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every gate of ``cell`` over ``x (T, I)`` from a zero state: each ``(T, H)``."""
    h = x.new_zeros(1, cell.units)
    c = x.new_zeros(1, cell.units)
    rows = {name: [] for name in GATES}
    for xp_t in cell.project_inputs(x[None])[0]:  # (4H,) per step
        gates = cell.gates_of(xp_t[None] + h @ cell.recurrent_kernel, c)  # from (1, 4H)
        h, c = gates.h, gates.c
        values = (gates.input_gate, gates.forget_gate, gates.output_gate, gates.cell_candidate)
        for name, value in zip(GATES, (*values, c, h), strict=True):
            rows[name].append(value[0])
    return {name: torch.stack(values) for name, values in rows.items()}


@dataclass
class GatesResult:
    tokens: list[str]
    directions: dict[str, dict[str, torch.Tensor]]  # "forward"/"backward" -> gate -> (T, H)

    def to_dict(self) -> dict:
        return {
            "tokens": self.tokens,
            "directions": {
                d: {k: v.tolist() for k, v in gates.items()} for d, gates in self.directions.items()
            },
            "equations": __doc__.split("\n\n")[1].strip(),
        }

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write ``gates.json`` and ``gates.png`` into ``out_dir`` (each atomically)."""
        return save_result(out_dir, "gates.json", self.to_dict(), "gates.png", self.plot_png())

    def plot_png(self) -> bytes:
        """A heatmap (unit × step) per gate and direction."""
        plt = pyplot()

        shown = ("input_gate", "forget_gate", "output_gate", "cell_state")
        rows = len(self.directions)
        fig, axes = plt.subplots(rows, 4, figsize=(14, 3.6 * rows), squeeze=False)
        for r, (direction, gates) in enumerate(self.directions.items()):
            for ax, name in zip(axes[r], shown, strict=True):
                values = gates[name].T.numpy()  # (H, T)
                if name == "cell_state":
                    limit = float(abs(values).max()) or 1.0
                    image = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit)
                else:
                    image = ax.imshow(values, aspect="auto", cmap="viridis", vmin=0, vmax=1)
                ax.set_title(f"{direction}: {name.replace('_', ' ')}")
                ax.set_xticks(range(len(self.tokens)), self.tokens)
                ax.set_ylabel("unit")
                fig.colorbar(image, ax=ax)
        fig.tight_layout()
        return png_bytes(fig, dpi=90)


def run_gates(trained, tokens: list[str], unknown: str = "error") -> GatesResult:
    """The gates of a ``Seq2SeqRun``'s first encoder layer on one source."""
    from rnnlab.layers import Bidirectional

    layer = trained.model.encoder[0]
    directions = (
        {"forward": layer.forward_layer, "backward": layer.backward_layer}
        if isinstance(layer, Bidirectional)
        else {"forward": layer}
    )
    if not isinstance(directions["forward"].cell, LSTMCell):
        kind = type(directions["forward"].cell).__name__
        raise ValueError(f"`gates` needs an LSTM run; this run's encoder cell is {kind}.")
    ids = trained.encode_sources([tokens], ["--input"], unknown)
    x = trained.model.source_embedding(ids)[0]  # (T, E)
    result = {"forward": lstm_gates(directions["forward"].cell, x)}
    if "backward" in directions:
        backward = lstm_gates(directions["backward"].cell, x.flip(0))
        result["backward"] = {k: v.flip(0) for k, v in backward.items()}  # input order
    return GatesResult(tokens, result)
