"""Configs declared as data: each field says how the command line sets it and what it may hold.

A config is a frozen dataclass of ``Config``. Its fields are declared once, with ``option``,
by the component that owns them: ``rnnlab.training.config.TrainingConfig`` (how every kind
trains), ``rnnlab.models.encoder_config`` (the recurrent encoder), and each kind's own data
and model fields. A kind's config composes these sections by inheritance and states only
what differs (``override``: another default for one kind), so the command line stays flat,
``config.json`` keeps one flat dictionary, and an option's help, values and checks live in
one place.

``option(help, ...)`` is a dataclass field whose metadata ``rnnlab train`` reads to make its
options (``rnnlab.cli.config_options``):

- ``value``: the kind of value, bounded by ``rnnlab.limits.BOUNDS`` (``"units"``,
  ``"steps"``, ``"rate"``, ``"fraction"``, ...), or ``"path"``, ``"text"``, ``"floats"``
  (comma-separated numbers), ``"ints"`` (comma-separated positive integers);
- ``choices``: the allowed strings, taken from the mapping that dispatches them;
- ``flag``: a boolean set by an option of its own name (``--unidirectional`` sets
  ``bidirectional`` to False; without ``flag``, ``--crf`` sets ``crf`` to True);
- ``none``: the string that stands for None (``--attention none``);
- ``auto``: what a None default means, for the help (``"sized to the data"``);
- ``cli=False``: not an option.

Every value is checked when a config is made (``Config.__post_init__``), so a config built
in Python, read back from a run folder or parsed from the command line is refused the same
way: ``ValueError("`units`: expected a value in [0, 8,192], got -1")``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from rnnlab.limits import value_problem


def option(
    help: str,
    *,
    value: str | None = None,
    choices: tuple[str, ...] | None = None,
    flag: str | None = None,
    none: str | None = None,
    auto: str | None = None,
    cli: bool = True,
    default=None,
):
    """A config field with its command-line description (see the module docstring)."""
    metadata = {
        "help": help,
        "value": value,
        "choices": tuple(choices) if choices is not None else None,
        "flag": flag,
        "none": none,
        "auto": auto,
        "cli": cli,
    }
    return field(default=default, metadata=metadata)


def override(section: type, name: str, default, **changes):
    """Field ``name`` of ``section`` with another ``default`` (and any of ``option``'s
    arguments changed: ``help``, ``auto``, ``cli``, ...), for one kind's config."""
    declared = section.__dataclass_fields__[name]
    metadata = {**declared.metadata, **changes}
    return field(default=default, metadata=metadata)


def check_values(config) -> None:
    """Refuse a config whose fields are not of their declared kind of value, lie outside
    ``rnnlab.limits.BOUNDS`` or are not among their choices."""
    for f in fields(config):
        value = getattr(config, f.name)
        problem = value_problem(f.metadata.get("value"), value)
        allowed = f.metadata.get("choices")
        if problem is None and allowed and value is not None and value not in allowed:
            problem = f"expected one of {', '.join(allowed)}, got {value!r}"
        if problem is not None:
            raise ValueError(f"`{f.name}`: {problem}")


@dataclass(frozen=True)
class Config:
    """The base of every config: values checked when made, then ``check()``'s rules."""

    def __post_init__(self) -> None:
        check_values(self)
        self.check()

    def check(self) -> None:
        """Rules between fields (``task`` or ``data``, say); a subclass adds its own."""

    def replace(self, **changes):
        """A copy with ``changes``, checked again."""
        return dataclasses.replace(self, **changes)

    def with_defaults(self, defaults: dict):
        """A copy with each ``None`` field that ``defaults`` names taken from it."""
        return self.replace(**{k: v for k, v in defaults.items() if getattr(self, k) is None})


class RnnlabWarning(UserWarning):
    """Something legal but probably not what the user meant (most labels ``_``, say): the
    command line prints it as one line, ``rnnlab CMD: warning: ...``."""


def one_source(config, task: str = "task", data: str = "data") -> None:
    """Refuse a config that names both or neither of a built-in task and a data file."""
    if (getattr(config, task) is None) == (getattr(config, data) is None):
        raise ValueError(f"give either `{task}` or `{data}` (a file), not both or neither.")
