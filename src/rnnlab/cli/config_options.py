"""Command-line options made from the config dataclasses of the task kinds.

Each field declared with ``rnnlab.kinds.options.option`` becomes one option of ``train``
(``max_len`` -> ``--max-len``), with the field's help, its allowed values and a type checked
by ``rnnlab.cli.options``. A field several kinds share is one option. Every option defaults
to "not given", so the config's own default applies; ``config_from_args`` builds the chosen
kind's config from what was given, and refuses an option that kind does not have.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rnnlab.cli.options import (
    UsageError,
    batch_int,
    beam_int,
    count_int,
    dropout_float,
    float_list,
    fraction,
    int_list,
    layers_int,
    learning_rate_float,
    length_int,
    positive_float,
    positive_int,
    samples_int,
    seed_int,
    units_int,
)


def or_none(parse):
    """``parse``, and ``none`` for an empty tuple (no lags, say)."""

    def parse_or_none(text: str):
        return () if text.strip().lower() == "none" else parse(text)

    return parse_or_none


VALUE_TYPES = {
    "int": positive_int,
    "units": units_int,
    "layers": layers_int,
    "samples": samples_int,
    "length": length_int,
    "count": count_int,
    "steps": positive_int,
    "batch": batch_int,
    "beam": beam_int,
    "seed": seed_int,
    "rate": learning_rate_float,
    "positive": positive_float,
    "fraction": fraction,
    "dropout": dropout_float,
    "decay": dropout_float,  # in [0, 1) too
    "path": Path,
    "text": str,
    "floats": float_list,
    "ints": or_none(int_list(1)),
}


def option_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def cli_fields(config: type) -> list[dataclasses.Field]:
    """The fields of ``config`` that are command-line options."""
    return [f for f in dataclasses.fields(config) if f.metadata.get("cli")]


def add_config_options(parser: argparse.ArgumentParser, configs: dict[str, type]) -> None:
    """One option per field of the configs (``kind -> config class``), in a group per kind."""
    kinds_of: dict[str, list[str]] = {}
    fields_of: dict[str, list[dataclasses.Field]] = {}
    for kind, config in configs.items():
        for f in cli_fields(config):
            kinds_of.setdefault(f.name, []).append(kind)
            fields_of.setdefault(f.name, []).append(f)
    shared = parser.add_argument_group("options of every kind")
    groups = {kind: parser.add_argument_group(f"options of --kind {kind}") for kind in configs}
    for name, kinds in kinds_of.items():
        group = shared if len(kinds) == len(configs) else groups[kinds[0]]
        _add(group, fields_of[name], kinds if len(kinds) < len(configs) else None)


def _add(group, fields: list[dataclasses.Field], kinds: list[str] | None) -> None:
    first = fields[0]
    meta = first.metadata
    help_text = meta["help"]
    defaults = {repr(f.default) for f in fields if f.default is not None}
    shown = first.default
    if isinstance(shown, tuple):  # a list of numbers, as the option takes it
        shown = ",".join(map(str, shown)) or "none"
    if len(defaults) == 1 and meta["flag"] is None and not isinstance(first.default, bool):
        help_text += f" (default: {shown})"
    if kinds is not None and len(kinds) > 1:
        help_text += f" [{', '.join(kinds)}]"
    if meta["flag"] is not None or first.type in ("bool", bool):
        flag = meta["flag"] or option_name(first.name)
        const = not first.default if meta["flag"] else True
        group.add_argument(
            flag, dest=first.name, action="store_const", const=const, default=None, help=help_text
        )
        return
    kwargs: dict = {"dest": first.name, "default": None, "help": help_text}
    if meta["choices"] is not None:
        choices = [c for f in fields for c in f.metadata["choices"]]
        kwargs["choices"] = list(dict.fromkeys(choices))
    elif meta["value"] is not None:
        kwargs["type"] = VALUE_TYPES[meta["value"]]
    group.add_argument(option_name(first.name), **kwargs)


def config_from_args(config: type, kind: str, args: argparse.Namespace, given: set[str]):
    """The ``config`` of ``kind`` from the options given; an option of another kind is an
    error naming it and the options this kind has."""
    mine = {f.name: f for f in cli_fields(config)}
    everyone = {dest for dest in given if dest in _all_config_fields(args)}
    foreign = sorted(everyone - set(mine))
    if foreign:
        names = ", ".join(option_name(name) for name in foreign)
        raise UsageError(
            f"{names} does not apply to --kind {kind} (see rnnlab train --help for the "
            f"options of each kind)"
        )
    values = {}
    for name, f in mine.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if f.metadata["none"] is not None and value == f.metadata["none"]:
            value = None
        elif isinstance(value, Path):
            value = str(value.absolute())  # a resumed run finds its data from anywhere
        values[name] = value
    return config(**values)


def _all_config_fields(args: argparse.Namespace) -> set[str]:
    return getattr(args.parser, "config_fields", set())
