"""The grid of a sweep: comma lists and ranges on the command line, and the cells they span.

`--method darts,pr_darts --seed 0-4` is ten cells. A cell is the run's flags with one value of
each axis; its key (`method=darts space=nb201 dataset=cifar10 seed=3`) names it in the
storage and in messages.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import itertools

from nasbench_suite.errors import UsageError


def name_list(text: str) -> list[str]:
    """`darts,pr_darts` -> ['darts', 'pr_darts']; empty items and repeats are an error."""
    items = [t.strip() for t in str(text).split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"{text!r}: an empty name in the list")
    return _unique(items, text)


def int_list(text: str) -> list[int]:
    """`0-4` -> [0, 1, 2, 3, 4]; `0,2,5-6` -> [0, 2, 5, 6]."""
    found = []
    for item in str(text).split(","):
        low, dash, high = item.strip().partition("-")
        try:
            found += list(range(int(low), int(high) + 1)) if dash else [int(low)]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: not a list of whole numbers and ranges like 0-4,7")
        if dash and int(high) < int(low):
            raise argparse.ArgumentTypeError(f"{text!r}: the range {item} runs backwards")
    return _unique(found, text)


def _unique(items: list, text: str) -> list:
    repeated = sorted({str(i) for i in items if items.count(i) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"{text!r} names {', '.join(repeated)} twice")
    return items


@dataclasses.dataclass(frozen=True)
class Cell:
    index: int  # its place in the grid, 0-based
    values: tuple[tuple[str, object], ...]  # (axis, value) in the axes' order

    @property
    def key(self) -> str:
        return " ".join(f"{axis}={value}" for axis, value in self.values)

    def args(self, args: argparse.Namespace) -> argparse.Namespace:
        """The command's flags with this cell's value of every axis."""
        mine = copy.copy(args)
        for axis, value in self.values:
            setattr(mine, axis, value)
        return mine


def cells(axes: dict[str, list]) -> list[Cell]:
    """Every combination, the last axis varying fastest."""
    for axis, values in axes.items():
        if not values:
            raise UsageError(f"sweep needs --{axis.replace('_', '-')} (a comma-separated list)")
    names = list(axes)
    return [Cell(i, tuple(zip(names, combo))) for i, combo in enumerate(itertools.product(*axes.values()))]


def _within(parse, choices):
    def parse_within(text: str) -> list:
        items = parse(text)
        wrong = [str(i) for i in items if i not in choices]
        if wrong:
            raise argparse.ArgumentTypeError(f"{', '.join(wrong)}: choose from {', '.join(map(str, choices))}")
        return items
    return parse_within


def as_list_flag(parser: argparse.ArgumentParser, dest: str, parse, what: str) -> None:
    """Turn a run flag into a grid axis: it now takes a list, and its default becomes one."""
    for action in parser._actions:
        if action.dest == dest:
            choices, action.choices = action.choices, None
            action.type = parse if choices is None else _within(parse, choices)
            if action.default is not None and not isinstance(action.default, str):
                action.default = [action.default]
            action.help = f"{what}: a comma-separated list, every value a cell of the grid ({action.help})"
            return
    raise KeyError(dest)
