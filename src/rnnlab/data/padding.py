"""``pad_sequences`` with the semantics and defaults of Keras's ``pad_sequences``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnlab.limits import is_integer

_SIDES = ("pre", "post")


def pad_sequences(
    sequences: Sequence,
    maxlen: int | None = None,
    dtype: str | np.dtype = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: float | str = 0.0,
) -> np.ndarray:
    """Pad (or truncate) sequences to one length, as Keras's ``pad_sequences`` does.

    Args:
        sequences: a list of sequences; each is a list (or array) of scalars, or of
            equally shaped arrays (the sample shape).
        maxlen: the length of every output row. ``None`` (default) takes the longest
            sequence's length.
        dtype: the output's dtype (default ``"int32"``).
        padding: ``"pre"`` (default) puts the padding before each sequence, ``"post"`` after.
        truncating: ``"pre"`` (default) drops values from the start of sequences longer
            than ``maxlen``, ``"post"`` from the end.
        value: the padding value (default ``0.0``).

    Returns:
        An array of shape ``(len(sequences), maxlen, *sample_shape)``.

    Example::

        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], padding="post").tolist()
        [[1, 0, 0], [2, 3, 0], [4, 5, 6]]
    """
    if padding not in _SIDES:
        raise ValueError(f"`padding` must be one of {_SIDES}, got {padding!r}.")
    if truncating not in _SIDES:
        raise ValueError(f"`truncating` must be one of {_SIDES}, got {truncating!r}.")
    if maxlen is not None and (not is_integer(maxlen)):
        raise TypeError(f"`maxlen` must be an int or None, got {type(maxlen).__name__}.")
    if maxlen is not None and maxlen < 0:
        raise ValueError(f"`maxlen` must be >= 0 or None, got {maxlen}.")
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be a list of sequences (it has no length).")

    lengths = []
    sample_shape: tuple[int, ...] = ()
    found_sample_shape = False
    for i, seq in enumerate(sequences):
        if not hasattr(seq, "__len__"):
            raise ValueError(
                f"`sequences` must be a list of sequences; element {i} is {type(seq).__name__}."
            )
        lengths.append(len(seq))
        if not found_sample_shape and len(seq) > 0:
            sample_shape = np.asarray(seq).shape[1:]
            found_sample_shape = True

    if maxlen is None:
        maxlen = max(lengths, default=0)

    is_text = np.issubdtype(np.dtype(dtype), np.str_)
    if isinstance(value, str) and np.dtype(dtype) != object and not is_text:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type {type(value).__name__}; "
            "use dtype=object for a string padding value."
        )

    out = np.full((len(sequences), maxlen, *sample_shape), value, dtype=dtype)
    for i, seq in enumerate(sequences):
        if len(seq) == 0 or maxlen == 0:
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {i} is {kept.shape[1:]}, expected {sample_shape} "
                "(the shape of the first non-empty sequence's elements)."
            )
        if padding == "post":
            out[i, : len(kept)] = kept
        else:
            out[i, maxlen - len(kept) :] = kept
    return out
