"""The pages of docs/ work as written: every code block runs or is checked, every link resolves.

A page's blocks run in its order, in an empty folder, as a reader would run them from the
repository root (``tests/fixtures`` is linked into the folder; small stand-ins for the data
files the pages name are written there first):

- ```python blocks run, all of one page's in one namespace;
- ```sh (or ```bash) blocks take seconds: each ``rnnlab`` line runs in-process through
  ``rnnlab.cli.main`` and must exit 0 (``echo TEXT | rnnlab ...`` feeds it TEXT, ``> FILE``
  keeps its output);
- ```sh long blocks take minutes: each ``rnnlab`` line (and ``torchrun ... -m rnnlab ...``) is
  parsed by the command's own argument parser, without running it;
- in either, ``python -m benchmarks.NAME ARGS`` must name a module whose parser takes ARGS,
  ``make TARGET`` a target of the Makefile, ``pip install '.[EXTRA]'`` extras of pyproject.toml
  and ``bash FILE`` a file of the repository; any other command is an error;
- ```text blocks are output, not run.

tests/test_readme.py checks README.md with the same functions.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import io
import json
import random
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from commands import run_cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
LANGUAGES = {"python", "sh", "bash", "text"}
RNNLAB = {"rnnlab", ".venv/bin/rnnlab"}
ABOUT_WORK = re.compile(r"\b(the issue|issue's|this session|whoever filed|after this work)\b", re.I)


@dataclass
class Block:
    language: str  # python, sh, bash or text
    long: bool  # ```sh long: checked, not run
    text: str
    line: int  # of the opening fence


def code_blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page``; an opening fence without a known language fails."""
    blocks, lines = [], page.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            info, start = lines[i][3:].split(), i + 1
            end = next(j for j in range(start, len(lines)) if lines[j].startswith("```"))
            language = info[0] if info else ""
            assert language in LANGUAGES and info[1:] in ([], ["long"]), (
                f"{page.name}:{start}: a code block marked {lines[i]!r}; expected ```python, "
                "```sh, ```sh long or ```text"
            )
            blocks.append(Block(language, info[1:] == ["long"], "\n".join(lines[start:end]), start))
            i = end
        i += 1
    return blocks


@dataclass
class Command:
    argv: list[str]
    stdin: str | None  # what `echo ... |` feeds it
    stdout: str | None  # the file `> FILE` writes
    where: str  # page:line


def shell_commands(page: Path, block: Block) -> list[Command]:
    """The commands of a shell block: continuation lines joined, comments dropped, each line a
    pipeline of at most ``echo TEXT |`` and one command, optionally ``> FILE``."""
    commands = []
    text = block.text.replace("\\\n", " ")
    for offset, line in enumerate(text.splitlines()):
        lexer = shlex.shlex(line, posix=True, punctuation_chars="|>")
        lexer.whitespace_split = True
        words = list(lexer)
        if not words:
            continue
        where = f"{page.name}:{block.line + offset + 1}"
        stdin = stdout = None
        if "|" in words:
            at = words.index("|")
            assert words[0] == "echo" and at > 1, f"{where}: only `echo TEXT |` may pipe"
            stdin, words = " ".join(words[1:at]) + "\n", words[at + 1 :]
        if ">" in words:
            at = words.index(">")
            assert at == len(words) - 2, f"{where}: `> FILE` ends the line"
            stdout, words = words[-1], words[:at]
        commands.append(Command(words, stdin, stdout, where))
    return commands


# --- checking a command without running it ---


def rnnlab_parses(argv: list[str], where: str) -> None:
    """``rnnlab ARGV`` gets past the command's argument parser (argparse exits 2 otherwise)."""
    from rnnlab.cli import build_parser

    try:
        _, extra = build_parser().parse_known_args(argv)
    except SystemExit as exc:
        if exc.code == 0 and "--help" in argv:
            return
        pytest.fail(f"{where}: rnnlab {shlex.join(argv)}: its options are refused")
    assert not extra, f"{where}: rnnlab {shlex.join(argv)}: unknown options {extra}"


