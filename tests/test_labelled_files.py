"""Labelled sequences (classify): TSV, JSONL and .ts readers, their messages, the scaler."""

import json
from importlib.resources import as_file, files

import numpy as np
import pytest

from rnnlab.data.feature_scaler import FeatureScaler
from rnnlab.data.files import InputFileError
from rnnlab.data.labelled import (
    LabelledFileError,
    LabelledSequences,
    read_labelled,
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def f32(rows):
    return np.array(rows, dtype=np.float32)


def assert_vectors(sequences, expected):
    assert len(sequences) == len(expected)
    for got, want in zip(sequences, expected, strict=True):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, f32(want))


def raises(tmp_path, name, text, match, **kwargs):
    """Reading ``text`` as ``name`` fails with a one-line message matching ``match``."""
    path = write(tmp_path, name, text)
    with pytest.raises(LabelledFileError, match=match) as info:
        read_labelled(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert "; expected " in message
    return message


# ---- TSV


def test_tsv_reads_tokens_and_labels(tmp_path):
    path = write(tmp_path, "a.tsv", "the film was fine\tpos\n\n  \nawful\tneg\r\nso so\tmixed up\r")
    data = read_labelled(path)
    assert isinstance(data, LabelledSequences)
    assert data.sequences == [["the", "film", "was", "fine"], ["awful"], ["so", "so"]]
    assert data.labels == ["pos", "neg", "mixed up"]
    assert data.lines == [1, 4, 5]
    assert (data.form, data.features, len(data), data.path) == ("tokens", None, 3, path)


@pytest.mark.parametrize("name", ["a.txt", "a.csv", "noextension"])
def test_other_extensions_read_as_tsv(tmp_path, name):
    data = read_labelled(write(tmp_path, name, "1 2 3\tup\n"))
    assert (data.sequences, data.labels) == ([["1", "2", "3"]], ["up"])


def test_tsv_without_labels(tmp_path):
    path = write(tmp_path, "a.tsv", "a b\nc\n")
    data = read_labelled(path, labels="optional")
    assert (data.sequences, data.labels, data.lines) == ([["a", "b"], ["c"]], None, [1, 2])
    assert read_labelled(path, labels="ignore").labels is None


def test_tsv_optional_keeps_labels_and_ignore_drops_them(tmp_path):
    path = write(tmp_path, "a.tsv", "a b\tx\nc\ty\n")
    assert read_labelled(path, labels="optional").labels == ["x", "y"]
    data = read_labelled(path, labels="ignore")
    assert (data.sequences, data.labels) == ([["a", "b"], ["c"]], None)


def test_tsv_bom_dropped(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_bytes("\ufeffa\tx\n".encode())
    assert read_labelled(path).sequences == [["a"]]


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("a b\tx\nc d\n", {}, r"a\.tsv:2: no tab; expected 'tokens<TAB>label'"),
        ("a\tx\ty\n", {}, r"a\.tsv:1: more than one tab; expected 'tokens<TAB>label'"),
        ("\tx\n", {}, r"a\.tsv:1: empty sequence; expected tokens separated by single spaces"),
        ("a  b\tx\n", {}, r"a\.tsv:1: empty token in the sequence \(two spaces\?\)"),
        ("a <pad>\tx\n", {}, r"a\.tsv:1: the sequence token '<pad>' is reserved"),
        ("a\t\n", {}, r"a\.tsv:1: empty label; expected a label of visible text"),
        ("a\tx \n", {}, r"a\.tsv:1: the label 'x ' starts or ends with white space"),
        ("a\tx\n\nb\n", {"labels": "optional"}, r"a\.tsv:3: no label, but line 1 has one;"),
        ("a\nb\tx\n", {"labels": "optional"}, r"a\.tsv:2: a label, but line 1 has none;"),
        ("a\nb\tx\n", {"labels": "ignore"}, r"a\.tsv:2: a label, but line 1 has none;"),
        ("a\tx\nb\n", {"labels": "ignore"}, r"expected labels on every line or on none"),
    ],
)
def test_tsv_errors(tmp_path, text, kwargs, match):
    raises(tmp_path, "a.tsv", text, match, **kwargs)


