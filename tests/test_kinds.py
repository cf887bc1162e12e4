"""Task kinds: the registry, run folders of every kind, ``rnnlab.load``, and the tag and
classify kinds end to end on small data."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from commands import run_cli as run
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlab
from rnnlab.cli import main
from rnnlab.config import Config
from rnnlab.kinds import FORMAT, KINDS, guess_kind
from rnnlab.kinds.classify import ClassifyConfig
from rnnlab.kinds.tag import TagConfig
from rnnlab.models.sequence_classifier import SequenceClassifier, SequenceClassifierConfig

FIXTURES = Path(__file__).parent / "fixtures"
TAG_TINY = ["--task", "neighbours", "--samples", "800", "--units", "32", "--embedding-dim", "16"]
TAG_TINY += ["--char-features", "8", "--no-affixes", "--layers", "1", "--epochs", "10", "--quiet"]
TAG_TINY += ["--batch-size", "32", "--learning-rate", "0.002"]


def test_every_kind_is_registered_with_its_config():
    assert list(KINDS) == ["seq2seq", "tag", "classify", "forecast", "lm", "transcribe", "keras"]
    for name, kind in KINDS.items():
        assert kind.name == name and issubclass(kind.config, Config)
    assert guess_kind("x.conllu") == "tag" and guess_kind("x.ts") == "classify"
    assert guess_kind("x.csv") == "forecast"
    assert guess_kind("x.tsv") == "seq2seq" and guess_kind(None) == "seq2seq"


def test_a_run_folder_written_before_kinds_loads_as_seq2seq(tmp_path, capsys):
    """The fixture was written by rnnlab before kinds existed (no "kind" in config.json)."""
    folder = FIXTURES / "seq2seq_run_v1"
    assert "kind" not in json.loads((folder / "config.json").read_text())
    trained = rnnlab.load(folder)
    assert trained.kind.name == "seq2seq"
    inputs = FIXTURES / "seq2seq_run_v1_inputs.txt"
    code, out, err = run(["predict", str(folder), "--input", str(inputs)], capsys)
    assert code == 0, err
    assert out == (FIXTURES / "seq2seq_run_v1_predictions.txt").read_text()


@pytest.mark.slow
def test_new_run_folders_name_their_kind_and_format(tmp_path):
    out = tmp_path / "run"
    assert main(["train", *TAG_TINY, "--out", str(out)]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["kind"] == "tag" and saved["format"] == FORMAT


def test_an_option_of_another_kind_is_refused(tmp_path, capsys):
    code, _, err = run(
        ["train", "--task", "reverse", "--crf", "--out", str(tmp_path / "o")], capsys
    )
    assert code == 2 and "--crf does not apply to --kind seq2seq" in err
    code, _, err = run(["train", *TAG_TINY, "--attention", "dot"], capsys)
    assert code == 2 and "--attention does not apply to --kind tag" in err
    assert not (tmp_path / "o").exists()


def test_the_kinds_own_their_defaults():
    assert TagConfig(task="neighbours").units == 128
    assert ClassifyConfig(data="x.ts").word_dropout == 0.3
    with pytest.raises(ValueError, match="give either `task` or `data`"):
        TagConfig()


# -- tag ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tag_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tag")
    for name, extra in (("both", []), ("one", ["--unidirectional"])):
        assert main(["train", *TAG_TINY, *extra, "--out", str(root / name)]) == 0
    return root


@pytest.mark.slow
def test_a_bidirectional_tagger_solves_what_a_one_way_one_cannot(tag_runs):
    """The tutorial's claim, on the neighbours task: a word's tag depends on the next word."""
    both = json.loads((tag_runs / "both" / "metrics.json").read_text())
    one = json.loads((tag_runs / "one" / "metrics.json").read_text())
    ceiling = json.loads((tag_runs / "one" / "config.json").read_text())["causal_ceiling"]
    assert both["val_accuracy"] > 0.97
    assert one["val_accuracy"] <= ceiling + 0.01 < both["val_accuracy"]


def test_tag_predict_and_evaluate(tag_runs, tmp_path, capsys):
    run_dir = tag_runs / "both"
    sentences = tmp_path / "s.txt"
    sentences.write_text("a next b\nprev c d\n")
    code, out, err = run(["predict", str(run_dir), "--input", str(sentences)], capsys)
    assert code == 0, err
    assert out.splitlines() == ["A B B", "C C D"]
    model = rnnlab.load(run_dir)
    assert model.predict([["a", "next", "b"]]) == [["A", "B", "B"]]
    conllu = tmp_path / "s.conllu"
    conllu.write_text(
        "# text = a next b\n1\ta\t_\tX\t_\t_\t_\t_\t_\t_\n2\tnext\t_\tX\t_\t_\t_\t_\t_\t_\n"
        "3\tb\t_\tX\t_\t_\t_\t_\t_\t_\n\n"
    )
    code, out, err = run(["predict", str(run_dir), "--input", str(conllu)], capsys)
    assert code == 0, err
    assert out.startswith("# text = a next b\n1\ta\t_\tA\t") and "\n2\tnext\t_\tB\t" in out
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"tokens": ["a", "next", "b"], "tags": ["A", "B", "B"]}\n')
    code, out, err = run(["evaluate", str(run_dir), "--data", str(gold), "--json"], capsys)
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["accuracy"] == 1.0 and metrics["sentences"] == 1
    assert metrics["unseen_accuracy"] is None  # no unseen word: nothing to measure
    trivial = metrics["baselines"]["trivial"]  # the most frequent tag of training, here
    assert trivial["name"] == "the most frequent tag" and trivial["value"] in (0.0, 1 / 3, 2 / 3)
    trained = json.loads((run_dir / "metrics.json").read_text())["baselines"]
    assert trained["measure"] == "val_accuracy" and trained["beats_trivial"]
    assert trained["classical"]["value"] <= 1.0


def test_tag_bad_input_is_one_line(tag_runs, tmp_path, capsys):
    run_dir = tag_runs / "both"
    unseen = tmp_path / "unseen.jsonl"
    unseen.write_text('{"tokens": ["a"], "tags": ["ZZZ"]}\n')
    code, _, err = run(["evaluate", str(run_dir), "--data", str(unseen)], capsys)
    assert code == 2 and "unseen.jsonl:1: word 1 ('a') of the sentence has the tag 'ZZZ'" in err
    seen = rnnlab.load(run_dir).labels.tokens[4]  # after the special tokens
    unseen = tmp_path / "unseen.txt"  # a word a line: the message names the tag's own line
    unseen.write_text(f"x\t{seen}\n\na\t{seen}\nb\tZZZ\n")
    code, _, err = run(["evaluate", str(run_dir), "--data", str(unseen)], capsys)
    assert code == 2 and "unseen.txt:4: word 2 ('b') of the sentence has the tag 'ZZZ'" in err
    counts = tmp_path / "counts.jsonl"
    counts.write_text('{"tokens": ["a", "b"], "tags": ["A"]}\n')
    code, _, err = run(["evaluate", str(run_dir), "--data", str(counts)], capsys)
    assert code == 2 and err.count("\n") == 1 and "counts.jsonl:1" in err
    code, _, err = run(["predict", str(run_dir), "--beam-width", "3"], capsys)
    assert code == 2 and "--beam-width: not an option of tag runs" in err


def test_tag_on_conllu_with_a_crf(tmp_path, capsys):
    rows = []
    rng = np.random.default_rng(0)
    for s in range(60):
        words = [str(rng.choice(["the", "a"])), str(rng.choice(["dog", "cat", "sun"]))]
        words += [str(rng.choice(["runs", "sleeps"]))]
        tags = ["DET", "NOUN", "VERB"]
        rows.append(f"# sent_id = {s}")
        rows += [
            f"{i + 1}\t{w}\t_\t{t}\t_\t_\t_\t_\t_\t_"
            for i, (w, t) in enumerate(zip(words, tags, strict=True))
        ]
        rows.append("")
    data = tmp_path / "toy.conllu"
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--crf", "--units", "16", "--embedding-dim", "8"]
    code, printed, err = run([*args, "--epochs", "15", "--quiet", "--out", str(out)], capsys)
    assert code == 0, err
    assert "held-out token accuracy" in printed
    assert json.loads((out / "metrics.json").read_text())["val_accuracy"] > 0.9
    assert rnnlab.load(out).model.crf is not None


# -- classify -------------------------------------------------------------------------------


def _vector_file(path, n=120, seed=0):
    """Sequences of 2 features whose class is the sign of feature 0 late in the sequence."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for _ in range(n):
            length = int(rng.integers(4, 12))
            x = rng.normal(size=(length, 2))
            label = "up" if x[length // 2 :, 0].mean() > 0 else "down"
            f.write(json.dumps({"sequence": x.round(4).tolist(), "label": label}) + "\n")


@pytest.mark.slow
def test_classify_vectors_end_to_end(tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    _vector_file(data)
    out = tmp_path / "run"
    args = ["train", "--kind", "classify", "--data", str(data), "--units", "16", "--epochs", "40"]
    code, printed, err = run([*args, "--quiet", "--out", str(out)], capsys)
    assert code == 0, err
    assert "held-out accuracy" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["val_accuracy"] >= 0.75 and len(metrics["val_confusion"]) == 2
    assert (out / "confusion.png").read_bytes().startswith(b"\x89PNG")
    test = tmp_path / "test.jsonl"
    _vector_file(test, n=40, seed=1)
    code, printed, err = run(["predict", str(out), "--input", str(test), "--proba"], capsys)
    assert code == 0, err
    lines = printed.splitlines()
    assert len(lines) == 40 and all(line.split("\t")[0] in ("up", "down") for line in lines)
    assert "down=" in lines[0] and "up=" in lines[0]
    code, printed, err = run(["evaluate", str(out), "--data", str(test), "--json"], capsys)
    assert code == 0, err
    assert json.loads(printed)["accuracy"] >= 0.7


def test_classify_ts_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    lines = ["@problemName toy", "@timeStamps false", "@univariate true", "@equalLength false"]
    lines += ["@classLabel true lo hi", "@data"]
    for _ in range(60):
        hi = bool(rng.integers(2))
        values = rng.normal(loc=2.0 if hi else -2.0, size=int(rng.integers(5, 9)))
        lines.append(",".join(f"{v:.3f}" for v in values) + (":hi" if hi else ":lo"))
    data = tmp_path / "toy_TRAIN.ts"
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    code, _, err = run(
        [
            "train",
            "--data",
            str(data),
            "--units",
            "8",
            "--epochs",
            "20",
            "--quiet",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err  # .ts implies --kind classify
    assert json.loads((out / "config.json").read_text())["kind"] == "classify"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["val_accuracy"] == 1.0
    # the classes are far apart: 1-NN finds them too; always "hi" or "lo" gets about half
    assert metrics["baselines"]["classical"] == {"name": "1-NN Euclidean", "value": 1.0}
    assert 0.2 < metrics["baselines"]["trivial"]["value"] < 0.8
    # from Python, each class's probability comes with its name
    p = rnnlab.load(out).probabilities([np.full((6, 1), 2.0), np.full((7, 1), -2.0)])
    assert sorted(p.classes) == ["hi", "lo"] and np.asarray(p).shape == (2, 2)
    assert p.labels() == ["hi", "lo"] and p[0]["hi"] > 0.5 > p[1]["hi"]
    np.testing.assert_allclose(p.column("hi") + p.column("lo"), 1.0, atol=1e-5)
    np.testing.assert_allclose([sum(row.values()) for row in p], 1.0, atol=1e-5)
    tokens = tmp_path / "tokens.tsv"
    tokens.write_text("a b\tx\n")
    code, _, err = run(["predict", str(out), "--input", str(tokens)], capsys)
    assert code == 2 and "holds tokens" in err


def test_a_validation_file_of_another_form_is_described_in_words(tmp_path, capsys):
    tokens, vectors = tmp_path / "t.tsv", tmp_path / "v.jsonl"
    tokens.write_text("a b\tx\nb a\ty\n" * 10)
    vectors.write_text('{"sequence": [[1, 2], [3, 4]], "label": "x"}\n' * 4)
    args = ["train", "--kind", "classify", "--data", str(tokens), "--val", str(vectors)]
    code, _, err = run([*args, "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and f"{vectors}: holds vectors of 2 features; expected tokens like" in err
    assert "None" not in err and not (tmp_path / "r").exists()


@settings(max_examples=20, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 9), min_size=2, max_size=6),
    pooling=st.sampled_from(["mean", "max", "last"]),
)
def test_a_padded_batch_classifies_each_sequence_as_alone(lengths, pooling):
    torch.manual_seed(0)
    model = SequenceClassifier(
        SequenceClassifierConfig(num_classes=3, features=2, units=5, pooling=pooling)
    ).eval()
    sequences = [torch.randn(n, 2) for n in lengths]
    batch = torch.zeros(len(lengths), max(lengths), 2)
    mask = torch.zeros(len(lengths), max(lengths), dtype=torch.bool)
    for i, s in enumerate(sequences):
        batch[i, : len(s)], mask[i, : len(s)] = s, True
    together = model(batch, mask)
    for i, s in enumerate(sequences):
        alone = model(s[None], torch.ones(1, len(s), dtype=torch.bool))
        torch.testing.assert_close(together[i], alone[0], atol=1e-5, rtol=1e-5)


@settings(max_examples=20, deadline=None)
@given(lengths=st.lists(st.integers(1, 9), min_size=2, max_size=6))
def test_a_bag_of_words_reads_each_padded_sequence_as_alone(lengths):
    torch.manual_seed(0)
    config = SequenceClassifierConfig(num_classes=3, vocab_size=12, units=5, bag=True)
    model = SequenceClassifier(config).eval()
    sequences = [torch.randint(4, 12, (n,)) for n in lengths]
    batch = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for i, s in enumerate(sequences):
        batch[i, : len(s)] = s
    mask = batch != 0
    together = model(batch, mask)
    for i, s in enumerate(sequences):
        alone = model(s[None], torch.ones(1, len(s), dtype=torch.bool))
        torch.testing.assert_close(together[i], alone[0], atol=1e-5, rtol=1e-5)
    # the bag is read: the output layer sees the pooled LSTM and the embeddings' mean
    assert model.members[0].output.in_features == 2 * 5 + config.embedding_dim
    with pytest.raises(ValueError, match="needs tokens"):
        SequenceClassifierConfig(num_classes=3, features=2, bag=True)


def test_load_gives_a_ready_model_for_every_kind(tag_runs, tmp_path):
    tagger = rnnlab.load(tag_runs / "both")
    assert tagger.predict([["prev", "c"]]) == [["C", "C"]]
    seq2seq = rnnlab.load(FIXTURES / "seq2seq_run_v1")
    assert len(seq2seq.predict([["3", "7", "2"]])) == 1
    copy = tmp_path / "copy"
    shutil.copytree(tag_runs / "both", copy)
    saved = json.loads((copy / "config.json").read_text())
    saved["kind"] = "nope"
    (copy / "config.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="does not match the hash"):
        rnnlab.load(copy)


def test_locked_dropout_drops_the_same_features_at_every_word():
    from rnnlab.models.sequence_tagger import SequenceTagger, SequenceTaggerConfig

    shape = dict(vocab_size=9, char_vocab_size=9, num_tags=6, units=4, dropout=0.5)
    locked = SequenceTagger(SequenceTaggerConfig(**shape, locked_dropout=True)).train()
    x = torch.ones(3, 7, 40)
    dropped = locked._dropout(x) == 0  # (N, T, F)
    assert torch.equal(dropped, dropped[:, :1].expand_as(dropped))  # one mask a sentence
    assert dropped.any() and not dropped.all()
    plain = SequenceTagger(SequenceTaggerConfig(**shape)).train()
    per_word = plain._dropout(x) == 0
    assert not torch.equal(per_word, per_word[:, :1].expand_as(per_word))
    assert torch.equal(locked.eval()._dropout(x), x)  # no dropout in evaluation


def test_a_tagger_without_character_features(tmp_path, capsys):
    """``--char-features 0`` means none, as its help says."""
    out = tmp_path / "run"
    args = ["train", "--task", "neighbours", "--samples", "100", "--epochs", "1", "--units", "8"]
    code, _, err = run([*args, "--char-features", "0", "--quiet", "--out", str(out)], capsys)
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["char_features"] == 0 and config["model"]["char_features"] == 0