class _Parsed(Exception):
    """Raised in place of a benchmark's work, once its arguments are parsed."""


def benchmark_parses(argv: list[str], where: str, monkeypatch) -> None:
    """``python -m MODULE ARGV``: the benchmark module exists and its parser takes ARGV."""
    if str(ROOT) not in sys.path:
        monkeypatch.syspath_prepend(str(ROOT))
    name, args = argv[0], argv[1:]
    assert name.split(".")[0] == "benchmarks", f"{where}: python -m {name}: not a benchmark"
    module = importlib.import_module(name if "." in name else f"{name}.__main__")
    if not inspect.signature(module.main).parameters:
        assert not args, f"{where}: python -m {name} takes no arguments"
        return
    parse = argparse.ArgumentParser.parse_args

    def parse_only(self, args=None, namespace=None):
        try:
            parse(self, args, namespace)
        except SystemExit:
            pytest.fail(f"{where}: python -m {shlex.join(argv)}: its arguments are refused")
        raise _Parsed

    with monkeypatch.context() as patched, pytest.raises(_Parsed):
        patched.setattr(argparse.ArgumentParser, "parse_args", parse_only)
        module.main(args)


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, flags=re.M))


def pip_extras() -> set[str]:
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[project.optional-dependencies]")[1].split("\n[")[0]
    return set(re.findall(r"^([a-z][\w-]*) =", section, flags=re.M))


def check_command(command: Command, monkeypatch) -> None:
    """Check ``command`` without running it."""
    argv, where = command.argv, command.where
    name = argv[0]
    if name in RNNLAB:
        rnnlab_parses(argv[1:], where)
    elif name == "torchrun":
        assert argv[argv.index("-m") + 1] == "rnnlab", f"{where}: torchrun runs -m rnnlab"
        rnnlab_parses(argv[argv.index("-m") + 2 :], where)
    elif name == "python":
        assert argv[1] == "-m", f"{where}: python runs a module (-m)"
        benchmark_parses(argv[2:], where, monkeypatch)
    elif name == "make":
        missing = set(argv[1:]) - make_targets()
        assert not missing, f"{where}: no Makefile target {sorted(missing)}"
    elif name == "pip":
        assert argv[1] == "install", f"{where}: pip install only"
        for spec in argv[2:]:
            extras = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", spec)
            assert extras, f"{where}: pip install . or '.[EXTRAS]', got {spec}"
            missing = set(filter(None, (extras[1] or "").split(","))) - pip_extras()
            assert not missing, f"{where}: no extra {sorted(missing)} in pyproject.toml"
    elif name == "bash":
        assert (ROOT / argv[1]).is_file(), f"{where}: no file {argv[1]}"
    elif name == "source":
        assert argv[1:] == [".venv/bin/activate"], f"{where}: source .venv/bin/activate only"
    else:
        pytest.fail(f"{where}: {name}: a command the documentation tests do not know")


def check_commands(page: Path, monkeypatch) -> None:
    """Every command of every shell block of ``page`` checked, none run."""
    for block in code_blocks(page):
        if block.language in ("sh", "bash"):
            for command in shell_commands(page, block):
                check_command(command, monkeypatch)


# --- running a page ---


def write_stand_ins(folder: Path) -> None:
    """Small files under the names the pages give data: each trains in a few seconds."""
    rng = random.Random(0)

    def reversal(n: int) -> list[list[str]]:
        return [[str(rng.randint(1, 9)) for _ in range(rng.randint(1, 5))] for _ in range(n)]

    for name, n in (("pairs.tsv", 300), ("test.tsv", 50)):
        lines = (f"{' '.join(s)}\t{' '.join(reversed(s))}\n" for s in reversal(n))
        (folder / name).write_text("".join(lines))
    for name, n in (("train.jsonl", 300), ("val.jsonl", 50)):
        rows = (json.dumps({"source": s, "target": s[::-1]}) + "\n" for s in reversal(n))
        (folder / name).write_text("".join(rows))

    words = {
        "DET": ["the", "a", "this"],
        "ADJ": ["big", "small", "red"],
        "NOUN": ["dog", "cat", "bird", "fish"],
        "VERB": ["runs", "sleeps", "eats"],
    }
    feats = {"dog": "Number=Sing", "cat": "Number=Sing", "bird": "Number=Sing"}
    feats |= {"fish": "Number=Plur", "runs": "Mood=Ind", "sleeps": "Mood=Ind"}
    for part, n in (("train", 200), ("dev", 30), ("test", 30)):
        sentences = []
        for i in range(n):
            tags = ["DET", *(["ADJ"] if rng.random() < 0.5 else []), "NOUN", "VERB"]
            tokens = [rng.choice(words[tag]) for tag in tags]
            rows = [f"# sent_id = {part}-{i}\n# text = {' '.join(tokens)}\n"]
            for j, (token, tag) in enumerate(zip(tokens, tags, strict=True), 1):
                feat = feats.get(token, "_")
                rows.append(f"{j}\t{token}\t{token}\t{tag}\t_\t{feat}\t{j - 1}\t_\t_\t_\n")
            sentences.append("".join(rows))
        (folder / f"en_ewt-ud-{part}.conllu").write_text("\n".join(sentences) + "\n")

    for part, n in (("TRAIN", 24), ("TEST", 10)):
        header = (
            "@problemName Vowels\n@timeStamps false\n@missing false\n@univariate false\n"
            "@dimensions 2\n@equalLength true\n@seriesLength 8\n@classLabel true up down\n@data\n"
        )
        rows = []
        for i in range(n):
            label = ("up", "down")[i % 2]
            steps = range(8) if label == "up" else range(8, 0, -1)
            dims = [[t + rng.gauss(0, 0.5) for t in steps] for _ in range(2)]
            rows.append(":".join(",".join(f"{v:.2f}" for v in d) for d in dims) + f":{label}\n")
        (folder / f"JapaneseVowels_{part}.ts").write_text(header + "".join(rows))
    moods = (f"good fine {i % 3}\tup\nbad awful {i % 3}\tdown\n" for i in range(30))
    (folder / "moods.tsv").write_text("".join(moods))

    for name, months in (("sales.csv", 72), ("newer.csv", 84)):
        rows = ["series,time,value\n"]
        for series, level in (("north", 100.0), ("south", 60.0)):
            for t in range(months):
                season = 10 * ((t % 12) in (5, 6, 7)) - 5 * ((t % 12) in (0, 1))
                value = level + 0.5 * t + season + random.Random(t).random()
                rows.append(f"{series},{2010 + t // 12}-{t % 12 + 1:02d},{value:.2f}\n")
        (folder / name).write_text("".join(rows))

    lines = ["ROMEO: the cat sat on the mat.", "JULIET: a dog ran by.", "ROMEO: hello there."]
    for name, n in (("input.txt", 1500), ("other.txt", 200)):
        (folder / name).write_text("".join(rng.choice(lines) + "\n" for _ in range(n)))

    write_speech_stand_ins(folder, rng)
    shutil.copy(ROOT / "tests/fixtures/keras/tutorial_seq2seq.keras", folder / "model.keras")
    (folder / "tests").mkdir()
    (folder / "tests/fixtures").symlink_to(ROOT / "tests/fixtures")


def write_speech_stand_ins(folder: Path, rng: random.Random) -> None:
    """Frames files (``frames.jsonl``, ``frames_test.jsonl``: each letter a burst of its own
    pattern) and an audio manifest (``manifest.jsonl`` and ``wav/``: each letter a tone)."""
    patterns = {c: [rng.gauss(0, 2) for _ in range(4)] for c in "abc"}
    for name, n in (("frames.jsonl", 120), ("frames_test.jsonl", 20)):
        rows = []
        for _ in range(n):
            text = "".join(rng.choice("abc") for _ in range(rng.randint(1, 3)))
            frames = [[rng.gauss(0, 0.2) for _ in range(4)] for _ in range(2)]
            for c in text:
                frames += [[v + rng.gauss(0, 0.2) for v in patterns[c]] for _ in range(6)]
                frames += [[rng.gauss(0, 0.2) for _ in range(4)] for _ in range(3)]
            rows.append(json.dumps({"features": frames, "text": text}) + "\n")
        (folder / name).write_text("".join(rows))
    try:
        import numpy as np
        import soundfile
    except ImportError:  # the speech extra: its examples fail with its own message
        return
    (folder / "wav").mkdir()
    rows, rate = [], 8_000
    for i in range(40):
        text = "".join(rng.choice("abc") for _ in range(rng.randint(1, 3)))
        parts = [np.zeros(400)]
        for c in text:
            t = np.arange(800) / rate
            parts += [0.3 * np.sin(2 * np.pi * {"a": 500, "b": 1200, "c": 2500}[c] * t)]
            parts += [np.zeros(480)]
        soundfile.write(str(folder / "wav" / f"{i}.wav"), np.concatenate(parts), rate)
        rows.append(json.dumps({"audio_filepath": f"wav/{i}.wav", "text": text}) + "\n")
    (folder / "manifest.jsonl").write_text("".join(rows))
    (folder / "wavs.txt").write_text("".join(f"wav/{i}.wav\n" for i in range(5)))


def run_page(page: Path, folder: Path, capsys, monkeypatch) -> str:
    """Run ``page``'s examples in order in ``folder``; returns everything they printed."""
    write_stand_ins(folder)
    monkeypatch.chdir(folder)
    namespace: dict = {"__name__": "__main__"}
    printed = []
    for block in code_blocks(page):
        if block.language == "python":
            code = compile(block.text, f"{page}:{block.line}", "exec")
            exec(code, namespace)
            printed.append(capsys.readouterr().out)
        elif block.language in ("sh", "bash"):
            for command in shell_commands(page, block):
                if command.argv[0] in RNNLAB and not block.long:
                    printed.append(run_rnnlab(command, capsys, monkeypatch))
                else:
                    check_command(command, monkeypatch)
    return "".join(printed)


def run_rnnlab(command: Command, capsys, monkeypatch) -> str:
    with monkeypatch.context() as patched:
        if command.stdin is not None:
            stdin = io.TextIOWrapper(io.BytesIO(command.stdin.encode()), encoding="utf-8")
            patched.setattr(sys, "stdin", stdin)
        code, out, err = run_cli(command.argv[1:], capsys)
    assert code == 0, f"{command.where}: {shlex.join(command.argv)} exited {code}:\n{err[-2000:]}"
    if command.stdout is not None:
        Path(command.stdout).write_text(out)
    return out


# --- links ---


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: dict[str, int] = {}
    for line in prose(page).splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            name = slug(heading[1])
            count = found.get(name, 0)
            found[name] = count + 1
            if count:
                found[f"{name}-{count}"] = 1
    return set(found)


def prose(page: Path) -> str:
    """``page`` without its code blocks."""
    return re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S)


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", prose(page)):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    return broken


# --- the tests of docs/ ---


def test_docs_have_every_page():
    names = {page.name for page in DOCS}
    kinds = ("seq2seq", "tag", "classify", "forecast", "lm", "transcribe")
    kinds = {f"{kind}.md" for kind in kinds}
    assert kinds | {"README.md", "interop.md", "benchmarks.md", "claims.md"} <= names


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_links_resolve(page):
    assert broken_links(page) == []


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_pages_describe_the_software(page):
    assert not ABOUT_WORK.findall(page.read_text())


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_commands_are_accepted(page, monkeypatch):
    check_commands(page, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_examples_run(page, tmp_path, capsys, monkeypatch):
    run_page(page, tmp_path, capsys, monkeypatch)
