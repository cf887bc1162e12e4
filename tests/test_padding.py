import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnlab.data import pad_sequences

SEQUENCES = [[1], [2, 3], [4, 5, 6]]


# The examples of Keras's `pad_sequences` documentation.
def test_keras_doc_default():
    out = pad_sequences(SEQUENCES)
    assert out.tolist() == [[0, 0, 1], [0, 2, 3], [4, 5, 6]]
    assert out.dtype == np.int32


def test_keras_doc_value():
    assert pad_sequences(SEQUENCES, value=-1).tolist() == [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]


def test_keras_doc_post():
    assert pad_sequences(SEQUENCES, padding="post").tolist() == [[1, 0, 0], [2, 3, 0], [4, 5, 6]]


def test_keras_doc_maxlen_truncates_pre():
    assert pad_sequences(SEQUENCES, maxlen=2).tolist() == [[0, 1], [2, 3], [5, 6]]


def test_truncating_post_keeps_the_start():
    assert pad_sequences(SEQUENCES, maxlen=2, truncating="post").tolist() == [
        [0, 1],
        [2, 3],
        [4, 5],
    ]


def test_tutorial_step():
    out = pad_sequences([[3, 7, 2], [9]], maxlen=5, padding="post")
    assert out.tolist() == [[3, 7, 2, 0, 0], [9, 0, 0, 0, 0]]


def test_float_dtype_keeps_fractions():
    out = pad_sequences([[0.5, 1.5]], maxlen=3, dtype="float32")
    assert out.dtype == np.float32 and out.tolist() == [[0.0, 0.5, 1.5]]


def test_int_dtype_truncates_fractions_as_keras_does():
    assert pad_sequences([[1.7]]).tolist() == [[1]]


def test_sample_shape_is_kept():
    out = pad_sequences([[[1, 2]], [[3, 4], [5, 6]]], padding="post")
    assert out.shape == (2, 2, 2)
    assert out[0].tolist() == [[1, 2], [0, 0]]


def test_empty_sequence_is_all_padding():
    assert pad_sequences([[], [1, 2]]).tolist() == [[0, 0], [1, 2]]


def test_string_value_with_object_dtype():
    out = pad_sequences([["a"], ["b", "c"]], dtype=object, value="<pad>")
    assert out.tolist() == [["<pad>", "a"], ["b", "c"]]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"padding": "middle"},
            ValueError,
            r"`padding` must be one of \('pre', 'post'\), got 'middle'",
        ),
        ({"truncating": "end"}, ValueError, r"`truncating` must be one of .* got 'end'"),
        ({"maxlen": -1}, ValueError, r"`maxlen` must be >= 0 or None, got -1"),
        ({"maxlen": 2.5}, TypeError, r"`maxlen` must be an int or None, got float"),
        ({"value": "x"}, ValueError, r"`dtype` int32 is not compatible with `value`'s type str"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        pad_sequences(SEQUENCES, **kwargs)


def test_non_sequence_element():
    with pytest.raises(ValueError, match="element 1 is int"):
        pad_sequences([[1], 2])


def test_inconsistent_sample_shapes():
    with pytest.raises(ValueError, match=r"Shape of sample 1 is \(3,\), expected \(2,\)"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])


sequences = st.lists(st.lists(st.integers(1, 9), max_size=8), min_size=1, max_size=10)


@given(
    sequences,
    st.one_of(st.none(), st.integers(0, 10)),
    st.sampled_from(["pre", "post"]),
    st.sampled_from(["pre", "post"]),
    st.integers(-5, 0),
)
def test_properties(seqs, maxlen, padding, truncating, value):
    out = pad_sequences(seqs, maxlen=maxlen, padding=padding, truncating=truncating, value=value)
    width = max(map(len, seqs)) if maxlen is None else maxlen
    assert out.shape == (len(seqs), width)
    for row, seq in zip(out.tolist(), seqs, strict=True):
        kept = seq if len(seq) <= width else (seq[-width:] if truncating == "pre" else seq[:width])
        if width == 0:
            kept = []
        pad = [value] * (width - len(kept))
        assert row == (pad + kept if padding == "pre" else kept + pad)
