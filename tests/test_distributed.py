"""Several processes training one model (DDP under torchrun, gloo on this CPU): the same
steps as one process with the same global batch, for every kind; rank 0 alone writes; a
run resumes with another number of processes; a process that dies stops the others."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from commands import stopped_at_epoch
from safetensors.torch import load_file
from test_forecast import cycles, wide_csv
from test_kinds import _vector_file
from test_lm import rhymes

from rnnlab.cli import main
from rnnlab.data.labelled_dataset import LabelledBatch
from rnnlab.data.series_windows import WindowBatch
from rnnlab.data.text import Chunk
from rnnlab.data.token_dataset import TokenPairs
from rnnlab.training import distributed

pytestmark = pytest.mark.slow  # processes launched by torchrun: seconds each

HERE = Path(__file__).parent
LOSS_TOLERANCE = 1e-5  # the issue's: 2 processes = 1 process, in the loss, after 20 steps
WEIGHT_TOLERANCE = 1e-4  # Adam divides by sqrt(v): rounding in tiny gradients shows more

SMALL = ["--units", "16", "--epochs", "2", "--dropout", "0"]
TINY_RUN = ["--samples", "120", "--embedding-dim", "8", "--batch-size", "10", *SMALL, "--quiet"]


def _runs(data: Path) -> dict[str, list[str]]:
    """A run of every kind, of at least 20 steps, without dropout (whose numbers differ
    between one process and several); uneven last batches; attention on and off."""
    data.mkdir(exist_ok=True)
    text = data / "rhymes.txt"
    text.write_text(rhymes(300))
    _vector_file(data / "vectors.jsonl")
    series = wide_csv(data / "cycles.csv", {"a": cycles(seed=0), "b": cycles(200, 9.0, seed=1)})
    seq2seq = ["--task", "reverse", "--samples", "120", "--embedding-dim", "8", "--batch-size"]
    return {
        "seq2seq": [*seq2seq, "10", *SMALL],
        "seq2seq-plain": [*seq2seq, "10", "--attention", "none", *SMALL],
        "tag": [
            *("--kind", "tag", "--task", "neighbours", "--samples", "120", "--embedding-dim"),
            *("8", "--char-features", "8", "--layers", "1", "--crf", "--batch-size", "10"),
            *SMALL,
        ],
        "tag-softmax": [
            *("--kind", "tag", "--task", "neighbours", "--samples", "120", "--embedding-dim"),
            *("8", "--char-features", "8", "--layers", "1", "--batch-size", "10", *SMALL),
        ],
        "classify": [
            *("--kind", "classify", "--data", str(data / "vectors.jsonl")),
            *("--batch-size", "10", *SMALL),
        ],
        "forecast": [
            *("--kind", "forecast", "--data", str(series), "--horizon", "10"),
            *("--batch-size", "16", *SMALL),  # the hybrid: fewer windows than the rnn's
        ],
        "lm": [
            *("--kind", "lm", "--data", str(text), "--embedding-dim", "16", "--layers", "1"),
            *("--batch-size", "8", "--bptt", "16", *SMALL),
        ],
    }


def _history(folder: Path) -> list[dict[str, float]]:
    with (folder / "history.csv").open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _steps(folder: Path, batch: int) -> int:
    metrics = json.loads((folder / "metrics.json").read_text())
    return metrics["epochs"] * -(-metrics["train_size"] // batch)


def _same_run(one: Path, two: Path) -> None:
    h1, h2 = _history(one), _history(two)
    assert len(h1) == len(h2) and h1[0].keys() == h2[0].keys()
    for r1, r2 in zip(h1, h2, strict=True):
        for key in r1:
            if key.endswith("loss"):
                assert abs(r1[key] - r2[key]) <= LOSS_TOLERANCE * max(1.0, abs(r1[key])), key
    w1, w2 = load_file(one / "model.safetensors"), load_file(two / "model.safetensors")
    assert w1.keys() == w2.keys()
    for key in w1:
        torch.testing.assert_close(w1[key], w2[key], atol=WEIGHT_TOLERANCE, rtol=0, msg=key)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """Every run of ``_runs`` with 2 processes (one launch), and with one."""
    root = tmp_path_factory.mktemp("ddp")
    runs = _runs(root / "data")
    (root / "runs.json").write_text(json.dumps(runs))
    two = root / "two"
    two.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RNNLAB_DIST_TIMEOUT": "120"}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "torch.distributed.run", "--standalone"),
            *("--nproc_per_node", "2", str(HERE / "distributed_script.py")),
            *(str(root / "runs.json"), str(two)),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        cwd=HERE,
    )
    one = root / "one"
    for name, args in runs.items():
        assert main(["train", *args, "--quiet", "--out", str(one / name)]) == 0
    return runs, one, two, done


@pytest.mark.parametrize(
    "name", ["seq2seq", "seq2seq-plain", "tag", "tag-softmax", "classify", "forecast", "lm"]
)
def test_two_processes_take_the_steps_of_one(launched, name):
    runs, one, two, done = launched
    status = json.loads((two / "status-0.json").read_text())
    assert status[name] == 0, done.stderr[-3000:]
    batch = int(runs[name][runs[name].index("--batch-size") + 1])
    assert _steps(one / name, batch) >= 20
    _same_run(one / name, two / name)
    metrics = json.loads((two / name / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["device"].startswith("cpu")


def test_only_rank_0_writes_and_prints(launched):
    runs, _, two, done = launched
    assert (two / "rank1_writes.txt").read_text() == ""
    assert json.loads((two / "status-1.json").read_text())["seq2seq"] == 0
    finished = len(runs) + 2  # and drop, drop-cut resumed
    assert done.stdout.count("Run written to") == finished  # rank 0's lines alone
    assert done.stdout.count("held-out exact match") == 4  # of the seq2seq runs


def test_a_batch_that_does_not_split_is_refused_by_every_rank(launched):
    _, _, two, done = launched
    for rank in (0, 1):
        assert json.loads((two / f"status-{rank}.json").read_text())["odd"] == 2
    assert "--batch-size 33 does not split evenly across 2 processes" in done.stderr
    assert not (two / "odd").exists()


def test_a_run_started_with_two_processes_resumes_with_one(launched):
    _, one, two, _ = launched
    status = json.loads((two / "status-0.json").read_text())
    assert status["cut"] == 130
    cut = two / "cut"
    assert not (cut / "metrics.json").exists() and len(_history(cut)) == 1
    assert main(["train", "--resume", str(cut), "--quiet"]) == 0
    _same_run(one / "seq2seq", cut)
    lines = (cut / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,") and sum(line.startswith("epoch") for line in lines) == 1


def test_a_launch_with_dropout_resumed_with_as_many_processes_is_exact(launched):
    """Each rank's dropout draws from the seed, the epoch and the rank: a resumed launch
    draws what the uninterrupted one drew."""
    _, _, two, _ = launched
    status = json.loads((two / "status-0.json").read_text())
    assert status["drop"] == 0 and status["drop-cut"] == 130 and status["drop-resumed"] == 0
    assert (two / "drop" / "history.csv").read_text() == (
        two / "drop-cut" / "history.csv"
    ).read_text()
    a, b = (
        load_file(two / "drop" / "model.safetensors"),
        load_file(two / "drop-cut" / "model.safetensors"),
    )
    assert all(torch.equal(a[k], b[k]) for k in a)
    # and dropout did draw: the run differs from the one without it
    assert _history(two / "drop") != _history(two / "seq2seq")


def test_a_run_started_with_one_process_resumes_with_two(tmp_path):
    args = _runs(tmp_path / "data")["seq2seq"]
    cut = tmp_path / "cut"
    with stopped_at_epoch(1):
        assert main(["train", *args, "--quiet", "--out", str(cut)]) == 130
    done = subprocess.run(
        [
            *(sys.executable, "-m", "torch.distributed.run", "--standalone"),
            *("--nproc_per_node", "2", "-m", "rnnlab", "train", "--resume", str(cut), "--quiet"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert main(["train", *args, "--quiet", "--out", str(tmp_path / "full")]) == 0
    _same_run(tmp_path / "full", cut)
    assert json.loads((cut / "metrics.json").read_text())["processes"] == 2


def test_a_process_that_dies_stops_the_other_with_one_line(tmp_path):
    """Without torchrun (which would stop the others itself): rank 1 is killed mid-run, and
    rank 0 ends at its next collective with a line that says so, instead of waiting."""
    port = _free_port()
    out = tmp_path / "run"
    args = [sys.executable, "-m", "rnnlab", "train", "--task", "reverse", "--samples", "4000"]
    args += ["--epochs", "50", "--quiet", "--out", str(out)]
    procs = []
    for rank in (0, 1):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "RNNLAB_DIST_TIMEOUT": "60"}
        env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2")
        env.update(RANK=str(rank), LOCAL_RANK=str(rank))
        procs.append(
            subprocess.Popen(
                args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    deadline = time.monotonic() + 240
    while not (out / "checkpoint").is_dir() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (out / "checkpoint").is_dir(), procs[0].communicate(timeout=60)
    procs[1].send_signal(signal.SIGKILL)
    began = time.monotonic()
    _, err = procs[0].communicate(timeout=120)
    procs[1].communicate(timeout=10)
    assert procs[0].returncode == 1 and time.monotonic() - began < 90
    lines = [line for line in err.splitlines() if line.startswith("rnnlab train:")]
    assert len(lines) == 1 and "another process stopped" in lines[0], err[-2000:]
    assert "Traceback" not in err
    assert not (out / "metrics.json").exists() and (out / "resume.json").exists()


# -- shards ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n,world", [(10, 2), (7, 2), (1, 2), (5, 3), (2, 4)])
def test_shards_are_disjoint_and_cover_the_batch(n, world):
    batch = TokenPairs(
        torch.arange(n)[:, None].repeat(1, 3),
        torch.arange(n)[:, None].repeat(1, 2),
        torch.full((n,), 3),
        torch.full((n,), 2),
    )
    seen = []
    for rank in range(world):
        part, has_rows = distributed.shard(batch, rank, world)
        if has_rows:
            seen += part.sources[:, 0].tolist()
        else:
            assert len(part) == 1  # a stand-in row, trained on with weight 0
    assert seen == list(range(n))


def test_shards_of_every_batch_type_keep_their_other_fields():
    windows = WindowBatch(torch.zeros(5, 4, 2), None, torch.arange(5.0)[:, None], torch.arange(5))
    part, _ = distributed.shard(windows, 1, 2)
    assert part.future is None and part.target[:, 0].tolist() == [2.0, 3.0, 4.0]
    chunk = Chunk(torch.arange(8)[:, None], torch.arange(8)[:, None], first=True)
    part, _ = distributed.shard(chunk, 0, 2)
    assert part.first and part.inputs[:, 0].tolist() == [0, 1, 2, 3]
    labelled = LabelledBatch(
        torch.zeros(3, 2), torch.ones(3, 2, dtype=torch.bool), torch.arange(3), torch.arange(3)
    )
    part, _ = distributed.shard(labelled, 1, 2)
    assert part.labels.tolist() == [1, 2] and part.mask.shape == (2, 2)


def test_a_bad_timeout_is_one_line(monkeypatch):
    monkeypatch.setenv(distributed.TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match="RNNLAB_DIST_TIMEOUT='soon': expected a number"):
        distributed._timeout()


def test_two_nodes_train_one_model_and_only_node_0_has_the_run_folder(tmp_path):
    """The multi-node form (``--nnodes 2`` and a rendezvous endpoint), on one machine: two
    launchers, each in its own folder, as two machines without a shared file system."""
    port = _free_port()
    procs = []
    for node in (0, 1):
        folder = tmp_path / f"node{node}"
        folder.mkdir()
        command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2"]
        command += ["--nproc_per_node", "1", "--node_rank", str(node), "--rdzv-backend", "c10d"]
        command += ["--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "rnnlab-test"]
        command += ["-m", "rnnlab", "train", "--task", "reverse", *TINY_RUN, "--out", "run"]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parent / "src")}
        procs.append(
            subprocess.Popen(
                command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        )
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err.decode()[-3000:]
    assert (tmp_path / "node0" / "run" / "metrics.json").is_file()
    assert list((tmp_path / "node1").iterdir()) == []
    assert b"Run written to" in outputs[0][0] and b"Run written to" not in outputs[1][0]
    one = tmp_path / "one"
    assert main(["train", "--task", "reverse", *TINY_RUN, "--out", str(one)]) == 0
    _same_run(one, tmp_path / "node0" / "run")
