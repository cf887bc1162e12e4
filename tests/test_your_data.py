"""A user's own data in the minutes they have: the summary before training, the time
budget on the command line, the baselines beside the run, and pair files read as they
are."""

import json

import pytest

from rnnlab.kinds import baselines as b
from tests.commands import run_cli as run

TINY = ["--samples", "120", "--units", "16", "--embedding-dim", "8"]


def one_line_error(args, capsys) -> str:
    status, _, err = run(args, capsys)
    assert status == 2, err
    assert err.count("\n") == 1 and ": error: " in err and "Traceback" not in err, err
    return err


def test_train_says_what_it_read_and_plans_before_training(tmp_path, capsys):
    out = tmp_path / "run"
    code, printed, err = run(
        ["train", "--task", "reverse", *TINY, "--max-time", "1m", "--out", str(out)], capsys
    )
    assert code == 0, err
    before = err.split("Epoch 1/")[0]
    assert "data: task 'reverse'" in before and "validation: " in before
    assert "parameters" in before and "within 1 min" in before
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["max_time"] == 60.0 and metrics["stopped"] in ("epochs", "patience", "budget")
    assert metrics["baselines"]["trivial"]["name"] == "copy the source"
    assert "baselines: exact match" in printed


def test_quiet_says_nothing_before_training(tmp_path, capsys):
    code, _, err = run(
        [
            "train",
            "--task",
            "reverse",
            *TINY,
            "--epochs",
            "1",
            "--quiet",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 0 and "data: " not in err and "plan: " not in err


@pytest.mark.parametrize("given", ["0", "-5", "abc", "5x", "0s"])
def test_bad_budgets_are_one_line_errors(tmp_path, capsys, given):
    out = tmp_path / "run"
    err = one_line_error(
        ["train", "--task", "reverse", *TINY, f"--max-time={given}", "--out", str(out)], capsys
    )
    assert "--max-time" in err and "duration" in err
    assert not out.exists()


def test_a_budget_shorter_than_one_step_names_the_step_time_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    err = one_line_error(
        ["train", "--task", "reverse", *TINY, "--max-time", "0.0001", "--quiet", "--out", str(out)],
        capsys,
    )
    assert "--max-time" in err and "one training step took" in err
    assert not out.exists()


def test_a_budget_on_resume_that_is_already_spent_is_refused(tmp_path, capsys):
    from tests.commands import stopped_at_epoch

    out = tmp_path / "run"
    with stopped_at_epoch(1):
        code, _, _ = run(
            ["train", "--task", "reverse", *TINY, "--epochs", "5", "--quiet", "--out", str(out)],
            capsys,
        )
    assert code == 130
    err = one_line_error(["train", "--resume", str(out), "--max-time", "0.0001"], capsys)
    assert "--max-time" in err and "has used its budget" in err
    assert not (out / "metrics.json").exists()


def test_a_run_that_loses_to_the_trivial_baseline_says_so():
    compared = b.Baselines("val_accuracy", False, 0.4, b.Baseline("majority class", 0.5))
    lines = compared.lines()
    assert lines[-1].startswith("This model did not beat the trivial baseline (majority class)")
    assert compared.to_dict()["beats_trivial"] is False
    lower = b.Baselines("val_bits_per_token", True, 2.0, b.Baseline("unigram", 4.0))
    assert lower.beats(lower.trivial) and len(lower.lines()) == 1


def test_the_classical_baselines_do_what_they_say():
    train = [["good", "fine"], ["bad", "awful"], ["good", "great"], ["awful", "poor"]]
    labels = ["pos", "neg", "pos", "neg"]
    assert b.naive_bayes(train, labels, [["great"], ["poor", "bad"]], ["pos", "neg"]) == 1.0
    assert b.majority([*labels, "pos"], ["pos", "neg"]) == 0.5
    import numpy as np

    up = [np.linspace(0, 1, n)[:, None] for n in (5, 9)]
    down = [np.linspace(1, 0, n)[:, None] for n in (6, 8)]
    accuracy = b.nearest_neighbour(
        up + down, ["u", "u", "d", "d"], [np.linspace(0, 1, 7)[:, None]], ["u"]
    )
    assert accuracy == 1.0

    # one bump against two: DTW warps a shifted single bump onto a single bump, where the
    # Euclidean distance finds the pair of bumps that shares its place
    def bumps(*at):
        x = np.zeros((20, 1))
        for i in at:
            x[i : i + 2] = 1.0
        return x

    train, labels, val = [bumps(3), bumps(3, 15)], ["one", "two"], [bumps(15)]
    assert b.nearest_neighbour(train, labels, val, ["one"]) == 0.0
    assert b.nearest_neighbour_dtw(train, labels, val, ["one"]) == 1.0
    assert b.dtw_fits(train, val) and not b.dtw_fits([np.zeros((2000, 1))] * 100, val * 100)
    trivial, classical = b.tag_baselines(
        [["the", "word", "runs"], ["a", "cat", "walks"], ["the"]],
        [["DET", "NOUN", "VERB"], ["DET", "NOUN", "VERB"], ["DET"]],
        [["the", "bird", "talks"]],
        [["DET", "NOUN", "VERB"]],
    )
    # unseen words take the tag of their longest known suffix: "bird" that of "-rd"
    # ("word"), "talks" that of "-ks" ("walks"); the most frequent tag is DET
    assert classical == 1.0 and trivial == pytest.approx(1 / 3)
    assert b.unigram_bits(list("aaab"), list("ab")) > 0
    packed = b.compressor_bits("abc" * 1000, "abc" * 100, 300)
    assert packed.value < 1.0  # text seen in training costs almost nothing


def test_a_pair_file_of_whole_numbers_is_read_with_a_hint_and_unseen_targets_count_as_wrong(
    tmp_path, capsys
):
    data = tmp_path / "numbers.tsv"
    # "4 4<TAB>1044": the sources spaced digit by digit, the targets whole numbers
    data.write_text("".join(f"{' '.join(str(i))}\t{1000 + i}\n" for i in range(60)))
    out = tmp_path / "run"
    code, _, err = run(
        ["train", "--data", str(data), "--epochs", "1", "--units", "8", "--out", str(out)], capsys
    )
    assert code == 0, err
    assert "probably wants --tokens chars" in err
    assert "validation pairs have a target token that training lacks" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["val_exact_match"] == 0.0


def test_evaluate_puts_the_trivial_baseline_beside_the_run(tiny_reverse_run, tmp_path, capsys):
    data = tmp_path / "pairs.tsv"
    data.write_text("1 2 3\t3 2 1\n4 4\t4 4\n5 6\t6 5\n")  # the second: copying is right
    code, printed, err = run(["evaluate", str(tiny_reverse_run), "--data", str(data)], capsys)
    assert code == 0, err
    assert "baselines: exact match" in printed and "copy the source) 33.33%" in printed
    code, printed, _ = run(
        ["evaluate", str(tiny_reverse_run), "--data", str(data), "--json"], capsys
    )
    measures = json.loads(printed)
    assert measures["baselines"]["trivial"] == {"name": "copy the source", "value": 1 / 3}
    assert measures["baselines"]["model"] == measures["exact_match"]


def test_dtw_fills_its_table_as_the_textbook_recursion_does():
    import numpy as np

    rng = np.random.default_rng(0)
    for la, lq in ((7, 7), (5, 9), (9, 4)):  # equal and unequal lengths
        a, q = rng.normal(size=(3, la, 2)), rng.normal(size=(2, lq, 2))
        distances = b.dtw_distances(a, q)
        for m in range(2):
            for n in range(3):
                table = np.full((lq + 1, la + 1), np.inf)
                table[0, 0] = 0.0
                for i in range(1, lq + 1):
                    for j in range(1, la + 1):
                        step = ((q[m, i - 1] - a[n, j - 1]) ** 2).sum()
                        best = min(table[i - 1, j], table[i, j - 1], table[i - 1, j - 1])
                        table[i, j] = step + best
                assert distances[m, n] == pytest.approx(table[lq, la])
