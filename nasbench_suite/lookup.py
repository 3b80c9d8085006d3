"""`nasbench-suite lookup ARCH`: one cell's row of the NAS-Bench-201 table. Never imports torch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nasbench_suite import benchmark
from nasbench_suite.errors import UsageError
from spaces import nb201_arch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print a NAS-Bench-201 cell's results. Columns (accuracies in %): "
        + "; ".join(f"{k}: {v}" for k, v in benchmark.COLUMN_HELP.items())
    )
    parser.add_argument("arch", help="official string, e.g. '|nor_conv_3x3~0|+|...|', or an index 0..15624")
    parser.add_argument("--benchmark", type=Path, help="compact table (default: the one `benchmark import` wrote)")
    parser.add_argument("--json", action="store_true", help="print the row as JSON, metric names as keys")


def main(args: argparse.Namespace) -> int:
    arch = nb201_arch.index_to_arch(int(args.arch)) if args.arch.strip().isdigit() else nb201_arch.canonical(args.arch)
    path = benchmark.resolve(args.benchmark)
    if path is None:
        raise UsageError("no benchmark table: pass --benchmark PATH or run `nasbench-suite benchmark import`")
    row = benchmark.load_table(path).lookup(arch)
    if row is None:
        raise UsageError(f"{arch} is not in {path}")
    if args.json:
        print(json.dumps(row, indent=2))
    else:
        width = max(map(len, row))
        for key, value in row.items():
            print(f"{key:<{width}}  {value}")
    return 0
