"""Hostile input to the tag, classify, forecast and lm kinds and their run folders, by
mechanism: one line naming the file, line or option, exit status 2, nothing written first,
and nothing silently wrong."""

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from commands import run_cli

from rnnlab.data.tagged import TaggedFileError, read_tagged

RUNS = Path(__file__).parent / "fixtures" / "runs_v2"  # trained runs of every kind


def one_line_error(args, capsys) -> str:
    code, out, err = run_cli(args, capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert out == "", "nothing is written before the error"
    return err


def _copy_run(name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    shutil.copytree(RUNS / name, folder)
    return folder


def _edit_config(folder: Path, edit) -> None:
    """Change ``config.json`` and record its new hash (an edit that hides itself)."""
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["files"]["config.json"] = hashlib.sha256(
        (folder / "config.json").read_bytes()
    ).hexdigest()
    (folder / "metrics.json").write_text(json.dumps(metrics))


# -- a run folder's saved state is checked against its weights when it loads -----------------


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("tag_neighbours", lambda c: c["labels"].pop(), "'labels' holds"),
        ("tag_neighbours", lambda c: c["words"].pop(), "'words' holds"),
        ("classify_tokens", lambda c: c["classes"].pop(), "'classes' holds"),
        ("classify_vectors", lambda c: c["scaler"]["mean"].pop(), "'scaler' holds"),
        ("lm_chars", lambda c: c["vocab"].pop(), "'vocab' holds"),
        ("seq2seq_reverse", lambda c: c["target_vocab"].pop(), "'target_vocab' holds"),
        ("forecast_csv", lambda c: c["scaling"].update(centres=[]), "'scaling centres' holds"),
        ("forecast_csv", lambda c: c.update(levels=[0.1, 0.9, 0.95]), "no median"),
        ("forecast_csv", lambda c: c["train"].update(lookback=0), "lookback"),
        ("forecast_csv", lambda c: c["train"].update(lookback=-3), "lookback"),
    ],
    ids=[
        "tag-labels",
        "tag-words",
        "classify-classes",
        "classify-scaler",
        "lm-vocab",
        "seq2seq-vocab",
        "forecast-scaling",
        "forecast-median",
        "forecast-lookback-0",
        "forecast-lookback-negative",
    ],
)
def test_saved_state_that_does_not_fit_the_weights_is_refused(
    name, edit, message, tmp_path, capsys
):
    folder = _copy_run(name, tmp_path)
    _edit_config(folder, edit)
    command = "generate" if name.startswith("lm") else "predict"
    args = [command, str(folder)] + (["--input", "-"] if command == "predict" else [])
    err = one_line_error(args, capsys)
    assert "config.json: not an rnnlab train config" in err and message in err


# -- generate: what the user asked for, and nothing that is not text ------------------------


def test_a_tiny_temperature_samples_as_greedy_decoding_does(tmp_path, capsys):
    folder = _copy_run("lm_chars", tmp_path)
    args = ["generate", str(folder), "--prompt", "the ", "--length", "40"]
    code, greedy, err = run_cli([*args, "--temperature", "0"], capsys)
    assert code == 0, err
    code, tiny, err = run_cli([*args, "--temperature", "1e-300"], capsys)
    assert code == 0, err
    assert tiny == greedy


def test_padding_and_boundaries_are_never_sampled(tmp_path, capsys):
    folder = _copy_run("lm_chars", tmp_path)
    args = ["generate", str(folder), "--length", "3000", "--temperature", "50"]
    code, text, err = run_cli(args, capsys)
    assert code == 0, err
    assert not any(token in text for token in ("<pad>", "<s>", "</s>", "<unk>"))
    code, text, err = run_cli([*args, "--sample-unk"], capsys)
    assert code == 0 and "<unk>" in text  # near-uniform draws reach it when allowed


def test_a_prompt_the_model_cannot_read_is_refused_before_anything_is_written(tmp_path, capsys):
    folder = _copy_run("lm_chars", tmp_path)
    err = one_line_error(["generate", str(folder), "--prompt", "the \u2603"], capsys)
    assert "--prompt" in err and "'\u2603'" in err


# -- tagged files: what a CoNLL-U file says of its words is checked -------------------------


def _conllu(tmp_path: Path, ids: list[str]) -> Path:
    lines = [f"{i}\tw{i}\tw\tNOUN\t_\t_\t0\troot\t_\t_" for i in ids]
    path = tmp_path / "ids.conllu"
    path.write_text("# text = x\n" + "\n".join(lines) + "\n\n")
    return path


