"""The compact NAS-Bench-201 table: one row per cell (index, arch, metric columns), read as CSV.

Torch-free and pandas-free, so `lookup` answers from a cold start in a fraction of a second.
Accuracies are percentages; which number is which (cifar10-valid x-valid vs. cifar10
ori-test, 200 vs. 12 epochs) is said in `COLUMN_HELP` and in the README.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import math
from pathlib import Path

from nasbench_suite.errors import UsageError
from nasbench_suite.paths import default_benchmark
from spaces import nb201_arch

COLUMN_HELP = {
    "cifar10_valid_acc": "cifar10-valid, x-valid set: trained on 25k train images (200 epochs); the search objective",
    "cifar10_validsplit_test_acc": "cifar10-valid, ori-test set: the same 25k-trained network on the 10k test images",
    "cifar10_test_acc": "cifar10, ori-test set: trained on all 50k images (200 epochs); what papers quote",
    "cifar100_test_acc": "cifar100, x-test set (200 epochs)",
    "imagenet16_test_acc": "ImageNet16-120, x-test set (200 epochs)",
    "params_mb_cifar10": "parameters of the CIFAR-10 network, in millions",
}


class Table:
    """Rows keyed by the official architecture string."""

    def __init__(self, path: Path, columns: list[str], rows: dict[str, dict]):
        self.path, self.columns, self.rows = path, columns, rows

    def __len__(self):
        return len(self.rows)

    def lookup(self, arch: str) -> dict | None:
        """index, arch and every metric of a cell (NaN as None), or None when the table lacks it."""
        return self.rows.get(nb201_arch.canonical(arch))


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
        reader = csv.reader(io.StringIO(text))
        header = next(reader)
        rows = _parse_rows(header, reader)
    except UsageError:
        raise
    except (OSError, EOFError, UnicodeDecodeError, StopIteration, csv.Error, gzip.BadGzipFile) as err:
        raise UsageError(f"cannot read benchmark {path}: truncated or not a CSV table ({type(err).__name__}: {err})")
    return Table(path, [c for c in header if c not in ("index", "arch")], rows)


def _parse_rows(header: list[str], reader) -> dict[str, dict]:
    if "arch" not in header or "index" not in header or len(header) < 3:
        raise UsageError(f"not a compact benchmark table: the header needs index, arch and metric columns, got {header[:5]}")
    rows = {}
    for line_no, values in enumerate(reader, start=2):
        if len(values) != len(header):
            raise UsageError(f"benchmark line {line_no} has {len(values)} fields, the header {len(header)}: truncated?")
        row = dict(zip(header, values))
        try:
            parsed = {"index": int(row["index"]), "arch": row["arch"]}
            parsed.update({c: _number(v) for c, v in row.items() if c not in ("index", "arch")})
        except ValueError as err:
            raise UsageError(f"benchmark line {line_no} is not numeric: {err}")
        rows[row["arch"]] = parsed
    if not rows:
        raise UsageError("the benchmark table has no rows")
    return rows


def _number(text: str) -> float | None:
    if text == "":
        return None
    value = float(text)
    return value if math.isfinite(value) else None
