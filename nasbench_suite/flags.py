"""Command-line flags made from settings dataclasses, so a method's settings live in one place.

Each field becomes --field-name (or its metadata's `flag`), typed from its default, with its
metadata's help. Flags default to None on the parser, so we know what the user set; a flag
set for a method or space that has no such setting is an error, not silently ignored.
"""

from __future__ import annotations

import argparse
import dataclasses
import math

from methods.base import flag_name
from nasbench_suite.errors import UsageError

PREFIX = "setting_"
FLAG_OF: dict[str, str] = {}  # field name -> its flag, for error messages


def add_flags(parser: argparse.ArgumentParser, owners: dict[str, type], title: str) -> None:
    """One argument group per owner (a method or space name -> its settings dataclass).

    A setting shared by several owners (k of both gate methods) is added once, in the first.
    """
    seen = set()
    for owner, cls in owners.items():
        group = parser.add_argument_group(f"{title} {owner}")
        for f in dataclasses.fields(cls):
            if f.name in seen:
                continue
            seen.add(f.name)
            FLAG_OF[f.name] = flag_name(f)
            users = [o for o, c in owners.items() if f.name in {g.name for g in dataclasses.fields(c)}]
            group.add_argument(
                flag_name(f),
                dest=PREFIX + f.name,
                type=number if isinstance(f.default, float) else type(f.default),
                default=None,
                metavar=type(f.default).__name__.upper(),
                help=f"{f.metadata.get('help', '')} (default {f.default}; {', '.join(users)})",
            )


def given(args: argparse.Namespace) -> dict:
    """Settings the user set on the command line, by field name."""
    return {k[len(PREFIX):]: v for k, v in vars(args).items() if k.startswith(PREFIX) and v is not None}


def build(args: argparse.Namespace, cls: type):
    """An instance of settings class `cls` from the flags the user set for it."""
    own = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in given(args).items() if k in own})


def reject_foreign(args: argparse.Namespace, classes: list[type], owner: str) -> None:
    """UsageError for a setting flag none of `classes` takes (--lambda1 on a darts run)."""
    own = {f.name for cls in classes for f in dataclasses.fields(cls)}
    foreign = sorted(set(given(args)) - own)
    if foreign:
        raise UsageError(f"{', '.join(FLAG_OF[n] for n in foreign)}: not a setting of {owner}")


def number(text: str) -> float:
    value = float(text)  # a ValueError becomes argparse's "invalid number value" line
    if math.isnan(value):
        raise ValueError(text)
    return value
