"""Run folders written by an earlier rnnlab still load, predict (or generate) and evaluate
exactly as that rnnlab did: the format-2 folders of every kind in ``fixtures/runs_v2`` (listed,
with their commands and outputs, in its MANIFEST.json) and the format-1 ``seq2seq_run_v1``.

Each case works on a copy of its files in ``tmp_path`` (the fixtures are never written to)
and runs there, with the relative paths the expected outputs were made with."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from commands import run_cli

FIXTURES = Path(__file__).parent / "fixtures"
RUNS_V2 = FIXTURES / "runs_v2"
MANIFEST = json.loads((RUNS_V2 / "MANIFEST.json").read_text(encoding="utf-8"))["fixtures"]
FORMAT_1 = {
    "name": "seq2seq_run_v1",
    "folder": "seq2seq_run_v1",
    "args": ["predict", "{run}", "--input", "{inputs}"],
    "inputs": "seq2seq_run_v1_inputs.txt",
    "expected": "seq2seq_run_v1_predictions.txt",
}
CASES = [(FIXTURES, FORMAT_1), *((RUNS_V2, entry) for entry in MANIFEST)]
EVALUATED = [entry for entry in MANIFEST if entry.get("evaluate")]
TIMING_WORDS = ("second", "time", "elapsed", "duration")  # measures that differ run to run


def _copy(base: Path, entry: dict, tmp_path: Path, monkeypatch, *files: str) -> None:
    """The run folder and ``files`` copied from ``base`` into ``tmp_path``, the directory
    the test then runs in."""
    shutil.copytree(base / entry["folder"], tmp_path / entry["folder"])
    for name in files:
        if name is not None:
            shutil.copy(base / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(("base", "entry"), CASES, ids=[entry["name"] for _, entry in CASES])
def test_a_saved_run_gives_the_output_it_gave(base, entry, tmp_path, monkeypatch, capsys):
    _copy(base, entry, tmp_path, monkeypatch, entry["inputs"])
    args = [a.format(run=entry["folder"], inputs=entry["inputs"]) for a in entry["args"]]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    expected = (base / entry["expected"]).read_text(encoding="utf-8")
    if entry.get("kind") == "forecast":
        # the forecast's times came later, as a last column: the columns before it are the
        # same, and the times follow the inputs' last month (2015-12)
        rows = [line.rsplit(",", 1) for line in out.splitlines()]
        assert rows[0][1] == "time" and [r[1] for r in rows[1:4]] == [
            "2016-01",
            "2016-02",
            "2016-03",
        ]
        out = "".join(r[0] + "\n" for r in rows)
    assert out == expected


def _timing(key: str) -> bool:
    return any(word in key.lower() for word in TIMING_WORDS)


def _assert_same(actual, expected, where: str = "measures") -> None:
    """``actual`` equals ``expected``: numbers to a relative 1e-6, everything else exactly;
    timing keys are left out."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        keys = sorted(k for k in expected if not _timing(k))
        assert sorted(k for k in actual if not _timing(k)) == keys, where
        for key in keys:
            _assert_same(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, (int, float)) and not isinstance(expected, bool):
        assert not isinstance(actual, bool), where
        assert actual == pytest.approx(expected, rel=1e-6), where
    else:
        assert actual == expected, where


@pytest.mark.parametrize("entry", EVALUATED, ids=[entry["name"] for entry in EVALUATED])
def test_a_saved_run_measures_what_it_measured(entry, tmp_path, monkeypatch, capsys):
    data = entry["evaluate"]["data"]
    _copy(RUNS_V2, entry, tmp_path, monkeypatch, data)
    code, out, err = run_cli(["evaluate", entry["folder"], "--data", data, "--json"], capsys)
    assert code == 0, err
    expected = json.loads((RUNS_V2 / entry["evaluate"]["expected"]).read_text(encoding="utf-8"))
    measured = json.loads(out)
    # the baselines beside the run came later: where the run folder lets evaluate compute
    # them, they stand beside the same measures
    compared = measured.pop("baselines", None)
    if compared is not None:
        assert compared["model"] == measured[compared["measure"].removeprefix("val_")]
    for key in ("auto_ets_mase", "auto_ets_smape"):  # a forecast baseline added later
        if key in measured and key not in expected:
            assert np.isfinite(measured.pop(key)), key
    _assert_same(measured, expected)


def _entry(name: str) -> dict:
    return next(entry for entry in MANIFEST if entry["name"] == name)


def test_options_a_kind_does_not_take_are_refused_by_name(tmp_path, monkeypatch, capsys):
    """No command asks which kind it holds: each run says which options it takes."""
    tag = _entry("tag_neighbours")
    _copy(RUNS_V2, tag, tmp_path, monkeypatch, tag["inputs"])
    for option in (["--beam-width", "3"], ["--proba"], ["--unknown", "map"]):
        code, _, err = run_cli(
            ["predict", tag["folder"], "--input", tag["inputs"], *option], capsys
        )
        assert code == 2 and f"{option[0]}: not an option of tag runs" in err
    data = tag["evaluate"]["data"]
    shutil.copy(RUNS_V2 / data, tmp_path / data)
    code, _, err = run_cli(["evaluate", tag["folder"], "--data", data, "--unknown", "map"], capsys)
    assert code == 2 and "--unknown: not an option of tag runs" in err


def test_a_seed_given_to_predict_is_accepted_with_a_warning(tmp_path, monkeypatch, capsys):
    """``--seed`` did nothing in ``predict``, ``evaluate`` and ``export``; it is no longer
    offered, but a script that gives it still runs, and is told."""
    entry = _entry("seq2seq_reverse")
    _copy(RUNS_V2, entry, tmp_path, monkeypatch, entry["inputs"])
    args = ["predict", entry["folder"], "--input", entry["inputs"], "--seed", "3"]
    code, out, err = run_cli(args, capsys)
    assert code == 0 and out == (RUNS_V2 / entry["expected"]).read_text(encoding="utf-8")
    assert "rnnlab predict: warning: --seed does nothing: decoding is deterministic" in err
    code, out, _ = run_cli(["predict", "--help"], capsys)
    assert code == 0 and "--seed" not in out
