"""Transcribed sequences: frames (a feature vector a step) with the text they say, for the
``transcribe`` kind.

Files, one JSON object a line:

- features: ``{"features": [[...], ...], "text": "..."}``, a list of steps, each a list of
  the same number of finite numbers;
- audio manifests, as speech toolkits write them (NeMo's, say):
  ``{"audio_filepath": "a.wav", "text": "...", "duration": 1.2}``, the path relative to the
  manifest (``duration`` is optional and not trusted); the WAV files become frames with an
  ``rnnlab.data.audio.AudioFeatures``.

A file holds one form or the other. ``text`` is required to train and evaluate, ignored to
predict. Errors name the file and line and say what was expected.

``TranscribedData`` holds encoded sequences for training: frames ``(T, F)`` and label ids,
in batches of similar lengths (``batches``), so that little of a batch is padding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rnnlab.data.buckets import length_buckets
from rnnlab.data.files import InputFileError, read_text_file, split_lines
from rnnlab.data.labelled import LabelledFileError, json_kind, json_vectors
from rnnlab.data.pairs import parse_json_line

FORMS = ("features", "audio")
_EXPECTED = (
    'one JSON object a line: {"features": [[...], ...], "text": "..."} or an audio '
    'manifest line {"audio_filepath": "a.wav", "text": "..."}'
)


class TranscriptFileError(InputFileError):
    """A malformed file of transcribed sequences; the message names the file and line."""


@dataclass
class Transcripts:
    """Sequences of frames as read, with their texts (None where a file gave none) and the
    line each came from."""

    path: str  # the file, or the task that made them
    frames: list[np.ndarray]  # each (T, F) float32
    texts: list[str | None]
    lines: list[int]
    form: str = "features"  # or "audio"
    frame_ms: float | None = None  # the frames' hop, where the data say it
    sources: list[str] = field(default_factory=list)  # audio: each line's file

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def features(self) -> int:
        return self.frames[0].shape[1]

    def names(self) -> list[str]:
        """Each sequence's name for messages: ``file:line``."""
        return [f"{self.path}:{n}" for n in self.lines]

    def subset(self, index: Sequence[int]) -> Transcripts:
        pick = lambda xs: [xs[i] for i in index]  # noqa: E731
        sources = pick(self.sources) if self.sources else []
        return Transcripts(
            self.path,
            pick(self.frames),
            pick(self.texts),
            pick(self.lines),
            self.form,
            self.frame_ms,
            sources,
        )


def read_transcripts(path, *, audio=None, texts: str = "required") -> Transcripts:
    """The sequences of a features file or an audio manifest.

    Args:
        path: the file (``.jsonl`` or ``.json``, one object a line).
        audio: the ``AudioFeatures`` that turn a manifest's WAV files into frames (None: the
            defaults).
        texts: ``"required"`` (training, evaluation) or ``"ignore"`` (prediction).
    """
    path = Path(path)
    try:
        text = read_text_file(path)
    except InputFileError as exc:
        raise TranscriptFileError(str(exc)) from None
    frames, said, lines, sources, form = [], [], [], [], None
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        row = parse_json_line(path, number, line, TranscriptFileError)
        here = _form_of(path, number, row)
        if form is not None and here != form:
            raise TranscriptFileError(
                f"{path}:{number}: {here} after lines of {form}; expected one form a file"
            )
        form = here
        said.append(_text_of(path, number, row, texts))
        lines.append(number)
        if form == "features":
            value = row["features"]
            if not isinstance(value, list) or not value or not isinstance(value[0], list):
                what = "an empty list" if value == [] else json_kind(value)
                raise TranscriptFileError(
                    f"{path}:{number}: 'features' is {what}; expected a list of steps, each a "
                    "list of numbers"
                )
            try:
                frames.append(json_vectors(path, number, value))
            except LabelledFileError as exc:
                raise TranscriptFileError(str(exc).replace("vector sequence", "features")) from None
        else:
            sources.append(_audio_path(path, number, row))
    if form is None:
        raise TranscriptFileError(f"{path}: no sequences; expected {_EXPECTED}")
    frame_ms = None
    if form == "audio":
        from rnnlab.data.audio import AudioFeatures

        audio = audio or AudioFeatures()
        frames = [
            audio.frames_of(source, f"{path}:{number}")
            for source, number in zip(sources, lines, strict=True)
        ]
        frame_ms = audio.hop_ms
    else:
        _check_widths(path, frames, lines)
    return Transcripts(str(path), frames, said, lines, form, frame_ms, [str(s) for s in sources])


