"""A confirmatory family: hypotheses stated before their runs, tested apart from the all-pairs table.

The all-pairs table tests every pair of rows over every seed: useful to look, but a claim
read off it is exploratory. A family file (JSON, written down before the runs that test it)
names rows by method and run flags, the seeds reserved for the test, and a short list of
contrasts, each a pair of rows, a metric and the expected sign. Only runs of those seeds
count; each contrast is Welch's t, two-sided, and Holm's adjustment runs over the family's
contrasts alone, every one counted even while its rows are still pending (as p = 1), so a
family cannot grow easier to pass by being reported early.

    {"family": "...", "seeds": [3, 4, 5, 6, 7], "alpha": 0.05,
     "protocol": ["--space", "nb201", "--epochs", "20", ...],
     "rows": {"darts": {"method": "darts", "flags": []},
              "pr_darts_x10": {"method": "pr_darts", "flags": ["--lambda1", "0.1", ...]},
              "pr_darts_tuned": {"method": "pr_darts", "flags": null}},      (null: not fixed yet)
     "contrasts": [{"id": "H1", "first": "pr_darts_x10", "second": "darts",
                    "metric": "cifar10_test_acc", "expected": "higher"}, ...]}

A metric is a benchmark column of the record (cifar10_test_acc, ...), test_error (the
trainings of a run's cell), or a cell statistic (skip_count, depth, conv_depth: summed over
cell types, or one of them as skip_count.normal). Torch-free.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

from nasbench_suite.errors import UsageError
from nasbench_suite.report.collect import SearchRun, Training
from nasbench_suite.report.comparisons import holm, welch
from nasbench_suite.report.standings import CELL_STATS, settings_of

EXPECTED = ("higher", "lower")


@dataclass(frozen=True)
class FamilyRow:
    name: str
    method: str
    identity: dict | None  # settings_of() of its runs; None while its flags are not fixed


@dataclass(frozen=True)
class Contrast:
    id: str
    first: str
    second: str
    metric: str
    expected: str


@dataclass(frozen=True)
class Family:
    name: str
    path: Path
    seeds: tuple[int, ...]
    alpha: float
    rows: dict[str, FamilyRow]
    contrasts: tuple[Contrast, ...]


@dataclass(frozen=True)
class Outcome:
    contrast: Contrast
    first: list[float]  # the metric of each run of the family's seeds
    second: list[float]
    diff: float | None
    low: float | None
    high: float | None
    p: float | None
    p_holm: float
    verdict: str


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def load(path: Path) -> Family:
    """Read and check a family file; UsageError (one line) for anything it cannot use."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"--family {path}: no such file")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UsageError(f"--family {path}: not a JSON file ({err})")
    try:
        seeds = tuple(_ints(data["seeds"]))
        alpha = float(data.get("alpha", 0.05))
        protocol = [str(f) for f in data.get("protocol", [])]
        rows = {name: _row(name, spec, protocol) for name, spec in data["rows"].items()}
        contrasts = tuple(_contrast(c, rows) for c in data["contrasts"])
    except (KeyError, TypeError, AttributeError) as err:
        raise UsageError(f"--family {path}: missing or malformed field {err}")
    except UsageError as err:
        raise UsageError(f"--family {path}: {err}")
    if not seeds or not contrasts or not 0 < alpha < 1:
        raise UsageError(f"--family {path}: needs seeds, contrasts and an alpha between 0 and 1")
    return Family(str(data.get("family", Path(path).stem)), Path(path), seeds, alpha, rows, contrasts)


def _ints(values) -> list[int]:
    if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise UsageError("seeds must be a list of whole numbers")
    return values


def _row(name: str, spec: dict, protocol: list[str]) -> FamilyRow:
    """The settings a run of this row has (as the leaderboard groups runs), from its flags."""
    from nasbench_suite.search import command  # torch-free: flags are checked against configs.py

    method = spec["method"]
    if spec.get("flags") is None:
        return FamilyRow(name, method, None)
    parser = _RaisingParser(add_help=False)
    command.add_arguments(parser)
    try:
        config = command.config_from_args(parser.parse_args(["--method", method, *protocol, *map(str, spec["flags"])]))
    except UsageError as err:
        raise UsageError(f"row {name}: {err}")
    record = {"config": {"settings": config.settings, "method_config": config.method_config,
                         "space_config": config.space_config, "train_subset": config.train_subset}}
    return FamilyRow(name, method, {"space": config.space, "dataset": config.dataset, **settings_of(record)})