@pytest.mark.parametrize("text", ["", "\n  \n\n"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, "a.tsv", text)
    with pytest.raises(LabelledFileError, match=r"a\.tsv: no sequences; expected lines"):
        read_labelled(path)


def test_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_labelled(tmp_path / "missing.tsv")
    with pytest.raises(LabelledFileError, match="is a folder, expected a file"):
        read_labelled(tmp_path)
    path = tmp_path / "bad.tsv"
    path.write_bytes(b"a\tx\n\xff\tx\n")
    with pytest.raises(LabelledFileError, match=r"bad\.tsv:2: not UTF-8 text"):
        read_labelled(path)
    path.write_bytes(b"a\tx\nb\0\tx\n")
    with pytest.raises(LabelledFileError, match=r"bad\.tsv:2: a NUL byte; expected text"):
        read_labelled(path)
    assert issubclass(LabelledFileError, InputFileError)
    assert issubclass(LabelledFileError, ValueError)


def test_labels_option_checked(tmp_path):
    path = write(tmp_path, "a.tsv", "a\tx\n")
    with pytest.raises(ValueError, match=r"`labels` must be one of \('required', 'optional', "):
        read_labelled(path, labels="maybe")


# ---- JSONL


def rows(*objects):
    return "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objects)


def test_jsonl_tokens(tmp_path):
    text = rows({"sequence": ["a", "b"], "label": "x"}, "", {"sequence": [3, 10], "label": 7})
    data = read_labelled(write(tmp_path, "a.jsonl", text))
    assert (data.sequences, data.labels, data.lines) == (
        [["a", "b"], ["3", "10"]],
        ["x", "7"],
        [1, 3],
    )
    assert (data.form, data.features) == ("tokens", None)


def test_jsonl_vectors(tmp_path):
    text = rows(
        {"sequence": [[1, 2.5], [3, -4]], "label": "up", "id": 17},
        {"sequence": [[0.25, 1e3]], "label": "down"},
    )
    data = read_labelled(write(tmp_path, "a.jsonl", text))
    assert (data.form, data.features, data.labels) == ("vectors", 2, ["up", "down"])
    assert_vectors(data.sequences, [[[1, 2.5], [3, -4]], [[0.25, 1000]]])


def test_jsonl_without_labels(tmp_path):
    text = rows({"sequence": [[1.0]]}, {"sequence": [[2.0], [3.0]], "label": None})
    data = read_labelled(write(tmp_path, "a.jsonl", text), labels="optional")
    assert data.labels is None
    assert_vectors(data.sequences, [[[1]], [[2], [3]]])


def test_jsonl_ignore_skips_labels_unread(tmp_path):
    text = rows({"sequence": ["a"], "label": [1, 2]}, {"sequence": ["b"], "label": True})
    data = read_labelled(write(tmp_path, "a.jsonl", text), labels="ignore")
    assert (data.sequences, data.labels) == ([["a"], ["b"]], None)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("{not json", r"a\.jsonl:1: not JSON \(.*\); expected one JSON object a line"),
        ("[1, 2]", r"a\.jsonl:1: a list without 'sequence'; expected an object"),
        ({"tokens": ["a"]}, r"a\.jsonl:1: an object without 'sequence'"),
        ({"sequence": "a b", "label": "x"}, r"'sequence' is the string 'a b'; expected a list"),
        ({"sequence": [], "label": "x"}, r"a\.jsonl:1: empty sequence; expected a list of tokens"),
        (
            {"sequence": ["a", True], "label": "x"},
            r"step 2 of a token sequence is the boolean true",
        ),
        ({"sequence": [1.5], "label": "x"}, r"step 1 of a token sequence is the number 1\.5"),
        ({"sequence": ["a", [1]], "label": "x"}, r"step 2 of a token sequence is a list"),
        ({"sequence": ["a b"], "label": "x"}, r"the sequence token 'a b' holds a space"),
        ({"sequence": ["</s>"], "label": "x"}, r"the sequence token '</s>' is reserved"),
        ({"sequence": [[1], "a"], "label": "x"}, r"step 2 of a vector sequence is the string 'a'"),
        ({"sequence": [[1], []], "label": "x"}, r"step 2 of a vector sequence is an empty list"),
        ({"sequence": [[]], "label": "x"}, r"step 1 of a vector sequence is an empty list"),
        ({"sequence": [[1, 2], [3]], "label": "x"}, r"step 2 has 1 features, step 1 has 2;"),
        ({"sequence": [[1, False]], "label": "x"}, r"step 1, feature 2 is the boolean false"),
        ({"sequence": [[1, None]], "label": "x"}, r"step 1, feature 2 is null; expected numbers"),
        ({"sequence": [[1], [2, "3"]], "label": "x"}, r"step 2 has 2 features, step 1 has 1"),
        ('{"sequence": [[1], [NaN]], "label": "x"}', r":1: step 2, feature 1 is NaN; expected fin"),
        ('{"sequence": [[1, Infinity]], "label": "x"}', r"step 1, feature 2 is infinite;"),
        ('{"sequence": [[-Infinity]], "label": "x"}', r"step 1, feature 1 is infinite;"),
        ('{"sequence": [[1e39]], "label": "x"}', r"step 1, feature 1 is too large for float32;"),
        ('{"sequence": [[1e400]], "label": "x"}', r"step 1, feature 1 is infinite;"),
        ({"sequence": [[1], [10**400]], "label": "x"}, r"step 2, feature 1 is too large;"),
        ({"sequence": ["a"], "label": True}, r"'label' is the boolean true; expected a string or"),
        ({"sequence": ["a"], "label": 1.0}, r"'label' is the number 1\.0; expected a string or"),
        (
            {"sequence": ["a"], "label": ["x"]},
            r"'label' is a list; expected a string or an integer",
        ),
        ({"sequence": ["a"], "label": "x\ty"}, r"the label 'x\\ty' holds a tab, line break"),
        ({"sequence": ["a"], "label": ""}, r"a\.jsonl:1: empty label; expected a label"),
        ({"sequence": ["a"]}, r"a\.jsonl:1: no 'label'; expected \{\"sequence\": \[\.\.\.\]"),
        ({"sequence": ["a"], "label": None}, r"a\.jsonl:1: no 'label'; expected"),
    ],
)
def test_jsonl_line_errors(tmp_path, line, match):
    raises(tmp_path, "a.jsonl", rows(line), match)


