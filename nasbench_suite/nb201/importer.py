"""`nasbench-suite benchmark import PATH...`: the official NAS-Bench-201 files -> the compact table.

Reads NAS-Bench-201-v1_0-e61699.pth / v1_1-096897.pth, the NATS-tss-v1_0-3ffb9-simple
directory (or its single .pickle.pbz2) and compact CSV tables; several PATHs are merged
column by column (e.g. a 200-epoch table and a 12-epoch one). Checks what can be checked:
the file's cell strings are the space's own enumeration, index for index (so 15,625
distinct cells), each cell's records name that cell, and every cell has results (a
partial file is refused unless --allow-partial). Writes one gzip CSV atomically, by
default where `lookup` and `run --benchmark` find it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nasbench_suite.nb201.official import META_FILE, OfficialFile, open_official, sniff

from nasbench_suite.nb201.table import load_table, write_table

from nasbench_suite.nb201.columns import is_known, sort_key

from nasbench_suite.nb201.metrics import cell_values
from nasbench_suite.errors import UsageError
from nasbench_suite.nb201.scratch import Scratch
from nasbench_suite.paths import default_benchmark
from spaces import nb201_arch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = actions.add_parser("import", help="convert official benchmark files into the compact table", description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                     help="a NAS-Bench-201 .pth, a NATS-tss -simple directory or .pickle.pbz2, or a compact CSV table")
    imp.add_argument("--output", type=Path, metavar="FILE", help=f"where to write the table (default {default_benchmark()}, where lookup and run look)")
    imp.add_argument("--allow-partial", action="store_true", help="write a table of fewer than 15,625 cells instead of refusing it")


def main(args: argparse.Namespace) -> int:
    output = args.output or default_benchmark()
    merged: dict[int, dict] = {}
    origin: dict[str, Path] = {}  # column -> the PATH it came from
    scratches = []
    for path in args.paths:
        values, scratch = read_source(path, output)
        scratches.append(scratch)
        for index, cell in values.items():
            row = merged.setdefault(index, {"index": index, "arch": nb201_arch.index_to_arch(index)})
            for column, value in cell.items():
                if origin.setdefault(column, path) != path:
                    raise UsageError(f"column {column} comes from both {origin[column]} and {path}: import one of them")
                row[column] = value
    if len(merged) != nb201_arch.NUM_CELLS and not args.allow_partial:
        raise UsageError(f"only {len(merged):,} of {nb201_arch.NUM_CELLS:,} cells have results: nothing written "
                         "(--allow-partial writes them anyway)")
    columns = sorted(origin, key=sort_key)
    write_table(output, columns, [merged[i] for i in sorted(merged)])
    for scratch in filter(None, scratches):
        scratch.remove()
    print(f"wrote {len(merged):,} cells x {len(columns)} columns to {output}")
    return 0


def read_source(path: Path, output: Path) -> tuple[dict[int, dict], Scratch | None]:
    """{index: {column: value}} of one PATH, checked against the space's enumeration, and the
    resume file of an official source (to remove once the table is written)."""
    kind = sniff(path)
    if kind == "csv":
        return _read_compact(path), None
    slow = " (torch's weights-only unpickler: minutes for the official .pth)" if kind == "pth" else ""
    with _console().status(f"loading {path}{slow}"):
        official = open_official(path, kind)
    check_cell_strings(official.meta_archs, path)
    scratch = Scratch(path, path / META_FILE if kind == "nats-dir" else path, output)
    values = scratch.load()
    scratch.open(values)
    try:
        with _progress() as progress:
            task = progress.add_task(f"reading {path.name}", total=len(official.indexes), completed=len(values))
            for index in official.indexes:
                if index not in values:
                    values[index] = _cell_values(official, index)
                    scratch.add(index, values[index])
                    progress.advance(task)
    finally:
        scratch.close()
    return {i: values[i] for i in official.indexes}, scratch


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=_console(), transient=True)


def _cell_values(official: OfficialFile, index: int) -> dict[str, float]:
    expected = official.meta_archs[index]
    records = official.cell(index)
    try:
        for hp, arch in records.items():
            if arch["arch_str"] != expected or int(arch["arch_index"]) != index:
                raise UsageError(f"{official.path}: the hp-{hp} records of cell {index} are for "
                                 f"{arch['arch_index']} {arch['arch_str']}, not {expected}")
        return cell_values(records)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError, ZeroDivisionError) as err:
        raise UsageError(f"{official.path}: cell {index} is not in the official layout ({type(err).__name__}: {err})")


def check_cell_strings(meta_archs, path: Path) -> None:
    """The file's index -> string list must be the space's own enumeration, cell for cell."""
    ours = nb201_arch.all_archs()
    if not isinstance(meta_archs, (list, tuple)) or len(meta_archs) != len(ours):
        size = len(meta_archs) if hasattr(meta_archs, "__len__") else type(meta_archs).__name__
        raise UsageError(f"{path} lists {size} cell strings, not the {len(ours):,} of NAS-Bench-201")
    for index, (theirs, mine) in enumerate(zip(meta_archs, ours)):
        if theirs != mine:
            raise UsageError(f"{path}: cell {index} is {theirs!r} there but {mine} in the space's enumeration "
                             "(spaces.nb201_arch): not the NAS-Bench-201 index")


def _read_compact(path: Path) -> dict[int, dict]:
    table = load_table(path)
    unknown = [c for c in table.columns if not is_known(c)]
    if unknown:
        raise UsageError(f"{path}: unknown columns {', '.join(unknown[:5])}; `lookup --help` lists the known ones")
    values = {}
    for row in table.rows():
        index, arch = row.pop("index"), row.pop("arch")
        if not 0 <= index < nb201_arch.NUM_CELLS or nb201_arch.index_to_arch(index) != arch:
            raise UsageError(f"{path}: row {index} {arch} disagrees with the space's enumeration (spaces.nb201_arch)")
        values[index] = {c: v for c, v in row.items() if v is not None}
    return values
