"""Options declared as data: each field of a kind's config says how the command line sets it.

``option(help, ...)`` is a dataclass field whose metadata the ``train`` command reads to make
its options (``rnnlab.cli.train``), so that a config owns its defaults, help and allowed
values in one place and the command line only combines them:

- ``value``: the kind of value, checked by the command line's types: ``"int"``, ``"units"``,
  ``"layers"``, ``"samples"``, ``"count"``, ``"length"``, ``"steps"``, ``"batch"``,
  ``"beam"``, ``"seed"`` (bounded integers), ``"rate"``, ``"positive"`` (bounded numbers),
  ``"fraction"``, ``"dropout"``, ``"path"``, ``"text"``, ``"floats"`` (comma-separated
  numbers), ``"ints"`` (comma-separated positive integers);
- ``choices``: the allowed strings (taken from the mapping that dispatches them);
- ``flag``: a boolean set by an option of its own name (``--unidirectional`` sets
  ``bidirectional`` to False; without ``flag``, ``--crf`` sets ``crf`` to True);
- ``none``: the string that stands for None (``--attention none``);
- ``cli=False``: not an option.
"""

from __future__ import annotations

from dataclasses import field, fields

from rnnlab.limits import value_problem


def check_values(config) -> None:
    """Refuse a config (read back from a run folder, say) whose sizes are not of their
    declared kind of value or lie outside ``rnnlab.limits.BOUNDS``."""
    for f in fields(config):
        problem = value_problem(f.metadata.get("value"), getattr(config, f.name))
        if problem is None and f.metadata.get("choices") and getattr(config, f.name) is not None:
            value = getattr(config, f.name)
            allowed = f.metadata["choices"]
            if value not in allowed and not (f.metadata["none"] and value is None):
                problem = f"expected one of {', '.join(allowed)}, got {value!r}"
        if problem is not None:
            raise ValueError(f"`{f.name}`: {problem}")


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