@pytest.mark.parametrize(
    ("objects", "match"),
    [
        (
            [{"sequence": ["a"], "label": "x"}, {"sequence": [[1.0]], "label": "x"}],
            r"a\.jsonl:2: feature vectors, but line 1 has tokens; expected one form",
        ),
        (
            [{"sequence": [[1.0]], "label": "x"}, {"sequence": ["a"], "label": "x"}],
            r"a\.jsonl:2: tokens, but line 1 has feature vectors; expected one form",
        ),
        (
            [{"sequence": [[1.0, 2.0]], "label": "x"}, {"sequence": [[1.0]], "label": "x"}],
            r"a\.jsonl:2: 1 features a step, but line 1 has 2; expected the same number",
        ),
    ],
)
def test_jsonl_file_errors(tmp_path, objects, match):
    raises(tmp_path, "a.jsonl", rows(*objects), match)


@pytest.mark.parametrize("labels", ["optional", "ignore"])
def test_jsonl_mixed_labels(tmp_path, labels):
    text = rows({"sequence": ["a"]}, {"sequence": ["b"], "label": "x"})
    raises(tmp_path, "a.jsonl", text, r"a\.jsonl:2: a label, but line 1 has none", labels=labels)


def test_jsonl_empty(tmp_path):
    path = write(tmp_path, "a.jsonl", "\n")
    with pytest.raises(LabelledFileError, match=r"a\.jsonl: no sequences; expected JSON lines"):
        read_labelled(path)


# ---- .ts

