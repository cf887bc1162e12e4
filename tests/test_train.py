"""rnnlab train / predict / evaluate: run folders, resuming, bad input."""

import io
import itertools
import json
import sys

import pytest
import torch
from matplotlib import image

from rnnlab.cli import main
from rnnlab.kinds.runs import load as load_run
from rnnlab.kinds.runs import train
from rnnlab.kinds.seq2seq import Seq2SeqConfig as TrainConfig
from rnnlab.training.run_folder import RunFolderError

TINY = ["--samples", "120", "--units", "16", "--embedding-dim", "8", "--epochs", "2"]


@pytest.fixture
def run_dir(tiny_reverse_run):
    return tiny_reverse_run  # trained once for the session (conftest.py)


def test_run_folder_contents(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "history.csv",
        "metrics.json",
        "learning_curves.png",
    } <= names
    assert "checkpoint" not in names and "resume.json" not in names
    config = json.loads((run_dir / "config.json").read_text())
    assert config["train"]["task"] == "reverse" and config["source_vocab"][:4] == [
        "<pad>",
        "<s>",
        "</s>",
        "<unk>",
    ]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["val_exact_match"] <= 1.0 and metrics["epochs"] == 2
    assert len((run_dir / "history.csv").read_text().splitlines()) == 3
    assert image.imread(run_dir / "learning_curves.png").ndim == 3
    assert not any(p.suffix == ".pickle" or p.suffix == ".pt" for p in run_dir.iterdir())


def test_predict_from_file_and_stdin(run_dir, tmp_path, capsys, monkeypatch):
    sources = tmp_path / "sources.txt"
    sources.write_text("3 7 2\n9\n1 2 3 4 5\n")
    assert main(["predict", str(run_dir), "--input", str(sources)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(set(line.split()) <= set("123456789") for line in lines if line)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"3 7 2\n9\n1 2 3 4 5\n")))
    assert main(["predict", str(run_dir)]) == 0
    assert capsys.readouterr().out.splitlines() == lines


def test_predict_matches_the_api(run_dir):
    trained = load_run(run_dir)
    batch = trained.predict([["3", "7", "2"], ["9"], ["1", "2"]])
    alone = [trained.predict([s])[0] for s in (["3", "7", "2"], ["9"], ["1", "2"])]
    assert batch == alone


def test_plot_attention(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"3 7 2\n")))
    png = tmp_path / "attention.png"
    assert main(["predict", str(run_dir), "--plot-attention", str(png)]) == 0
    assert image.imread(png).ndim == 3


