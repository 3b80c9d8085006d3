"""`nasbench-suite lookup ARCH | --all`: NAS-Bench-201 results from the compact table. Never imports torch."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nasbench_suite.nb201.table import Table, describe_table, format_table, load_table, resolve_table

from nasbench_suite.nb201.columns import help_text, readable
from nasbench_suite.errors import UsageError
from spaces import nb201_arch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = (
        "Print a NAS-Bench-201 cell's results, or every cell's (--all).\n\n"
        "Papers quote the 200-epoch test numbers: cifar10_test_acc (cifar10, ori-test), cifar100_test_acc,\n"
        "imagenet16_test_acc. cifar10_valid_acc is cifar10-valid x-valid, a different network trained\n"
        "on half the images: the number a search may look at, not the CIFAR-10 test accuracy.\n\n"
        + help_text()
    )
    parser.add_argument("arch", nargs="?", help="official string, e.g. '|nor_conv_3x3~0|+|...|', or an index 0..15624")
    parser.add_argument("--all", action="store_true", help="every cell of the table instead of one")
    parser.add_argument("--format", choices=("text", "json", "csv"),
                        help="text (one cell only), json, or csv (default: text for one cell, csv for --all)")
    parser.add_argument("--json", action="store_true", help="the same as --format json")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write to FILE (atomically) instead of stdout")
    parser.add_argument("--benchmark", type=Path,
                        help="compact table (default: the one `benchmark import` wrote, else the embedded 200-epoch means)")
    parser.add_argument("--which", action="store_true", help="say which table answers (alone, or after the cell)")


def main(args: argparse.Namespace) -> int:
    fmt = "json" if args.json else args.format or ("csv" if args.all else "text")
    which = describe_table(args.benchmark)
    if args.which and not args.all and args.arch is None:
        print(which)
        return 0
    if args.all == (args.arch is not None):
        raise UsageError("give one ARCH or --all")
    if args.all and fmt == "text":
        raise UsageError("--all writes csv or json, not text")
    if args.which and (args.all or fmt == "csv"):
        raise UsageError("--which says the table of one cell in text or json (or alone)")
    table = load_table(resolve_table(args.benchmark))
    text = _all_cells(table, fmt) if args.all else _one_cell(table, _arch(args.arch), fmt, which if args.which else None)
    _emit(text, args.output)
    return 0


def _arch(text: str) -> str:
    return nb201_arch.index_to_arch(int(text)) if text.strip().isdigit() else nb201_arch.canonical(text)


def _one_cell(table: Table, arch: str, fmt: str, which: str | None) -> str:
    row = table.lookup(arch)
    if row is None:
        raise UsageError(f"{arch} is not in {table.path}")
    if which:
        row["table"] = which
    if fmt == "json":
        return json.dumps(row, indent=2) + "\n"
    if fmt == "csv":
        return format_table(table.columns, [row])
    width = max(map(len, row))  # text is read by people: rounded; json and csv keep the table's values
    return "".join(f"{key:<{width}}  {readable(key, value)}\n" for key, value in row.items())


def _all_cells(table: Table, fmt: str) -> str:
    return table.csv_text() if fmt == "csv" else table.json_text()


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    from nasbench_suite import records

    try:
        records.write_atomic(output, text.encode())
    except OSError as err:
        raise UsageError(f"cannot write {output}: {err.strerror or err}")
