"""Hostile input, by mechanism: every error a user can cause is one line and exit status 2,
no command writes over what it did not write, sizes are bounded before they are allocated,
lines are lines, data does not silently become something else, and messages name things.

(Interruptions and worker processes: ``test_hostile_interrupts.py``.)
"""

import errno
import io
import json
import os
import re
import string
import sys

import numpy as np
import pytest
import torch
from commands import run_cli as run
from commands import stopped_at_epoch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab.cli import main
from rnnlab.data import read_pairs
from rnnlab.data.files import (
    MARKER,
    OutputFolder,
    OutputFolderError,
    read_text_file,
    split_lines,
)
from rnnlab.data.pairs import PairFileError
from rnnlab.kinds.runs import load as load_run
from rnnlab.training.resources import ResourceError, check_fits

TINY = ["--samples", "120", "--units", "16", "--embedding-dim", "8", "--epochs", "2", "--quiet"]
SHORT_COMPARE = ["compare", "--epochs", "1", "--samples", "60", "--quiet", "--jobs", "1"]


def one_line_error(args, capsys, code: int = 2) -> str:
    status, _, err = run(args, capsys)
    assert status == code, err
    assert err.count("\n") == 1 and ": error: " in err, err
    assert "Traceback" not in err
    return err


@pytest.fixture
def run_dir(tiny_reverse_run):
    return tiny_reverse_run  # trained once for the session (conftest.py)