@pytest.mark.parametrize(
    ("ids", "line", "message"),
    [
        (["1", "2", "1", "2"], 4, "ID 1 (a sentence without the blank line before it?)"),
        (["1", "4-3", "2"], 3, "ID 4-3; expected a range from word 2"),
        (["1", "3", "4"], 3, "ID 3; expected word 2"),
        (["1", "2.1", "2"], 3, "ID 2.1; expected an empty node after word 1"),
    ],
    ids=["restart", "backward-range", "gap", "empty-node"],
)
def test_conllu_word_ids_are_checked(ids, line, message, tmp_path):
    path = _conllu(tmp_path, ids)
    with pytest.raises(TaggedFileError, match=re.escape(f"ids.conllu:{line}: {message}")):
        read_tagged(path)


def test_well_formed_ids_with_ranges_and_empty_nodes_read(tmp_path):
    read = read_tagged(_conllu(tmp_path, ["1", "2-3", "2", "3", "3.1", "3.2", "4"]))
    assert read.tokens == [["w1", "w2", "w3", "w4"]]


def test_a_label_column_with_one_value_is_refused_with_its_count(tmp_path, capsys):
    path = tmp_path / "one.jsonl"
    rows = [{"tokens": ["a", "b", "c"], "tags": ["X", "X", "X"]} for _ in range(20)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "run"
    err = one_line_error(["train", "--kind", "tag", "--data", str(path), "--out", str(out)], capsys)
    assert "every training word is labelled 'X'" in err and "words" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("column", "upos"),
    [("feats:Foo", "NOUN"), (None, "_")],
    ids=["feats-key-none-has", "upos-blank"],
)
def test_a_conllu_column_with_nothing_to_learn_is_refused(column, upos, tmp_path, capsys):
    path = tmp_path / "blank.conllu"
    words = [f"{i}\tw{i % 3}\tw\t{upos}\t_\tNumber=Sing\t0\troot\t_\t_" for i in range(1, 4)]
    path.write_text("".join("\n".join(words) + "\n\n" for _ in range(20)))
    out = tmp_path / "run"
    args = ["train", "--data", str(path), "--out", str(out)]
    err = one_line_error([*args, *(["--label-column", column] if column else [])], capsys)
    assert "every training word is labelled '_'" in err and not out.exists()


def test_a_loss_of_zero_draws_without_a_warning(recwarn):
    """A command's standard error holds only its own lines: no matplotlib warning about the
    logarithm of zero."""
    from rnnlab.plots.figures import learning_curves_png, loss_scale

    assert loss_scale([1.0, 0.5], [0.7]) == "log" and loss_scale([0.0, 0.0], [0.0]) == "linear"
    history = {"loss": [0.0, 0.0], "val_loss": [0.0, 0.0], "val_accuracy": [1.0, 1.0]}
    assert learning_curves_png(history, "loss", {"val_accuracy": "accuracy"})[:4] == b"\x89PNG"
    assert not [w for w in recwarn if "log" in str(w.message)]


def test_messages_name_as_options_only_what_the_command_offers():
    from rnnlab.cli.options import as_options

    message = "`units` must be >= 1 in the file; give `val_fraction`"
    assert as_options(message) == "--units must be >= 1 in the file; give --val-fraction"
    assert as_options(message, {"val_fraction"}) == (
        "'units' must be >= 1 in the file; give --val-fraction"
    )


def test_a_file_of_the_wrong_form_is_described_in_words(tmp_path, capsys):
    """Feature vectors given to a run of tokens: no "(None features)"."""
    entry = RUNS / "classify_tokens"
    folder = _copy_run("classify_tokens", tmp_path)
    vectors = tmp_path / "v.jsonl"
    vectors.write_text('{"sequence": [[0.1, 0.2], [0.3, 0.4]], "label": "x"}\n')
    err = one_line_error(["predict", str(folder), "--input", str(vectors)], capsys)
    assert "holds vectors of 2 features; this run reads tokens" in err and "None" not in err
    assert entry.is_dir()


def test_series_whose_scale_overflows_are_refused_before_training(tmp_path, capsys):
    rows = ["year,huge,small"] + [
        f"{2000 + i},{(1.5 if i % 2 else -1.7) * 1e308},{i % 5}" for i in range(40)
    ]
    path = tmp_path / "huge.csv"
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    args = ["train", "--data", str(path), "--horizon", "3", "--epochs", "1", "--out", str(out)]
    err = one_line_error(args, capsys)
    assert "series 'huge' has values (up to 1.7e+308)" in err and "RuntimeWarning" not in err
    assert not out.exists()


