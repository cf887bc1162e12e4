"""Workers die with the process that forked them, however it ends: ``kill -9`` of the
parent must not leave them training on, holding the pipes of whoever started the command."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

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
