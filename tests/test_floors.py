"""The packages of ``src/rnnlab`` form floors: a module imports only from its own floor or
those below it, lazy imports inside functions included (the README's Layout)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "rnnlab"

# bottom to top; a module's floor is its package (or, at the top level, its module)
FLOORS = [
    # helpers
    {"config", "limits", "version", "words", "forecast_measures", "class_probabilities"}
    | {"ctc_decoding", "forecast_windows"},
    {"data"},
    {"plots"},
    {"layers"},
    {"models"},
    {"training"},
    {"kinds"},
    {"interop"},
    {"experiments"},
    {"cli"},
    {"console", "__main__", "__init__"},  # the entry points and the package's facade
]


def floor_of(module: str) -> int:
    """The floor of ``rnnlab.X...`` (``rnnlab`` itself: its ``__init__``)."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else "__init__"
    for level, names in enumerate(FLOORS):
        if name in names:
            return level
    raise AssertionError(f"{module}: on no floor; add its package to FLOORS")


def imported(tree: ast.AST) -> list[str]:
    """Every rnnlab module ``tree`` imports, at its top or inside functions."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "rnnlab"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "rnnlab":  # from rnnlab import cli
                found += [f"rnnlab.{a.name}" for a in node.names]
            elif node.module.startswith("rnnlab."):
                found.append(node.module)
    return found


def upward_imports(src: Path) -> list[str]:
    """``module -> imported`` for each import that runs up the floors."""
    problems = []
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if module == "rnnlab":
            module = "rnnlab.__init__"
        mine = floor_of(module)
        for name in imported(ast.parse(path.read_text(encoding="utf-8"))):
            if floor_of(name) > mine:
                problems.append(f"{module} -> {name}")
    return problems


def test_no_module_imports_upward():
    assert upward_imports(SRC) == []


def test_an_upward_import_is_found(tmp_path):
    """The check itself: a lazy import of the command line from a layer is reported."""
    package = tmp_path / "rnnlab"
    (package / "layers").mkdir(parents=True)
    (package / "cli").mkdir()
    (package / "cli" / "__init__.py").write_text("from rnnlab.layers import lstm\n")
    (package / "layers" / "lstm.py").write_text(
        "import torch\n\n\ndef f():\n    from rnnlab.cli import main\n    return main\n"
    )
    (package / "layers" / "gru.py").write_text("from rnnlab import experiments\n")
    assert upward_imports(package) == [
        "rnnlab.layers.gru -> rnnlab.experiments",
        "rnnlab.layers.lstm -> rnnlab.cli",
    ]