def _contrast(spec: dict, rows: dict[str, FamilyRow]) -> Contrast:
    contrast = Contrast(str(spec["id"]), spec["first"], spec["second"], spec["metric"], spec["expected"])
    for name in (contrast.first, contrast.second):
        if name not in rows:
            raise UsageError(f"contrast {contrast.id} names row {name!r}, which the family does not define")
    if contrast.expected not in EXPECTED:
        raise UsageError(f"contrast {contrast.id}: expected must be one of {', '.join(EXPECTED)}")
    stat = contrast.metric.split(".")[0]
    if not (contrast.metric.endswith("_acc") or contrast.metric == "test_error" or stat in CELL_STATS):
        raise UsageError(f"contrast {contrast.id}: unknown metric {contrast.metric!r}")
    return contrast


def members(row: FamilyRow, family: Family, runs: list[SearchRun]) -> list[SearchRun]:
    """The row's runs of the family's seeds: same method, space, dataset and settings."""
    if row.identity is None:
        return []
    found = [r for r in runs if r.record["method"] == row.method and r.record["seed"] in family.seeds
             and {"space": r.record["space"], "dataset": r.record["dataset"], **settings_of(r.record)} == row.identity]
    return sorted(found, key=lambda r: r.record["seed"])  # collect() has counted each cell once


def value(run: SearchRun, metric: str, trainings: list[Training]) -> float | None:
    """One run's metric: a benchmark column, its cell's mean test error, or a cell statistic."""
    stat, _, cell_type = metric.partition(".")
    if stat in CELL_STATS:
        counts = run.record[stat]
        if cell_type:
            return float(counts[cell_type]) if cell_type in counts else None
        return float(sum(counts.values()))
    if metric == "test_error":
        errors = [t.record["test_error"] for t in trainings if t.record["source"].get("run_id") == run.run_id]
        return math.fsum(errors) / len(errors) if errors else None
    found = (run.record.get("benchmark") or {}).get(metric)
    return float(found) if isinstance(found, (int, float)) and math.isfinite(found) else None


def test(family: Family, runs: list[SearchRun], trainings: list[Training]) -> list[Outcome]:
    """Every contrast of the family, Holm-adjusted over all of them. A contrast still missing
    seeds shows what it has, but enters the adjustment as p = 1: a partial look neither
    passes it nor eases the others."""
    raw = []
    for c in family.contrasts:
        a, b = ([v for r in members(family.rows[name], family, runs) if (v := value(r, c.metric, trainings)) is not None]
                for name in (c.first, c.second))
        raw.append((c, a, b, welch(a, b) if a and b else (None, None, None, None)))
    adjusted = holm([p if p is not None and _complete(family, a, b) else 1.0 for c, a, b, (_, _, _, p) in raw])
    pending = sum(not _complete(family, a, b) for _, a, b, _ in raw)
    return [Outcome(c, a, b, d, lo, hi, p, ph, _verdict(family, c, a, b, d, p, ph, pending))
            for (c, a, b, (d, lo, hi, p)), ph in zip(raw, adjusted)]


def _complete(family: Family, a: list, b: list) -> bool:
    return len(a) >= len(family.seeds) and len(b) >= len(family.seeds)


def _verdict(family: Family, c: Contrast, a: list, b: list, diff, p, p_holm, pending: int) -> str:
    """A rejection stands whatever the pending contrasts bring (their p can only fall below 1,
    which lowers the others' Holm p); a non-rejection is final only when none is pending."""
    if not _complete(family, a, b):
        return f"pending ({len(a)} and {len(b)} of {len(family.seeds)} seeds)"
    if p is None:
        return "no test (neither row varies over seeds)"
    if p_holm >= family.alpha:
        if not pending:
            return "not supported"
        return f"not supported while {'1 contrast pends' if pending == 1 else f'{pending} contrasts pend'}"
    right_way = diff > 0 if c.expected == "higher" else diff < 0
    return "supported" if right_way else "opposite of the expected sign"
