"""Leaderboard rows: runs grouped by space, dataset, method and settings, each with mean ± std.

A group is every finished search of one method on one space and dataset with the same
settings (method settings, search budget, space size, training subset); only the seed
differs. On NAS-Bench-201 a group's accuracies are the benchmark's numbers for its derived
cells; on other spaces they are the test errors of the evaluation trainings of its cells.
Std is the sample standard deviation (n - 1), given from two values on.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from nasbench_suite.report.collect import Collection, SearchRun, Skipped, Training
from nasbench_suite.report.published import PublishedResult
from nasbench_suite.search.movement import MIN_MOVEMENT, largest_movement, record_movement

BENCHMARK_SPACES = frozenset({"nb201"})  # derived cells are looked up, not trained
HEADLINE_ACCURACIES = ("cifar10_valid_acc", "cifar10_test_acc", "cifar100_test_acc", "imagenet16_test_acc")
CELL_STATS = ("skip_count", "depth", "conv_depth")


@dataclass(frozen=True)
class Stat:
    mean: float | None
    std: float | None  # sample std; None below two values
    n: int

    @classmethod
    def of(cls, values) -> "Stat":
        known = [float(v) for v in values if v is not None]
        mean = math.fsum(known) / len(known) if known else None
        return cls(mean, statistics.stdev(known) if len(known) >= 2 else None, len(known))


@dataclass
class Row:
    label: str
    kind: str  # "search": a group of search runs; "training": trainings of cells; "published"
    method: str | None
    seeds: int | None  # search runs, or trainings for a "training" row; None when published
    metrics: dict[str, Stat] = field(default_factory=dict)
    cells: dict[str, dict[str, Stat]] = field(default_factory=dict)  # skip_count -> {cell type: Stat}
    best: dict | None = None  # seed, genotype, run_id, ranked (False: nothing measured to rank by)
    settings: dict = field(default_factory=dict)
    source: str = "measured"
    runs: list[SearchRun] = field(default_factory=list)
    trainings: list[Training] = field(default_factory=list)
    barely_moved: int = 0  # searches whose largest α change stayed below MIN_MOVEMENT

    @property
    def published(self) -> bool:
        return self.kind == "published"


@dataclass
class Section:
    space: str
    dataset: str
    rows: list[Row]

    @property
    def benchmark(self) -> bool:
        return self.space in BENCHMARK_SPACES

    @property
    def main_metric(self) -> str:
        if not self.benchmark:
            return "test_error"
        name = f"{self.dataset}_test_acc"
        return name if name in HEADLINE_ACCURACIES else "cifar10_test_acc"

    @property
    def accuracies(self) -> list[str]:
        """Every accuracy some row of the section has, headline ones first."""
        found = {m for row in self.rows for m in row.metrics if m.endswith("_acc")}
        return [m for m in HEADLINE_ACCURACIES if m in found] + sorted(found - set(HEADLINE_ACCURACIES))

    @property
    def cell_types(self) -> list[str]:
        return sorted({t for row in self.rows for stats in row.cells.values() for t in stats})


def settings_of(record: dict) -> dict:
    """What, besides method, space and dataset, makes two runs comparable: all but the seed."""
    config = record["config"]
    search = {k: v for k, v in config.get("settings", {}).items() if k != "seed"}
    return {"method": config["method_config"], "search": search, "space": config.get("space_config", {}),
            "train_subset": config.get("train_subset")}


def build_sections(found: Collection, published: list[PublishedResult]) -> tuple[list[Section], list[Skipped]]:
    """The leaderboard's sections (one per space and dataset), and trainings that fit no row."""
    groups: dict[tuple, list[SearchRun]] = defaultdict(list)
    for run in sorted(found.runs, key=lambda r: (r.record["seed"], r.run_id)):
        r = run.record
        groups[(r["space"], r["dataset"], r["method"], json.dumps(settings_of(r), sort_keys=True))].append(run)
    labels = _labels(list(groups))
    own, transfers, cells, skipped = _sort_trainings(found.trainings, groups)
    rows: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for key, runs in groups.items():
        rows[key[:2]].append(search_row(labels[key], key, runs, own[key]))
    for (dataset, key), trainings in transfers.items():
        label = f"{labels[key]}, searched on {key[1]}"
        rows[(key[0], dataset)].append(training_row(label, key[2], trainings, groups[key]))
    for (space, dataset, name), trainings in cells.items():
        rows[(space, dataset)].append(training_row(f"{name} cell, trained here", None, trainings, []))
    for result in published:
        if (result.space, result.dataset) in rows:  # only beside something measured
            rows[(result.space, result.dataset)].append(published_row(result))
    sections = [Section(space, dataset, r) for (space, dataset), r in sorted(rows.items())]
    for section in sections:
        section.rows.sort(key=lambda row: (row.published, _rank(section, row)))
    return sections, skipped