def _form_of(path: Path, number: int, row) -> str:
    if isinstance(row, dict) and "features" in row:
        return "features"
    if isinstance(row, dict) and "audio_filepath" in row:
        return "audio"
    what = f"{json_kind(row)} without 'features' or 'audio_filepath'"
    raise TranscriptFileError(f"{path}:{number}: {what}; expected {_EXPECTED}")


def _text_of(path: Path, number: int, row: dict, texts: str) -> str | None:
    if texts == "ignore":
        return None
    if "text" not in row:
        raise TranscriptFileError(f"{path}:{number}: no 'text'; expected the transcript")
    value = row["text"]
    if not isinstance(value, str):
        raise TranscriptFileError(
            f"{path}:{number}: 'text' is {json_kind(value)}; expected a string"
        )
    if "\n" in value or "\r" in value or "\t" in value:
        raise TranscriptFileError(
            f"{path}:{number}: 'text' holds a line break or tab; expected one line"
        )
    return value


def _audio_path(path: Path, number: int, row: dict) -> Path:
    value = row["audio_filepath"]
    if not isinstance(value, str) or not value:
        raise TranscriptFileError(
            f"{path}:{number}: 'audio_filepath' is {json_kind(value)}; expected a WAV file's path"
        )
    audio = Path(value)
    if not audio.is_absolute():
        audio = path.parent / audio
    if not audio.is_file():
        raise TranscriptFileError(f"{path}:{number}: {audio}: no such file; expected a WAV file")
    return audio


def _check_widths(path: Path, frames: list[np.ndarray], lines: list[int]) -> None:
    width = frames[0].shape[1]
    for x, number in zip(frames, lines, strict=True):
        if x.shape[1] != width:
            raise TranscriptFileError(
                f"{path}:{number}: {x.shape[1]} features a step, line {lines[0]} has {width}; "
                "expected the same number on every line"
            )


# ---- encoded, for training --------------------------------------------------------------


@dataclass
class FramesBatch:
    inputs: torch.Tensor  # (N, T, F) float
    mask: torch.Tensor  # (N, T) bool
    targets: torch.Tensor  # (N, S) label ids, 0 past each length
    target_lengths: torch.Tensor  # (N,)
    index: torch.Tensor  # (N,) the rows' positions in the data set

    def __len__(self) -> int:
        return self.inputs.shape[0]


class TranscribedData:
    """Frames ``(T, F)`` float32 arrays with label-id lists (empty lists where unknown)."""

    def __init__(self, frames: Sequence[np.ndarray], targets: Sequence[Sequence[int]]) -> None:
        self.frames, self.targets = list(frames), [list(t) for t in targets]
        self.lengths = np.array([len(x) for x in self.frames])

    def __len__(self) -> int:
        return len(self.frames)

    def batch(self, index: Sequence[int]) -> FramesBatch:
        index = list(index)
        t = max(int(self.lengths[i]) for i in index)
        s = max(1, max(len(self.targets[i]) for i in index))
        n, f = len(index), self.frames[index[0]].shape[1]
        inputs = torch.zeros(n, t, f)
        mask = torch.zeros(n, t, dtype=torch.bool)
        targets = torch.zeros(n, s, dtype=torch.long)
        for k, i in enumerate(index):
            x, y = self.frames[i], self.targets[i]
            inputs[k, : len(x)] = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
            mask[k, : len(x)] = True
            targets[k, : len(y)] = torch.tensor(y, dtype=torch.long)
        lengths = torch.tensor([len(self.targets[i]) for i in index], dtype=torch.long)
        return FramesBatch(inputs, mask, targets, lengths, torch.tensor(index))

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[FramesBatch]:
        """Mini-batches: shuffled (once per epoch, with ``generator``), of sequences of
        similar lengths (``length_buckets``); in order otherwise."""
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1, got {batch_size}.")
        if not shuffle:
            for start in range(0, len(self), batch_size):
                yield self.batch(range(start, min(len(self), start + batch_size)))
            return
        for index in length_buckets(self.lengths, batch_size, generator):
            yield self.batch(index)