UNIVARIATE = """\
# a comment
% an ARFF-style comment
@problemName Tiny
@timeStamps false
@missing false
@univariate true
@equalLength true
@seriesLength 3
@classLabel true a b
@data
1.0,2.0,3.0:a

 -0.5, 1e-1 ,+4:b
"""

MULTIVARIATE_UNEQUAL = """\
@ProblemName Mv
@TIMESTAMPS FALSE
@univariate False
@dimensions 2
@equalLength false
@classLabel true up down
@data
1,2,3:10,20,30:up
# comments are allowed among the cases too
4.5:5.5:down
"""


def test_ts_univariate_equal_length(tmp_path):
    data = read_labelled(write(tmp_path, "u.ts", UNIVARIATE))
    assert (data.form, data.features, data.labels, data.lines) == (
        "vectors",
        1,
        ["a", "b"],
        [11, 13],
    )
    assert_vectors(data.sequences, [[[1], [2], [3]], [[-0.5], [0.1], [4]]])


def test_ts_multivariate_unequal_length_time_first(tmp_path):
    data = read_labelled(write(tmp_path, "m.ts", MULTIVARIATE_UNEQUAL))
    assert (data.features, data.labels, data.lines) == (2, ["up", "down"], [8, 10])
    assert_vectors(data.sequences, [[[1, 10], [2, 20], [3, 30]], [[4.5, 5.5]]])


def test_ts_multivariate_equal_length_without_dimensions_keyword(tmp_path):
    text = (
        "@univariate false\n@equalLength true\n@classLabel true 1 2\n@data\n1,2:3,4:2\n5,6:7,8:1\n"
    )
    data = read_labelled(write(tmp_path, "m.ts", text))
    assert data.labels == ["2", "1"]
    assert_vectors(data.sequences, [[[1, 3], [2, 4]], [[5, 7], [6, 8]]])


def test_ts_without_labels(tmp_path):
    text = "@univariate false\n@dimensions 2\n@classLabel false\n@data\n1,2:3,4\n5:6\n"
    data = read_labelled(write(tmp_path, "n.ts", text), labels="optional")
    assert data.labels is None
    assert_vectors(data.sequences, [[[1, 3], [2, 4]], [[5, 6]]])


def test_ts_ignore_drops_labels_unchecked(tmp_path):
    text = "@classLabel true a b\n@data\n1,2:a\n3,4:zzz\n"
    data = read_labelled(write(tmp_path, "i.ts", text), labels="ignore")
    assert data.labels is None
    assert_vectors(data.sequences, [[[1], [2]], [[3], [4]]])
    assert read_labelled(write(tmp_path, "i.ts", text.replace("zzz", "b"))).labels == ["a", "b"]


def test_ts_labels_are_case_sensitive_and_repeated_problem_name_allowed(tmp_path):
    text = "@problemName A\n@problemName B\n@classLabel true Up up\n@data\n1:Up\n2:up\n"
    assert read_labelled(write(tmp_path, "c.ts", text)).labels == ["Up", "up"]
    raises(tmp_path, "c.ts", text.replace("1:Up", "1:UP"), r"c\.ts:5: class label 'UP' is not")