def snapshot(folder):
    """Every file under ``folder`` with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- 1. one error boundary ------------------------------------------------------------------


def test_os_errors_become_one_line_naming_the_file(tmp_path, capsys, monkeypatch):
    data = tmp_path / "pairs.tsv"
    data.write_text("1 2\t2 1\n")
    real = type(data).read_bytes

    def refuse(path):
        if path.name == "pairs.tsv":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(type(data), "read_bytes", refuse)
    err = one_line_error(["train", "--data", str(data), "--out", str(tmp_path / "o")], capsys)
    assert f"{data}: permission denied" in err
    assert not (tmp_path / "o").exists()
    monkeypatch.undo()
    inside_a_file = data / "x.tsv"  # NotADirectoryError
    err = one_line_error(["train", "--data", str(inside_a_file)], capsys)
    assert str(inside_a_file) in err and "not a directory" in err
    err = one_line_error(["train", "--data", str(tmp_path)], capsys)  # IsADirectoryError
    assert f"{tmp_path}: is a folder, expected a file" in err


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    from rnnlab.plots import figures

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(figures, "atomic_write_bytes", full)
    out = tmp_path / "results"
    err = one_line_error([*SHORT_COMPARE, "--out", str(out)], capsys)
    assert "no space left on device" in err and "nothing of this command's output was kept" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []  # no staging folder either


@pytest.mark.parametrize(
    "exc, expected",
    [
        (MemoryError(), "out of memory (an allocation failed)"),
        (
            RuntimeError(
                "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate "
                "memory: you tried to allocate 53687091200 bytes. Error code 12"
            ),
            "out of memory (an allocation of 50.0 GiB failed); reduce --batch-size",
        ),
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
    ],
)
def test_allocation_failures_and_recursion_become_one_line(
    exc, expected, tmp_path, capsys, monkeypatch
):
    from rnnlab.kinds import seq2seq as train

    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(train, "load_corpus", fail)
    err = one_line_error(["train", "--task", "reverse", "--out", str(tmp_path / "o")], capsys)
    assert expected in err
    assert not (tmp_path / "o").exists()


def test_a_bug_is_one_line_with_exit_1_and_debug_shows_the_traceback(capsys, monkeypatch):
    from rnnlab.cli import doctor

    def broken(args):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(doctor, "run", broken)
    err = one_line_error(["doctor"], capsys, code=1)
    assert "internal error (TypeError: unsupported operand)" in err and "--debug" in err
    with pytest.raises(TypeError, match="unsupported operand"):
        main(["doctor", "--debug"])


def test_a_results_file_of_another_shape_is_named(tmp_path, capsys):
    folder = tmp_path / "found"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps({"models": {"lstm": {}}}))
    err = one_line_error(["report", str(folder), "--out", str(tmp_path / "r")], capsys)
    assert f"{folder / 'results.json'}: not a result of `rnnlab compare` as rnnlab writes it" in err
    assert not (tmp_path / "r").exists()


# -- 2. no command writes over what it did not write ----------------------------------------


def test_evaluate_never_writes_into_a_run_folder(run_dir, tmp_path, capsys):
    data = tmp_path / "pairs.tsv"
    data.write_text("3 7\t7 3\n")
    before = snapshot(run_dir)
    err = one_line_error(
        ["evaluate", str(run_dir), "--data", str(data), "--out", str(run_dir)], capsys
    )
    assert "holds the output of `rnnlab train`" in err
    assert snapshot(run_dir) == before
    load_run(run_dir)  # still whole
    out = tmp_path / "eval"
    assert main(["evaluate", str(run_dir), "--data", str(data), "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["pairs"] == 1
    capsys.readouterr()
    one_line_error(["evaluate", str(run_dir), "--data", str(data), "--out", str(out)], capsys)
    assert (
        main(["evaluate", str(run_dir), "--data", str(data), "--out", str(out), "--overwrite"]) == 0
    )


@pytest.mark.parametrize(
    "command",
    [
        ["train", "--task", "reverse", *TINY],
        SHORT_COMPARE,
        ["gradients", "--quick", "--quiet", "--jobs", "1"],
        ["report", "{run}"],
    ],
)
def test_commands_refuse_folders_holding_foreign_files(command, run_dir, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("config.json", "history.csv", "results.json", "report.md"):
        (mine / name).write_text("the user's own\n")
    before = snapshot(mine)
    args = [a.format(run=run_dir) for a in command]
    err = one_line_error([*args, "--out", str(mine)], capsys)
    assert f"--out {mine}: is not empty (it holds files rnnlab did not write)" in err
    err = one_line_error([*args, "--out", str(mine), "--overwrite"], capsys)
    assert snapshot(mine) == before


def test_overwrite_replaces_only_what_the_same_command_wrote(tmp_path, capsys):
    out = tmp_path / "results"
    assert main([*SHORT_COMPARE, "--out", str(out)]) == 0
    assert json.loads((out / MARKER).read_text()) == {"command": "compare"}
    (out / "notes.txt").write_text("mine")
    err = one_line_error([*SHORT_COMPARE, "--out", str(out)], capsys)
    assert "holds the output of an earlier `rnnlab compare`; give --overwrite" in err
    first = (out / "results.json").read_bytes()
    assert main([*SHORT_COMPARE, "--seed", "1", "--out", str(out), "--overwrite"]) == 0
    assert (out / "results.json").read_bytes() != first
    assert (out / "notes.txt").read_text() == "mine"
    err = one_line_error(["gates", str(tmp_path), "--input", "1", "--out", str(out)], capsys)
    assert "holds the output of `rnnlab compare`" in err  # checked before anything is read


def test_train_overwrite_replaces_its_own_run(run_dir, tmp_path, capsys):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "notes.txt").write_text("mine")
    one_line_error(["train", "--task", "reverse", *TINY, "--out", str(copy)], capsys)
    assert main(["train", "--task", "copy", *TINY, "--out", str(copy), "--overwrite"]) == 0
    assert load_run(copy).config.task == "copy"
    assert (copy / "notes.txt").read_text() == "mine"


def test_predict_and_gates_never_write_into_a_run_folder(run_dir, tmp_path, capsys):
    before = snapshot(run_dir)
    picture = run_dir / "attention.png"
    sources = tmp_path / "in.txt"
    sources.write_text("3 7\n")
    err = one_line_error(
        ["predict", str(run_dir), "--input", str(sources), "--plot-attention", str(picture)],
        capsys,
    )
    assert "inside a folder of `rnnlab train`" in err
    err = one_line_error(["gates", str(run_dir), "--input", "3 7", "--out", str(run_dir)], capsys)
    assert "holds the output of `rnnlab train`" in err
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"not rnnlab's")
    err = one_line_error(
        ["predict", str(run_dir), "--input", str(sources), "--plot-attention", str(mine)],
        capsys,
    )
    assert f"--plot-attention {mine}: exists; give --overwrite" in err
    assert mine.read_bytes() == b"not rnnlab's" and snapshot(run_dir) == before


def test_nothing_is_written_inside_another_command_s_folder(run_dir, tmp_path, capsys):
    data = tmp_path / "pairs.tsv"
    data.write_text("3 7\t7 3\n")
    inside = run_dir / "eval"
    err = one_line_error(
        ["evaluate", str(run_dir), "--data", str(data), "--out", str(inside)], capsys
    )
    assert f"inside {run_dir}, the output folder of `rnnlab train`" in err
    assert not inside.exists()


@pytest.mark.parametrize(
    "args, what",
    [
        (["compare", "--samples", "10000000", "--max-len", "10000"], "comparing 3 models"),
        (["gradients", "--units", "8192", "--length", "10000"], "measuring 3 cells"),
        (["memory", "--units", "8192", "--batch-size", "100000"], "training 3 cells"),
    ],
)
def test_experiments_too_large_for_memory_are_refused(args, what, tmp_path, capsys):
    out = tmp_path / "o"
    err = one_line_error([*args, "--quiet", "--out", str(out)], capsys)
    assert what in err and "GiB of memory, more than the" in err and not out.exists()


def test_an_output_folder_is_written_whole_or_not_at_all(tmp_path):
    out = tmp_path / "deep" / "er" / "results"

    def half(stage):
        (stage / "a.json").write_text("{}")
        raise KeyboardInterrupt

    folder = OutputFolder(out, "compare")
    with pytest.raises(KeyboardInterrupt):
        folder.write(half)
    assert list(tmp_path.iterdir()) == []  # the parents it made are gone too
    assert folder.write(lambda stage: (stage / "a.json").write_text("{}")) == 2
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "a.json"]
    with pytest.raises(OutputFolderError, match="holds the output of an earlier"):
        OutputFolder(out, "compare")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputFolderError, match="exists and is not a folder"):
        OutputFolder(tmp_path / "file", "compare")


# -- 3. sizes are bounded --------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, value, most",
    [
        ("--units", "100000", "8,192"),
        ("--embedding-dim", "100000", "8,192"),
        ("--layers", "1000", "32"),
        ("--samples", "10000000000", "10,000,000"),
        ("--max-len", "1000000", "10,000"),
        ("--batch-size", "100000000", "1,000,000"),
        ("--learning-rate", "1e308", "10"),
        ("--beam-width", "100000", "256"),
        ("--epochs", "10000000000", "10,000,000"),
        ("--seed", str(2**70), "9,223,372,036,854,775,807"),
    ],
)
def test_absurd_sizes_are_refused_naming_the_option(option, value, most, tmp_path, capsys):
    err = one_line_error(["train", "--task", "reverse", option, value], capsys)
    assert f"argument {option}: expected" in err and f"at most {most}, got {value!r}" in err


def test_a_run_too_large_for_memory_is_refused_before_it_starts(tmp_path, capsys, monkeypatch):
    import rnnlab.training.resources as resources

    monkeypatch.setattr(resources, "available_memory", lambda: 2**20)
    out = tmp_path / "o"
    err = one_line_error(["train", "--task", "reverse", *TINY, "--out", str(out)], capsys)
    assert "needs about" in err and "more than the 0.0 GiB available" in err
    assert "reduce --batch-size, --units" in err and not out.exists()
    pairs = tmp_path / "long.tsv"  # on the user's file, the message names it
    digits = np.random.default_rng(0).integers(0, 10, size=(50, 120))  # distinct rows
    rows = (" ".join(map(str, row)) for row in digits)
    pairs.write_text("".join(f"{source}\t1 2\n" for source in rows))
    err = one_line_error(["train", "--data", str(pairs), *TINY[2:], "--out", str(out)], capsys)
    assert f"error: {pairs}: a model of" in err and "up to 120 tokens" in err
    assert not out.exists()


def test_long_sequences_are_counted_in_the_estimate():
    from rnnlab.models import Seq2SeqConfig

    shape = Seq2SeqConfig(12, 12, embedding_dim=64, units=128)
    short, long = shape.activation_bytes(64, 10, 25), shape.activation_bytes(64, 10_000, 20_005)
    assert long > 100 * 2**30 > 1000 * short  # 24 pairs of 10,000 tokens exhausted memory
    with pytest.raises(ResourceError, match=r"needs about 2\.0 GiB"):
        check_fits(2 * 2**30, "this", "reduce it", available=2**30)
    check_fits(2**29, "this", "reduce it", available=2**30)


def test_a_diverging_run_stops_naming_the_epoch_and_keeps_its_checkpoint(
    tmp_path, capsys, monkeypatch
):
    from rnnlab.training import objectives

    real = objectives.SequenceGeneration.loss
    calls = {"n": 0}

    def diverging(self, model, batch):
        calls["n"] += 1
        loss = real(self, model, batch)
        return loss * float("inf") if calls["n"] > 4 else loss  # epoch 1: 3 steps, 1 validation

    monkeypatch.setattr(objectives.SequenceGeneration, "loss", diverging)
    out = tmp_path / "run"
    args = ["train", "--task", "reverse", *TINY, "--batch-size", "40", "--out", str(out)]
    err = one_line_error(args, capsys)
    assert "epoch 2, step 1: the training loss is inf" in err
    assert "keeps the last good epoch's checkpoint" in err
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert len(state["history"]["loss"]) == 1  # epoch 1, whose loss was finite


# -- 4. lines are lines ----------------------------------------------------------------------


def test_split_lines_breaks_only_at_newlines():
    odd = "a\u2028b\u2029c\x85d\x0be\x0cf\x1cg\x1dh\x1ei"
    assert split_lines(f"{odd}\nx\r\ny\rz\n") == [odd, "x", "y", "z"]
    assert split_lines("") == [] and split_lines("\n") == [""]


def test_one_output_line_per_input_line(run_dir, tmp_path, capsys):
    sources = tmp_path / "odd.txt"
    sources.write_bytes("3\u20287\n7\x0c3\r\n9\x1c1\r2 3\n".encode())
    code, out, err = run(
        ["predict", str(run_dir), "--input", str(sources), "--unknown", "map"], capsys
    )
    assert code == 0, err
    assert len(out.split("\n")) == 4 + 1  # four lines and the final newline
    pairs = tmp_path / "odd.tsv"
    pairs.write_bytes("3\u20287\t7\n7\x0c3\t3\r\n".encode())
    assert [s for s in read_pairs(pairs).sources] == [["3\u20287"], ["7\x0c3"]]


@pytest.mark.parametrize(
    ("name", "content", "read", "where"),
    [
        ("p.tsv", "3\u20287\t7\n7\x0c3\t3\nno tab\n", "pairs", ":3: no tab"),
        ("c.tsv", "a\u2028b\tx\nd\x0ce\ty\nno label\n", "labelled", ":3: no tab"),
        ("t.conllu", "1\ta\u2028b\t_\tX\t_\t_\t_\t_\t_\t_\n2\tb\t_\n\n", "tagged", ":2: 3 tab"),
        ("r.tsv", "1\t1\r2\t2\r\n3\xff\t3\n", "pairs", ":3: not UTF-8"),
        ("n.tsv", "1\t1\r2\t2\r3\x00\t3\n", "pairs", ":3: a NUL byte"),
    ],
)
def test_a_bad_line_is_named_by_its_number_whatever_separators_come_before(
    name, content, read, where, tmp_path
):
    from rnnlab.data.labelled import read_labelled
    from rnnlab.data.tagged import read_tagged

    path = tmp_path / name
    data = content.encode("utf-8").replace("\xc3\xbf".encode("latin-1"), b"\xff")
    path.write_bytes(data)
    reader = {"pairs": read_pairs, "labelled": read_labelled, "tagged": read_tagged}[read]
    with pytest.raises(ValueError, match=re.escape(f"{path}{where}")):
        reader(path)


# -- 5. data does not silently become something else ----------------------------------------


@pytest.mark.parametrize(
    "content, message",
    [
        (b"3 7\t7 3\n1\x002\t2 1\n", "x.tsv:2: a NUL byte"),
        (b"3 </s> <unk>\t1\n", "x.tsv:1: the source token '</s>' is reserved"),
        (b"1\t<pad>\n", "x.tsv:1: the target token '<pad>' is reserved"),
    ],
)
def test_pair_files_refuse_what_would_change_meaning(content, message, tmp_path):
    path = tmp_path / "x.tsv"
    path.write_bytes(content)
    with pytest.raises(PairFileError, match=message):
        read_pairs(path)


@pytest.mark.parametrize(
    "row, message",
    [
        ({"source": [True], "target": [1]}, "'source' must be a list of tokens"),
        ({"source": [1.5], "target": [1]}, "'source' must be a list of tokens"),
        ({"source": ["a b"], "target": [1]}, "the source token 'a b' holds a space"),
        ({"source": ["a\nb"], "target": [1]}, "the source token .a.nb. holds a space, tab, line"),
        ({"source": ["1"], "target": ["<s>"]}, "the target token '<s>' is reserved"),
    ],
)
def test_jsonl_refuses_tokens_predict_could_never_read(row, message, tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(PairFileError, match=f"x.jsonl:1: {message}"):
        read_pairs(path)


def test_a_byte_order_mark_is_not_part_of_the_first_token(tmp_path):
    path = tmp_path / "bom.tsv"
    path.write_bytes("\ufeff3 7\t7 3\n".encode())
    assert read_pairs(path).sources == [["3", "7"]]
    assert read_text_file(path) == "3 7\t7 3\n"


def test_predict_refuses_control_tokens(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"3 7\n3 </s>\n")))
    err = one_line_error(["predict", str(run_dir)], capsys)
    assert "<stdin>:2: the source token '</s>' is reserved" in err


LINE = st.text(alphabet=string.digits[:4] + " \t<>/sunkpad\u2028\r\x00\ufeff", max_size=12)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(LINE, min_size=1, max_size=5))
def test_pair_files_either_read_back_or_name_the_line(lines, tmp_path):
    """Fuzzed pair files: either every pair reads back exactly as it was written, or the
    error is one line that names the file (and, past the first check, the line)."""
    path = tmp_path / "fuzz.tsv"
    path.write_bytes("\n".join(lines).encode("utf-8"))
    try:
        pairs = read_pairs(path)
    except PairFileError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    from rnnlab.data import format_pairs

    path.write_text(format_pairs(pairs.sources, pairs.targets))
    again = read_pairs(path)
    assert (again.sources, again.targets) == (pairs.sources, pairs.targets)


ROW = st.dictionaries(
    st.sampled_from(["source", "target", "x"]),
    st.one_of(
        st.lists(
            st.one_of(st.text(max_size=3), st.integers(), st.booleans(), st.none()), max_size=3
        ),
        st.integers(),
        st.text(max_size=3),
    ),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(ROW, min_size=1, max_size=4))
def test_evaluate_on_fuzzed_jsonl_succeeds_or_says_one_line(rows, run_dir, tmp_path, capsys):
    path = tmp_path / "fuzz.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _, err = run(["evaluate", str(run_dir), "--data", str(path), "--unknown", "map"], capsys)
    if code != 0:
        assert code == 2 and err.count("\n") == 1 and str(path) in err, err


# -- 7, 8, 9. resume options, messages that name things, long sources -------------------------


def test_resume_refuses_options_that_would_change_the_run(tmp_path, capsys, monkeypatch):
    from rnnlab.training.trainer import Trainer

    out = tmp_path / "run"

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "fit", interrupted)
    code, _, err = run(["train", "--task", "reverse", *TINY, "--out", str(out)], capsys)
    assert code == 130 and f"continue with: rnnlab train --resume {out}" in err
    monkeypatch.undo()
    err = one_line_error(["train", "--resume", str(out), "--epochs", "1", "--units", "8"], capsys)
    assert "--units cannot be given with it (only --device, --epochs, --max-time, --patience" in err
    assert "--precision, --quiet, --tensorboard can)" in err
    err = one_line_error(["train", "--resume", str(out), "--units", "16"], capsys)  # even equal
    assert main(["train", "--resume", str(out), "--epochs", "3", "--quiet"]) == 0
    assert load_run(out).metrics["epochs"] == 3  # resumable from before its first checkpoint


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "resume.json: not valid JSON"),
        ('{"train": []}', "resume.json: not the resume file of `rnnlab train`"),
        ('{"train": {"task": "reverse", "units": 8, "bogus": 1}}', "not the resume file"),
        ("[" * 100_000 + "]" * 100_000, "resume.json: JSON nested too deeply"),
    ],
)
def test_an_invalid_resume_file_is_named(content, message, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "resume.json").write_text(content)
    assert message in one_line_error(["train", "--resume", str(out)], capsys)


def test_messages_name_the_file_and_what_was_expected(tmp_path, capsys):
    one = tmp_path / "one.tsv"
    one.write_text("1 2\t2 1\n")
    err = one_line_error(["train", "--data", str(one), "--out", str(tmp_path / "o")], capsys)
    assert f"{one}: only 1 pair(s)" in err and "expected at least 2 pairs, or give --val" in err
    same = tmp_path / "same.tsv"
    same.write_text("1 2\t2 1\n" * 10)
    err = one_line_error(["train", "--data", str(same), "--out", str(tmp_path / "o")], capsys)
    assert f"{same}: every held-out source also occurs in training" in err
    big = tmp_path / "big.jsonl"
    big.write_text('{"source": [' + "9" * 5000 + '], "target": [1]}\n')
    assert f"{big}:1: not usable JSON" in one_line_error(["train", "--data", str(big)], capsys)


def test_a_fifo_is_refused_instead_of_blocking(tmp_path, capsys):
    fifo = tmp_path / "pipe.tsv"
    os.mkfifo(fifo)
    err = one_line_error(["train", "--data", str(fifo), "--out", str(tmp_path / "o")], capsys)
    assert f"{fifo}: not a regular file" in err


def test_a_source_longer_than_training_warns_once(run_dir, tmp_path, capsys):
    sources = tmp_path / "long.txt"
    sources.write_text("3 7\n" + " ".join(["3"] * 40) + "\n" + " ".join(["7"] * 50) + "\n")
    code, out, err = run(["predict", str(run_dir), "--input", str(sources)], capsys)
    assert code == 0 and len(out.splitlines()) == 3
    assert err.count("\n") == 1
    assert f"warning: 2 source(s) longer than any in training (the first: {sources}:2" in err


def test_seeded_runs_still_reproduce(tmp_path):
    """The checks above cost no numbers: the same seed gives the same weights."""
    for name in ("a", "b"):
        assert main(["train", "--task", "reverse", *TINY, "--out", str(tmp_path / name)]) == 0
    a, b = (load_run(tmp_path / n).model.state_dict() for n in ("a", "b"))
    assert all(torch.equal(a[k], b[k]) for k in a)


# -- found by a hostile review --------------------------------------------------------------


def _rehash(folder):
    """Record the current config.json's hash in metrics.json (an edit that hides itself)."""
    import hashlib

    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["files"]["config.json"] = hashlib.sha256(
        (folder / "config.json").read_bytes()
    ).hexdigest()
    (folder / "metrics.json").write_text(json.dumps(metrics))


