"""Where a run computes (``--device``, ``--precision``), what it logs as it goes (the
growing ``history.csv``, ``--tensorboard``), and the one-line errors of each."""

import json

import pytest
import torch
from commands import run_cli as run
from commands import stopped_at_epoch
from torch import nn

from rnnlab.training import Trainer, ValueRegression
from rnnlab.training.devices import DeviceMemoryError, Precision, resolve_device

TINY = ["--task", "reverse", "--samples", "120", "--units", "16", "--embedding-dim", "8"]
TINY += ["--epochs", "3", "--quiet"]
NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from rnnlab.cli import main

    out = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


def _one_line_error(args, capsys) -> str:
    code, _, err = run(args, capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


# -- --device and --precision -------------------------------------------------------------


@NO_GPU
def test_device_cuda_without_a_gpu_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    err = _one_line_error(["train", *TINY, "--device", "cuda", "--out", str(out)], capsys)
    assert "--device cuda: no CUDA GPU is visible" in err and "--device cpu" in err
    assert not out.exists()


@pytest.mark.parametrize("spec", ["tpu", "cuda:x", "gpu0", "cuda:-1"])
def test_an_unknown_device_is_one_line(spec, tmp_path, capsys):
    err = _one_line_error(["train", *TINY, "--device", spec, "--out", str(tmp_path / "r")], capsys)
    assert f"--device {spec!r}: unknown; expected auto, cpu, cuda or cuda:N" in err


@NO_GPU
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_on_a_cpu_is_one_line(precision, tmp_path, capsys):
    out = tmp_path / "run"
    err = _one_line_error(["train", *TINY, "--precision", precision, "--out", str(out)], capsys)
    assert f"--precision {precision}: mixed precision needs a CUDA device" in err
    assert not out.exists()


@NO_GPU
def test_device_auto_trains_on_the_cpu_here(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run(["train", *TINY, "--device", "auto", "--out", str(out)], capsys)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["device"].startswith("cpu (") and metrics["processes"] == 1
    assert metrics["precision"] == "fp32"


@NO_GPU
@pytest.mark.parametrize(
    "command",
    [
        ["predict", "--input", "-"],
        ["evaluate", "--data", "pairs.tsv"],
        ["generate", "--length", "5"],
    ],
)
def test_the_other_commands_refuse_a_missing_gpu(command, run_dir, capsys):
    name, *rest = command
    err = _one_line_error([name, str(run_dir), *rest, "--device", "cuda"], capsys)
    assert "--device cuda: no CUDA GPU is visible" in err


def test_predict_on_the_cpu_device(run_dir, tmp_path, capsys):
    sources = tmp_path / "sources.txt"
    sources.write_text("1 2 3\n4 5 6 7\n")
    code, out, err = run(
        ["predict", str(run_dir), "--input", str(sources), "--device", "cpu"], capsys
    )
    assert code == 0, err
    assert len(out.splitlines()) == 2


def test_cuda_devices_are_checked_against_what_the_machine_has(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("cuda", local_rank=1) == torch.device("cuda", 1)  # under torchrun
    assert resolve_device("CUDA:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match=r"cuda:2: this machine has 2 CUDA device\(s\)"):
        resolve_device("cuda:2")
    assert resolve_device(None) == torch.device("cpu")


# -- loss scaling and out of memory ---------------------------------------------------------


class _Data:
    """A regression data set of fixed batches, as the trainer reads them."""

    def __init__(self, n=32, seed=0):
        from rnnlab.data import SequenceDataset

        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, 5, 3, generator=g)
        self.data = SequenceDataset(
            x, x.flip(1)[..., :1], torch.full((n,), 5), torch.full((n,), 5), "post"
        )

    def __len__(self):
        return len(self.data)

    def batches(self, *args, **kwargs):
        return self.data.batches(*args, **kwargs)


class _Model(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.rnn = nn.GRU(3, 8, batch_first=True)
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        return self.out(self.rnn(x)[0])


def _trained(scaler=None, epochs=2, inject=None):
    trainer = Trainer(_Model(), ValueRegression(), batch_size=8, seed=0, shuffle=False)
    trainer.precision.scaler = scaler
    if inject is not None:
        trainer.callbacks.append(inject)
    trainer.fit(_Data(), epochs=epochs)
    return trainer


def test_loss_scaling_takes_the_same_steps_when_nothing_overflows():
    """A power-of-two scale and its inverse are exact: GradScaler's steps (fp16's) are the
    plain steps, through rnnlab's own Adam."""
    plain = _trained()
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    scaled = _trained(scaler)
    for a, b in zip(plain.model.parameters(), scaled.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert scaler.get_scale() == 2.0**10 and scaled.optimizer.iterations == 8


def test_a_step_whose_gradients_overflow_is_skipped_and_the_scale_halved():
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)

    trainer = Trainer(_Model(), ValueRegression(), batch_size=8, seed=0, shuffle=False)
    trainer.precision.scaler = scaler
    update = trainer._update
    calls = []

    def overflowing(loss):  # the 3rd step's scaled gradients are infinite
        calls.append(1)
        if len(calls) == 3:
            loss = loss * float("inf")
        update(loss)

    trainer._update = overflowing
    trainer.fit(_Data(), epochs=1)
    assert trainer.optimizer.iterations == 3  # 4 batches, one step skipped
    assert scaler.get_scale() == 2.0**9
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_a_checkpoint_keeps_the_loss_scale():
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**7)
    trainer = _trained(scaler, epochs=1)
    tensors, numbers = trainer.state()
    assert numbers["loss_scaler"]["scale"] == 2.0**7
    other = Trainer(_Model(), ValueRegression(), batch_size=8, seed=0)
    other.precision.scaler = torch.amp.GradScaler("cpu")
    other.load_state(tensors, numbers)
    assert other.precision.scaler.get_scale() == 2.0**7


def test_out_of_device_memory_names_the_batch_size(monkeypatch):
    def oom(self, model, batch):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(ValueRegression, "loss", oom)
    trainer = Trainer(_Model(), ValueRegression(), batch_size=8, seed=0)
    with pytest.raises(
        DeviceMemoryError, match=r"ran out of memory at a batch of 8 \(epoch 1, step 1"
    ):
        trainer.fit(_Data(), epochs=1)


def test_out_of_device_memory_through_the_command_is_one_line(monkeypatch, tmp_path, capsys):
    from rnnlab.training.objectives import SequenceGeneration

    def oom(self, model, batch):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(SequenceGeneration, "loss", oom)
    err = _one_line_error(["train", *TINY, "--out", str(tmp_path / "run")], capsys)
    assert "ran out of memory at a batch of 32" in err and "--batch-size" in err


def test_precision_names_are_checked():
    with pytest.raises(ValueError, match="`precision` 'fp8': unknown"):
        Precision("fp8")
    assert Precision("bf16", "cuda").dtype == torch.bfloat16  # made anywhere, used on a GPU


# -- history.csv as the run goes, and TensorBoard --------------------------------------------


def _interrupted(args, out, capsys, at_epoch=2):
    """``rnnlab train`` stopped (as by Ctrl-C) as epoch ``at_epoch`` (from 0) begins."""
    with stopped_at_epoch(at_epoch):
        code, _, err = run(["train", *args, "--out", str(out)], capsys)
    assert code == 130, err


def test_history_grows_an_epoch_at_a_time_and_resumes_without_a_second_header(
    run_dir, tmp_path, capsys
):
    cut = tmp_path / "cut"
    _interrupted(TINY, cut, capsys)
    lines = (cut / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,loss,") and [line[:2] for line in lines[1:]] == ["1,", "2,"]
    code, _, err = run(["train", "--resume", str(cut), "--quiet"], capsys)
    assert code == 0, err
    assert (cut / "history.csv").read_text() == (run_dir / "history.csv").read_text()


def test_a_row_the_checkpoint_lacks_is_dropped_on_resume(run_dir, tmp_path, capsys):
    cut = tmp_path / "cut"
    _interrupted(TINY, cut, capsys)
    with (cut / "history.csv").open("a") as f:  # as if stopped between the two writes
        f.write("3,9.0,0.001,9.0,0.0,0.0,1.0\n")
    assert run(["train", "--resume", str(cut), "--quiet"], capsys)[0] == 0
    assert (cut / "history.csv").read_text() == (run_dir / "history.csv").read_text()


def _scalars(logdir) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(logdir))  # every file, as TensorBoard reads the directory
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def test_tensorboard_gets_loss_metrics_learning_rate_and_throughput(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    logs, out = tmp_path / "tb", tmp_path / "run"
    _interrupted([*TINY, "--tensorboard", str(logs)], out, capsys)
    assert run(["train", "--resume", str(out), "--tensorboard", str(logs)], capsys)[0] == 0
    scalars = _scalars(logs)
    history = (out / "history.csv").read_text().splitlines()[1:]
    losses = [float(row.split(",")[1]) for row in history]
    assert [step for step, _ in scalars["epoch/loss"]] == [1, 2, 3]  # the resumed run's 3rd
    assert [v for _, v in scalars["epoch/loss"]] == pytest.approx(losses, rel=1e-6)
    for tag in ("epoch/lr", "epoch/val_loss", "epoch/val_exact_match", "epoch/seconds"):
        assert len(scalars[tag]) == 3, tag
    assert all(v > 0 for _, v in scalars["epoch/tokens_per_second"])
    assert scalars["train/loss"] and all(v > 0 for _, v in scalars["train/loss"])


def test_tensorboard_without_the_package_is_one_line(monkeypatch, tmp_path, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    out = tmp_path / "run"
    err = _one_line_error(
        ["train", *TINY, "--tensorboard", str(tmp_path / "tb"), "--out", str(out)], capsys
    )
    assert "--tensorboard" in err and "pip install" in err and not out.exists()


def test_a_refused_run_leaves_no_tensorboard_files(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "theirs.txt").write_text("x")
    logs = tmp_path / "tb"
    _one_line_error(["train", *TINY, "--tensorboard", str(logs), "--out", str(taken)], capsys)
    assert not logs.exists()


def test_tensorboard_after_a_cut_mid_epoch_keeps_each_step_once(run_dir, tmp_path, capsys):
    """Stopped during epoch 2: the steps it logged past the checkpoint (epoch 1) are
    purged when the resumed run logs them again."""
    pytest.importorskip("tensorboard")
    logs, out = tmp_path / "tb", tmp_path / "run"
    steps = -(-json.loads((run_dir / "metrics.json").read_text())["train_size"] // 32)
    original = Trainer._step

    def step(self, batch):
        if self.optimizer.iterations == steps + 1:  # epoch 2's first step is logged
            raise KeyboardInterrupt
        return original(self, batch)

    Trainer._step = step
    try:
        code, _, err = run(["train", *TINY, "--tensorboard", str(logs), "--out", str(out)], capsys)
    finally:
        Trainer._step = original
    assert code == 130, err
    assert run(["train", "--resume", str(out), "--tensorboard", str(logs)], capsys)[0] == 0
    logged = [step for step, _ in _scalars(logs)["train/loss"]]
    assert steps + 1 in logged and logged == sorted(set(logged)) and logged[-1] == 3 * steps


def test_tensorboard_into_a_file_is_one_line(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    err = _one_line_error(
        ["train", *TINY, "--tensorboard", str(target), "--out", str(tmp_path / "r")], capsys
    )
    assert "not a directory" in err and target.read_text() == "mine\n"


def test_load_puts_the_model_on_the_device(run_dir):
    import rnnlab

    trained = rnnlab.load(run_dir, device="cpu")
    assert next(trained.model.parameters()).device == torch.device("cpu")
    assert len(trained.predict([["1", "2", "3"], ["4", "5"]])) == 2


@NO_GPU
def test_a_resumed_run_trains_where_it_trained_unless_told(run_dir, tmp_path, capsys):
    cut = tmp_path / "cut"
    _interrupted(TINY, cut, capsys)
    saved = json.loads((cut / "resume.json").read_text())
    assert saved["placement"] == {"device": "cpu", "precision": "fp32"}
    saved["placement"]["device"] = "cuda"  # as if it had started on a GPU machine
    (cut / "resume.json").write_text(json.dumps(saved))
    err = _one_line_error(["train", "--resume", str(cut), "--quiet"], capsys)
    assert "--device cuda: no CUDA GPU is visible" in err
    code, _, err = run(["train", "--resume", str(cut), "--quiet", "--device", "cpu"], capsys)
    assert code == 0, err
    assert (cut / "history.csv").read_text() == (run_dir / "history.csv").read_text()


def test_a_gpu_index_under_a_launcher_of_several_processes_is_refused(
    monkeypatch, tmp_path, capsys
):
    for name, value in {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    out = tmp_path / "run"
    err = _one_line_error(["train", *TINY, "--device", "cuda:1", "--out", str(out)], capsys)
    assert "each process takes the GPU of its local rank; give --device cuda" in err
    assert not out.exists()
