"""``rnnlab export --format onnx`` and ``rnnlab.interop.onnx.OnnxPredictor``: exported runs of
every kind give what the runs give, with onnxruntime and numpy alone."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from commands import run_cli

pytest.importorskip("onnxruntime")
pytest.importorskip("statsmodels")


import rnnlab
from rnnlab.cli import main
from rnnlab.data.series import Series
from rnnlab.interop.onnx import OnnxPredictor


def cycles(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 50 + 20 * np.sin(2 * np.pi * t / 10.5) + rng.normal(0, 1, n)


@pytest.fixture(scope="module")
def forecast_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    data = folder / "s.csv"
    values = {"a": cycles(150), "b": cycles(120, 1)}
    rows = ["year,a,b"] + [
        f"{1800 + i},{values['a'][i]:.4f},{values['b'][i]:.4f}"
        if i < 120
        else f"{1800 + i},{values['a'][i]:.4f},"
        for i in range(150)
    ]
    data.write_text("\n".join(rows) + "\n")
    args = ["train", "--data", str(data), "--horizon", "6", "--units", "8", "--epochs", "3"]
    assert (
        main([*args, "--ensemble", "2", "--lags", "5", "--quiet", "--out", str(folder / "r")]) == 0
    )
    assert main(["export", str(folder / "r"), "--out", str(folder / "x")]) == 0
    return folder / "r", folder / "x"


def test_forecasts_equal_the_runs(forecast_export):
    run_dir, exported = forecast_export
    run, predictor = rnnlab.load(run_dir), OnnxPredictor(exported)
    series = [("a", cycles(150)), ("b", cycles(120, 1)), (None, cycles(40, 2) * 3)]
    ours = predictor.forecast(series)
    theirs = run.forecast([Series(name or "", values) for name, values in series])
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
    assert json.loads((exported / "rnnlab_onnx.json").read_text())["kind"] == "forecast"


@pytest.mark.parametrize("batch", [1, 7])
def test_the_graph_takes_any_batch(forecast_export, batch):
    import onnxruntime as ort

    from rnnlab.interop.onnx_export import _Forecast

    run_dir, exported = forecast_export
    run = rnnlab.load(run_dir)
    session = ort.InferenceSession(str(exported / "model.onnx"))
    window = torch.randn(batch, run.lookback, run.model.config.inputs)
    (got,) = session.run(None, {"window": window.numpy()})
    with torch.no_grad():
        want = _Forecast(run.model)(window).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_a_language_model_continues_prompts_as_the_run_does(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("the cat sat on the mat.\nthe dog ran to the tree.\n" * 60)
    small = ["--units", "24", "--embedding-dim", "8", "--layers", "2", "--bptt", "16"]
    args = ["train", "--kind", "lm", "--data", str(text), *small, "--batch-size", "8"]
    assert (
        run_cli([*args, "--epochs", "3", "--quiet", "--out", str(tmp_path / "lm")], capsys)[0] == 0
    )
    code, _, err = run_cli(["export", str(tmp_path / "lm"), "--out", str(tmp_path / "x")], capsys)
    assert code == 0, err
    predictor = OnnxPredictor(tmp_path / "x")
    prompts = ["the ", "the dog"]
    assert predictor.predict(prompts, length=40) == rnnlab.load(tmp_path / "lm").predict(
        prompts, length=40
    )


def test_a_word_level_language_model_continues_prompts_as_the_run_does(tmp_path, capsys):
    text = tmp_path / "w.txt"
    text.write_text("the cat sat on the mat\nthe dog ran to the tree\n" * 100)
    small = ["--units", "16", "--embedding-dim", "8", "--layers", "1", "--bptt", "8"]
    args = ["train", "--kind", "lm", "--data", str(text), "--tokens", "space", *small]
    assert (
        run_cli([*args, "--epochs", "2", "--quiet", "--out", str(tmp_path / "lm")], capsys)[0] == 0
    )
    assert run_cli(["export", str(tmp_path / "lm"), "--out", str(tmp_path / "x")], capsys)[0] == 0
    prompts = ["the cat", "the dog ran\n", ""]
    ours = OnnxPredictor(tmp_path / "x").predict(prompts, length=12)
    assert ours == rnnlab.load(tmp_path / "lm").predict(prompts, length=12)


def test_a_forecaster_with_covariates_reads_them_as_the_run_does(tmp_path, capsys):
    from rnnlab.data.series import read_series_csv

    values = cycles(84)
    rows = ["series,time,value,promo"]
    rows += [f"s,{t},{values[t]:.3f},{t % 2}" for t in range(80)]
    rows += [f"s,{t},,{t % 2}" for t in range(80, 84)]
    data = tmp_path / "c.csv"
    data.write_text("\n".join(rows) + "\n")
    args = ["train", "--data", str(data), "--horizon", "4", "--units", "4", "--epochs", "2"]
    assert run_cli([*args, "--quiet", "--out", str(tmp_path / "f")], capsys)[0] == 0
    assert run_cli(["export", str(tmp_path / "f"), "--out", str(tmp_path / "x")], capsys)[0] == 0
    (series,) = read_series_csv(data).series
    (theirs,) = rnnlab.load(tmp_path / "f").forecast([series])
    predictor = OnnxPredictor(tmp_path / "x")
    (ours,) = predictor.forecast([("s", series.values, series.covariates)])
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="the model reads covariates promo"):
        predictor.forecast([series.values])


def test_a_padded_forecaster_reads_short_series_as_the_run_does(tmp_path, capsys):
    values = {"a": cycles(90) - 50, "b": cycles(60, 1) - 50, "short": np.array([3.0, -1, 2, 5])}
    rows = ["series,time,value"]
    rows += [f"{name},{t},{v:.4f}" for name, vs in values.items() for t, v in enumerate(vs)]
    data = tmp_path / "p.csv"
    data.write_text("\n".join(rows) + "\n")
    args = ["train", "--data", str(data), "--horizon", "4", "--units", "4", "--epochs", "2"]
    assert run_cli([*args, "--lags", "2", "--quiet", "--out", str(tmp_path / "f")], capsys)[0] == 0
    run = rnnlab.load(tmp_path / "f")
    assert run.state["padded"]
    assert run_cli(["export", str(tmp_path / "f"), "--out", str(tmp_path / "x")], capsys)[0] == 0
    predictor = OnnxPredictor(tmp_path / "x")
    for name in ("short", "b"):
        (theirs,) = run.forecast([Series(name, values[name])])
        (ours,) = predictor.forecast([(name, values[name])])
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="expected at least 2"):
        predictor.forecast([np.array([1.0])])


def test_an_unfinished_run_is_refused(tmp_path, capsys):
    out = tmp_path / "x"
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.json").write_text("{}")
    code, _, err = run_cli(["export", str(unfinished), "--out", str(out)], capsys)
    assert code == 2 and "unfinished run folder" in err and not out.exists()


def test_the_runner_needs_no_torch():
    code = "import sys, rnnlab.interop.onnx; assert 'torch' not in sys.modules, 'torch imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("form", ["tokens", "features"])
def test_classifier_padded_batches_give_each_sequence_its_own_result(tmp_path, capsys, form):
    rng = np.random.default_rng(0)
    data = tmp_path / ("c.tsv" if form == "tokens" else "c.jsonl")
    if form == "tokens":
        words = ["a", "b", "c", "d", "e"]
        lines = []
        for _ in range(60):
            seq = rng.choice(words, size=rng.integers(2, 9))
            lines.append(" ".join(seq) + ("\tx" if "a" in seq else "\ty"))
        data.write_text("\n".join(lines) + "\n")
        inputs = [list(rng.choice(words, size=n)) for n in (1, 3, 12, 5, 2, 7, 20)] + [["zz"]]
    else:
        rows = []
        for i in range(60):
            seq = rng.normal(size=(rng.integers(2, 9), 3))
            rows.append(json.dumps({"sequence": seq.tolist(), "label": str(i % 2)}))
        data.write_text("\n".join(rows) + "\n")
        inputs = [rng.normal(size=(n, 3)) for n in (1, 3, 12, 5, 2, 7, 20)]
    args = ["train", "--kind", "classify", "--data", str(data), "--units", "6", "--epochs", "2"]
    assert (
        run_cli([*args, "--ensemble", "2", "--quiet", "--out", str(tmp_path / "r")], capsys)[0] == 0
    )
    assert run_cli(["export", str(tmp_path / "r"), "--out", str(tmp_path / "x")], capsys)[0] == 0
    run, predictor = rnnlab.load(tmp_path / "r"), OnnxPredictor(tmp_path / "x")
    expected = np.asarray(run.probabilities(inputs))
    for batch_size in (1, 7):
        got = predictor.probabilities(inputs, batch_size=batch_size)
        np.testing.assert_allclose(got, expected, atol=1e-4)
    assert predictor.predict(inputs) == run.predict(inputs)


@pytest.mark.parametrize(("attention", "beam"), [("bahdanau", "1"), ("none", "1"), ("dot", "3")])
def test_an_encoder_decoder_translates_as_the_run_does(tmp_path, capsys, attention, beam):
    small = ["--units", "16", "--embedding-dim", "8", "--epochs", "3", "--samples", "300"]
    args = ["train", "--task", "reverse", *small, "--attention", attention, "--quiet"]
    args += ["--beam-width", beam]
    assert run_cli([*args, "--out", str(tmp_path / "r")], capsys)[0] == 0
    assert run_cli(["export", str(tmp_path / "r"), "--out", str(tmp_path / "x")], capsys)[0] == 0
    run, predictor = rnnlab.load(tmp_path / "r"), OnnxPredictor(tmp_path / "x")
    rng = np.random.default_rng(0)
    sources = [[str(d) for d in rng.integers(1, 10, size=n)] for n in (1, 3, 9, 5, 2, 7, 4)]
    assert predictor.predict(sources) == run.predict(sources)  # a batch of 7
    assert predictor.predict(sources[2:3]) == run.predict(sources[2:3])  # of 1
    lines = [" ".join(source) for source in sources]  # read as the command line reads
    assert predictor.predict(lines) == run.predict(sources)


def test_a_run_folder_written_before_kinds_exports(tmp_path, capsys):
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "seq2seq_run_v1"
    assert run_cli(["export", str(fixture), "--out", str(tmp_path / "x")], capsys)[0] == 0
    sources = [["3", "7", "2"], ["1"], ["9", "8", "7", "6", "5"]]
    assert OnnxPredictor(tmp_path / "x").predict(sources) == rnnlab.load(fixture).predict(sources)


@pytest.mark.parametrize("options", [[], ["--crf", "--char-encoder", "cnn"]])
def test_a_tagger_tags_as_the_run_does(tmp_path, capsys, options):
    small = ["--samples", "300", "--epochs", "2", "--units", "8", "--embedding-dim", "8"]
    args = ["train", "--task", "neighbours", *small, "--char-features", "8", *options]
    assert run_cli([*args, "--quiet", "--out", str(tmp_path / "r")], capsys)[0] == 0
    assert run_cli(["export", str(tmp_path / "r"), "--out", str(tmp_path / "x")], capsys)[0] == 0
    run, predictor = rnnlab.load(tmp_path / "r"), OnnxPredictor(tmp_path / "x")
    sentences = [
        ["a", "b", "next", "c"],
        ["d"],
        ["prev", "a", "unseen-Word", "B", "c", "d", "a", "next", "b"],
        ["c", "c"],
    ]
    assert predictor.predict(sentences) == run.predict(sentences)
    assert predictor.tag(sentences, batch_size=1) == run.predict(sentences)
    lines = [" ".join(sentence) for sentence in sentences]  # read as the command line reads
    assert predictor.predict(lines) == run.predict(lines) == run.predict(sentences)


def test_tagger_scores_and_encoder_outputs_are_within_1e_4(tmp_path, capsys):
    import onnxruntime as ort

    small = ["--samples", "200", "--epochs", "1", "--units", "8", "--embedding-dim", "8"]
    assert run_cli(["train", "--task", "neighbours", *small, "--quiet", "--out",
                    str(tmp_path / "t")], capsys)[0] == 0  # fmt: skip
    assert run_cli(["export", str(tmp_path / "t"), "--out", str(tmp_path / "tx")], capsys)[0] == 0
    run = rnnlab.load(tmp_path / "t")
    rng = np.random.default_rng(0)
    sentences = [list(rng.choice(["a", "b", "c", "next", "prev"], size=n)) for n in (1, 4, 9)]
    sentences += [["a"] * 12, ["b", "c"], ["next"] * 3, ["c"] * 6]  # a batch of 7
    batch = next(run.encode(sentences).batches(7))
    session = ort.InferenceSession(str(tmp_path / "tx" / "model.onnx"))
    feed = {
        "words": batch.words,
        "chars": batch.chars,
        "mask": batch.mask,
        "affixes": batch.affixes,
    }
    names = {i.name for i in session.get_inputs()}
    (scores,) = session.run(None, {k: v.numpy() for k, v in feed.items() if k in names})
    with torch.no_grad():
        expected = run.model(batch.words, batch.chars, batch.mask, batch.affixes).numpy()
    real = batch.mask.numpy()
    np.testing.assert_allclose(scores[real], expected[real], atol=1e-4)

    small = ["--units", "16", "--embedding-dim", "8", "--epochs", "1", "--samples", "200"]
    assert run_cli(["train", "--task", "reverse", *small, "--quiet", "--out",
                    str(tmp_path / "s")], capsys)[0] == 0  # fmt: skip
    assert run_cli(["export", str(tmp_path / "s"), "--out", str(tmp_path / "sx")], capsys)[0] == 0
    s2s = rnnlab.load(tmp_path / "s")
    sources = [[str(d) for d in rng.integers(1, 10, size=n)] for n in (1, 3, 9, 5, 2, 7, 4)]
    ids = s2s.encode_sources(sources)[:, :9]
    encoder = ort.InferenceSession(str(tmp_path / "sx" / "encoder.onnx"))
    got = encoder.run(None, {"source": ids.numpy()})
    with torch.no_grad():
        memory, (states, _) = s2s.model.encode(ids)
    mask = (ids != 0).numpy()
    np.testing.assert_allclose(got[0][mask], memory.outputs.numpy()[mask], atol=1e-4)
    first_state = 2 if s2s.model.config.attention else 1  # after the outputs (and keys)
    np.testing.assert_allclose(got[first_state], states[0][0].numpy(), atol=1e-4)


def test_a_graph_unrolled_at_its_example_length_is_refused(tmp_path):
    from rnnlab.interop.onnx_export import _export, check_other_lengths
    from rnnlab.layers import LSTM

    layer = LSTM(
        4, input_size=2, activation="relu", return_sequences=True
    ).eval()  # no fused kernel
    path = tmp_path / "relu.onnx"
    _export(layer, (torch.randn(2, 5, 2),), path, ["x"], ["y"], {"x": {0: "b", 1: "t"}})
    check_other_lengths(layer, path, ["x"], (torch.randn(3, 5, 2),))  # the example's length
    with pytest.raises(ValueError, match="does not take another length than the example's"):
        check_other_lengths(layer, path, ["x"], (torch.randn(3, 8, 2),))


def test_small_vocabularies_and_bad_inputs(forecast_export, tmp_path, capsys):
    data = tmp_path / "binary.tsv"
    data.write_text("".join("0 1 1\tpos\n1 0\tneg\n" for _ in range(20)))  # 2 tokens
    args = ["train", "--kind", "classify", "--data", str(data), "--units", "4", "--epochs", "1"]
    assert (
        run_cli([*args, "--ensemble", "1", "--quiet", "--out", str(tmp_path / "r")], capsys)[0] == 0
    )
    assert run_cli(["export", str(tmp_path / "r"), "--out", str(tmp_path / "x")], capsys)[0] == 0
    predictor = OnnxPredictor(tmp_path / "x")
    assert predictor.predict([["0", "1", "1"]]) == rnnlab.load(tmp_path / "r").predict(
        [["0", "1", "1"]]
    )
    with pytest.raises(ValueError, match="expected sequences of at least one step"):
        predictor.probabilities([[]])
    _, exported = forecast_export
    forecaster = OnnxPredictor(exported)
    as_tuple = forecaster.predict([tuple(cycles(150))])  # a tuple of numbers is a series
    np.testing.assert_allclose(as_tuple[0], forecaster.predict([cycles(150)])[0])
    with pytest.raises(ValueError, match=r"no rnnlab_onnx\.json"):
        OnnxPredictor(tmp_path)