H = "@univariate true\n@classLabel true a b\n@data\n"  # a minimal header (3 lines)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        # header
        ("@problemName x\n@data\n1:a\n", r"t\.ts:2: no @classLabel before @data; expected '@cl"),
        ("@classLabel true a\n1,2:a\n", r"t\.ts:2: '1,2:a'; expected a header line \(one of"),
        ("@colour red\n@data\n", r"t\.ts:1: unknown keyword '@colour'; expected a header line"),
        ("@univariate yes\n@data\n", r"t\.ts:1: @univariate yes; expected @univariate true or"),
        ("@missing\n@data\n", r"t\.ts:1: @missing without a value; expected @missing true or"),
        ("@equalLength true false\n", r"t\.ts:1: @equalLength true false; expected @equalLength"),
        ("@dimensions two\n@data\n", r"t\.ts:1: @dimensions two; expected @dimensions a whole"),
        ("@dimensions 0\n@data\n", r"t\.ts:1: @dimensions 0; expected @dimensions a whole number"),
        ("@seriesLength -3\n@data\n", r"t\.ts:1: @seriesLength -3; expected @seriesLength a whole"),
        ("@classLabel true\n@data\n", r"t\.ts:1: @classLabel true; expected @classLabel 'true L1"),
        ("@classLabel false a\n@data\n", r"t\.ts:1: @classLabel false a; expected @classLabel"),
        ("@classLabel maybe\n@data\n", r"t\.ts:1: @classLabel maybe; expected @classLabel 'true"),
        ("@univariate true\n@Univariate true\n", r"t\.ts:2: @univariate again; expected each key"),
        ("@classLabel true a\n@data now\n", r"t\.ts:2: '@data now'; expected '@data' alone on"),
        ("@timeStamps true\n@classLabel true a\n@data\n", r"t\.ts:1: @timeStamps true: time st"),
        ("@targetLabel true\n@classLabel false\n@data\n", r"t\.ts:1: @targetLabel true: a regre"),
        (
            "@univariate true\n@dimensions 3\n@classLabel true a\n@data\n",
            r"t\.ts:2: @dimensions 3 but @univariate true \(line 1\); expected @dimensions 1",
        ),
        ("@classLabel false\n@data\n1,2\n", r"t\.ts:1: @classLabel false: the cases have no lab"),
        # cases
        (H + "1,2:a\n@data\n", r"t\.ts:5: a header line after @data: '@data'; expected cases"),
        (H + "1,2,3\n", r"t\.ts:4: no class label; expected the values, then ':' and the label"),
        (H + "1,2,3: \n", r"t\.ts:4: no class label; expected the values"),
        (H + "1,2:c\n", r"t\.ts:4: class label 'c' is not declared; expected one of a b \(@cl"),
        (H + "1,2:3,4:a\n", r"t\.ts:4: 2 dimensions; expected 1 \(@univariate, line 1\)"),
        (H + "1,?,3:a\n", r"t\.ts:4: missing value '\?' at dimension 1, step 2; expected a num"),
        (H + "1,NaN:a\n", r"t\.ts:4: 'NaN' at dimension 1, step 2; expected finite numbers"),
        (H + "nan:a\n", r"t\.ts:4: 'nan' at dimension 1, step 1; expected finite numbers"),
        (H + "1,-Infinity:a\n", r"t\.ts:4: '-Infinity' at dimension 1, step 2; expected fin"),
        (H + "1,inf:a\n", r"t\.ts:4: 'inf' at dimension 1, step 2; expected finite numbers"),
        (H + "1,2e999:a\n", r"t\.ts:4: '2e999' at dimension 1, step 2 is too large; expected"),
        (H + "1,1e39:a\n", r"t\.ts:4: dimension 1, step 2 is too large for float32; expected"),
        (H + "1,x:a\n", r"t\.ts:4: 'x' at dimension 1, step 2 is not a number; expected num"),
        (H + "1,1_000:a\n", r"t\.ts:4: '1_000' at dimension 1, step 2 is not a number"),
        (H + "1,\u0661:a\n", r"t\.ts:4: '\u0661' at dimension 1, step 2 is not a number"),
        (H + "1,,2:a\n", r"t\.ts:4: no value at dimension 1, step 2; expected numbers separated"),
        (H + "1,2,:a\n", r"t\.ts:4: no value at dimension 1, step 3;"),
        (H, r"t\.ts: no sequences; expected one case a line after @data \(line 3\)"),
    ],
)
def test_ts_errors(tmp_path, text, match):
    path = write(tmp_path, "t.ts", text)
    with pytest.raises(LabelledFileError, match=match) as info:
        read_labelled(path)
    assert "; expected " in str(info.value)
    assert "\n" not in str(info.value)


def test_ts_no_data_line(tmp_path):
    path = write(tmp_path, "t.ts", "@problemName x\n@classLabel true a\n")
    with pytest.raises(LabelledFileError, match=r"t\.ts: no @data line; expected a header that"):
        read_labelled(path)