def _sort_trainings(trainings: list[Training], groups: dict):
    """Trainings of a group's cells on its own dataset, on another dataset, and of published cells."""
    group_of = {run.run_id: key for key, runs in groups.items() for run in runs}
    own, transfers, cells, skipped = defaultdict(list), defaultdict(list), defaultdict(list), []
    for training in trainings:
        record, run_id = training.record, training.record["source"].get("run_id")
        if run_id is None:
            cells[(record["space"], record["dataset"], record["source"]["name"])].append(training)
        elif run_id not in group_of:
            skipped.append(Skipped(training.path, f"its search run {run_id!r} is not among the finished runs read"))
        elif record["dataset"] == group_of[run_id][1]:
            own[group_of[run_id]].append(training)
        else:
            transfers[(record["dataset"], group_of[run_id])].append(training)
    return own, transfers, cells, skipped


def search_row(label: str, key: tuple, runs: list[SearchRun], trainings: list[Training]) -> Row:
    space, _, method, settings = key
    row = Row(label, "search", method, len(runs), settings=json.loads(settings), runs=runs, trainings=trainings)
    if space in BENCHMARK_SPACES:
        looked_up = [r.record.get("benchmark") or {} for r in runs]
        names = sorted({k for b in looked_up for k, v in b.items() if k.endswith("_acc") and _is_number(v)})
        row.metrics = {k: Stat.of(b.get(k) if _is_number(b.get(k)) else None for b in looked_up) for k in names}
    else:
        row.metrics["test_error"] = Stat.of(t.record["test_error"] for t in trainings)
    row.metrics.update(_search_costs(runs))
    row.metrics["params_mb"] = Stat.of(r.record["params_mb"] for r in runs)
    moved = [largest_movement(m) if (m := record_movement(r.record)) else None for r in runs]
    row.metrics["alpha_moved"] = Stat.of(moved)  # records written before α_0 was kept have none
    row.barely_moved = sum(m is not None and m < MIN_MOVEMENT for m in moved)
    row.cells = _cell_stats([r.record for r in runs])
    row.best = _best_search(space, key[1], runs, trainings)
    return row


def training_row(label: str, method: str | None, trainings: list[Training], runs: list[SearchRun]) -> Row:
    """A row made of evaluation trainings: a published cell, or a group's cells on another dataset."""
    row = Row(label, "training", method, len(trainings), runs=runs, trainings=trainings)
    row.metrics["test_error"] = Stat.of(t.record["test_error"] for t in trainings)
    # The params column counts the derived network at the space's evaluation size, as search
    # records and papers do; a cell trained here at a smaller size has its own count only in
    # its records, and a published cell has the paper's count in its published row.
    if runs:
        row.metrics.update(_search_costs(runs))
        row.metrics["params_mb"] = Stat.of(r.record["params_mb"] for r in runs)
    row.cells = _cell_stats([r.record for r in runs] or [t.record for t in trainings])
    best = min(trainings, key=lambda t: (t.record["test_error"], t.record["seed"]))
    row.best = {"seed": best.record["seed"], "genotype": best.record["genotype"], "run_id": best.path.name, "ranked": True}
    return row


