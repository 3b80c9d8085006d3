"""Rows compared, not only listed: the difference in mean main accuracy between two rows of
the same search budget, its 95% interval and a p-value over seeds (Welch's t-test: each
row's seeds are independent samples, variances not assumed equal). A table compares many pairs,
so each p-value also comes Holm-adjusted over all the table's tests: a difference whose
adjusted p is below 0.05 stands even after looking at every pair."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from nasbench_suite.report.standings import Row, Section


@dataclass(frozen=True)
class Comparison:
    a: Row
    b: Row
    metric: str
    diff: float  # mean(a) - mean(b)
    low: float | None  # 95% interval of the difference; None where it is undefined
    high: float | None
    p: float | None  # two-sided Welch p-value; None below two seeds a row, or with no spread at all
    p_holm: float | None = None  # p, Holm-adjusted over every test of the table


def budget(row: Row) -> tuple:
    """What must match for two rows to be compared: the search's epochs, batch and images."""
    search = row.settings.get("search", {})
    return search.get("epochs"), search.get("batch_size"), row.settings.get("train_subset")


def seed_values(row: Row, metric: str) -> list[float]:
    if metric == "test_error":
        return [t.record["test_error"] for t in row.trainings]
    values = [(r.record.get("benchmark") or {}).get(metric) for r in row.runs]
    return [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def welch(a: list[float], b: list[float]) -> tuple[float, float | None, float | None, float | None]:
    """(mean(a) - mean(b), interval low, interval high, p)."""
    diff = sum(a) / len(a) - sum(b) / len(b)
    if len(a) < 2 or len(b) < 2:
        return diff, None, None, None
    from scipy import stats  # only the leaderboard needs it

    result = stats.ttest_ind(a, b, equal_var=False)
    if not math.isfinite(result.pvalue):  # both rows without spread: nothing to test
        return diff, None, None, None
    interval = result.confidence_interval(0.95)
    return diff, float(interval.low), float(interval.high), float(result.pvalue)


def compare(section: Section) -> list[Comparison]:
    """Every pair of measured search rows of one budget, the better-ranked row first."""
    rows = [r for r in section.rows if r.kind == "search"]
    out = []
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            va, vb = seed_values(a, section.main_metric), seed_values(b, section.main_metric)
            if budget(a) == budget(b) and va and vb:
                out.append(Comparison(a, b, section.main_metric, *welch(va, vb)))
    tested = [c for c in out if c.p is not None]
    adjusted = dict(zip(map(id, tested), holm([c.p for c in tested])))
    return [dataclasses.replace(c, p_holm=adjusted.get(id(c))) for c in out]


def holm(ps: list[float]) -> list[float]:
    """Holm's step-down adjustment: the k-th smallest of m p-values times (m − k + 1), kept
    from falling below the adjusted values before it, capped at 1."""
    adjusted, running = [0.0] * len(ps), 0.0
    for rank, i in enumerate(sorted(range(len(ps)), key=ps.__getitem__)):
        running = max(running, min(1.0, (len(ps) - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


def against_darts(section: Section, comparisons: list[Comparison]) -> dict[int, Comparison]:
    """{id(row): its comparison with the darts row of the same budget and supernet}, as row − darts."""
    found = {}
    for c in comparisons:
        for row, other, sign in ((c.a, c.b, -1), (c.b, c.a, 1)):
            if other.method == "darts" and row is not other and other.settings.get("space") == row.settings.get("space"):
                if sign == 1:  # row is b: flip to row − darts
                    found[id(row)] = Comparison(row, other, c.metric, -c.diff, _neg(c.high), _neg(c.low), c.p, c.p_holm)
                else:
                    found[id(row)] = c
    return found


def _neg(value: float | None) -> float | None:
    return None if value is None else -value
