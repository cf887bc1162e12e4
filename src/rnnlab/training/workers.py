"""Independent training runs side by side, in worker processes: about one per CPU core.

Small recurrent models cannot use more than one core: a training step is a long chain of
tiny operations, each too small to split between threads, and Python's global interpreter
lock keeps threads from running two chains at once. Runs that do not depend on each other
(the models of ``compare``) therefore go to separate processes, forked from this one so they
start at once and inherit the data and the models already built; only the results, which
are small, travel back (pickled, through a pipe per worker).

Each run's ``Callback`` events are relayed to this process and handed to the callbacks
that ``callbacks_for(index)`` gives, so progress shows as if the runs were local. Workers
take the next run as soon as they finish one. An exception in a run is raised here; a
worker that dies (killed, out of memory) raises ``RuntimeError``; Ctrl-C stops every worker
(they ignore SIGINT themselves and are terminated by this process).

Workers die with this process, however it ends, ``kill -9`` included: a worker left behind
would train on for nothing and hold open the terminal, or the pipe that whoever started the
command reads its output from. Each worker closes its copies of this process's ends of the
pipes, its own pipe's included, so that a worker waiting for a run reads the end of its pipe
as soon as this process is gone. A worker in the middle of a run reads nothing, so each also
asks Linux to kill it when its parent dies (``prctl(PR_SET_PDEATHSIG)``; the kernel watches
the thread that forked it, which waits in ``run_all`` until the workers are done). A parent
that died before the worker asked shows at once: the worker's parent is then another process
than the one recorded before the fork. Where prctl cannot be called, a thread in the worker
checks its parent once a second instead.

Where ``fork`` is not available (Windows; macOS makes it unsafe) the runs go one after the
other in this process: ``default_jobs`` is then 1. Runs must be CPU runs: a CUDA context does
not survive a fork (``compare``, ``memory`` and ``gradients`` train on the CPU).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from typing import Any

import torch

from rnnlab.limits import check_int
from rnnlab.training.callbacks import Callback

Run = Callable[[Sequence[Callback]], Any]  # a run: given its callbacks, returns its result
_RELAY_INTERVAL = 0.1  # seconds between relayed batch events of one run (progress bars)
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def usable_cpus() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


def default_jobs(runs: int) -> int:
    """Worker processes for ``runs`` independent runs: one per core plus one (runs differ in
    length, and the extra worker takes a core as soon as a short run frees it), at most one
    per run; 1 where workers cannot be forked."""
    return min(runs, usable_cpus() + 1) if can_fork() else 1


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_all(
    runs: Sequence[Run],
    *,
    jobs: int = 1,
    callbacks_for: Callable[[int], Sequence[Callback]] = lambda index: (),
    meanwhile: Callable[[], None] | None = None,
) -> list:
    """Each run's result, in order; ``jobs`` > 1 runs them in that many forked workers.

    Every run goes on one thread (``torch_threads(1)``), here or in a worker: a small model
    gains nothing from more, and its numbers are then the same for any ``jobs``.

    ``meanwhile()`` is called here as soon as a core is free while the workers train (fewer
    runs going than cores), for work this process will need afterwards, such as importing
    what draws the results; without workers, after the runs.
    """
    check_int("jobs", jobs)
    callbacks = [callbacks_for(index) for index in range(len(runs))]
    jobs = min(jobs, len(runs))
    with torch_threads(1):  # forked workers inherit it
        if jobs <= 1 or not can_fork():
            results = [run(callbacks[index]) for index, run in enumerate(runs)]
            if meanwhile is not None:
                meanwhile()
            return results
        return _Pool(runs, jobs, callbacks).results(meanwhile)


class StepProgress:
    """Turns the step events of many runs into ``progress(what, done, total)``, ``done``
    counting the steps of all runs so far, after ``done`` already counted (the claim
    experiments' progress bars).

    ``callback(what)`` is the callback of the run called ``what``.
    """

    def __init__(self, progress: Callable[[str, int, int], None], total: int, done: int = 0):
        self.progress, self.total, self.done = progress, total, done
        self.steps: dict[str, int] = {}

    def callback(self, what: str) -> Callback:
        return _RunSteps(self, what)

    def advance(self, what: str, steps: int) -> None:
        self.steps[what] = steps
        self.progress(what, self.done + sum(self.steps.values()), self.total)


class _RunSteps(Callback):
    def __init__(self, counter: StepProgress, what: str) -> None:
        self.counter, self.what = counter, what

    def on_batch_end(self, step, logs):
        self.counter.advance(self.what, step + 1)


class _Relay(Callback):
    """A worker's stand-in for the callbacks: sends each event to the parent process."""

    def __init__(self, conn: Connection, index: int) -> None:
        self.conn, self.index = conn, index
        self.last_batch = 0.0
        self.steps = 1

    def _send(self, method: str, *args, **kwargs) -> None:
        self.conn.send(("event", self.index, (method, args, kwargs)))

    def on_train_begin(self, *, epochs, steps_per_epoch):
        self.steps = steps_per_epoch
        self._send("on_train_begin", epochs=epochs, steps_per_epoch=steps_per_epoch)

    def on_epoch_begin(self, epoch):
        self._send("on_epoch_begin", epoch)

    def on_batch_end(self, step, logs):
        now = time.monotonic()
        if now - self.last_batch >= _RELAY_INTERVAL or step == self.steps - 1:
            self.last_batch = now
            self._send("on_batch_end", step, dict(logs))

    def on_epoch_end(self, epoch, logs):
        self._send("on_epoch_end", epoch, dict(logs))

    def on_train_end(self, logs):
        self._send("on_train_end", dict(logs))


def _die_with(parent: int) -> bool:
    """Have this worker killed when its parent, ``parent`` before the fork, dies; False if it
    died already."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
        watched = prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL)) == 0
    except (OSError, AttributeError):  # a libc without prctl
        watched = False
    if os.getppid() != parent:
        return False
    if not watched:
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    return True


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _worker(
    runs: Sequence[Run], conn: Connection, relay_events: bool, inherited, parent: int
) -> None:
    """A worker's life: run the indices the parent sends until it sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C stops
    if not _die_with(parent):
        return  # the parent is gone already
    for end in inherited:  # the parent's ends of the pipes, this worker's own included
        end.close()
    try:
        while (index := conn.recv()) is not None:
            callbacks = [_Relay(conn, index)] if relay_events else []
            try:
                outcome = ("result", index, runs[index](callbacks))
            except BaseException as exc:  # every failure goes back to the parent
                outcome = ("error", index, _picklable(exc))
            conn.send(outcome)
    except (EOFError, OSError):
        return  # the pipe is closed: the parent is gone, nobody wants the results


def _picklable(exc: BaseException) -> BaseException:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return RuntimeError(text)


class _Pool:
    def __init__(self, runs, jobs, callbacks) -> None:
        self.runs, self.callbacks = runs, callbacks
        context = multiprocessing.get_context("fork")
        relay = any(callbacks)
        self.conns, self.processes = [], []
        try:
            for _ in range(jobs):
                parent_end, child_end = context.Pipe()
                ends = [*self.conns, parent_end]
                process = context.Process(
                    target=_worker,
                    args=(runs, child_end, relay, ends, os.getpid()),
                    daemon=True,
                )
                process.start()
                child_end.close()
                self.conns.append(parent_end)
                self.processes.append(process)
        except BaseException:
            self._stop(terminate=True)
            raise

    def results(self, meanwhile) -> list:
        pending = list(range(len(self.runs)))
        running: dict[int, int] = {}  # worker -> the run it has
        done: dict[int, Any] = {}
        try:
            for worker in range(len(self.processes)):
                self._give(worker, pending, running)
            while running:
                if meanwhile is not None and len(running) < usable_cpus():
                    meanwhile()  # on the core the finished runs left
                    meanwhile = None
                self._receive(running, pending, done)
            if meanwhile is not None:
                meanwhile()
        except BaseException:
            self._stop(terminate=True)
            raise
        self._stop(terminate=False)
        return [done[index] for index in range(len(self.runs))]

    def _give(self, worker: int, pending: list[int], running: dict[int, int]) -> None:
        if pending:
            index = pending.pop(0)
            self.conns[worker].send(index)
            running[worker] = index
        else:
            self.conns[worker].send(None)

    def _receive(self, running, pending, done) -> None:
        by_conn = {self.conns[w]: w for w in running}
        by_sentinel = {self.processes[w].sentinel: w for w in running}
        for ready in wait([*by_conn, *by_sentinel]):
            worker = by_conn.get(ready, by_sentinel.get(ready))
            if worker not in running:
                continue  # its result came in this same round
            try:
                kind, index, payload = self.conns[worker].recv()
            except EOFError:  # the worker is gone without its result
                process = self.processes[worker]
                process.join()
                raise RuntimeError(
                    f"the worker process training run {running[worker]} ended "
                    f"unexpectedly (exit code {process.exitcode})"
                ) from None
            if kind == "event":
                method, args, kwargs = payload
                for callback in self.callbacks[index]:
                    getattr(callback, method)(*args, **kwargs)
            elif kind == "error":
                raise payload
            else:
                done[index] = payload
                del running[worker]
                self._give(worker, pending, running)

    def _stop(self, *, terminate: bool) -> None:
        for process, conn in zip(self.processes, self.conns, strict=True):
            if terminate and process.is_alive():
                process.terminate()
            process.join()
            conn.close()
