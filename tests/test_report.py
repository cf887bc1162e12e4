import json

import pytest

from rnnlab.cli import main


def test_report_gathers_every_result_with_its_picture(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["gradients", "--quick", "--quiet", "--out", str(runs / "g")]) == 0
    memory = ["memory", "--quick", "--quiet", "--tasks", "adding", "--cells", "lstm"]
    assert main([*memory, "--lengths", "4", "--out", str(runs / "m")]) == 0
    compare = ["compare", "--epochs", "1", "--samples", "40", "--models", "lstm,bilstm"]
    assert main([*compare, "--quiet", "--out", str(runs / "c")]) == 0
    capsys.readouterr()

    out = tmp_path / "report"
    assert main(["report", str(runs), "--out", str(out)]) == 0  # a folder of run folders
    assert "report.md" in capsys.readouterr().out
    text = (out / "report.md").read_text()
    gradients = json.loads((runs / "g" / "gradients.json").read_text())
    mse = json.loads((runs / "m" / "memory.json").read_text())["tasks"]["adding"]["cells"]
    models = json.loads((runs / "c" / "results.json").read_text())["models"]
    assert f"{gradients['cells']['gru']['decay_per_step']:.4f}" in text
    assert f"{mse['lstm']['mse'][0]:.4f}" in text
    assert f"{models['lstm']['causal_ceiling']:.1%}" in text
    assert text.index("Claim 1") < text.index("Claim 2") < text.index("Claim 3")
    for link in ("gradients-", "memory-", "compare-"):
        name = text.split(f"]({link}")[1].split(")")[0]
        assert (out / f"{link}{name}").stat().st_size > 10_000  # relative link, copied beside


@pytest.mark.parametrize("make, message", [(False, "no such folder"), (True, "no results")])
def test_report_without_results(make, message, tmp_path, capsys):
    folder = tmp_path / "empty"
    if make:
        folder.mkdir()
    assert main(["report", str(folder), "--out", str(tmp_path / "never")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnlab report: error: ") and message in err
    assert not (tmp_path / "never").exists()


def test_a_trained_run_is_reported_not_skipped(tiny_reverse_run, tmp_path, capsys):
    from commands import run_cli

    out = tmp_path / "report"
    code, printed, err = run_cli(["report", str(tiny_reverse_run), "--out", str(out)], capsys)
    assert code == 0, err
    text = (out / "report.md").read_text()
    assert "A trained model (`rnnlab train`)" in text and "| exact match |" in text
    assert "train (" in printed and (out / "train-1.png").is_file()


def test_the_help_names_every_result_it_reads(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for command in ("compare", "gradients", "memory", "bottleneck", "train"):
        assert command in shown
