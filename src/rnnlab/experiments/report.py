"""``report``: the results of the claim commands and of ``compare``, gathered into one page.

``find_results(folders)`` looks for ``gradients.json``, ``memory.json``, ``bottleneck.json``
and ``results.json`` (``compare``) in each folder and in its immediate subfolders (so
``runs/`` works as well as one run folder). ``Report.save(out)`` writes ``report.md`` with a
table per result and copies each result's PNG next to it, linked relatively, so the folder
reads on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rnnlab.data import atomic_write_bytes, atomic_write_text

# result file -> (kind, its picture)
RESULT_FILES = {
    "gradients.json": ("gradients", "gradients.png"),
    "memory.json": ("memory", "memory.png"),
    "results.json": ("compare", "learning_curves.png"),
    "bottleneck.json": ("bottleneck", "bottleneck.png"),
    "metrics.json": ("train", "learning_curves.png"),  # a finished `rnnlab train` run
}

TITLES = {
    "gradients": "Claim 1: basic RNNs forget because gradients vanish (`rnnlab gradients`)",
    "memory": "Claim 2: LSTM gates fix that (`rnnlab memory`)",
    "compare": "Claim 3: one direction cannot see what comes later (`rnnlab compare`)",
    "bottleneck": "Claim 4: one context vector limits an encoder-decoder (`rnnlab bottleneck`)",
    "train": "A trained model (`rnnlab train`)",
}


@dataclass
class Found:
    kind: str
    folder: Path
    data: dict
    picture: Path | None


def find_results(folders: list[Path]) -> list[Found]:
    """Every result file in ``folders`` and their immediate subfolders, in a stable order."""
    found = []
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such folder")
        for candidate in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
            for name, (kind, picture) in RESULT_FILES.items():
                path = candidate / name
                if name == "metrics.json" and not (candidate / "config.json").is_file():
                    continue  # the measures of `rnnlab evaluate --out`, not a run
                if path.is_file():
                    try:
                        data = json.loads(path.read_text(encoding="utf-8"))
                    except (ValueError, RecursionError) as exc:
                        raise ValueError(f"{path}: not valid JSON ({exc})") from None
                    png = candidate / picture
                    found.append(Found(kind, candidate, data, png if png.is_file() else None))
    return found


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _gradients_section(data: dict) -> list[str]:
    cfg = data["config"]
    lines = [
        f"H = {cfg['units']}, T = {cfg['length']}, mean over {cfg['seeds']} weight seed(s) x "
        f"{cfg['batch_size']} adding-problem sequences; g(k) is the norm of the gradient of "
        "the last step's squared error with respect to the input k steps back (k = 1: the "
        "last input); decay/step = exp(slope of ln g(k) against k).",
        "",
    ]
    rows = []
    for state, cells in (("init", data["cells"]), ("trained", data.get("trained") or {})):
        for name, c in cells.items():
            mse = f"{c['val_mse_mean']:.4f}" if "val_mse_mean" in c else "-"
            rows.append(
                [
                    name,
                    state,
                    f"{c['grad_norm'][0]:.2e}",
                    f"{c['grad_norm'][-1]:.2e}",
                    f"{c['fold_first_to_last_lag']:.3g}",
                    f"{c['decay_per_step']:.4f}",
                    f"{c['gate']} = {c['gate_mean']:.3f}",
                    mse,
                ]
            )
    header = ["cell", "weights", "g(1)", "g(T)", "g(1)/g(T)", "decay/step", "gate mean"]
    return lines + _table([*header, "adding MSE"], rows)


def _memory_section(data: dict) -> list[str]:
    cfg = data["config"]
    lines = [
        f"Every cell: H = {cfg['units']}, {cfg['train_steps']} Adam steps x "
        f"{cfg['batch_size']} fresh sequences (learning rate {cfg['learning_rate']}, seed "
        f"{cfg['seed']}), scored on {cfg['val_samples']} held-out sequences.",
    ]
    for name, task in data["tasks"].items():
        percent = task["metric"] != "mse"
        fmt = "{:.1%}" if percent else "{:.4f}"
        lines += [
            "",
            f"**{name}**: held-out {task['metric'].replace('_', ' ')} against "
            f"{task['length_means']}; baseline {task['baseline_name']} = "
            f"{fmt.format(task['baseline'])}.",
            "",
        ]
        rows = [
            [cell, *(fmt.format(v) for v in c[task["metric"]])] for cell, c in task["cells"].items()
        ]
        lines += _table(["cell", *(f"T = {n}" for n in task["lengths"])], rows)
    return lines


def _compare_section(data: dict) -> list[str]:
    cfg = data["config"]
    lines = [
        f"Task `{cfg['task']}`, {cfg['samples']} pairs (lengths 1-{cfg['max_len']}, "
        f"{cfg['padding']} padding{', masked' if cfg.get('mask') else ''}), {cfg['epochs']} "
        f"epochs; metrics on the {data['test_size']} held-out pairs. The causal ceiling is the "
        "best exact match any one-way model can reach on this data distribution.",
        "",
    ]
    rows = []
    for name, m in data["models"].items():
        ceiling = m.get("causal_ceiling")
        rows.append(
            [
                name,
                f"{m['params']:,}",
                f"{m['val_loss']:.4f}",
                f"{m['token_accuracy']:.1%}",
                f"{m['exact_match']:.1%}",
                "-" if ceiling is None else f"{ceiling:.1%}",
            ]
        )
    header = ["model", "params", "val loss", "token acc", "exact match", "causal ceiling"]
    return lines + _table(header, rows)


def _train_section(data: dict) -> list[str]:
    """A run's held-out measures (numbers only: a confusion matrix stays in its PNG)."""
    rows = [
        [key.removeprefix("val_").replace("_", " "), f"{value:.4g}"]
        for key, value in data.items()
        if key.startswith("val_") and isinstance(value, float)
    ]
    rows += [["epochs", str(data["epochs"])], ["training seconds", f"{data['train_seconds']:.1f}"]]
    return _table(["held-out measure", "value"], rows)