def test_a_refused_overwrite_keeps_the_old_run(run_dir, tmp_path, capsys):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    before = snapshot(copy)
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n")
    one_line_error(["train", "--data", str(empty), "--out", str(copy), "--overwrite"], capsys)
    assert snapshot(copy) == before
    load_run(copy)


def test_overwrite_never_touches_a_folder_rnnlab_did_not_mark(tmp_path, capsys):
    hub = tmp_path / "hub"  # a model folder of another tool
    hub.mkdir()
    (hub / "config.json").write_text("{}")
    (hub / "model.safetensors").write_bytes(b"theirs")
    args = ["train", "--task", "reverse", *TINY, "--out", str(hub), "--overwrite"]
    assert "files rnnlab did not write" in one_line_error(args, capsys)
    assert (hub / "model.safetensors").read_bytes() == b"theirs"


def test_no_output_anywhere_below_another_command_s_folder(run_dir, tmp_path, capsys):
    deep = run_dir / "a" / "b"
    for args in (
        [*SHORT_COMPARE, "--out", str(deep)],
        ["train", "--task", "reverse", *TINY, "--out", str(deep)],
    ):
        assert "the output folder of `rnnlab train`" in one_line_error(args, capsys)
    assert not (run_dir / "a").exists()
    sources = tmp_path / "in.txt"
    sources.write_text("3 7\n")
    missing = tmp_path / "nowhere" / "att.png"
    err = one_line_error(
        ["predict", str(run_dir), "--input", str(sources), "--plot-attention", str(missing)], capsys
    )
    assert f"no folder {missing.parent} to write it in" in err


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.update(max_output_len="abc"), "'max_output_len' must be an integer"),
        (lambda c: c.update(max_output_len=10**12), "'max_output_len' must be an integer"),
        (
            lambda c: c["train"].update(beam_width=10**6),
            "--beam-width: expected a value in [1, 256]",
        ),
        (lambda c: c["train"].update(length_penalty="x"), "'length_penalty': expected a number"),
        (lambda c: c["train"].update(units="big"), "'units': expected an integer"),
    ],
)
def test_an_edited_config_is_refused_even_with_its_hash(edit, message, run_dir, tmp_path, capsys):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    edit(config)
    (copy / "config.json").write_text(json.dumps(config))
    _rehash(copy)
    err = one_line_error(["predict", str(copy)], capsys)
    assert "config.json: not an rnnlab train config" in err and message in err


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s.update(history=[1]), "'history' must map"),
        (lambda s: s.update(best_value="x"), "'best_value' must be a number"),
        (lambda s: s.update(iterations=-100), "'iterations' must be an integer >= 0"),
        (lambda s: s.update(iterations="3"), "'iterations' must be an integer >= 0"),
        (lambda s: s["history"].update(loss="abc"), "'history' must map"),
    ],
)
def test_an_edited_checkpoint_is_refused(edit, message, tmp_path, capsys):
    out = tmp_path / "run"
    calls = {"n": 0}
    with stopped_at_epoch(1):
        code, _, _ = run(["train", "--task", "reverse", *TINY, "--out", str(out)], capsys)
    assert code == 130 and calls["n"] == 0
    state_file = out / "checkpoint" / "state.json"
    state = json.loads(state_file.read_text())
    edit(state)
    state_file.write_text(json.dumps(state))
    err = one_line_error(["train", "--resume", str(out)], capsys)
    assert "its checkpoint does not fit its run" in err and message in err