def test_evaluate(run_dir, tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("3 7 2\t2 7 3\n9 1\t1 9\n")
    assert main(["evaluate", str(run_dir), "--data", str(pairs), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["pairs"] == 2 and set(metrics) >= {
        "exact_match",
        "token_accuracy",
        "token_error_rate",
        "loss",
    }


def _error(args, capsys):
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_bad_input_gets_one_line(run_dir, tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.tsv"
    bad.write_text("3 7\t7 3\n3 7 2\n")
    assert "bad.tsv:2: no tab" in _error(["evaluate", str(run_dir), "--data", str(bad)], capsys)
    unknown = tmp_path / "unknown.txt"
    unknown.write_text("3 7\n3 x 2\n")
    err = _error(["predict", str(run_dir), "--input", str(unknown)], capsys)
    assert "unknown.txt:2: unknown source token 'x' (position 2)" in err
    assert main(["predict", str(run_dir), "--input", str(unknown), "--unknown", "map"]) == 0
    latin = tmp_path / "latin.txt"
    latin.write_bytes("3 7\né\n".encode("latin-1"))
    assert "latin.txt:2: not UTF-8" in _error(
        ["predict", str(run_dir), "--input", str(latin)], capsys
    )
    assert "no such run folder" in _error(["predict", str(tmp_path / "nope")], capsys)
    out = tmp_path / "never.png"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"3 x\n")))
    _error(["predict", str(run_dir), "--plot-attention", str(out)], capsys)
    assert not out.exists()


def test_tampered_and_unfinished_runs(run_dir, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    weights = bytearray((copy / "model.safetensors").read_bytes())
    weights[-1] ^= 0xFF
    (copy / "model.safetensors").write_bytes(bytes(weights))
    assert "does not match the hash" in _error(["predict", str(copy)], capsys)
    (copy / "metrics.json").unlink()
    assert "unfinished run folder" in _error(["predict", str(copy)], capsys)
    with pytest.raises(RunFolderError, match="unfinished"):
        load_run(copy)


def test_train_errors(tmp_path, capsys):
    assert "give --task NAME, --data FILE or --resume RUN_DIR" in _error_exit(["train"], capsys)
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n")
    assert "empty.tsv: no pairs" in _error(
        ["train", "--data", str(empty), "--out", str(tmp_path / "o")], capsys
    )
    assert not (tmp_path / "o").exists()


def _error_exit(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    return capsys.readouterr().err


def test_train_refuses_a_finished_run_folder(run_dir, capsys):
    err = _error(["train", "--task", "reverse", *TINY, "--out", str(run_dir)], capsys)
    assert "already holds a finished run" in err


def test_resume_gives_the_same_result_as_an_uninterrupted_run(tmp_path):
    config = TrainConfig(
        task="reverse", samples=120, units=16, embedding_dim=8, epochs=4, patience=None, dropout=0.1
    )
    full = train(config, tmp_path / "full")

    class Interrupt(Exception):
        pass

    from rnnlab.training import Callback

    # Interrupted as the third epoch starts: the checkpoint of epoch 2 is on disk.
    class StopAtEpoch(Callback):
        def on_epoch_begin(self, epoch):
            if epoch == 2:
                raise Interrupt

    with pytest.raises(Interrupt):
        train(config, tmp_path / "resumed", callbacks=[StopAtEpoch()])
    with pytest.raises(RunFolderError, match="unfinished"):
        load_run(tmp_path / "resumed")
    resumed = train(config, tmp_path / "resumed", resume=True)
    for (k, a), b in zip(
        full.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), k
    full_history = (tmp_path / "full" / "history.csv").read_text()
    assert (tmp_path / "resumed" / "history.csv").read_text() == full_history


def test_gates_reproduce_the_lstm(run_dir, tmp_path, capsys):
    from rnnlab.experiments.gates import run_gates

    trained = load_run(run_dir)
    result = run_gates(trained, ["3", "7", "2", "9"])
    for direction, gates in result.directions.items():
        for name in ("input_gate", "forget_gate", "output_gate"):
            assert gates[name].min() >= 0 and gates[name].max() <= 1
        # c_t = f_t * c_{t-1} + i_t * g_t and h_t = o_t * tanh(c_t), in the direction's order.
        c_prev = torch.zeros_like(gates["cell_state"][0])
        for t in range(4) if direction == "forward" else reversed(range(4)):
            f, i, g = (gates[k][t] for k in ("forget_gate", "input_gate", "cell_candidate"))
            c = f * c_prev + i * g
            torch.testing.assert_close(gates["cell_state"][t], c)
            torch.testing.assert_close(gates["hidden"][t], gates["output_gate"][t] * torch.tanh(c))
            c_prev = c
    # The same hidden states as the encoder layer itself computes (whatever kernel it runs).
    ids = trained.encode_sources([["3", "7", "2", "9"]])
    with torch.no_grad():
        layer_out, *_ = trained.model.encoder[0](trained.model.source_embedding(ids))
    forward = result.directions["forward"]["hidden"]
    backward = result.directions["backward"]["hidden"]
    torch.testing.assert_close(layer_out[0], torch.cat([forward, backward], -1), atol=1e-5, rtol=0)

    out = tmp_path / "gates"
    assert main(["gates", str(run_dir), "--input", "3 7 2 9", "--out", str(out)]) == 0
    data = json.loads((out / "gates.json").read_text())
    assert (
        data["tokens"] == ["3", "7", "2", "9"]
        and len(data["directions"]["forward"]["forget_gate"]) == 4
    )
    assert image.imread(out / "gates.png").ndim == 3
    assert "unknown source token 'x'" in _error(["gates", str(run_dir), "--input", "3 x"], capsys)


def test_pair_files_with_chars_and_a_validation_file(tmp_path, capsys):
    train_file, val_file = tmp_path / "train.tsv", tmp_path / "val.jsonl"
    words = ["ab", "abc", "ba", "cab", "bca", "cc", "a", "acb", "bb", "cba"] * 3
    train_file.write_text("".join(f"{w}\t{w[::-1]}\n" for w in words))
    val_file.write_text(json.dumps({"source": ["a", "b"], "target": ["b", "a"]}) + "\n")
    out = tmp_path / "chars"
    args = ["train", "--data", str(train_file), "--val", str(val_file), "--tokens", "chars"]
    assert (
        main(
            [
                *args,
                "--units",
                "8",
                "--embedding-dim",
                "4",
                "--epochs",
                "1",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads((out / "metrics.json").read_text())["val_size"] == 1
    (tmp_path / "in.txt").write_text("abc\n")
    assert main(["predict", str(out), "--input", str(tmp_path / "in.txt")]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    line = line.replace("<unk>", "")  # a model one epoch old may write <unk>
    assert " " not in line and set(line) <= set("abc")  # characters joined back without spaces


def test_weights_that_do_not_fit_the_config(run_dir, tmp_path, capsys):
    import hashlib
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    config["model"]["units"] = 17
    text = json.dumps(config, indent=2) + "\n"
    (copy / "config.json").write_text(text)
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["files"]["config.json"] = hashlib.sha256(text.encode()).hexdigest()
    (copy / "metrics.json").write_text(json.dumps(metrics))
    err = _error(["predict", str(copy)], capsys)
    assert "model.safetensors" in err and "expects" in err


def test_pair_file_defaults_grow_with_the_data():
    from rnnlab.kinds.seq2seq import file_defaults

    small, large = file_defaults(2_000, 20, 10), file_defaults(400_000, 20, 10)
    assert small["units"] < large["units"]
    assert small["learning_rate"] > large["learning_rate"]  # a larger model, a smaller step
    assert (
        file_defaults(2_000, 20, 10)["embedding_dim"]
        < file_defaults(2_000, 9_000, 10)["embedding_dim"]
    )
    assert file_defaults(50_000, 50, 5)["batch_size"] > file_defaults(50_000, 50, 100)["batch_size"]
    assert 1_000 / file_defaults(1_000, 20, 5)["batch_size"] >= 50  # enough steps an epoch
    # about sqrt(pairs) units: 128 for 10,000 pairs, 256 for the CMU dictionary's 121,687
    assert [file_defaults(n, 73, 17)["units"] for n in (10_000, 121_687)] == [128, 256]
    assert file_defaults(121_687, 73, 17)["batch_size"] == 64  # 2,000 / 17 tokens, rounded down
    # the time budget decides how many epochs fit
    assert file_defaults(121_687, 73, 17)["epochs"] == file_defaults(1_000, 20, 5)["epochs"]


def test_pair_file_defaults_are_saved_and_options_win(tmp_path):
    train_file = tmp_path / "train.tsv"
    words = ["".join(w) for n in (2, 3, 4) for w in itertools.product("abc", repeat=n)]
    train_file.write_text("".join(f"{' '.join(w)}\t{' '.join(w[::-1])}\n" for w in words))
    out = tmp_path / "run"
    argv = ["train", "--data", str(train_file), "--units", "8", "--epochs", "1", "--quiet"]
    assert main([*argv, "--out", str(out)]) == 0
    saved = json.loads((out / "config.json").read_text())["train"]
    from rnnlab.kinds.seq2seq import file_defaults

    pairs = json.loads((out / "metrics.json").read_text())["train_size"]
    expected = file_defaults(pairs, 7, 4)  # tokens a, b, c and the 4 special ones
    assert saved["units"] == 8  # given
    for name in ("embedding_dim", "learning_rate", "batch_size", "dropout", "patience"):
        assert saved[name] == expected[name], name