# -- the Python API reads what the command line reads ----------------------------------------


def test_a_line_of_text_is_split_as_the_command_line_splits_it():
    import rnnlab

    tagger = rnnlab.load(RUNS / "tag_neighbours")
    words = ["3", "7", "2"]
    assert (
        tagger.predict(["3 7 2"]) == tagger.predict([words])
        and len(tagger.predict(["3 7 2"])[0]) == 3
    )
    pairs = rnnlab.load(RUNS / "seq2seq_chars")  # reads characters
    line = (RUNS / "seq2seq_chars.inputs").read_text().splitlines()[0]
    assert pairs.predict([line]) == pairs.predict([list(line)])
    classifier = rnnlab.load(RUNS / "classify_tokens")
    text = (RUNS / "classify_tokens.inputs").read_text().splitlines()[0].split("\t")[0]
    assert classifier.predict([text]) == classifier.predict([text.split(" ")])


def test_a_forecaster_takes_arrays_and_lists():
    import numpy as np

    import rnnlab

    run = rnnlab.load(RUNS / "forecast_csv")
    history = np.sin(np.arange(60) / 3.0) * 5 + 20
    from_array, from_list = run.predict([history, list(history)])
    assert from_array.shape == (run.horizon,) and np.allclose(from_array, from_list)
    (full,) = run.forecast([history])
    assert full.shape[0] == run.horizon
    with pytest.raises(ValueError, match=r"^series 1: shape \(3, 2\); expected a list of numbers"):
        run.predict([history, np.ones((3, 2))])


def test_predict_on_an_onnx_export_says_what_it_is(tmp_path, capsys):
    export = tmp_path / "export"
    export.mkdir()
    (export / "rnnlab_onnx.json").write_text("{}")
    err = one_line_error(["predict", str(export)], capsys)
    assert "an ONNX export" in err and "OnnxPredictor" in err


# -- fuzzed CoNLL-U sentences: read, or one TaggedFileError naming the line -------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_IDS = st.one_of(
    st.integers(0, 6).map(str),
    st.tuples(st.integers(0, 6), st.integers(0, 6)).map(lambda t: f"{t[0]}-{t[1]}"),
    st.tuples(st.integers(0, 6), st.integers(0, 3)).map(lambda t: f"{t[0]}.{t[1]}"),
    st.sampled_from(["", "x", "1.", "-1", "01", "1e3"]),
)
_LINE = st.tuples(_IDS, st.integers(8, 11), st.booleans()).map(
    lambda t: "\t".join([t[0], "w", "w", "" if t[2] else "NOUN", *["_"] * (t[1] - 4)])
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(_LINE, st.just(""), st.just("# c")), min_size=1, max_size=12))
def test_fuzzed_conllu_reads_or_names_its_line(tmp_path, lines):
    path = tmp_path / "fuzz.conllu"
    path.write_text("\n".join(lines) + "\n")
    try:
        read = read_tagged(path)
    except TaggedFileError as exc:
        assert str(exc).startswith(f"{path}"), exc
        return
    for sentence in read.tokens:
        assert sentence and all(word == "w" for word in sentence)


def test_evaluate_out_draws_the_confusion_of_the_evaluated_file(tmp_path, capsys):
    from matplotlib import image

    folder = _copy_run("classify_tokens", tmp_path)
    data = RUNS / "classify_tokens.data.tsv"
    out = tmp_path / "eval"
    code, _, err = run_cli(
        ["evaluate", str(folder), "--data", str(data), "--out", str(out)], capsys
    )
    assert code == 0, err
    assert image.imread(out / "confusion.png").ndim == 3
    assert json.loads((out / "metrics.json").read_text())["confusion"]


def test_a_label_column_mostly_blank_is_warned_about_with_its_counts(tmp_path, capsys):
    path = tmp_path / "blank.jsonl"
    rows = [
        {"tokens": ["a", "b", "c"], "tags": ["_", "_", "X" if i % 2 else "_"]} for i in range(20)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    args = ["train", "--kind", "tag", "--data", str(path), "--epochs", "1", "--units", "8"]
    code, _, err = run_cli([*args, "--quiet", "--out", str(tmp_path / "run")], capsys)
    assert code == 0, err
    warned = [line for line in err.splitlines() if "warning" in line]
    assert warned == [
        f"rnnlab train: warning: {path}: 45 of 54 training words (83%) are labelled '_' in "
        "label column upos: most of what the tagger learns is that no label applies"
    ]