def test_an_edited_resume_file_is_refused(tmp_path, capsys, monkeypatch):
    from rnnlab.training.trainer import Trainer

    out = tmp_path / "run"
    monkeypatch.setattr(
        Trainer, "fit", lambda self, *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    assert run(["train", "--task", "reverse", *TINY, "--out", str(out)], capsys)[0] == 130
    monkeypatch.undo()
    saved = json.loads((out / "resume.json").read_text())
    saved["train"]["learning_rate"] = 1e308
    (out / "resume.json").write_text(json.dumps(saved))
    err = one_line_error(["train", "--resume", str(out)], capsys)
    assert "--learning-rate: expected a value in [0.0, 10.0], got 1e+308" in err


def test_resume_finds_its_data_from_another_folder(tmp_path, capsys, monkeypatch):
    from rnnlab.training.trainer import Trainer

    start, elsewhere = tmp_path / "start", tmp_path / "elsewhere"
    start.mkdir(), elsewhere.mkdir()
    (start / "pairs.tsv").write_text(
        "".join(f"{i} {j}\t{j} {i}\n" for i in range(1, 9) for j in range(1, 9))
    )
    monkeypatch.chdir(start)
    monkeypatch.setattr(
        Trainer, "fit", lambda self, *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    args = ["train", "--data", "pairs.tsv", "--units", "8", "--embedding-dim", "4", "--epochs", "1"]
    assert run([*args, "--quiet", "--out", str(tmp_path / "run")], capsys)[0] == 130
    monkeypatch.undo()
    monkeypatch.chdir(elsewhere)
    assert main(["train", "--resume", str(tmp_path / "run"), "--quiet"]) == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["compare", "--task", "dates"],
            "unknown task 'dates'; expected one of reverse, copy, sort",
        ),
        (["compare", "--split-seed", str(2**63 - 1)], "at most 4,294,967,295"),
        (["train", "--task", "add", "--max-len", "100"], "at most 18, got 100"),
    ],
)
def test_task_sizes_and_seeds_name_their_limits(args, message, tmp_path, capsys):
    assert message in one_line_error([*args, "--out", str(tmp_path / "o")], capsys)


def test_gates_refuses_control_tokens(run_dir, tmp_path, capsys):
    err = one_line_error(
        ["gates", str(run_dir), "--input", "<pad> 3", "--out", str(tmp_path / "g")], capsys
    )
    assert "'<pad>' is reserved" in err


def test_ctrl_c_wrapped_by_an_import_is_still_ctrl_c(capsys, monkeypatch):
    from rnnlab.cli import doctor

    def wrapped(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise RuntimeError("Error calling __set_name__") from exc

    monkeypatch.setattr(doctor, "run", wrapped)
    code, _, err = run(["doctor"], capsys)
    assert code == 130 and "interrupted" in err and "internal error" not in err
