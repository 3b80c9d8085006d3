"""Published reference results (published.csv): numbers from the papers, never measured here.

One line per (space, dataset, name, metric) with its mean, its std where the paper gives
one, and its source (paper, table). Metrics use the leaderboard's names: the NAS-Bench-201
accuracies (cifar10_valid_acc, cifar10_test_acc, cifar100_test_acc, imagenet16_test_acc),
and on the darts space test_error (%), params_mb (millions) and search_gpu_days.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

PUBLISHED_CSV = Path(__file__).with_name("published.csv")
METRICS = frozenset({
    "cifar10_valid_acc", "cifar10_test_acc", "cifar100_test_acc", "imagenet16_test_acc",
    "test_error", "params_mb", "search_gpu_days",
})
HEADER = ["space", "dataset", "name", "metric", "mean", "std", "source"]


@dataclass
class PublishedResult:
    space: str
    dataset: str
    name: str
    values: dict[str, tuple[float, float | None]] = field(default_factory=dict)  # metric -> (mean, std)
    sources: list[str] = field(default_factory=list)


def load(path: Path = PUBLISHED_CSV) -> list[PublishedResult]:
    """The published results, one per (space, dataset, name), in file order.

    The file ships with the package, so a malformed line is a bug: ValueError names it.
    """
    reader = csv.DictReader(io.StringIO(path.read_text()))
    if reader.fieldnames != HEADER:
        raise ValueError(f"{path}: header must be {','.join(HEADER)}")
    results: dict[tuple[str, str, str], PublishedResult] = {}
    for line_no, row in enumerate(reader, start=2):
        if row["metric"] not in METRICS or not row["source"].strip():
            raise ValueError(f"{path} line {line_no}: unknown metric {row['metric']!r} or no source")
        key = (row["space"], row["dataset"], row["name"])
        entry = results.setdefault(key, PublishedResult(*key))
        if row["metric"] in entry.values:
            raise ValueError(f"{path} line {line_no}: {row['metric']} of {row['name']} given twice")
        entry.values[row["metric"]] = (_number(row["mean"]), _number(row["std"]) if row["std"] else None)
        if row["source"] not in entry.sources:
            entry.sources.append(row["source"])
    return list(results.values())


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value
