"""What a tagger reads of a word besides its id: its characters, its endings and the shape of
its spelling. Plain Python, without torch, so that the ONNX runner
(``rnnlab.interop.onnx``) reads words exactly as training did.
"""

from __future__ import annotations

MAX_WORD_CHARS = 16  # a longer word is read as its first and last 8 characters
SUFFIXES = (1, 2, 3)  # the lengths of the (lower-cased) endings a word is also read by
SHAPES = ("lower", "Title", "UPPER", "digits", "has digit", "has hyphen", "punctuation", "other")


def word_shape(word: str) -> int:
    """The index in ``SHAPES`` of the word's spelling pattern (capitals, digits, symbols)."""
    if word.isdigit():
        return 3
    if any(c.isdigit() for c in word):
        return 4
    if "-" in word and len(word) > 1:
        return 5
    if not any(c.isalnum() for c in word):
        return 6
    if word.islower():
        return 0
    if word.isupper():
        return 2
    if word[0].isupper() and word[1:].islower():
        return 1
    return 7


def word_suffixes(word: str) -> list[str]:
    """The word's endings of each length in ``SUFFIXES``, lower-cased (``"Running"`` ->
    ``["g", "ng", "ing"]``): what a tagger learns "-ing" and "-ly" from, unseen words too."""
    lower = word.lower()
    return [lower[-n:] for n in SUFFIXES]


def word_chars(word: str) -> str:
    """The characters of ``word`` that the model reads: all of a short word; the first and
    last ``MAX_WORD_CHARS // 2`` of a long one (prefixes and suffixes carry the grammar;
    URLs and e-mail addresses of 60 characters would otherwise set every batch's width)."""
    half = MAX_WORD_CHARS // 2
    return word if len(word) <= MAX_WORD_CHARS else word[:half] + word[-half:]
