"""``rnnlab.interop.load_keras``: models built and saved by Keras 3 (the committed fixtures of
``tests/fixtures/keras/make.py``) give Keras's outputs; bad files are one-line errors."""

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from commands import run_cli

pytest.importorskip("h5py")


from rnnlab.interop import KerasImportError, load_keras

FIXTURES = Path(__file__).parent / "fixtures" / "keras"
MODELS = sorted(p.stem for p in FIXTURES.glob("*.keras") if p.stem != "unsupported")
PARAMETERS = {"tutorial_lstm": 16_961, "tutorial_bilstm": 33_921, "tutorial_seq2seq": 49_985}


@pytest.mark.parametrize("name", MODELS)
def test_outputs_equal_keras(name):
    model = load_keras(FIXTURES / f"{name}.keras")
    saved = np.load(FIXTURES / f"{name}.npz", allow_pickle=False)
    with torch.no_grad():
        outputs = model(torch.from_numpy(saved["x"]))
    outputs = outputs if isinstance(outputs, list) else [outputs]
    expected = [saved[f"y{i}"] for i in range(len(saved.files) - 1)]
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected, strict=True):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    if name in PARAMETERS:
        assert model.parameter_count == PARAMETERS[name]


def test_an_unsupported_layer_is_named():
    with pytest.raises(KerasImportError, match=r"layer 'conv1d' \(Conv1D\) is not supported"):
        load_keras(FIXTURES / "unsupported.keras")


def test_bad_archives_are_one_line_errors(tmp_path):
    not_zip = tmp_path / "a.keras"
    not_zip.write_text("hello")
    with pytest.raises(KerasImportError, match="not a zip archive"):
        load_keras(not_zip)
    no_config = tmp_path / "b.keras"
    with zipfile.ZipFile(no_config, "w") as z:
        z.writestr("model.weights.h5", b"")
    with pytest.raises(KerasImportError, match=r"no config\.json in the archive"):
        load_keras(no_config)
    truncated = tmp_path / "c.keras"
    with (
        zipfile.ZipFile(FIXTURES / "simple_rnn.keras") as source,
        zipfile.ZipFile(truncated, "w") as z,
    ):
        z.writestr("config.json", source.read("config.json"))
        z.writestr("model.weights.h5", source.read("model.weights.h5")[:500])
    with pytest.raises(KerasImportError, match="not a readable HDF5"):
        load_keras(truncated)


def test_a_weight_of_the_wrong_shape_is_refused(tmp_path):
    import h5py

    path = tmp_path / "wrong.keras"
    with zipfile.ZipFile(FIXTURES / "simple_rnn.keras") as source:
        weights = tmp_path / "w.h5"
        weights.write_bytes(source.read("model.weights.h5"))
        with h5py.File(weights, "a") as h5:
            del h5["layers/dense/vars/0"]
            h5["layers/dense/vars/0"] = np.zeros((5, 3), np.float32)
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("config.json", source.read("config.json"))
            z.writestr("model.weights.h5", weights.read_bytes())
    with pytest.raises(
        KerasImportError, match=r"kernel: a weight of shape \(5, 3\); expected \(4, 3\)"
    ):
        load_keras(path)


def test_import_keras_writes_a_run_folder_that_predicts(tmp_path, capsys):
    import json

    import rnnlab

    out = tmp_path / "run"
    source = FIXTURES / "tutorial_seq2seq.keras"
    code, printed, err = run_cli(["import-keras", str(source), "--out", str(out)], capsys)
    assert code == 0, err
    assert "Total params: 49,985" in printed and "lstm_3 (LSTM)" in printed
    assert json.loads((out / "config.json").read_text())["kind"] == "keras"
    saved = np.load(FIXTURES / "tutorial_seq2seq.npz", allow_pickle=False)
    run = rnnlab.load(out)
    (first,) = run.predict(saved["x"][:1])
    np.testing.assert_allclose(first, saved["y0"][0], rtol=1e-5, atol=1e-5)
    line = " ".join(f"{v:.9g}" for v in saved["x"][0, :, 0])
    lines = tmp_path / "in.txt"
    lines.write_text(line + "\n")
    code, printed, err = run_cli(["predict", str(out), "--input", str(lines)], capsys)
    assert code == 0, err
    values = [float(v) for v in printed.split()]
    np.testing.assert_allclose(values, saved["y0"][0, :, 0], rtol=1e-4, atol=1e-4)
    code, _, err = run_cli(["evaluate", str(out), "--data", str(lines)], capsys)
    assert code == 2 and "no measures of its own" in err


@pytest.mark.parametrize(
    ("name", "expected"),
    [("unsupported", "(Conv1D) is not supported"), ("not_a_zip", "not a zip archive")],
)
def test_import_keras_refuses_in_one_line(tmp_path, capsys, name, expected):
    source = FIXTURES / f"{name}.keras"
    if not source.exists():
        source = tmp_path / f"{name}.keras"
        source.write_text("not a zip")
    out = tmp_path / "run"
    code, _, err = run_cli(["import-keras", str(source), "--out", str(out)], capsys)
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_train_does_not_offer_the_keras_kind(capsys):
    code, _, err = run_cli(["train", "--kind", "keras", "--task", "reverse"], capsys)
    assert code == 2 and "invalid choice: 'keras'" in err


def _edited(tmp_path, name: str, edit) -> Path:
    """A copy of fixture ``name`` whose config.json ``edit(config)`` changed."""
    import json

    path = tmp_path / f"{name}-edited.keras"
    with zipfile.ZipFile(FIXTURES / f"{name}.keras") as source, zipfile.ZipFile(path, "w") as z:
        config = json.loads(source.read("config.json"))
        edit(config)
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", source.read("model.weights.h5"))
    return path


def test_config_edge_cases(tmp_path):
    def drop_input(config):
        del config["config"]["layers"][0]

    with pytest.raises(KerasImportError, match="a Sequential model saved without its Input"):
        load_keras(_edited(tmp_path, "gru_reset_after", drop_input))

    def hard_sigmoid(config):
        config["config"]["layers"][1]["config"]["recurrent_activation"] = "hard_sigmoid"

    model = load_keras(_edited(tmp_path, "gru_reset_after", hard_sigmoid))  # rnnlab has it
    assert model.parameter_count == 162

    def softmax(config):
        config["config"]["layers"][1]["config"]["activation"] = "softmax"

    with pytest.raises(KerasImportError, match="activation 'softmax'; expected one of"):
        load_keras(_edited(tmp_path, "gru_reset_after", softmax))