@pytest.mark.parametrize(
    ("header", "cases", "match"),
    [
        (
            "@univariate false\n@dimensions 2\n",
            "1:2:a\n1:2:3:a\n",
            r"t\.ts:6: 3 dimensions; expected 2 \(@dimensions, line 2\)",
        ),
        (
            "@univariate false\n",
            "1:2:a\n1:2:3:a\n",
            r"t\.ts:5: 3 dimensions, but line 4 has 2; expected the same number of dimensions",
        ),
        (
            "@univariate false\n",
            "1,2:3:a\n",
            r"t\.ts:4: dimension 2 has 1 values, dimension 1 has 2; expected every dimension",
        ),
        (
            "@equalLength true\n",
            "1,2:a\n1,2,3:a\n",
            r"t\.ts:5: length 3; expected 2, as on line 4 \(@equalLength true, line 1\)",
        ),
        (
            "@equalLength true\n@seriesLength 3\n",
            "1,2,3:a\n1,2:a\n",
            r"t\.ts:6: length 2; expected 3 \(@seriesLength, line 2\)",
        ),
        (
            "@equalLength true\n@seriesLength 3\n",
            "1,2:a\n",
            r"t\.ts:5: length 2; expected 3 \(@seriesLength, line 2\)",
        ),
    ],
)
def test_ts_shape_errors(tmp_path, header, cases, match):
    raises(tmp_path, "t.ts", header + "@classLabel true a\n@data\n" + cases, match)


def test_ts_series_length_not_checked_for_unequal_length(tmp_path):
    text = "@equalLength false\n@seriesLength 3\n@classLabel true a\n@data\n1:a\n1,2:a\n"
    assert [len(x) for x in read_labelled(write(tmp_path, "t.ts", text)).sequences] == [1, 2]


def test_ts_extension_case_insensitive(tmp_path):
    data = read_labelled(write(tmp_path, "u.TS", UNIVARIATE))
    assert data.labels == ["a", "b"]


# ---- FeatureScaler

TRAIN = [f32([[0, 5, 1], [2, 5, 3]]), f32([[4, 5, 2]])]  # feature 2 never varies


def test_scaler_fit_statistics_over_all_steps():
    scaler = FeatureScaler().fit(TRAIN)
    np.testing.assert_allclose(scaler.mean_, [2, 5, 2])
    np.testing.assert_allclose(scaler.std_, [np.sqrt(8 / 3), 1.0, np.sqrt(2 / 3)])
    assert scaler.features == 3
    scaled = np.concatenate(scaler.transform(TRAIN))
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(scaled.std(axis=0), [1, 0, 1], atol=1e-6)
    np.testing.assert_array_equal(scaled[:, 1], 0)  # zero std: divided by 1, not by 0


def test_scaler_unequal_lengths_weigh_steps_not_sequences():
    # per sequence means would be 1 and 10 (average 5.5); per step the mean is 28 / 4 = 7
    scaler = FeatureScaler().fit([f32([[0], [1], [2]]), f32([[25]])])
    assert scaler.mean_.tolist() == [7.0]


def test_scaler_uses_training_statistics_on_other_data():
    scaler = FeatureScaler().fit(TRAIN)
    (test,) = scaler.transform([f32([[2, 5, 2], [2 + np.sqrt(8 / 3), 6, 2]])])
    np.testing.assert_allclose(test, [[0, 0, 0], [1, 1, 0]], atol=1e-6)
    assert FeatureScaler().fit([test]).mean_.tolist() != scaler.mean_.tolist()


def test_scaler_round_trip_through_json():
    scaler = FeatureScaler().fit([np.random.default_rng(0).normal(3, 2, (50, 4))])
    saved = json.loads(json.dumps(scaler.to_dict()))
    assert set(saved) == {"mean", "std"}
    restored = FeatureScaler.from_dict(saved)
    np.testing.assert_array_equal(restored.mean_, scaler.mean_)
    np.testing.assert_array_equal(restored.std_, scaler.std_)
    data = [np.random.default_rng(1).normal(size=(7, 4)).astype(np.float32)]
    np.testing.assert_array_equal(restored.transform(data)[0], scaler.transform(data)[0])
    assert restored.to_dict() == scaler.to_dict()


