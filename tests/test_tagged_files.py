import random
import re
from pathlib import Path

import numpy as np
import pytest

from rnnlab.data.files import InputFileError
from rnnlab.data.tag_tasks import (
    bidirectional_ceiling,
    causal_ceiling,
    expected_ceilings,
    make_tag_task,
    tag_sentence,
)
from rnnlab.data.tagged import TaggedFileError, fill_conllu, read_tagged

EWT = Path("/work/shared/data/ud_english_ewt")
UPOS = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON"}
UPOS |= {"PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"}  # the 17 tags of UD v2

# Two sentences: a comment, a multiword range (1-2), an empty node (3.1), FEATS and MISC keys.
CONLLU = "\n".join(
    [
        "# sent_id = 1",
        "# text = Don't go.",
        "1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_",
        "1\tDo\tdo\tAUX\tVBP\tMood=Ind|VerbForm=Fin\t3\taux\t_\t_",
        "2\tn't\tnot\tPART\tRB\tPolarity=Neg\t3\tadvmod\t_\t_",
        "3\tgo\tgo\tVERB\tVB\tVerbForm=Inf\t0\troot\t_\tSpaceAfter=No",
        "3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t3:conj\t_",
        "4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_",
        "",
        "# sent_id = 2",
        "1\tDogs\tdog\tNOUN\tNNS\tNumber=Plur\t2\tnsubj\t_\tGloss=dogs|SpaceAfter=No",
        "2\tbark\tbark\tVERB\tVBP\tMood=Ind|Number=Plur|VerbForm=Fin\t0\troot\t_\t_",
        "",
        "",
    ]
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def conllu_word(number, form, upos="NOUN", xpos="NN", feats="_", misc="_") -> str:
    return f"{number}\t{form}\t{form.lower()}\t{upos}\t{xpos}\t{feats}\t0\troot\t_\t{misc}"


# reading


def test_conllu_reads_forms_and_upos_skipping_ranges_and_empty_nodes(tmp_path):
    data = read_tagged(write(tmp_path, "a.conllu", CONLLU))
    assert len(data) == 2
    assert data.tokens == [["Do", "n't", "go", "."], ["Dogs", "bark"]]
    assert data.tags == [["AUX", "PART", "VERB", "PUNCT"], ["NOUN", "VERB"]]
    assert data.lines == [4, 11]
    assert data.path == tmp_path / "a.conllu"


@pytest.mark.parametrize(
    "label_column, expected",
    [
        ("xpos", [["VBP", "RB", "VB", "."], ["NNS", "VBP"]]),
        ("XPOS", [["VBP", "RB", "VB", "."], ["NNS", "VBP"]]),
        ("feats:Number", [["_", "_", "_", "_"], ["Plur", "Plur"]]),
        ("Feats:VerbForm", [["Fin", "_", "Inf", "_"], ["_", "Fin"]]),
        ("misc:SpaceAfter", [["_", "_", "No", "_"], ["No", "_"]]),
        ("MISC:Gloss", [["_", "_", "_", "_"], ["dogs", "_"]]),
    ],
)
def test_conllu_label_columns(tmp_path, label_column, expected):
    data = read_tagged(write(tmp_path, "a.conllu", CONLLU), label_column=label_column)
    assert data.tokens[1] == ["Dogs", "bark"]
    assert data.tags == expected


def test_conllu_with_bom_and_crlf(tmp_path):
    path = tmp_path / "a.conllu"
    path.write_bytes(b"\xef\xbb\xbf" + CONLLU.replace("\n", "\r\n").encode("utf-8"))
    assert read_tagged(path).tokens == read_tagged(write(tmp_path, "b.conllu", CONLLU)).tokens


def test_column_file_last_column_by_default(tmp_path):
    text = (
        "-DOCSTART- -X- -X- O\n\n"
        "EU NNP B-NP B-ORG\n"
        "rejects\tVBZ\tB-VP\tO\n"
        "German  JJ B-NP   B-MISC\n"
        "\n\n\n"
        "Peter NNP B-NP B-PER\r\n"
        "-DOCSTART- -X- -X- O\n"
        "Blackburn NNP B-NP B-PER"
    )
    data = read_tagged(write(tmp_path, "train.txt", text))
    assert data.tokens == [["EU", "rejects", "German"], ["Peter"], ["Blackburn"]]
    assert data.tags == [["B-ORG", "O", "B-MISC"], ["B-PER"], ["B-PER"]]
    assert data.lines == [3, 9, 11]
    second = read_tagged(tmp_path / "train.txt", label_column="2")
    assert second.tags == [["NNP", "VBZ", "JJ"], ["NNP"], ["NNP"]]
    assert second.tokens == data.tokens


def test_column_file_words_are_not_comments(tmp_path):
    data = read_tagged(write(tmp_path, "a.conll", "# SYM\n10 CD\n"))
    assert data.tokens == [["#", "10"]] and data.tags == [["SYM", "CD"]]


def test_jsonl_rows(tmp_path):
    text = (
        '{"tokens": ["The", "dog"], "tags": ["DET", "NOUN"], "id": 7}\n'
        "\n"
        '{"tokens": [3, "x"], "tags": ["NUM", 1]}\n'
    )
    data = read_tagged(write(tmp_path, "a.jsonl", text))
    assert data.tokens == [["The", "dog"], ["3", "x"]]
    assert data.tags == [["DET", "NOUN"], ["NUM", "1"]]
    assert data.lines == [1, 3]


# errors


def test_tagged_file_error_is_an_input_file_error():
    assert issubclass(TaggedFileError, InputFileError)
    assert issubclass(TaggedFileError, ValueError)


def _lines(*lines):
    return "\n".join(lines) + "\n"


MALFORMED = [
    (
        "a.conllu",
        _lines("# c", conllu_word(1, "A"), "2\tB\tb\tNOUN\tNN\t_\t0\troot\t_"),
        r"a\.conllu:3: 9 tab-separated columns; expected 10 \(ID FORM LEMMA",
    ),
    (
        "a.conllu",
        _lines(conllu_word(1, "A").replace("\t", " ", 1)),
        r"a\.conllu:1: 9 tab-separated columns; expected 10",
    ),
    ("a.conllu", _lines(conllu_word("x", "A")), r"a\.conllu:1: ID 'x'; expected a word number"),
    ("a.conllu", _lines(conllu_word(1, "")), r"a\.conllu:1: empty FORM column"),
    ("a.conllu", _lines(conllu_word(1, "A"), conllu_word(2, "a b")), r"a\.conllu:2: .*a space"),
    ("a.conllu", _lines(conllu_word(1, "<unk>")), r"a\.conllu:1: .*'<unk>' is reserved"),
    ("a.conllu", _lines("# only a comment", ""), r"a\.conllu: no sentences; expected CoNLL-U"),
    ("a.conllu", "", r"a\.conllu: no sentences"),
    ("a.jsonl", '{"tokens": [], "tags": []}\n', r"a\.jsonl:1: empty sentence; expected at least"),
    (
        "a.jsonl",
        '{"tokens": ["a"], "tags": ["A"]}\n{"tokens": ["a", "b", "c"], "tags": ["A", "B"]}\n',
        r"a\.jsonl:2: 3 tokens but 2 tags; expected one tag per token",
    ),
    ("a.jsonl", '{"tokens": [true], "tags": ["A"]}\n', r"a\.jsonl:1: 'tokens' is not a list"),
    ("a.jsonl", '{"tokens": ["a"], "tags": [1.5]}\n', r"a\.jsonl:1: 'tags' is not a list"),
    ("a.jsonl", '{"tokens": "a b", "tags": ["A"]}\n', r"a\.jsonl:1: 'tokens' is not a list"),
    ("a.jsonl", '{"tokens": ["a"]}\n', r"a\.jsonl:1: not an object with 'tokens' and 'tags'"),
    ("a.jsonl", '{"tokens": ["a"], "tags": ["A"]\n', r"a\.jsonl:1: not JSON"),
    ("a.jsonl", '{"tokens": ["a"], "tags": ["<pad>"]}\n', r"a\.jsonl:1: the tag token '<pad>'"),
    ("a.jsonl", "\n\n", r"a\.jsonl: no sentences"),
    ("a.txt", "EU B-ORG\nrejects\n", r"a\.txt:2: 1 columns, but the first token line has 2"),
    ("a.txt", "EU\nrejects O\n", r"a\.txt:1: 1 column; expected at least 2 \(the word"),
    (
        "a.txt",
        "EU NNP B-ORG\n\nPeter NNP I-NP B-PER\n",
        r"a\.txt:3: 4 columns, but the first token line has 3; expected the same number",
    ),
    ("a.txt", "EU <s>\n", r"a\.txt:1: the tag token '<s>' is reserved"),
    ("a.txt", "-DOCSTART- O\n\n \n", r"a\.txt: no sentences; expected one token a line"),
]


@pytest.mark.parametrize("name, text, message", MALFORMED)
def test_malformed_files(tmp_path, name, text, message):
    with pytest.raises(TaggedFileError, match=message):
        read_tagged(write(tmp_path, name, text))


def test_messages_are_one_line(tmp_path):
    for name, text, _ in MALFORMED:
        with pytest.raises(TaggedFileError) as caught:
            read_tagged(write(tmp_path, name, text))
        assert "\n" not in str(caught.value)


def test_label_column_beyond_the_columns(tmp_path):
    path = write(tmp_path, "a.txt", "EU NNP B-ORG\n")
    with pytest.raises(TaggedFileError, match=r"a\.txt:1: 3 columns, but `label_column` is 5"):
        read_tagged(path, label_column="5")


def test_not_utf8_is_a_tagged_file_error(tmp_path):
    path = tmp_path / "a.conllu"
    path.write_bytes(b"1\tcaf\xe9\n")
    with pytest.raises(TaggedFileError, match=r"a\.conllu:1: not UTF-8"):
        read_tagged(path)
    with pytest.raises(FileNotFoundError):
        read_tagged(tmp_path / "missing.conllu")


@pytest.mark.parametrize(
    "name, label_column, message",
    [
        ("a.conllu", "lemma", r"one of \['upos', 'xpos', 'feats:KEY', 'misc:KEY'\].*'lemma'"),
        ("a.conllu", "feats:", r"`label_column` must be one of .*got 'feats:'"),
        ("a.conllu", "upos:Number", r"`label_column` must be one of .*got 'upos:Number'"),
        ("a.conllu", "4", r"`label_column` must be one of"),
        ("a.txt", "upos", r"`label_column` must be a column number of 2 or more.*got 'upos'"),
        ("a.txt", "1", r"column 1 holds the word.*got '1'"),
        ("a.txt", "0", r"`label_column` must be a column number"),
        ("a.jsonl", "tags", r"`label_column` must be None for a JSONL file.*got 'tags'"),
    ],
)
def test_unknown_label_column(tmp_path, name, label_column, message):
    path = write(tmp_path, name, CONLLU if name.endswith(".conllu") else "a A\n")
    with pytest.raises(ValueError, match=message) as caught:
        read_tagged(path, label_column=label_column)
    assert not isinstance(caught.value, TaggedFileError)


# writing predictions back


@pytest.mark.parametrize("label_column", [None, "xpos", "feats:Number", "misc:SpaceAfter"])
def test_fill_conllu_round_trip(tmp_path, label_column):
    data = read_tagged(write(tmp_path, "a.conllu", CONLLU), label_column=label_column)
    assert fill_conllu(CONLLU, data.tags, label_column) == CONLLU
    crlf = CONLLU.replace("\n", "\r\n")
    assert fill_conllu(crlf, data.tags, label_column) == CONLLU


def test_fill_conllu_writes_predictions_and_keeps_the_rest(tmp_path):
    predicted = [["V", "W", "X", "Y"], ["Z", "V"]]
    filled = fill_conllu(CONLLU, predicted)
    old, new = CONLLU.split("\n"), filled.split("\n")
    changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    assert changed == [3, 4, 5, 7, 10, 11]  # the word lines; not the range or the empty node
    assert new[3] == "1\tDo\tdo\tV\tVBP\tMood=Ind|VerbForm=Fin\t3\taux\t_\t_"
    assert read_tagged(write(tmp_path, "b.conllu", filled)).tags == predicted


def test_fill_conllu_keyed_columns():
    text = _lines(conllu_word(1, "A", feats="Case=Nom|Person=3"), conllu_word(2, "B"))
    filled = fill_conllu(text, [["Sing", "Plur"]], "feats:Number")
    assert filled.split("\n")[:2] == [
        conllu_word(1, "A", feats="Case=Nom|Number=Sing|Person=3"),
        conllu_word(2, "B", feats="Number=Plur"),
    ]
    cleared = fill_conllu(filled, [["_", "_"]], "feats:Number")
    assert cleared == text
    misc = fill_conllu(text, [["x", "_"]], "misc:Zeta")
    assert misc.split("\n")[0] == conllu_word(1, "A", feats="Case=Nom|Person=3", misc="Zeta=x")


def test_fill_conllu_refuses_mismatched_predictions():
    with pytest.raises(ValueError, match=r"holds 1 sentences, but the CoNLL-U text has 2"):
        fill_conllu(CONLLU, [["A", "B", "C", "D"]])
    with pytest.raises(ValueError, match=r"`predictions\[1\]` holds 3 tags, but sentence 2 "):
        fill_conllu(CONLLU, [["A", "B", "C", "D"], ["A", "B", "C"]])
    with pytest.raises(ValueError, match=r"`predictions\[0\]`: the tag token 'A B' holds"):
        fill_conllu(CONLLU, [["A B", "B", "C", "D"], ["A", "B"]])
    with pytest.raises(ValueError, match=r"`predictions\[1\]`: a tag holds '\|'"):
        fill_conllu(CONLLU, [["A", "B", "C", "D"], ["A|B", "B"]], "feats:Number")
    with pytest.raises(TypeError, match=r"`predictions\[1\]` must hold strings"):
        fill_conllu(CONLLU, [["A", "B", "C", "D"], [1, 2]])
    with pytest.raises(ValueError, match=r"`label_column` must be one of"):
        fill_conllu(CONLLU, [], "lemma")


# the generated task


def test_task_is_deterministic_for_a_seed_and_leaves_global_state_alone():
    np.random.seed(3)
    random.seed(3)
    before = np.random.get_state()[1].copy(), random.getstate()
    assert make_tag_task(50, seed=7) == make_tag_task(50, seed=7)
    assert make_tag_task(50, seed=7) != make_tag_task(50, seed=8)
    assert (np.random.get_state()[1] == before[0]).all()
    assert random.getstate() == before[1]


def test_task_docstring_example():
    assert make_tag_task(1, min_len=4, max_len=6, seed=20) == (
        [["b", "next", "d", "prev", "c", "d"]],
        [["B", "D", "D", "D", "C", "D"]],
    )


def test_task_follows_its_rule():
    tokens, tags = make_tag_task(2000, min_len=2, max_len=7, seed=1)
    assert {len(s) for s in tokens} == set(range(2, 8))
    assert {w for s in tokens for w in s} == {"a", "b", "c", "d", "next", "prev"}
    for sentence, labels in zip(tokens, tags, strict=True):
        assert sentence[-1] != "next" and sentence[0] != "prev"
        for i, word in enumerate(sentence):
            if word in ("next", "prev"):
                source = sentence[i + 1] if word == "next" else sentence[i - 1]
                assert source in "abcd"
                assert labels[i] == source.upper()
            else:
                assert labels[i] == word.upper()


def test_tag_sentence_refuses_other_sentences():
    with pytest.raises(ValueError, match=r"`tokens` must be a sentence of the task"):
        tag_sentence(["a", "next"])
    with pytest.raises(ValueError, match=r"`tokens` must be a sentence of the task"):
        tag_sentence(["prev", "a"])


def test_task_needs_both_sides():
    tokens, tags = make_tag_task(10000, seed=0)
    expected = expected_ceilings()
    forward = causal_ceiling(tokens, tags)
    backward = causal_ceiling([s[::-1] for s in tokens], [t[::-1] for t in tags])
    # a left-to-right tagger can be right on ``next`` only one time in four
    share_next = sum(s.count("next") for s in tokens) / sum(len(s) for s in tokens)
    assert forward == pytest.approx(1 - 0.75 * share_next, abs=0.003)
    assert forward == pytest.approx(expected["left_to_right"], abs=0.005)
    assert backward == pytest.approx(expected["right_to_left"], abs=0.005)
    assert forward < 0.9 and backward < 0.9
    assert bidirectional_ceiling(tokens, tags) == 1.0 == expected["bidirectional"]
    # more of the past does not help; less (the word alone) hurts
    assert causal_ceiling(tokens, tags, context=3) == pytest.approx(forward, abs=0.01)
    assert causal_ceiling(tokens, tags, context=0) < forward - 0.05


def test_expected_ceilings_by_hand():
    # length 2: position 0 is next with chance 1/4; position 1 is prev with chance 3/4 * 1/4
    assert expected_ceilings(min_len=2, max_len=2) == {
        "left_to_right": 1 - 0.75 * (1 / 4) / 2,
        "right_to_left": 1 - 0.75 * (3 / 16) / 2,
        "bidirectional": 1.0,
    }
    assert expected_ceilings(min_len=1, max_len=1)["left_to_right"] == 1.0


def test_ceilings_count_views():
    tokens, tags = [["x", "a"], ["x", "b"]], [["A", "A"], ["B", "B"]]
    assert causal_ceiling(tokens, tags) == 0.75  # "x" first: A or B, a coin toss
    assert bidirectional_ceiling(tokens, tags) == 1.0
    assert causal_ceiling(tokens, tags, context=None) == 0.75


def test_task_argument_errors():
    with pytest.raises(ValueError, match=r"`samples` must be >= 1, got 0"):
        make_tag_task(0)
    with pytest.raises(ValueError, match=r"1 <= min_len <= max_len, got 5 and 4"):
        make_tag_task(3, min_len=5, max_len=4)
    with pytest.raises(ValueError, match=r"`tokens` and `tags` must hold the same number"):
        causal_ceiling([["a", "b"]], [["A"]])


# the real thing, where it is installed


def _ewt(split: str) -> Path:
    return next(EWT.glob(f"*-ud-{split}.conllu"))


@pytest.mark.slow
@pytest.mark.skipif(not EWT.is_dir(), reason="UD English EWT is not in /work/shared/data")
def test_ud_english_ewt():
    test = _ewt("test")
    text = test.read_text(encoding="utf-8")
    data = read_tagged(test)
    assert len(data) == sum(1 for line in text.splitlines() if line.startswith("# sent_id"))
    words = sum(1 for line in text.splitlines() if re.match(r"\d+\t", line))
    assert sum(len(s) for s in data.tokens) == words
    assert fill_conllu(text, data.tags) == text
    train = read_tagged(_ewt("train"))
    assert {tag for sentence in train.tags for tag in sentence} == UPOS


def test_an_unseen_capitalised_word_is_read_as_its_lower_case_form():
    from rnnlab.data.tagged_dataset import TaggedData
    from rnnlab.data.vocab import Vocabulary

    words = Vocabulary.build([["apple", "The", "the"]])
    chars, labels = Vocabulary.build([list("apleTh")]), Vocabulary.build([["N"]])
    data = TaggedData.encode([["Apple", "APPLE", "The", "pear"]], None, words, chars, labels)
    apple, the = words.ids["apple"], words.ids["The"]
    assert data.words[0] == [apple, apple, the, words.unk_id]  # "The" seen as it is
    assert data.unseen[0] == [True, True, False, True]  # the measure keeps the exact forms
