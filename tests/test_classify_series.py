"""The classify kind on long series: the convolutional front end, per-series scaling, training
augmentation, the defaults chosen from the data, and bad series files."""

import json
import re

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab.interop.onnx import OnnxPredictor
from rnnlab.kinds.classify import augmented, standardise_each
from rnnlab.layers.frontend import ConvFrontEnd, MaskedBatchNorm1d
from rnnlab.models.sequence_classifier import SequenceClassifier, SequenceClassifierConfig
from tests.commands import run_cli


def padded(rows):
    longest = max(len(r) for r in rows)
    x = torch.zeros(len(rows), longest, rows[0].shape[1])
    mask = torch.zeros(len(rows), longest, dtype=torch.bool)
    for i, r in enumerate(rows):
        x[i, : len(r)], mask[i, : len(r)] = r, True
    return x, mask


@pytest.mark.parametrize(("mode", "reduction"), [("conv", 1), ("conv", 4), ("patch", 3)])
def test_the_front_end_gives_a_padded_series_what_it_gives_alone(mode, reduction):
    torch.manual_seed(0)
    front = ConvFrontEnd(features=2, channels=5, reduction=reduction, mode=mode)
    front.train()
    front(torch.randn(4, 30, 2), torch.ones(4, 30, dtype=torch.bool))  # running statistics
    front.eval()
    rows = [torch.randn(n, 2) for n in (1, 7, 13, 30)]
    x, mask = padded(rows)
    out, out_mask = front(x, mask)
    for i, r in enumerate(rows):
        alone, _ = front(r[None], torch.ones(1, len(r), dtype=torch.bool))
        steps = -(-len(r) // reduction)
        assert alone.shape[1] == steps and int(out_mask[i].sum()) == steps
        torch.testing.assert_close(out[i, :steps], alone[0], atol=1e-5, rtol=1e-5)
        assert not out[i, steps:].any()  # nothing leaks into the padding


def test_batch_normalisation_counts_the_real_steps_only():
    norm = MaskedBatchNorm1d(3, momentum=1.0)
    rows = [torch.randn(n, 3) for n in (2, 9)]
    x, mask = padded(rows)
    x[0, 2:] = 1000.0  # padding that would move the statistics if it were counted
    norm(x.transpose(1, 2), mask)
    real = torch.cat(rows)
    torch.testing.assert_close(norm.running_mean, real.mean(0))
    torch.testing.assert_close(norm.running_var, real.var(0))


def test_a_classifier_with_a_front_end_is_masked_like_one_without():
    torch.manual_seed(0)
    config = SequenceClassifierConfig(
        num_classes=3, features=2, units=4, frontend="conv", reduction=2, channels=6, bag=True
    )
    model = SequenceClassifier(config).eval()
    rows = [torch.randn(n, 2) for n in (3, 11, 40)]
    x, mask = padded(rows)
    together = model(x, mask)
    for i, r in enumerate(rows):
        alone = model(r[None], torch.ones(1, len(r), dtype=torch.bool))
        torch.testing.assert_close(together[i], alone[0], atol=1e-5, rtol=1e-5)


def test_front_end_settings_are_checked():
    with pytest.raises(ValueError, match="power of two"):
        ConvFrontEnd(2, 4, 3, "conv")
    with pytest.raises(ValueError, match="reads feature vectors"):
        SequenceClassifierConfig(num_classes=2, vocab_size=10, frontend="conv")


def test_augmentation_keeps_shapes_and_masks_and_follows_the_seed():
    x, mask = padded([torch.randn(n, 2) for n in (10, 20)])
    torch.manual_seed(1)
    a, a_mask = augmented(x, mask, "both")
    torch.manual_seed(1)
    b, _ = augmented(x, mask, "both")
    torch.testing.assert_close(a, b)
    assert a_mask.sum(1).tolist() == [9, 18]  # 90% of each series' steps
    assert not a[~a_mask].any()
    noisy, noisy_mask = augmented(x, mask, "noise")
    assert torch.equal(noisy_mask, mask) and not torch.allclose(noisy, x)
    assert not noisy[~mask].any()


def test_each_series_is_standardised_by_its_own_statistics():
    a = np.array([[1.0, 5.0], [3.0, 5.0]])
    (out,) = standardise_each([a])
    np.testing.assert_allclose(out, [[-1.0, 0.0], [1.0, 0.0]])  # a constant feature: 0


def write_ts(path, series, labels):
    lines = ["@problemName t", "@timeStamps false", "@univariate true", "@equalLength false"]
    lines.append(f"@classLabel true {' '.join(sorted(set(labels)))}")
    lines.append("@data")
    for s, label in zip(series, labels, strict=True):
        lines.append(",".join(f"{v:.6g}" for v in s) + ":" + label)
    path.write_text("\n".join(lines) + "\n")
    return path


def long_series(n=40, length=150, seed=0):
    """Two classes of long series: a bump early, or a bump late, in noise."""
    rng = np.random.default_rng(seed)
    series, labels = [], []
    for i in range(n):
        t = np.arange(length + rng.integers(-20, 20))
        centre = 0.25 if i % 2 else 0.75
        s = np.exp(-(((t / len(t)) - centre) ** 2) / 0.005) + 0.1 * rng.normal(size=len(t))
        series.append(s)
        labels.append("early" if i % 2 else "late")
    return series, labels


def test_long_series_get_a_front_end_by_default_and_export(tmp_path, capsys):
    data = write_ts(tmp_path / "long.ts", *long_series())
    args = ["train", "--data", str(data), "--epochs", "3", "--ensemble", "2", "--units", "8"]
    code, _, err = run_cli(
        [*args, "--augment", "both", "--scaling", "series", "--out", str(tmp_path / "r")], capsys
    )
    assert code == 0
    config = json.loads((tmp_path / "r" / "config.json").read_text())["train"]
    assert config["frontend"] == "conv" and config["reduction"] == 2  # median 150: /2 <= 128
    assert re.search(r"strided convolutions read \d+ steps as \d+ \(--reduction 2\)", err)
    assert run_cli(["export", str(tmp_path / "r"), "--out", str(tmp_path / "x")], capsys)[0] == 0
    run, predictor = rnnlab.load(tmp_path / "r"), OnnxPredictor(tmp_path / "x")
    inputs = [3 + 2 * np.asarray(s)[:, None] for s in long_series(5, seed=1)[0]]
    np.testing.assert_allclose(
        np.asarray(predictor.probabilities(inputs)),
        np.asarray(run.probabilities(inputs)),
        atol=1e-4,
    )


def test_short_series_and_tokens_get_no_front_end(tmp_path, capsys):
    data = write_ts(tmp_path / "short.ts", *long_series(length=40))
    args = ["train", "--data", str(data), "--epochs", "1", "--ensemble", "1", "--units", "4"]
    assert run_cli([*args, "--quiet", "--out", str(tmp_path / "r")], capsys)[0] == 0
    assert json.loads((tmp_path / "r" / "config.json").read_text())["train"]["frontend"] == "none"
    words = tmp_path / "w.tsv"
    words.write_text("".join(f"a b c\t{i % 2}\n" for i in range(10)))
    args = ["train", "--kind", "classify", "--data", str(words), "--frontend", "conv"]
    code, _, err = run_cli([*args, "--out", str(tmp_path / "t")], capsys)
    assert code == 2 and "--frontend conv" in err and "holds tokens" in err
    assert not (tmp_path / "t").exists()


def test_a_reduction_that_is_not_a_power_of_two_is_refused(tmp_path, capsys):
    data = write_ts(tmp_path / "long.ts", *long_series(n=10))
    args = ["train", "--data", str(data), "--reduction", "3", "--out", str(tmp_path / "r")]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "reduction" in err and "power of two" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


@pytest.mark.parametrize("case", ["constant", "single-example class", "length one"])
def test_awkward_series_files_train(tmp_path, capsys, case):
    series, labels = long_series(n=12, length=60)
    if case == "constant":
        series = [np.full(len(s), 3.0) for s in series]
    elif case == "single-example class":
        labels[0] = "lonely"
    elif case == "length one":
        series = [s[:1] for s in series]
    data = write_ts(tmp_path / "d.ts", series, labels)
    args = ["train", "--data", str(data), "--epochs", "1", "--ensemble", "1", "--units", "4"]
    code, _, err = run_cli([*args, "--quiet", "--out", str(tmp_path / "r")], capsys)
    assert code == 0, err
    run = rnnlab.load(tmp_path / "r")
    assert len(run.predict([np.asarray(s)[:, None] for s in series[:3]])) == 3


def test_a_test_file_with_a_class_training_lacks_is_named(tmp_path, capsys):
    series, labels = long_series(n=12, length=60)
    data = write_ts(tmp_path / "d.ts", series, labels)
    args = ["train", "--data", str(data), "--epochs", "1", "--ensemble", "1", "--units", "4"]
    assert run_cli([*args, "--quiet", "--out", str(tmp_path / "r")], capsys)[0] == 0
    test = write_ts(tmp_path / "t.ts", series[:3], ["early", "late", "other"])
    code, _, err = run_cli(["evaluate", str(tmp_path / "r"), "--data", str(test)], capsys)
    assert code == 2 and "t.ts" in err and "'other'" in err
    assert len(err.strip().splitlines()) == 1


def test_one_series_of_100000_steps_among_short_ones_is_named_with_the_memory_it_needs(
    tmp_path, capsys
):
    series, labels = long_series(n=12, length=60)
    series[0] = np.sin(np.arange(100_000) / 50.0)
    data = write_ts(tmp_path / "d.ts", series, labels)
    code, _, err = run_cli(["train", "--data", str(data), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "d.ts" in err and "100000 steps" in err and "memory" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_a_stratified_split_keeps_every_class_in_training():
    from rnnlab.data.split import hold_out_stratified

    labels = ["a"] * 10 + ["b"] * 5 + ["c"]
    train, val = hold_out_stratified(labels, 0.2, 0, "f", "sequence")
    assert sorted(train + val) == list(range(16))
    assert [labels[i] for i in val].count("a") == 2 and [labels[i] for i in val].count("b") == 1
    assert 15 in train  # the only "c"
    assert (train, val) == hold_out_stratified(labels, 0.2, 0, "f", "sequence")  # seeded
    with pytest.raises(ValueError, match="none to validate on"):
        hold_out_stratified(["a", "b"], 0.2, 0, "f", "sequence")


def test_folds_hold_a_share_of_every_class():
    from rnnlab.data.split import folds_of

    labels = ["a"] * 10 + ["b"] * 5 + ["c"]
    folds = folds_of(labels, 5, seed=0)
    assert folds == folds_of(labels, 5, seed=0)  # seeded
    for fold in range(5):
        held = [label for label, f in zip(labels, folds, strict=True) if f == fold]
        assert held.count("a") == 2 and held.count("b") == 1
    assert sorted(set(folds)) == list(range(5))


def test_with_folds_a_member_neither_trains_on_nor_scores_its_own_fold():
    from rnnlab.data.labelled_dataset import LabelledData
    from rnnlab.kinds.classify import ClassifyObjective

    torch.manual_seed(0)
    model = SequenceClassifier(
        SequenceClassifierConfig(num_classes=2, features=2, units=3, members=2)
    )
    data = LabelledData([np.random.randn(5, 2).astype(np.float32) for _ in range(4)], [0, 1, 0, 1])
    objective = ClassifyObjective(2, folds=[0, 0, 1, 1])
    batch = data.batch([0, 1])  # both of fold 0: member 0 must not learn from them
    objective.loss(model, batch).backward()
    grads = [
        [p.grad for p in member.parameters() if p.grad is not None] for member in model.members
    ]
    assert all(not g.any() for g in grads[0]) and any(g.any() for g in grads[1])
    model.eval()
    with torch.no_grad():
        everything = data.batch([0, 1, 2, 3])
        scored = objective.logits(model, everything)
        each = model.member_logits(everything.inputs, everything.mask).log_softmax(-1)
    torch.testing.assert_close(scored[:2], each[0, :2])
    torch.testing.assert_close(scored[2:], each[1, 2:])


def test_a_small_set_validates_by_folds_on_every_sequence(tmp_path, capsys):
    data = write_ts(tmp_path / "d.ts", *long_series(n=20, length=60))
    args = ["train", "--data", str(data), "--epochs", "2", "--units", "4", "--ensemble", "2"]
    code, _, err = run_cli([*args, "--out", str(tmp_path / "r")], capsys)
    assert code == 0, err
    assert "validation: by folds: each of the 2 classifiers holds out 1/2 of each class" in err
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["val_size"] == 20 and metrics["baselines"]["classical"]["value"] > 0.5
    config = json.loads((tmp_path / "r" / "config.json").read_text())["train"]
    assert config["validation"] == "folds"
    args += ["--validation", "folds", "--val", str(data), "--out", str(tmp_path / "v")]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "drop --val" in err and not (tmp_path / "v").exists()
