"""Chunk precision, recall and F1 over BIO/BIOES tags, as CoNLL's conlleval counts them."""

import pytest

from rnnlab.training.metrics import is_span_scheme, span_scores, spans


@pytest.mark.parametrize(
    "tags, expected",
    [
        (["B-PER", "I-PER", "O", "B-LOC"], {(0, 2, "PER"), (3, 4, "LOC")}),
        (["I-PER", "I-PER", "O"], {(0, 2, "PER")}),  # an I without its B starts a chunk
        (["B-PER", "I-LOC"], {(0, 1, "PER"), (1, 2, "LOC")}),  # a change of type ends one
        (["B-PER", "B-PER"], {(0, 1, "PER"), (1, 2, "PER")}),
        (["S-LOC", "B-ORG", "E-ORG", "O"], {(0, 1, "LOC"), (1, 3, "ORG")}),  # BIOES
        (["O", "O"], set()),
    ],
)
def test_spans(tags, expected):
    assert spans(tags) == expected


def test_span_scores_count_whole_chunks_only():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    guess = [["B-PER", "O", "O", "B-LOC"]]  # PER cut short: wrong; LOC right
    scores = span_scores(guess, gold)
    assert scores == {"span_precision": 0.5, "span_recall": 0.5, "span_f1": 0.5}
    assert span_scores(gold, gold)["span_f1"] == 1.0
    assert span_scores([["O"]], [["O"]])["span_f1"] == 0.0


def test_is_span_scheme():
    assert is_span_scheme(["<pad>", "<s>", "</s>", "<unk>", "O", "B-PER", "I-PER"])
    assert not is_span_scheme(["<pad>", "NOUN", "VERB"])
