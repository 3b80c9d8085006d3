"""The compact NAS-Bench-201 table: one row per cell (index, arch, metric columns), read as CSV.

The format: a header `index,arch,<metric columns>`, then one line per cell; plain
comma-separated values, no quoting (no value holds a comma); numbers as Python writes
them, an empty field where the source has no value; optionally gzip-compressed.
`benchmark import` writes it.

Torch-free and pandas-free. A lookup finds its line in the text and parses only that, so
`lookup` answers from a cold start in a fraction of a second even for the widest table.
Which number is which (cifar10-valid x-valid vs. cifar10 ori-test, 200 vs. 12 epochs):
nasbench_suite.nb201_columns.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import math
import re
import zlib
from pathlib import Path
from typing import Iterator

from nasbench_suite.errors import UsageError
from nasbench_suite.paths import default_benchmark
from spaces import nb201_arch

KEYS = ("index", "arch")
# A line whose numbers are already JSON numbers (what the writer and pandas write) is passed on as it is.
_JSON_READY = re.compile(r"\d+,[a-z0-9_|~+]+(?:,(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?)?)*")


class Table:
    """Rows keyed by the official architecture string, parsed on demand."""

    def __init__(self, path: Path, header: list[str], text: str):
        self.path, self.header, self._text = path, header, text
        self.columns = header[len(KEYS):]

    @functools.cached_property
    def _lines(self) -> list[tuple[int, str]]:
        """(line number, line) of every row; the whole table's shape is checked here."""
        lines, seen = [], {}
        for line_no, line in enumerate(self._text.splitlines()[1:], start=2):
            if line:
                self._check_fields(line_no, line)
                arch = line.split(",", 2)[1]
                if arch in seen:
                    raise UsageError(f"{self.path} line {line_no} repeats the cell {arch} (line {seen[arch]})")
                seen[arch] = line_no
                lines.append((line_no, line))
        if not lines:
            raise UsageError(f"the benchmark table {self.path} has no rows")
        return lines

    def __len__(self):
        return len(self._lines)

    @functools.cached_property
    def sha256(self) -> str:
        """Of the table's CSV text, uncompressed (`gzip -dc FILE | sha256sum`): the same for the
        same table whatever its path, file name or compression."""
        return hashlib.sha256(self._text.encode()).hexdigest()

    def lookup(self, arch: str) -> dict | None:
        """index, arch and every metric of a cell (empty as None), or None when the table lacks it."""
        # only the arch field holds letters, so ",<arch>," can only match there
        at = self._text.find(f",{nb201_arch.canonical(arch)},")
        if at < 0:
            return None
        start, end = self._text.rfind("\n", 0, at) + 1, self._text.find("\n", at)
        line = self._text[start : end if end >= 0 else len(self._text)].rstrip("\r")
        line_no = self._text.count("\n", 0, start) + 1
        self._check_fields(line_no, line)
        return self._parse(line_no, line)

    def rows(self) -> Iterator[dict]:
        """Every row, in the file's order."""
        for line_no, line in self._lines:
            yield self._parse(line_no, line)

    def csv_text(self) -> str:
        """The table as plain CSV, rows as stored (their shape checked)."""
        return "\n".join([",".join(self.header), *(line for _, line in self._lines)]) + "\n"

    def json_text(self) -> str:
        """A JSON list of row objects (empty values as null), built from the text where it already is JSON."""
        keys = [f'"{c}": ' for c in self.columns]
        objects = []
        for line_no, line in self._lines:
            if not _JSON_READY.fullmatch(line):
                line = format_line(self._parse(line_no, line), self.columns)
            index, arch, *values = line.split(",")
            pairs = ", ".join(k + (v or "null") for k, v in zip(keys, values))
            objects.append(f'{{"index": {index}, "arch": {json.dumps(arch)}, {pairs}}}')
        return "[\n" + ",\n".join(objects) + "\n]\n"

    def _check_fields(self, line_no: int, line: str) -> None:
        if line.count(",") != len(self.header) - 1:
            raise UsageError(f"{self.path} line {line_no} has {line.count(',') + 1} fields, the header {len(self.header)}: truncated?")

    def _parse(self, line_no: int, line: str) -> dict:
        index, arch, *values = line.split(",")
        try:
            return {"index": int(index), "arch": arch, **{c: _number(v) for c, v in zip(self.columns, values)}}
        except ValueError as err:
            raise UsageError(f"{self.path} line {line_no} is not numeric: {err}")


# The 200-epoch means of every cell, shipped with the suite so that lookups work offline
# from a fresh install; nb201/SOURCE.md says where they come from.
EMBEDDED = Path(__file__).with_name("nb201.csv.gz")


def resolve_table(path: str | Path | None) -> Path:
    """The --benchmark path, else the table `benchmark import` wrote, else the embedded one."""
    if path is not None:
        return Path(path)
    imported = default_benchmark()
    return imported if imported.is_file() else EMBEDDED


def describe_table(path: str | Path | None) -> str:
    """Which table answers for a --benchmark value, in words."""
    resolved = resolve_table(path)
    if path is not None:
        return f"--benchmark {resolved}"
    if resolved == EMBEDDED:
        return f"embedded table {resolved} (NAS-Bench-201 200-epoch means; see SOURCE.md beside it)"
    return f"imported table {resolved}"


def load_table(path: str | Path) -> Table:
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as err:
        raise UsageError(f"cannot read benchmark {path}: {err.strerror or err}")
    return _load(path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int, size: int) -> Table:
    try:
        raw = path.read_bytes()
        text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile, zlib.error) as err:
        raise UsageError(f"cannot read benchmark {path}: truncated or not a CSV table ({type(err).__name__}: {err})")
    end = text.find("\n")
    header = (text if end < 0 else text[:end]).rstrip("\r").split(",")
    if header[: len(KEYS)] != list(KEYS) or len(header) <= len(KEYS):
        raise UsageError(f"{path} is not a compact benchmark table: the header must be index,arch,<metric columns>, got {header[:4]}")
    return Table(path, header, text)


def _number(text: str) -> float | None:
    if text == "":
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def format_line(row: dict, columns: list[str]) -> str:
    """One CSV line of a row (a dict with index, arch and some of `columns`; missing values stay empty)."""
    return ",".join([str(row["index"]), row["arch"], *(_format_number(row.get(c)) for c in columns)])


def _format_number(value) -> str:
    if value is None:
        return ""
    value = float(value)  # numpy scalars too; repr is the shortest text that reads back exactly
    return repr(value) if math.isfinite(value) else ""


def format_table(columns: list[str], rows: list[dict]) -> str:
    return "\n".join([",".join([*KEYS, *columns]), *(format_line(row, columns) for row in rows)]) + "\n"


def write_table(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write a gzip-compressed table atomically: readers see the old table or the new one."""
    from nasbench_suite import records  # not at the top: `lookup` needs no writer

    data = gzip.compress(format_table(columns, rows).encode(), mtime=0)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        records.write_atomic(path, data)
    except OSError as err:
        raise UsageError(f"cannot write the table {path}: {err.strerror or err}")
