"""Token formulation groundwork: vocabularies, pair files, the add and dates tasks, metrics."""

import datetime
import json

import pytest
import torch

from rnnlab.data import (
    PairFileError,
    TokenPairs,
    UnknownTokenError,
    Vocabulary,
    format_pairs,
    make_pairs,
    read_pairs,
)
from rnnlab.data.tasks import add_pairs, date_pairs
from rnnlab.training.metrics import edit_distance, token_sequence_metrics


def test_vocabulary_round_trip():
    v = Vocabulary.build([["3", "7", "7"], ["2"]])
    assert v.tokens[:4] == ["<pad>", "<s>", "</s>", "<unk>"]
    assert v.tokens[4] == "7"  # most frequent first
    ids = v.encode(["2", "7", "3"])
    assert v.decode([*ids, v.end_id, 5]) == ["2", "7", "3"]
    assert Vocabulary(v.to_list()).ids == v.ids


def test_unknown_tokens():
    v = Vocabulary.build([["a", "b"]])
    with pytest.raises(UnknownTokenError, match=r"unknown token 'z' at position 2"):
        v.encode(["a", "z"])
    assert v.encode(["a", "z"], unknown="map") == [v.ids["a"], v.unk_id]
    with pytest.raises(ValueError, match=r"`unknown` must be 'error' or 'map', got 'skip'"):
        v.encode(["a"], unknown="skip")


def test_token_pairs_shapes_and_teacher_forcing_input():
    v = Vocabulary.build([["7", "2"]])
    data = TokenPairs.encode([["7", "2"], ["2"]], [["2", "7"], ["7"]], v, v)
    s7, s2 = v.ids["7"], v.ids["2"]
    assert data.sources.tolist() == [[s7, s2], [s2, 0]]
    assert data.targets.tolist() == [[s2, s7, v.end_id], [s7, v.end_id, 0]]
    assert data.decoder_inputs().tolist() == [[v.start_id, s2, s7], [v.start_id, s7, 0]]
    assert data.target_lengths.tolist() == [3, 2]
    batches = list(data.batches(1))
    assert batches[1].sources.shape == (1, 1)  # trimmed to the batch's longest row


def test_token_pairs_unknown_names_the_example():
    v = Vocabulary.build([["1"]])
    with pytest.raises(ValueError, match=r"pairs.tsv:4: unknown source token 'x' \(position 2\)"):
        TokenPairs.encode([["1", "x"]], [["1"]], v, v, names=["pairs.tsv:4"])


def test_read_tsv_pairs(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("3 7 2\t2 7 3\n\n9\t9\n", encoding="utf-8")
    pairs = read_pairs(path)
    assert pairs.sources == [["3", "7", "2"], ["9"]]
    assert pairs.targets == [["2", "7", "3"], ["9"]]
    assert pairs.lines == [1, 3]


def test_read_char_pairs_and_round_trip(tmp_path):
    path = tmp_path / "dates.tsv"
    path.write_text(format_pairs([list("24 nov. 2026")], [list("2026-11-24")], "chars"))
    pairs = read_pairs(path, tokens="chars")
    assert pairs.sources == [list("24 nov. 2026")] and pairs.targets == [list("2026-11-24")]


def test_read_jsonl_pairs(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"source": [3, 7], "target": ["7", "3"]}) + "\n")
    assert read_pairs(path).sources == [["3", "7"]]


@pytest.mark.parametrize(
    "content, message",
    [
        ("3 7 2\t2 7 3\n1 2 3\n", r"pairs.tsv:2: no tab; expected 'source<TAB>target'"),
        ("\t1\n", r"pairs.tsv:1: empty source"),
        ("1\t\n", r"pairs.tsv:1: empty target"),
        ("1\t2\t3\n", r"pairs.tsv:1: more than one tab"),
        ("1  2\t3\n", r"pairs.tsv:1: empty token in the source \(two spaces\?\)"),
        ("\n\n", r"pairs.tsv: no pairs"),
    ],
)
def test_malformed_pair_files(tmp_path, content, message):
    path = tmp_path / "pairs.tsv"
    path.write_text(content)
    with pytest.raises(PairFileError, match=message):
        read_pairs(path)


