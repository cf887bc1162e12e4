"""Options declared as data: each field of a kind's config says how the command line sets it.

``option(help, ...)`` is a dataclass field whose metadata the ``train`` command reads to make
its options (``rnnlab.cli.train``), so that a config owns its defaults, help and allowed
values in one place and the command line only combines them:

- ``value``: the kind of value, checked by the command line's types: ``"int"``, ``"units"``,
  ``"layers"``, ``"samples"``, ``"length"``, ``"steps"``, ``"batch"``, ``"beam"``, ``"seed"``
  (bounded integers), ``"rate"``, ``"positive"`` (bounded numbers), ``"fraction"``,
  ``"dropout"``, ``"path"``, ``"text"``, ``"floats"`` (comma-separated numbers);
- ``choices``: the allowed strings (taken from the mapping that dispatches them);
- ``flag``: a boolean set by an option of its own name (``--unidirectional`` sets
  ``bidirectional`` to False; without ``flag``, ``--crf`` sets ``crf`` to True);
- ``none``: the string that stands for None (``--attention none``);
- ``cli=False``: not an option.
"""

from __future__ import annotations

from dataclasses import field


def option(
    help: str,
    *,
    value: str | None = None,
    choices: tuple[str, ...] | None = None,
    flag: str | None = None,
    none: str | None = None,
    cli: bool = True,
    default=None,
):
    """A config field with its command-line description (see the module docstring)."""
    metadata = {"help": help, "value": value, "choices": choices, "flag": flag, "none": none}
    return field(default=default, metadata={**metadata, "cli": cli})
