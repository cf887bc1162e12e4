"""Drawing results and writing them: matplotlib, imported only when a picture is drawn,
rendered to PNG bytes; a result's JSON and PNG written side by side, each atomically.

matplotlib costs about half a second to import, so no module imports it at load time, and
the pictures on the tutorial's path (``compare``'s learning curves) are drawn with Pillow
instead (``rnnlab.experiments.charts``).
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

from rnnlab.data import atomic_write_bytes, atomic_write_text


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (no screen needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    # a character the font lacks (an emoji token, say) is drawn as a box; no warning for it
    warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
    return plt


def png_bytes(fig, dpi: int = 100) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    pyplot().close(fig)
    return buffer.getvalue()


def save_result(out_dir, json_name: str, data: dict, png_name: str, png: bytes) -> list[Path]:
    """Write ``data`` as JSON and the picture into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / json_name, out / png_name]
    atomic_write_text(paths[0], json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    atomic_write_bytes(paths[1], png)
    return paths


def loss_scale(*curves) -> str:
    """``"log"`` for curves of positive numbers only, else ``"linear"`` (a loss of exactly
    0, as a run with one label gives, has no logarithm)."""
    values = [v for curve in curves for v in curve]
    return "log" if values and all(v > 0 for v in values) else "linear"


def learning_curves_png(history: dict, loss_title: str, measures: dict[str, str]) -> bytes:
    """A run's learning curves: training and validation loss per epoch (left, log scale),
    and the validation ``measures`` (history key -> label; right, between 0 and 1)."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = range(1, len(history["loss"]) + 1)
    left.plot(epochs, history["loss"], label="training")
    left.plot(epochs, history["val_loss"], label="validation")
    left.set(title=loss_title, xlabel="epoch")
    left.set_yscale(loss_scale(history["loss"], history["val_loss"]))
    left.legend()
    for key, label in measures.items():
        right.plot(epochs, history[key], label=label)
    right.set(title="validation", xlabel="epoch", ylim=(0, 1.02))
    right.legend()
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig, dpi=100)
