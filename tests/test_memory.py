import json

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.data.claims import adding_problem, copy_task


def test_adding_problem_marks_one_value_in_each_half():
    x, y = adding_problem(2000, 10, seed=0)
    assert x.shape == (2000, 10, 2) and y.shape == (2000,)
    markers = x[..., 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :5].sum(axis=1) == 1).all() and (markers[:, 5:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(y, (x[..., 0] * markers).sum(axis=1), rtol=1e-6)
    # the input-blind answer 1.0 scores about 1/6, the baseline the experiment quotes
    assert np.mean((y - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.01)


def test_generators_are_seeded_and_leave_global_state_alone():
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    a, b = adding_problem(4, 6, seed=3), adding_problem(4, 6, seed=3)
    assert all((u == v).all() for u, v in zip(a, b, strict=True))
    assert not (adding_problem(4, 6, seed=4)[1] == a[1]).all()
    c, d = copy_task(4, 5, seed=3), copy_task(4, 5, seed=3)
    assert all((u == v).all() for u, v in zip(c, d, strict=True))
    assert (np.random.get_state()[1] == before).all()


def test_copy_task_layout_matches_its_docstring():
    x, y = copy_task(50, 2, symbols=2, alphabet=3, seed=1)
    assert x.shape == (50, 6, 5) and y.shape == (50, 2)
    tokens = x.argmax(-1)
    blank, marker = 3, 4
    assert (x.sum(-1) == 1).all()  # one-hot
    assert (tokens[:, :2] == y).all()
    assert (tokens[:, 2] == blank).all() and (tokens[:, 3] == marker).all()
    assert (tokens[:, 4:] == blank).all()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: adding_problem(3, 1), "`length` must be an integer >= 2"),
        (lambda: adding_problem(0, 5), "`n_samples` must be a positive integer"),
        (lambda: copy_task(3, 0), "`delay` must be a positive integer"),
        (lambda: copy_task(3, 2, alphabet=1), "`alphabet` must be an integer >= 2"),
    ],
)
def test_generator_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def _without_times(result: dict) -> dict:
    """The scores of a memory.json, without the training times (which differ run to run)."""
    return {
        (task, cell): [{k: v for k, v in r.items() if k != "train_seconds"} for r in c["runs"]]
        for task, d in result["tasks"].items()
        for cell, c in d["cells"].items()
    }


def test_memory_command_is_seeded_and_scores_mean_what_they_say(tmp_path, capsys):
    args = ["memory", "--quick", "--cells", "rnn,lstm", "--seed", "2", "--quiet"]
    runs = []
    for name in ("a", "b"):
        assert main([*args, "--out", str(tmp_path / name)]) == 0
        runs.append(json.loads((tmp_path / name / "memory.json").read_text()))
    assert _without_times(runs[0]) == _without_times(runs[1])
    assert "adding: held-out mse" in capsys.readouterr().out
    adding, copy = runs[0]["tasks"]["adding"], runs[0]["tasks"]["copy"]
    assert adding["baseline"] == pytest.approx(1 / 6) and copy["baseline"] == 8**-3
    assert adding["lengths"] == copy["lengths"] == [4, 8]
    for cell in ("rnn", "lstm"):
        mse = adding["cells"][cell]["mse"]
        assert [r["mse"] for r in adding["cells"][cell]["runs"]] == mse
        assert all(0 < m < 1 for m in mse)
        for r in copy["cells"][cell]["runs"]:
            assert 0 <= r["exact_match"] <= r["token_accuracy"] <= 1
    assert (tmp_path / "a" / "memory.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lengths", "10,1"], "argument --lengths: expected comma-separated integers >= 2"),
        (["--lengths", "10,x"], "argument --lengths: expected comma-separated integers, got"),
        (["--lengths", "10,10"], "argument --lengths: a value is repeated"),
        (["--tasks", "adding,sum"], "argument --tasks: unknown task sum"),
        (["--train-steps", "0"], "argument --train-steps: expected a positive integer"),
    ],
)
def test_memory_bad_options(args, message, capsys, tmp_path):
    out = tmp_path / "never"
    try:
        code = main(["memory", *args, "--out", str(out)])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("rnnlab memory: error: ") and message in err
    assert not out.exists()


def test_memory_scores_do_not_depend_on_jobs(tmp_path, capsys):
    args = ["memory", "--quick", "--cells", "rnn,gru", "--tasks", "adding"]
    results = []
    for jobs in ("1", "3"):
        assert main([*args, "--jobs", jobs, "--out", str(tmp_path / jobs)]) == 0
        results.append(json.loads((tmp_path / jobs / "memory.json").read_text()))
    assert _without_times(results[0]) == _without_times(results[1])
    err = capsys.readouterr().err
    assert "adding T=" in err  # progress, relayed from the workers
