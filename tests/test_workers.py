"""Training runs side by side in forked workers: same results as one after the other,
callback events relayed, failures raised here, nothing left running."""

import os
import signal

import pytest
import torch

from rnnlab.experiments import CompareConfig, run_compare
from rnnlab.training import Callback
from rnnlab.training.workers import can_fork, default_jobs, run_all, torch_threads

needs_fork = pytest.mark.skipif(not can_fork(), reason="workers are forked (Linux only)")


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, *, epochs, steps_per_epoch):
        self.events.append(("begin", epochs, steps_per_epoch))

    def on_batch_end(self, step, logs):
        self.events.append(("batch", step))

    def on_epoch_end(self, epoch, logs):
        self.events.append(("epoch", epoch, logs["loss"]))

    def on_train_end(self, logs):
        self.events.append(("end",))


def square(value):
    def run(callbacks):
        for cb in callbacks:
            cb.on_train_begin(epochs=1, steps_per_epoch=3)
            for step in range(3):
                cb.on_batch_end(step, {"loss": float(step)})
            cb.on_epoch_end(0, {"loss": float(value)})
            cb.on_train_end({})
        return value * value, os.getpid()

    return run


@needs_fork
def test_runs_go_to_other_processes_and_come_back_in_order():
    recorders = [Recorder() for _ in range(5)]
    results = run_all([square(v) for v in range(5)], jobs=2, callbacks_for=lambda i: [recorders[i]])
    assert [r[0] for r in results] == [0, 1, 4, 9, 16]
    pids = {r[1] for r in results}
    assert os.getpid() not in pids and len(pids) <= 2
    for value, recorder in enumerate(recorders):
        # begin, the last step of the epoch (relayed batch events may skip steps), the epoch
        assert recorder.events[0] == ("begin", 1, 3)
        assert ("batch", 2) in recorder.events
        assert recorder.events[-2:] == [("epoch", 0, float(value)), ("end",)]


def test_one_job_runs_here():
    results = run_all([square(3)], jobs=1)
    assert results == [(9, os.getpid())]


def failing(callbacks):
    raise ValueError("bad run")


def dying(callbacks):
    os.kill(os.getpid(), signal.SIGKILL)


@needs_fork
def test_an_error_in_a_worker_is_raised_here():
    with pytest.raises(ValueError, match="bad run"):
        run_all([square(1), failing], jobs=2)


@needs_fork
def test_a_worker_that_dies_is_reported():
    with pytest.raises(RuntimeError, match=r"run 1 ended unexpectedly \(exit code -9\)"):
        run_all([square(1), dying], jobs=2)


def test_jobs_must_be_positive():
    with pytest.raises(ValueError, match="`jobs` must be a positive integer, got 0"):
        run_all([square(1)], jobs=0)


def test_default_jobs_is_at_most_one_per_run():
    assert 1 <= default_jobs(3) <= 3
    assert default_jobs(1) == 1


def test_torch_threads_restores_the_count():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def threads(callbacks):
    return torch.get_num_threads()


@pytest.mark.parametrize("jobs", [1, pytest.param(2, marks=needs_fork)])
def test_every_run_goes_on_one_thread(jobs):
    before = torch.get_num_threads()
    with torch_threads(2):
        assert run_all([threads, threads], jobs=jobs) == [1, 1]
        assert torch.get_num_threads() == 2  # restored here afterwards
    assert torch.get_num_threads() == before


@needs_fork
def test_compare_gives_the_same_numbers_in_workers():
    config = CompareConfig(samples=120, epochs=2, models=("lstm", "bilstm", "seq2seq"))
    alone, side_by_side = run_compare(config, jobs=1), run_compare(config, jobs=3)
    for a, b in zip(alone.models, side_by_side.models, strict=True):
        assert a.name == b.name
        assert a.history.history == b.history.history and a.metrics == b.metrics


def test_progress_logs_each_run_once_though_runs_take_turns():
    import io

    from rnnlab.cli.runs import Progress

    log = io.StringIO()  # not a terminal: lines, no bar
    progress = Progress("memory", stream=log)
    for done, what in enumerate(["a", "b", "a", "b", "c", "a"], start=1):
        progress(what, done, 6)
    progress.close()
    assert [line.split("memory: ")[1] for line in log.getvalue().splitlines()] == ["a", "b", "c"]


@pytest.mark.slow
@needs_fork
def test_warm_up_in_a_thread_leaves_no_trace():
    """``compare`` warms torch's fused kernels up in a thread while it seeds and builds the
    models: on one thread as set, no random number drawn, no thread left to fork with."""
    import subprocess
    import sys

    probe = (
        "import os, threading, time, torch\n"
        "from rnnlab.layers.fused import warm_up\n"
        "torch.set_num_threads(1)\n"
        "rng = torch.get_rng_state()\n"
        "# torch starts a thread of its own, sometimes a little after the import: wait for it\n"
        "tasks, before = None, sorted(os.listdir('/proc/self/task'))\n"
        "while tasks != before:\n"
        "    time.sleep(0.2)\n"
        "    tasks, before = before, sorted(os.listdir('/proc/self/task'))\n"
        "thread = threading.Thread(target=warm_up)\n"
        "thread.start(); thread.join()\n"
        "assert torch.equal(rng, torch.get_rng_state())\n"
        "assert torch.get_num_threads() == 1\n"
        "# a joined thread's task can linger a moment in /proc; threads of a team would stay\n"
        "for _ in range(30):\n"
        "    after = sorted(os.listdir('/proc/self/task'))\n"
        "    if after == tasks:\n"
        "        break\n"
        "    time.sleep(0.1)\n"
        "assert after == tasks, (tasks, after)  # no OpenMP team started by the thread\n"
        "print('ok')\n"
    )
    verbose = {**os.environ, "ONEDNN_VERBOSE": "1"}  # oneDNN says how many threads it has
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=verbose
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")
    assert "nthr:1" in proc.stdout  # the thread took torch's count, not OpenMP's default


def test_warm_up_runs_a_backward_pass_only_without_an_accelerator(monkeypatch):
    """Its backward pass is what sets oneDNN up; with a GPU visible it would also start
    autograd's device threads, and torch would then refuse autograd in forked workers."""
    from rnnlab.layers import fused

    calls = []
    monkeypatch.setattr(torch.Tensor, "backward", lambda self, *a, **k: calls.append(self))
    fused.warm_up()
    assert len(calls) == 1
    monkeypatch.setattr(fused, "accelerator_visible", lambda: True)
    fused.warm_up()
    assert len(calls) == 1
