"""Command-line options made from the config dataclasses of the task kinds.

Each field declared with ``rnnlab.config.option`` becomes one option of ``train``
(``max_len`` -> ``--max-len``), with the field's help, its allowed values and a type checked
by ``rnnlab.cli.options``. A field several kinds share is one option, listed once: the
training options (``rnnlab.training.config.TrainingConfig``) under "every kind", the
recurrent encoder's (``rnnlab.models.encoder_config``) under "recurrent encoder", options
of some kinds under "several kinds", then each kind's own. Each line shows its default, per
kind where the kinds differ. Every option defaults to "not given", so the config's own
default applies; ``config_from_args`` builds the chosen kind's config from what was given,
and refuses an option that kind does not have.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rnnlab.cli.options import (
    UsageError,
    batch_int,
    beam_int,
    bounded_int,
    count_int,
    dropout_float,
    duration,
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
from rnnlab.limits import MOST_UNITS


def or_none(parse):
    """``parse``, and ``none`` for an empty tuple (no lags, say)."""

    def parse_or_none(text: str):
        return () if text.strip().lower() == "none" else parse(text)

    return parse_or_none


VALUE_TYPES = {
    "int": positive_int,
    "units": units_int,
    "features": bounded_int(MOST_UNITS, least=0),
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
    "split": fraction,  # in (0, 1)
    "seconds": duration,
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


def _sections() -> dict[str, set[str]]:
    from rnnlab.models.encoder_config import EncoderConfig
    from rnnlab.training.config import TrainingConfig

    return {
        "options of every kind (training)": {f.name for f in cli_fields(TrainingConfig)},
        "recurrent encoder": {f.name for f in cli_fields(EncoderConfig)},
    }


def add_config_options(parser: argparse.ArgumentParser, configs: dict[str, type]) -> None:
    """One option per field of the configs (``kind -> config class``), grouped: the
    sections every kind composes, options of several kinds, then each kind's own."""
    kinds_of: dict[str, list[str]] = {}
    fields_of: dict[str, list[dataclasses.Field]] = {}
    for kind, config in configs.items():
        for f in cli_fields(config):
            kinds_of.setdefault(f.name, []).append(kind)
            fields_of.setdefault(f.name, []).append(f)
    sections = _sections()
    groups = {title: parser.add_argument_group(title) for title in sections}
    several = parser.add_argument_group("options of several kinds")
    own = {kind: parser.add_argument_group(f"options of --kind {kind}") for kind in configs}
    for name, kinds in kinds_of.items():
        section = next((t for t, names in sections.items() if name in names), None)
        if section is not None:
            group = groups[section]
        else:
            group = several if len(kinds) > 1 else own[kinds[0]]
        _add(group, kinds, fields_of[name], show_kinds=len(kinds) < len(configs) or not section)


def _shown(f: dataclasses.Field) -> str | None:
    """A field's default as the help shows it (None: nothing to show)."""
    if f.default is None:
        return f.metadata.get("auto")
    if isinstance(f.default, tuple):  # a list of numbers, as the option takes it
        return ",".join(map(str, f.default)) or "none"
    return str(f.default)


def _per_kind(kinds: list[str], fields: list[dataclasses.Field], what) -> str | None:
    """``what(field)`` once when the kinds agree, else ``kinds: value`` for each value (the
    kinds that share it together; ``none`` for a kind without one)."""
    values = [what(f) for f in fields]
    if len(set(values)) == 1:
        return values[0]
    sharing: dict = {}
    for kind, value in zip(kinds, values, strict=True):
        sharing.setdefault(value, []).append(kind)
    return "; ".join(f"{', '.join(names)}: {value or 'none'}" for value, names in sharing.items())


def _add(group, kinds: list[str], fields: list[dataclasses.Field], show_kinds: bool) -> None:
    first = fields[0]
    meta = first.metadata
    help_text = _per_kind(kinds, fields, lambda f: f.metadata["help"])
    is_flag = meta["flag"] is not None or first.type in ("bool", bool)
    if not is_flag:
        default = _per_kind(kinds, fields, _shown)
        if default is not None:
            help_text += f" (default: {default})"
    if show_kinds:
        help_text += f" [{', '.join(kinds)}]"
    help_text = help_text.replace("%", "%%")  # argparse formats help with %
    if is_flag:
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
        if meta["value"] == "seconds":
            kwargs["metavar"] = "DURATION"
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
