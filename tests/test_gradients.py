import json

import numpy as np
import pytest
import torch

from rnnlab.cli import main
from rnnlab.data.claims import adding_problem
from rnnlab.experiments.claim_tasks import CLAIM_TASKS, build_claim_model
from rnnlab.experiments.gradients import fit_decay, input_gradient_norms


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_input_gradient_norms_agree_with_finite_differences(cell):
    model = build_claim_model(cell, CLAIM_TASKS["adding"], units=3, seed=1).double()
    x, y = (torch.from_numpy(a).double() for a in adding_problem(2, 5, seed=0))
    measured = input_gradient_norms(model, x, y)  # (T,), lag 1 first

    def loss(z):
        with torch.no_grad():
            return ((model(z)[:, -1, 0] - y) ** 2).sum().item()

    eps = 1e-6
    grad = torch.zeros_like(x)
    for index in np.ndindex(*x.shape):
        up, down = x.clone(), x.clone()
        up[index] += eps
        down[index] -= eps
        grad[index] = (loss(up) - loss(down)) / (2 * eps)
    expected = grad.norm(dim=-1).mean(dim=0).flip(0).numpy()
    np.testing.assert_allclose(measured, expected, rtol=1e-6, atol=1e-10)


def test_fit_decay_recovers_a_geometric_decay():
    lags = np.arange(1, 51)
    assert fit_decay(lags, 3.0 * 0.8**lags) == pytest.approx(0.8)


def test_gradients_command_is_seeded_and_meaningful(tmp_path, capsys):
    runs = []
    for name in ("a", "b"):
        assert main(["gradients", "--quick", "--seed", "4", "--out", str(tmp_path / name)]) == 0
        runs.append(json.loads((tmp_path / name / "gradients.json").read_text()))
    assert runs[0]["cells"] == runs[1]["cells"]  # same seed, same numbers
    printed = capsys.readouterr().out
    assert "decay/step" in printed and "gru" in printed
    cells = runs[0]["cells"]
    assert set(cells) == {"rnn", "lstm", "gru"}
    for c in cells.values():
        g = np.asarray(c["grad_norm"])
        assert c["lag"] == list(range(1, runs[0]["config"]["length"] + 1))
        assert np.allclose(g, np.mean(c["grad_norm_per_seed"], axis=0))
        assert g[0] > g[-1] > 0  # far inputs matter less at initialisation
        assert 0 < c["decay_per_step"] < 1
        assert c["fold_first_to_last_lag"] == pytest.approx(g[0] / g[-1])
    # GRU's update gate starts near 0.5 (zero bias), LSTM's forget gate near sigmoid(1)
    assert cells["gru"]["gate_mean"] == pytest.approx(0.5, abs=0.05)
    assert cells["lstm"]["gate_mean"] == pytest.approx(1 / (1 + np.exp(-1)), abs=0.05)
    assert (tmp_path / "a" / "gradients.png").stat().st_size > 10_000


def test_gradients_trained_quick(tmp_path):
    out = tmp_path / "t"
    assert main(["gradients", "--quick", "--trained", "--cells", "lstm", "--out", str(out)]) == 0
    result = json.loads((out / "gradients.json").read_text())
    assert list(result["trained"]) == ["lstm"]
    assert len(result["trained"]["lstm"]["val_mse"]) == result["config"]["seeds"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cells", "rnn,tcn"], "argument --cells: unknown cell tcn"),
        (["--length", "0"], "argument --length: expected a positive integer, got '0'"),
        (["--length", "1"], "argument --length: expected at least 2, got 1"),
        (["--seeds", "x"], "argument --seeds: expected a positive integer, got 'x'"),
        (["--learning-rate", "0"], "argument --learning-rate: expected a positive number"),
    ],
)
def test_gradients_bad_options(args, message, capsys, tmp_path):
    out = tmp_path / "never"
    try:
        code = main(["gradients", *args, "--out", str(out)])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("rnnlab gradients: error: ") and message in err
    assert not out.exists()


@pytest.mark.slow
def test_gradients_trained_numbers_do_not_depend_on_jobs(tmp_path):
    args = ["gradients", "--quick", "--trained", "--cells", "rnn,gru"]
    results = []
    for jobs in ("1", "3"):
        assert main([*args, "--jobs", jobs, "--out", str(tmp_path / jobs)]) == 0
        results.append(json.loads((tmp_path / jobs / "gradients.json").read_text()))
    assert results[0]["trained"] == results[1]["trained"]
    assert set(results[0]["trained"]) == {"rnn", "gru"}