def test_scaler_reads_what_read_labelled_gives(tmp_path):
    data = read_labelled(write(tmp_path, "m.ts", MULTIVARIATE_UNEQUAL))
    scaler = FeatureScaler().fit(data.sequences)
    np.testing.assert_allclose(scaler.mean_, [2.625, 16.375])
    assert [x.shape for x in scaler.transform(data.sequences)] == [(3, 2), (1, 2)]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: FeatureScaler().fit([]), r"`sequences` is empty; expected at least one \(T, F\)"),
        (lambda: FeatureScaler().fit([np.zeros((0, 2))]), r"`sequences` has no steps"),
        (lambda: FeatureScaler().fit([np.zeros(3)]), r"`sequences\[0\]` has shape \(3,\); expe"),
        (
            lambda: FeatureScaler().fit([np.zeros((2, 2)), np.zeros((2, 3))]),
            r"`sequences\[1\]` has shape \(2, 3\); expected \(T, 2\)",
        ),
        (lambda: FeatureScaler().fit([f32([[np.nan]])]), r"`sequences\[0\]` holds NaN or inf"),
        (lambda: FeatureScaler().transform(TRAIN), r"not fitted; call `fit` first"),
        (lambda: FeatureScaler().to_dict(), r"not fitted; call `fit` first"),
        (
            lambda: FeatureScaler().fit(TRAIN).transform([np.zeros((4, 2))]),
            r"`sequences\[0\]` has shape \(4, 2\); expected \(T, 3\)",
        ),
        (
            lambda: FeatureScaler.from_dict({"mean": [0.0], "std": [1.0], "scale": 2}),
            r"config must have keys \['mean', 'std'\], got \['mean', 'scale', 'std'\]",
        ),
        (lambda: FeatureScaler.from_dict([0.0]), r"must have keys \['mean', 'std'\], got list"),
        (
            lambda: FeatureScaler.from_dict({"mean": [0.0, 1.0], "std": [1.0]}),
            r"`mean` and `std` must have the same length, got 2 and 1",
        ),
        (
            lambda: FeatureScaler.from_dict({"mean": [0.0], "std": [0.0]}),
            r"`std` must be > 0, got \[0\.0\]",
        ),
        (
            lambda: FeatureScaler.from_dict({"mean": [], "std": []}),
            r"`mean` must be a non-empty list of finite numbers",
        ),
        (
            lambda: FeatureScaler.from_dict({"mean": [0.0], "std": ["1"]}),
            r"`std` must be a non-empty list of finite numbers, got \['1'\]",
        ),
        (
            lambda: FeatureScaler.from_dict({"mean": [float("nan")], "std": [1.0]}),
            r"`mean` must be a non-empty list of finite numbers",
        ),
        (
            lambda: FeatureScaler.from_dict({"mean": [10**400], "std": [1.0]}),
            r"`mean` must be a non-empty list of finite numbers",
        ),
    ],
)
def test_scaler_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- aeon's shipped JapaneseVowels, where aeon is installed


def test_japanese_vowels_as_aeon_reads_it():
    pytest.importorskip("aeon")
    from aeon.datasets import load_classification

    shipped = files("aeon") / "datasets" / "data" / "JapaneseVowels" / "JapaneseVowels_TRAIN.ts"
    with as_file(shipped) as path:
        data = read_labelled(path)
    assert len(data) == 270
    assert data.features == 12
    lengths = [len(x) for x in data.sequences]
    assert (min(lengths), max(lengths)) == (7, 26)
    assert sorted(set(data.labels)) == [str(k) for k in range(1, 10)]

    X, y = load_classification("JapaneseVowels", split="train")  # (D, T) arrays: channels first
    assert len(X) == len(data)
    for ours, theirs in zip(data.sequences, X, strict=True):
        np.testing.assert_array_equal(ours, np.asarray(theirs).T.astype(np.float32))
    assert data.labels == [str(label) for label in y]
