"""Read finished run records for the leaderboard; whatever cannot be read is skipped with a reason.

A search run is results/runs/<id>/ with record.json (written last, so only finished runs have
one) and metrics.jsonl (one line per epoch). An evaluation training is results/train/<id>/
with record.json of kind "train". Torch-free: records are JSON.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from nasbench_suite import records
from nasbench_suite.errors import UsageError


class RecordError(ValueError):
    """Why a record cannot be used."""


@dataclass
class SearchRun:
    path: Path
    record: dict
    metrics: list[dict] | None  # None: metrics.jsonl unreadable (the run still counts in the tables)

    @property
    def run_id(self) -> str:
        return self.record.get("run_id") or self.path.name


@dataclass
class Training:
    path: Path
    record: dict


@dataclass
class Skipped:
    path: Path
    reason: str


@dataclass
class Collection:
    runs: list[SearchRun] = field(default_factory=list)
    trainings: list[Training] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def collect(runs_dir: Path, train_dir: Path | None) -> Collection:
    """Every finished search run under runs_dir and training under train_dir (if it exists)."""
    if not runs_dir.is_dir():
        raise UsageError(f"no run directory {runs_dir}: pass --runs DIR (where `nasbench-suite run --out` wrote)")
    found = Collection()
    for path in _run_dirs(runs_dir):
        try:
            record = check_search(read_record(path))
        except RecordError as err:
            found.skipped.append(Skipped(path, str(err)))
            continue
        metrics, reason = _read_metrics(path)
        if reason:
            found.skipped.append(Skipped(path, f"{reason}; in the tables, left out of the per-epoch plots"))
        found.runs.append(SearchRun(path, record, metrics))
    for path in _run_dirs(train_dir) if train_dir is not None and train_dir.is_dir() else []:
        try:
            found.trainings.append(Training(path, check_training(read_record(path))))
        except RecordError as err:
            found.skipped.append(Skipped(path, str(err)))
    return count_once(found)


def count_once(found: Collection) -> Collection:
    """One record per cell (records.cell_identity): a sweep whose worker died between writing
    a record and marking its trial done can leave a cell with two. The one that finished first
    counts (then the smaller run id: the same choice from any directory or storage); the other
    is listed as skipped, naming the one it repeats."""
    def first_of_each(items):
        first = {}
        finished = lambda i: (str(i.record.get("finished_at") or "~"), _run_id(i))  # noqa: E731  (no time: last)
        for item in sorted(items, key=finished):
            key = records.cell_identity(item.record)
            if key in first:
                found.skipped.append(Skipped(item.path, f"the same cell as {_run_id(first[key])}, which finished first: "
                                                        "each cell counts once"))
            else:
                first[key] = item
        kept = {id(i) for i in first.values()}
        return [i for i in items if id(i) in kept]  # in the order read

    found.runs, found.trainings = first_of_each(found.runs), first_of_each(found.trainings)
    return found


def _run_id(item) -> str:
    return str(item.record.get("run_id") or item.path.name)


def _run_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_record(run_dir: Path) -> dict:
    path = run_dir / records.RECORD
    if not path.exists():
        what = "unfinished run" if (run_dir / records.CONFIG).exists() else "not a run directory"
        raise RecordError(f"{what}: no {records.RECORD}")
    try:
        record = json.loads(path.read_text(), parse_constant=_reject_constant)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise RecordError(f"corrupt {records.RECORD}: {err}")
    if not isinstance(record, dict):
        raise RecordError(f"corrupt {records.RECORD}: not a JSON object")
    return record


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number a record may hold")


def check_search(record: dict) -> dict:
    kind = record.get("kind", "search")  # records from before "kind" existed are searches
    if kind != "search":
        raise RecordError(f"not a search record (kind {kind!r})")
    for name in ("method", "space", "dataset", "genotype"):
        _need(record, name, str)
    _need(record, "seed", int)
    for name in ("params_mb", "search_seconds"):
        _need_number(record, name)
    if record.get("gpu_hours") is not None:
        _need_number(record, "gpu_hours")
    for name in ("skip_count", "depth", "conv_depth"):
        _need_counts(record, name)
    config = _need(record, "config", dict)
    if not isinstance(config.get("method_config"), dict):
        raise RecordError("config.method_config is missing: cannot tell the method's settings")
    for part in ("settings", "space_config"):
        if not isinstance(config.get(part, {}), dict):
            raise RecordError(f"config.{part} is not a JSON object")
    if record.get("benchmark") is not None:
        _need(record, "benchmark", dict)
    return record


def check_training(record: dict) -> dict:
    if record.get("kind") != "train":
        raise RecordError(f"not an evaluation-training record (kind {record.get('kind')!r})")
    for name in ("space", "dataset", "genotype"):
        _need(record, name, str)
    _need(record, "seed", int)
    _need_number(record, "test_error")
    source = _need(record, "source", dict)
    run_id, name = source.get("run_id"), source.get("name")
    if not (isinstance(run_id, str) or isinstance(name, str)):
        raise RecordError("source names neither a search run_id nor a published cell name")
    for optional in ("params_mb", "gpu_hours", "train_seconds"):
        if record.get(optional) is not None:
            _need_number(record, optional)
    return record


def _need(record: dict, name: str, kind: type):
    value = record.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise RecordError(f"field {name!r} is missing or not a {kind.__name__}")
    return value


def _need_number(record: dict, name: str) -> float:
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordError(f"field {name!r} is missing or not a finite number")
    return value


def _need_counts(record: dict, name: str) -> None:
    value = record.get(name)
    ok = isinstance(value, dict) and value and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value.values()
    )
    if not ok:
        raise RecordError(f"field {name!r} must map each cell type to a whole number")


def _read_metrics(run_dir: Path) -> tuple[list[dict] | None, str | None]:
    """The per-epoch rows, or None and why not."""
    try:
        rows = records.read_jsonl(run_dir / records.METRICS)
    except FileNotFoundError:
        return None, f"no {records.METRICS}"
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return None, f"corrupt {records.METRICS}: {err}"
    for i, row in enumerate(rows, start=1):
        try:
            if not isinstance(row, dict):
                raise RecordError("not a JSON object")
            _need(row, "epoch", int)
            _need_counts(row, "skip_count")
            _need_counts(row, "depth")
        except RecordError as err:
            return None, f"{records.METRICS} line {i}: {err}"
    return rows, None