def _bottleneck_section(data: dict) -> list[str]:
    cfg = data["config"]
    lines = [
        f"Reversing L digits: every model H = {cfg['units']}, {cfg['train_steps']} Adam steps "
        f"x {cfg['batch_size']} fresh sequences (seed {cfg['seed']}), scored on "
        f"{cfg['val_samples']} held-out sequences: exact match (token accuracy), greedy.",
        "",
    ]
    rows = [
        [
            m["label"],
            *(
                f"{e:.1%} ({t:.1%})"
                for e, t in zip(m["exact_match"], m["token_accuracy"], strict=True)
            ),
        ]
        for m in data["models"].values()
    ]
    return lines + _table(["model", *(f"L = {n}" for n in cfg["lengths"])], rows)


SECTIONS = {
    "gradients": _gradients_section,
    "memory": _memory_section,
    "compare": _compare_section,
    "bottleneck": _bottleneck_section,
    "train": _train_section,
}


@dataclass
class Report:
    results: list[Found] = field(default_factory=list)

    def markdown(self, pictures: dict[int, str]) -> str:
        lines = [
            "# The tutorial's claims, measured",
            "",
            "Gathered by `rnnlab report` from: "
            + ", ".join(f"`{f.folder}`" for f in self.results)
            + ".",
        ]
        for kind in TITLES:
            for i, f in enumerate(self.results):
                if f.kind != kind:
                    continue
                lines += ["", f"## {TITLES[kind]}", "", f"From `{f.folder}`.", ""]
                lines += SECTIONS[kind](f.data)
                if i in pictures:
                    lines += ["", f"![{kind}]({pictures[i]})"]
        return "\n".join(lines) + "\n"

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write ``report.md`` and copies of the pictures it shows into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        pictures, paths = {}, []
        for i, f in enumerate(self.results):
            if f.picture is not None:
                name = f"{f.kind}-{i + 1}.png"
                atomic_write_bytes(out / name, f.picture.read_bytes())
                pictures[i] = name
                paths.append(out / name)
        atomic_write_text(out / "report.md", self.markdown(pictures))
        return [out / "report.md", *paths]


def build_report(folders: list[str | Path]) -> Report:
    """A ``Report`` of every result found in ``folders`` (ValueError if there is none)."""
    folders = [Path(f) for f in folders]
    found = find_results(folders)
    if not found:
        names = ", ".join(RESULT_FILES)
        raise ValueError(f"no results ({names}) in {', '.join(map(str, folders))}")
    for f in found:  # each table made once here, so a file of another shape is named
        try:
            SECTIONS[f.kind](f.data)
        except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
            name = next(n for n, (kind, _) in RESULT_FILES.items() if kind == f.kind)
            raise ValueError(
                f"{f.folder / name}: not a result of `rnnlab {f.kind}` as rnnlab writes it "
                f"({type(exc).__name__}: {exc})"
            ) from None
    return Report(found)
