"""Workers die with the process that forked them, however it ends: ``kill -9`` of the
parent must not leave them training on, holding the pipes of whoever started the command."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnlab.training import workers

linux_fork = pytest.mark.skipif(not workers.can_fork(), reason="workers are forked (Linux only)")

# Two workers, each in a run far longer than the test; each says its pid once running.
PARENT = """\
import os, sys, time
from rnnlab.training.workers import run_all

def slow(callbacks):
    print(os.getpid(), flush=True)
    time.sleep(120)

run_all([slow, slow], jobs=2)
"""


def _stat(pid: int) -> tuple[str, int, int] | None:
    """A process's state, parent and start time, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields[0], int(fields[1]), int(fields[19])


def _alive(pid: int, started: int) -> bool:
    """Whether the process ``pid`` started at ``started`` still runs (a zombie does not)."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in "ZX" and stat[2] == started


@pytest.mark.slow
@linux_fork
def test_workers_die_when_the_parent_is_killed():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: the cleanup below kills just it
    )
    started: dict[int, int] = {}
    try:
        for _ in range(2):  # blocks until the worker runs (torch imports first: seconds)
            pid = int(parent.stdout.readline())
            stat = _stat(pid)
            assert stat is not None and stat[1] == parent.pid, (pid, stat)
            started[pid] = stat[2]
        parent.kill()  # SIGKILL, the parent only
        parent.wait()
        deadline = time.monotonic() + 10
        while (survivors := [p for p, t in started.items() if _alive(p, t)]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert not survivors, f"workers {survivors} outlived their parent"
    finally:
        with contextlib.suppress(ProcessLookupError):  # the session's group: all of it
            os.killpg(parent.pid, signal.SIGKILL)
        for pid, start in started.items():
            if _alive(pid, start):
                os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()
        parent.stdout.close()


def _sockets() -> set[int]:
    """The inodes of the sockets this process has open (a ``Pipe`` is a socket pair)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the listing's own descriptor, closed by now
        if target.startswith("socket:["):
            found.add(int(target[len("socket:[") : -1]))
    return found


def sockets(callbacks):
    return _sockets()


@linux_fork
def test_no_worker_keeps_a_parent_end_open():
    """A worker holding the parent's end of a pipe, its own above all, would never read
    the end of it: it would wait for its next run for good once the parent is gone."""
    pool = workers._Pool([sockets, sockets, sockets], 3, [(), (), ()])
    parent_ends = {os.fstat(conn.fileno()).st_ino for conn in pool.conns}
    in_workers = pool.results(None)
    assert len(parent_ends) == 3
    for index, held in enumerate(in_workers):
        assert not held & parent_ends, f"worker {index} holds a parent end"


@linux_fork
def test_a_worker_whose_parent_is_already_gone_ends_at_once():
    """The parent may die before the worker asks to be killed with it: the worker then
    finds a parent other than the one recorded before the fork, and ends."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe()
    not_the_parent = os.getppid()  # recorded as the parent: it is the grandparent
    process = context.Process(
        target=workers._worker,
        args=([sockets], child_end, False, [parent_end], not_the_parent),
        daemon=True,
    )
    process.start()
    child_end.close()
    try:
        process.join(10)
        assert process.exitcode == 0  # ended by itself, without waiting for a run
    finally:
        if process.is_alive():
            process.kill()
            process.join()
        parent_end.close()


# -- the command itself, as a user runs it ----------------------------------------------------

RNNLAB = [sys.executable, "-m", "rnnlab"]


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None and stat[1] == pid:
            found.append(int(entry))
    return found


@linux_fork
def test_kill_9_of_compare_leaves_no_worker(tmp_path):
    command = [*RNNLAB, "compare", "--epochs", "500", "--jobs", "3", "--out", str(tmp_path / "r")]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started: dict[int, int] = {}
    try:
        deadline = time.monotonic() + 60
        while "Epoch 1/500" not in (line := proc.stderr.readline()):
            assert line and time.monotonic() < deadline, "compare ended before training"
        for pid in _children(proc.pid):
            if (stat := _stat(pid)) is not None:
                started[pid] = stat[2]
        assert len(started) >= 2, started  # the models train in forked workers
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while (survivors := [p for p, t in started.items() if _alive(p, t)]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert not survivors, f"workers {survivors} outlived compare"
        assert not (tmp_path / "r").exists() and list(tmp_path.iterdir()) == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()


@pytest.mark.parametrize("delay", [0.1, 0.3, 0.6])
def test_ctrl_c_while_starting_is_quiet(delay, tmp_path):
    """Ctrl-C while the console script imports rnnlab and torch (from about 0.05 s on; before
    that Python itself is starting): exit status 130 and one line."""
    script = Path(sys.executable).with_name("rnnlab")
    if not script.exists():
        pytest.skip("the console script is not installed beside this Python")
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [str(script), "train", "--task", "reverse", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "interrupted" in err and not out.exists()


TRAIN = [
    *("train", "--task", "reverse", "--samples", "400", "--epochs", "15", "--patience", "15"),
    *("--units", "32", "--embedding-dim", "8", "--quiet"),
]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "run"
    done = subprocess.run([*RNNLAB, *TRAIN, "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_killed_mid_training_then_resumed_gives_the_same_weights(how, uninterrupted, tmp_path):
    from safetensors.torch import load_file

    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        [*RNNLAB, *TRAIN, "--out", str(cut)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (cut / "checkpoint").is_dir() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # a few epochs on
    proc.send_signal(how)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before it could be interrupted (a very fast machine)")
    if how == signal.SIGINT:
        assert proc.returncode == 130 and f"continue with: rnnlab train --resume {cut}" in err
    resumed = subprocess.run(
        [*RNNLAB, "train", "--resume", str(cut), "--quiet"], capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    a = load_file(uninterrupted / "model.safetensors")
    b = load_file(cut / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (uninterrupted / "history.csv").read_text() == (cut / "history.csv").read_text()