def published_row(result: PublishedResult) -> Row:
    row = Row(result.name, "published", None, None, source="; ".join(result.sources))
    row.metrics = {m: Stat(mean, std, 1) for m, (mean, std) in result.values.items()}
    if "search_gpu_days" in result.values:  # shown beside measured GPU-hours
        row.metrics["gpu_hours"] = Stat(result.values["search_gpu_days"][0] * 24, None, 1)
    return row


def _search_costs(runs: list[SearchRun]) -> dict[str, Stat]:
    return {
        "search_seconds": Stat.of(r.record["search_seconds"] for r in runs),
        "gpu_hours": Stat.of(r.record.get("gpu_hours") for r in runs),
    }


def _cell_stats(records: list[dict]) -> dict[str, dict[str, Stat]]:
    """Skip count, depth and conv depth per cell type (search and training records carry all three)."""
    cell_types = sorted({t for r in records for t in r.get("skip_count") or {}})
    return {name: {t: Stat.of((r.get(name) or {}).get(t) for r in records) for t in cell_types} for name in CELL_STATS}


def _best_search(space: str, dataset: str, runs: list[SearchRun], trainings: list[Training]) -> dict:
    """The seed with the best main accuracy (runs arrive sorted by seed, so ties go to the lowest)."""
    score: dict[str, float] = {}
    if space in BENCHMARK_SPACES:
        main = Section(space, dataset, []).main_metric
        for run in runs:
            value = (run.record.get("benchmark") or {}).get(main)
            if _is_number(value):
                score[run.run_id] = -value
    else:
        for training in trainings:
            run_id = training.record["source"]["run_id"]
            score[run_id] = min(score.get(run_id, math.inf), training.record["test_error"])
    ranked = [r for r in runs if r.run_id in score]
    best = min(ranked, key=lambda r: score[r.run_id]) if ranked else runs[0]
    return {"seed": best.record["seed"], "genotype": best.record["genotype"], "run_id": best.run_id, "ranked": bool(ranked)}


def _rank(section: Section, row: Row) -> float:
    """Sort key: best main accuracy first, rows without one last."""
    stat = row.metrics.get(section.main_metric)
    if stat is None or stat.mean is None:
        return math.inf
    return stat.mean if section.main_metric == "test_error" else -stat.mean


def _labels(keys: list[tuple]) -> dict[tuple, str]:
    """The method's name, plus the settings in which its groups differ (two pr_darts settings, two labels)."""
    by_method = defaultdict(list)
    for key in keys:
        by_method[key[:3]].append(key)
    labels = {}
    for same_method in by_method.values():
        flat = [_flatten(json.loads(key[3])) for key in same_method]
        differing = sorted({n for f in flat for n in f if any(g.get(n) != f.get(n) for g in flat)})
        for digits in (3, None):  # 3 significant digits, unless two rows would then read the same
            extra = [", ".join(f"{n}={_short(f.get(n), digits)}" for n in differing) for f in flat]
            if len(set(extra)) == len(extra):
                break
        for key, text in zip(same_method, extra):
            labels[key] = f"{key[2]} ({text})" if text else key[2]
    return labels


def _short(value, digits: int | None) -> str:
    """A tuned weight as people read it: 0.0123, not 0.0123456789012345."""
    if digits and isinstance(value, float) and float(f"{value:.{digits}g}") != value:
        return f"{value:.{digits}g}"
    return str(value)


def _flatten(settings: dict) -> dict:
    flat = {}
    for part, values in settings.items():
        for name, value in (values.items() if isinstance(values, dict) else [(part, values)]):
            flat[name if name not in flat else f"{part}.{name}"] = value
    return flat


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
