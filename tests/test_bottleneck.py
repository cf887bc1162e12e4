"""``rnnlab bottleneck``: the context-vector claim's experiment, its files and its report."""

import json

import numpy as np
import pytest
import torch

from rnnlab.cli import main
from rnnlab.experiments.bottleneck import (
    FIRST_DIGIT_ID,
    VOCAB,
    BottleneckConfig,
    build_bottleneck_model,
    reversal_batch,
    score,
)
from rnnlab.models.encoder_decoder import EncoderDecoder
from rnnlab.models.seq2seq import Seq2Seq

QUICK = ["bottleneck", "--quick", "--quiet", "--lengths", "3,5"]


def test_reversal_batches_are_digits_and_their_reversals():
    x, y = reversal_batch(20, 7, np.random.default_rng(0))
    assert x.shape == y.shape == (20, 7)
    assert torch.equal(y, x.flip(1))
    assert int(x.min()) >= FIRST_DIGIT_ID and int(x.max()) < VOCAB


def test_the_three_models_are_the_tutorials_and_the_token_encoder_decoders():
    config = BottleneckConfig(units=16)
    repeat = build_bottleneck_model("repeat", config, 10)
    context = build_bottleneck_model("context", config, 10)
    attention = build_bottleneck_model("attention", config, 10)
    assert isinstance(repeat, EncoderDecoder) and repeat.repeat.n == 10
    assert isinstance(context, Seq2Seq) and context.config.attention is None
    assert attention.config.attention == "bahdanau"
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(attention) > count(context)  # attention adds weights, the rest is shared


def test_the_scores_are_exact_match_and_token_accuracy_of_greedy_outputs():
    model = build_bottleneck_model("repeat", BottleneckConfig(units=8), 4)
    x, y = reversal_batch(30, 4, np.random.default_rng(1))
    predicted = model(x).argmax(-1)
    expected = {
        "exact_match": float((predicted == y).all(1).float().mean()),
        "token_accuracy": float((predicted == y).float().mean()),
    }
    assert score(model, x, y, batch=7) == pytest.approx(expected)


def test_a_run_writes_its_results_and_gives_the_same_numbers_again(tmp_path, capsys):
    for name in ("a", "b"):
        assert main([*QUICK, "--out", str(tmp_path / name)]) == 0
    printed = capsys.readouterr().out
    assert "token encoder-decoder with attention" in printed and "L=5" in printed
    a, b = (json.loads((tmp_path / n / "bottleneck.json").read_text()) for n in ("a", "b"))
    assert set(a["models"]) == {"repeat", "context", "attention"}
    for name, model in a["models"].items():
        assert len(model["exact_match"]) == 2
        assert model["exact_match"] == b["models"][name]["exact_match"]
        assert model["token_accuracy"] == b["models"][name]["token_accuracy"]
    assert (tmp_path / "a" / "bottleneck.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["report", str(tmp_path / "a"), "--out", str(tmp_path / "report")]) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert "Claim 4" in text and "L = 5" in text


def test_bad_lengths_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bottleneck", "--lengths", "0,5"])
    assert exc.value.code == 2
    assert "--lengths" in capsys.readouterr().err