def test_non_utf8_and_missing_files(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("a\tb\nné\tx\n".encode("latin-1"))
    with pytest.raises(PairFileError, match=r"latin1.tsv:2: not UTF-8 text"):
        read_pairs(path)
    with pytest.raises(FileNotFoundError, match=r"nope.tsv: no such file"):
        read_pairs(tmp_path / "nope.tsv")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"source": [1]}\n')
    with pytest.raises(
        PairFileError, match=r"bad.jsonl:1: expected an object with 'source' and 'target'"
    ):
        read_pairs(bad)


def test_add_pairs_are_sums():
    sources, targets = add_pairs(500, max_len=3, seed=0)
    for s, t in zip(sources, targets, strict=True):
        a, b = "".join(s).split("+")
        assert 1 <= len(a) <= 3 and 1 <= len(b) <= 3
        assert int("".join(t)) == int(a) + int(b)


def test_date_pairs_parse_back_to_their_targets():
    months = {
        "en_US": "jan feb mar apr may jun jul aug sep oct nov dec",
        "fr_FR": "janv févr mars avr mai juin juil août sept oct nov déc",
    }
    sources, targets = date_pairs(300, seed=0)
    for s, t in zip(sources, targets, strict=True):
        text, iso = "".join(s), "".join(t)
        day = datetime.date.fromisoformat(iso)
        assert 1900 <= day.year <= 2099
        assert str(day.year) in text and str(day.day) in text
        assert "\u202f" not in text and "\u00a0" not in text
    assert len({"".join(s) for s in sources}) > 250
    assert any(m in "".join(s).lower() for s in sources for m in months["fr_FR"].split())
    assert make_pairs("dates", 5, 1, seed=3) == date_pairs(5, seed=3)


def test_edit_distance_and_sequence_metrics():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance([], [1, 2]) == 2
    metrics = token_sequence_metrics([[1, 2, 3], [4]], [[1, 2, 3], [4, 5]])
    assert metrics == {"exact_match": 0.5, "token_accuracy": 4 / 5, "token_error_rate": 1 / 5}
    with pytest.raises(ValueError, match="got 1 predictions for 2 targets"):
        token_sequence_metrics([[1]], [[1], [2]])


def test_token_pairs_tensors_are_long():
    v = Vocabulary.build([["1"]])
    data = TokenPairs.encode([["1"]], [["1"]], v, v)
    assert data.sources.dtype == torch.long and data.targets.dtype == torch.long


def test_shuffled_batches_hold_pairs_of_similar_lengths_each_once():
    """Bucketed by length: every pair once per epoch, batches far less padded than drawn at
    random, a new order each epoch, and the same order for the same seed."""
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 30, (2000,), generator=g).tolist()
    sources = [[str(i)] * n for i, n in enumerate(lengths)]
    v = Vocabulary.build(sources)
    data = TokenPairs.encode(sources, sources, v, v)

    def epoch(seed):
        return list(data.batches(16, shuffle=True, generator=torch.Generator().manual_seed(seed)))

    batches = epoch(1)
    seen = sorted(int(v.decode([i])[0]) for b in batches for i in b.sources[:, 0].tolist())
    assert seen == list(range(2000))
    padding = sum(int((b.sources == 0).sum()) for b in batches)
    at_random = data.subset(torch.randperm(2000, generator=g))
    random_padding = sum(int((b.sources == 0).sum()) for b in at_random.batches(16))
    assert padding < random_padding / 5
    first = [b.sources[0, 0].item() for b in batches]
    assert first == [b.sources[0, 0].item() for b in epoch(1)]
    assert first != [b.sources[0, 0].item() for b in epoch(2)]
