"""The compact NAS-Bench-201 table: one row per cell (index, arch, metric columns), read as CSV.

The format: a header line, then one line per cell; plain comma-separated values, no
quoting (no value contains a comma); numbers as Python writes them, an empty field where
the source has no value; optionally gzip-compressed. `benchmark import` writes it.

Torch-free and pandas-free, and rows are parsed only when asked for, so `lookup` answers
from a cold start in a fraction of a second. Which number is which (cifar10-valid x-valid
vs. cifar10 ori-test, 200 vs. 12 epochs): nasbench_suite.nb201_columns.
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import zlib
from pathlib import Path
from typing import Iterator

from nasbench_suite.errors import UsageError
from nasbench_suite.nb201_columns import COLUMN_HELP  # noqa: F401  (the table's documentation lives there)
from nasbench_suite.paths import default_benchmark
from spaces import nb201_arch

KEYS = ("index", "arch")


class Table:
    """Rows keyed by the official architecture string, parsed on demand."""

    def __init__(self, path: Path, header: list[str], lines: dict[str, tuple[int, str]]):
        self.path, self.header, self._lines = path, header, lines
        self.columns = [c for c in header if c not in KEYS]

    def __len__(self):
        return len(self._lines)

    def lookup(self, arch: str) -> dict | None:
        """index, arch and every metric of a cell (empty as None), or None when the table lacks it."""
        found = self._lines.get(nb201_arch.canonical(arch))
        return self._parse(*found) if found else None

    def rows(self) -> Iterator[dict]:
        """Every row, in the file's order."""
        for line_no, line in self._lines.values():
            yield self._parse(line_no, line)

    def csv_text(self) -> str:
        """The table as plain CSV in the file's order; a non-numeric value is refused, not passed on."""
        for line_no, line in self._lines.values():
            self._parse(line_no, line)
        return "\n".join([",".join(self.header), *(line for _, line in self._lines.values())]) + "\n"

    def _parse(self, line_no: int, line: str) -> dict:
        row = dict(zip(self.header, line.split(",")))
        try:
            parsed = {"index": int(row["index"]), "arch": row["arch"]}
            parsed.update({c: _number(row[c]) for c in self.columns})
        except ValueError as err:
            raise UsageError(f"{self.path} line {line_no} is not numeric: {err}")
        return parsed


def resolve(path: str | Path | None) -> Path | None:
    """The --benchmark path, else the imported table in the cache if there is one."""
    if path is not None:
        return Path(path)
    default = default_benchmark()
    return default if default.is_file() else None


def load_table(path: str | Path) -> Table:
    path = Path(path)
    stat = _stat(path)
    return _load(path.resolve(), stat.st_mtime_ns, stat.st_size)


def _stat(path: Path):
    try:
        return path.stat()
    except OSError as err:
        raise UsageError(f"cannot read benchmark {path}: {err.strerror or err}")


@functools.lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int, size: int) -> Table:
    try:
        raw = path.read_bytes()
        text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile, zlib.error) as err:
        raise UsageError(f"cannot read benchmark {path}: truncated or not a CSV table ({type(err).__name__}: {err})")
    lines = text.splitlines()
    header = lines[0].split(",") if lines else []
    if not set(KEYS) <= set(header) or len(header) < 3:
        raise UsageError(f"{path} is not a compact benchmark table: the header needs index, arch and metric columns, got {header[:5]}")
    return Table(path, header, _index_lines(path, header, lines))


def _index_lines(path: Path, header: list[str], lines: list[str]) -> dict[str, tuple[int, str]]:
    arch_at, commas = header.index("arch"), len(header) - 1
    by_arch = {}
    for line_no, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        if line.count(",") != commas:
            raise UsageError(f"{path} line {line_no} has {line.count(',') + 1} fields, the header {len(header)}: truncated?")
        arch = line.split(",", arch_at + 1)[arch_at]
        if arch in by_arch:
            raise UsageError(f"{path} line {line_no} repeats the cell {arch} (line {by_arch[arch][0]})")
        by_arch[arch] = (line_no, line)
    if not by_arch:
        raise UsageError(f"the benchmark table {path} has no rows")
    return by_arch


def _number(text: str) -> float | None:
    if text == "":
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def format_table(columns: list[str], rows: list[dict]) -> str:
    """CSV text of rows (dicts with index, arch and some of `columns`; a missing value stays empty)."""
    lines = [",".join([*KEYS, *columns])]
    for row in rows:
        values = (_format_number(row.get(c)) for c in columns)
        lines.append(",".join([str(row["index"]), row["arch"], *values]))
    return "\n".join(lines) + "\n"


def _format_number(value) -> str:
    if value is None:
        return ""
    value = float(value)  # numpy scalars too; repr is the shortest text that reads back exactly
    return repr(value) if math.isfinite(value) else ""


def write_table(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write a gzip-compressed table atomically: readers see the old table or the new one."""
    from nasbench_suite import records  # not at the top: `lookup` needs no writer

    data = gzip.compress(format_table(columns, rows).encode(), mtime=0)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        records.write_atomic(path, data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(path, 0o666 & ~umask)  # a table is for everyone who may read the folder, unlike a temp file
    except OSError as err:
        raise UsageError(f"cannot write the table {path}: {err.strerror or err}")
