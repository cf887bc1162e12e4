import json
import subprocess
import sys

import pytest
from matplotlib import image

from rnnlab.cli import main

SHORT = ["compare", "--epochs", "2", "--samples", "100", "--seed", "3"]


def test_compare_writes_results_and_png(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*SHORT, "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.out.count("Total params:") == 3
    assert "Total params: 49,985 (195.25 KB)" in printed.out
    assert "exact match" in printed.out and f"Results written to {out}" in printed.out
    assert "Epoch 2/2" in printed.err  # per-epoch progress

    results = json.loads((out / "results.json").read_text())
    assert list(results["models"]) == ["lstm", "bilstm", "seq2seq"]
    assert (results["train_size"], results["test_size"]) == (80, 20)
    for name, params in [("lstm", 16_961), ("bilstm", 33_921), ("seq2seq", 49_985)]:
        m = results["models"][name]
        assert m["params"] == params
        assert len(m["history"]["loss"]) == len(m["history"]["val_loss"]) == 2
        assert m["loss"] == m["history"]["loss"][-1]
        assert 0.0 <= m["token_accuracy"] <= 1.0 and 0.0 <= m["exact_match"] <= 1.0
        assert m["train_seconds"] > 0
    png = image.imread(out / "learning_curves.png")
    assert png.ndim == 3 and png.shape[0] > 100 and png.shape[1] > 100
    assert not list(out.glob(".*.tmp"))  # no temporary files left behind


def test_compare_options(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["compare", "--epochs", "1", "--samples", "60", "--max-len", "7", "--task", "sort"]
    assert main([*args, "--models", "gru,birnn", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "Total params" not in printed.out and printed.err == ""
    results = json.loads((out / "results.json").read_text())
    assert list(results["models"]) == ["gru", "birnn"]
    assert results["config"]["task"] == "sort" and results["config"]["max_len"] == 7


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "0"], "argument --epochs: expected a positive integer, got '0'"),
        (["--max-len", "-1"], "argument --max-len: expected a positive integer, got '-1'"),
        (["--samples", "x"], "argument --samples: expected a positive integer, got 'x'"),
        (
            ["--models", "lstm,transformer"],
            "argument --models: unknown model transformer; expected some of lstm",
        ),
        (["--task", "nope"], "argument --task: unknown task 'nope'; expected one of"),
        (
            ["--test-size", "1.5"],
            "argument --test-size: expected a fraction between 0 and 1, got '1.5'",
        ),
        (["--learning-rate", "-1"], "argument --learning-rate: expected a positive number"),
        (
            ["--samples", "3", "--test-size", "0.99"],
            "--test-size=0.99 with 3 samples leaves 0 for training",
        ),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--jobs", "0"], "argument --jobs: expected 'auto' or a positive integer, got '0'"),
        (["--jobs", "many"], "argument --jobs: expected 'auto' or a positive integer, got 'many'"),
    ],
)
def test_bad_options_get_one_line_and_exit_2(args, message, capsys, tmp_path):
    out = tmp_path / "never"
    try:
        code = main(["compare", *args, "--out", str(out)])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("rnnlab compare: error: ")
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()  # nothing half-written


def test_out_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main([*SHORT, "--out", str(target)]) == 2
    assert "--out" in capsys.readouterr().err and target.read_text() == "x"


def test_no_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "a command is required" in capsys.readouterr().err


def test_console_entry_point_exit_status(tmp_path):
    """The installed command itself: exit status 2 and one line on stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "rnnlab", "compare", "--epochs", "0"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "rnnlab compare: error: argument --epochs: expected a positive integer, got '0' "
        "(see rnnlab compare --help)"
    ]
    help_text = subprocess.run(
        [sys.executable, "-m", "rnnlab", "compare", "--help"], capture_output=True, text=True
    )
    assert help_text.returncode == 0 and "--epochs" in help_text.stdout


def test_compare_numbers_do_not_depend_on_jobs(tmp_path, capsys):
    runs = {}
    for jobs in ("1", "3"):
        assert main([*SHORT, "--quiet", "--jobs", jobs, "--out", str(tmp_path / jobs)]) == 0
        results = json.loads((tmp_path / jobs / "results.json").read_text())
        for m in results["models"].values():
            del m["train_seconds"]
        runs[jobs] = results["models"]
    assert runs["1"] == runs["3"]


def test_console_script_writes_everything_before_it_exits(tmp_path):
    """The command exits without the interpreter's teardown: the output and files are whole."""
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "rnnlab", *SHORT, "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("(results.json, learning_curves.png)")
    assert proc.stderr.count("Epoch 2/2") == 3  # one per model, relayed from the workers
    assert json.loads((out / "results.json").read_text())["models"]["lstm"]["params"] == 16_961
    assert (out / "learning_curves.png").read_bytes().startswith(b"\x89PNG")


def test_ctrl_c_stops_every_worker_and_writes_nothing(tmp_path):
    import os
    import signal
    import time

    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnlab", "compare", "--epochs", "500", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    deadline = time.monotonic() + 60
    while "Epoch 1/500" not in (line := proc.stderr.readline()) and time.monotonic() < deadline:
        assert line, "the command ended before training started"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: the whole group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.rstrip().endswith("interrupted; no results were written for the unfinished work")
    assert "Traceback" not in err
    assert not out.exists()
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # no worker left in the group


def test_a_reader_that_goes_away_is_not_an_error():
    """``rnnlab doctor | head -1``: the closed pipe ends the command quietly."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnlab", "doctor"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    proc.stdout.readline()
    proc.stdout.close()  # as head does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_console_script_starts_the_command_with_start_up_frozen_and_collector_on():
    """``run`` skips the garbage collection of start-up: off while torch is imported and the
    options parsed, then everything made so far frozen and the collector back on."""
    probe = (
        "import gc, sys\n"
        "import rnnlab.cli as cli\n"
        "from rnnlab.cli import doctor\n"
        "def command(args):\n"
        "    import torch\n"
        "    frozen = gc.get_freeze_count()\n"
        "    assert gc.isenabled()\n"
        "    assert gc.get_stats()[2]['collections'] == 0  # none while starting up\n"
        "    assert frozen > 100_000, frozen  # torch's objects, among others\n"
        "    assert gc.collect() < 1_000  # what the frozen start-up left is not walked\n"
        "    print('checked', frozen)\n"
        "    return 0\n"
        "doctor.run = command\n"
        "assert not gc.get_freeze_count()\n"
        "sys.argv = ['rnnlab', 'doctor']\n"
        "cli.run()\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("checked")


def test_before_command_runs_once_the_options_are_parsed(capsys):
    calls = []
    with pytest.raises(SystemExit):
        main(["compare", "--epochs", "0"], before_command=lambda: calls.append("bad"))
    assert main(["doctor"], before_command=lambda: calls.append("doctor")) == 0
    assert calls == ["doctor"]


def _commands() -> list[str]:
    from rnnlab.cli import build_parser

    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    return sorted(commands.choices)


@pytest.mark.parametrize("argv", [[c] for c in _commands()] + [["train", "--kind", "seq2seq"]])
def test_every_command_prints_its_help(argv, capsys):
    """argparse formats help with %: an option's help that says "90%" must not break it."""
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and out.startswith("usage: rnnlab " + argv[0])
