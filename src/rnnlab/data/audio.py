"""Audio to frames: a WAV file read, made mono, resampled to 16 kHz, and cut into log-mel
filterbank energies or MFCCs, as speech recognisers read it.

``AudioFeatures`` holds every setting (kind, sample rate, window, hop, mel bands, cepstra); a
run folder saves it, so that ``predict`` makes exactly the frames training read. The maths is
numpy's (a Hann-windowed short-time Fourier transform, a triangular mel filterbank on the
HTK mel scale, the log, and for MFCCs an orthonormal DCT-II), checked against a reference in
the tests. Reading and resampling are the ``speech`` extra's (``pip install
'rnnlab[speech]'``): soundfile (libsndfile) reads WAV in every sample format, soxr resamples;
they are imported only here, only when audio is read.

Errors name the file (and the manifest line that named it) and what was expected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rnnlab.data.files import InputFileError

KINDS = ("logmel", "mfcc")
SAMPLE_RATE = 16_000
LONGEST_SECONDS = 600.0  # a longer file is refused by name rather than read whole


class AudioFileError(InputFileError):
    """An audio file that cannot be read as speech; the message names it."""


@dataclass(frozen=True)
class AudioFeatures:
    """How audio becomes frames.

    Example::

        >>> a = AudioFeatures(kind="mfcc")
        >>> a.frames(np.zeros(16_000, dtype=np.float32)).shape  # one second
        (98, 13)
    """

    kind: str = "logmel"  # or "mfcc"
    sample_rate: int = SAMPLE_RATE
    window_ms: float = 25.0
    hop_ms: float = 10.0
    mels: int = 40
    cepstra: int = 13  # MFCCs kept (mfcc)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}, got {self.kind!r}.")
        if not 0 < self.hop_ms <= self.window_ms:
            raise ValueError("expected 0 < `hop_ms` <= `window_ms`.")
        if self.mels < 2 or not 1 <= self.cepstra <= self.mels:
            raise ValueError("expected `mels` >= 2 and 1 <= `cepstra` <= `mels`.")

    @property
    def features(self) -> int:
        return self.cepstra if self.kind == "mfcc" else self.mels

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict) -> AudioFeatures:
        return cls(**saved)

    def frames(self, samples: np.ndarray) -> np.ndarray:
        """``(T, F)`` float32 frames of mono samples at ``sample_rate`` (values in [-1, 1]):
        one every ``hop_ms``, each of a window of ``window_ms`` (a signal shorter than a
        window is padded with zeros to one)."""
        window = round(self.sample_rate * self.window_ms / 1000)
        hop = round(self.sample_rate * self.hop_ms / 1000)
        size = 1 << (window - 1).bit_length()  # the FFT's length: a power of two
        x = np.asarray(samples, dtype=np.float64)
        if len(x) < window:
            x = np.pad(x, (0, window - len(x)))
        count = 1 + (len(x) - window) // hop
        index = np.arange(window)[None, :] + hop * np.arange(count)[:, None]
        spectrum = np.fft.rfft(x[index] * np.hanning(window + 2)[1:-1], n=size)
        power = spectrum.real**2 + spectrum.imag**2  # (T, size / 2 + 1)
        energies = power @ mel_filterbank(self.mels, size, self.sample_rate).T  # (T, M)
        logmel = np.log(energies + 1e-10)
        if self.kind == "mfcc":
            return (logmel @ dct_matrix(self.mels, self.cepstra).T).astype(np.float32)
        return logmel.astype(np.float32)

    def frames_of(self, path, where: str | None = None) -> np.ndarray:
        """The frames of a WAV file (``where``: the manifest line that named it)."""
        return self.frames(read_wav(path, self.sample_rate, where))


def mel(hz):
    """The HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_filterbank(bands: int, size: int, sample_rate: int) -> np.ndarray:
    """``(bands, size // 2 + 1)`` triangular filters, equally spaced on the mel scale from
    0 Hz to half the sample rate, each peaking at 1."""
    edges_mel = np.linspace(0.0, mel(sample_rate / 2), bands + 2)
    edges = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)  # Hz
    hz = np.linspace(0.0, sample_rate / 2, size // 2 + 1)
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (hz[None, :] - low) / (centre - low)
    falling = (high - hz[None, :]) / (high - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def dct_matrix(inputs: int, outputs: int) -> np.ndarray:
    """The first ``outputs`` rows of the orthonormal DCT-II of ``inputs`` values."""
    n = np.arange(inputs)
    k = np.arange(outputs)[:, None]
    matrix = np.cos(np.pi * k * (2 * n[None, :] + 1) / (2 * inputs)) * np.sqrt(2.0 / inputs)
    matrix[0] /= np.sqrt(2.0)
    return matrix


def read_wav(path, sample_rate: int = SAMPLE_RATE, where: str | None = None) -> np.ndarray:
    """A WAV file's samples as float32 in [-1, 1], mono (the channels' mean) and resampled to
    ``sample_rate``. Any sample format libsndfile reads (8-bit unsigned, 16, 24 or 32-bit
    integers, 32 or 64-bit floats)."""
    path = Path(path)
    name = f"{where}: {path}" if where else str(path)
    soundfile, soxr = _speech_libraries()
    try:
        info = soundfile.info(str(path))
    except FileNotFoundError:
        raise AudioFileError(f"{name}: no such file; expected a WAV file") from None
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        reason = str(exc).split(":")[-1].strip() or "unreadable"
        raise AudioFileError(
            f"{name}: not audio libsndfile reads ({reason}); expected WAV"
        ) from None
    if info.frames == 0:
        raise AudioFileError(f"{name}: no samples; expected speech")
    if info.frames / info.samplerate > LONGEST_SECONDS:
        raise AudioFileError(
            f"{name}: {info.frames / info.samplerate:,.0f} s of audio; expected at most "
            f"{LONGEST_SECONDS:,.0f} s a file (cut long recordings into utterances)"
        )
    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    if not np.isfinite(mono).all():
        raise AudioFileError(f"{name}: NaN or infinite samples; expected finite audio")
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate).astype(np.float32)
    return mono


def _speech_libraries():
    try:
        import soundfile
        import soxr
    except ImportError:
        raise AudioFileError(
            "reading audio needs the speech extra: pip install 'rnnlab[speech]' (soundfile, soxr)"
        ) from None
    return soundfile, soxr
