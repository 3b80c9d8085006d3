"""Which method settings `tune` searches, over which ranges, and how a trial samples them.

The regulariser weights are always searched (log-uniform, a decade either side of
DESIGN.md's defaults); the threshold, k and the other gate settings only when asked for
(--tune-threshold or a --threshold-range, ...). A setting given on the command line
(`--lambda3 0`) is held at that value instead of searched.
"""

from __future__ import annotations

import argparse
import dataclasses
import math

from methods.base import flag_name
from nasbench_suite import flags, registry
from nasbench_suite.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Dimension:
    field: str  # the method settings field it sets
    low: float
    high: float
    log: bool = True
    integer: bool = False
    optional: bool = False  # searched only with --tune-<flag> or --<flag>-range

    def flag(self, method: str) -> str:
        """The run flag of this setting (--lambda for independent_gate's `lam`)."""
        fields = {f.name: f for f in dataclasses.fields(registry.get_method(method).Config)}
        return flag_name(fields[self.field])

    def suggest(self, trial, name: str, low: float, high: float):
        if self.integer:
            return trial.suggest_int(name, int(low), int(high))
        return trial.suggest_float(name, low, high, log=self.log)


def also(field: str, low: float, high: float, log: bool = False, integer: bool = False) -> Dimension:
    """A setting searched only when asked for (--tune-<flag>, or a --<flag>-range)."""
    return Dimension(field, low, high, log=log, integer=integer, optional=True)


# The gate settings (DESIGN.md: each is a dimension `tune` can search). The temperature
# ranges meet at 0.5, so no sampled pair has tau_min > tau_max.
GATE = (
    also("k", 1, 3, integer=True),
    also("gate_drop", 0.0, 0.8),
    also("tau_max", 0.5, 2.0, log=True),
    also("tau_min", 0.05, 0.5, log=True),
    also("stretch_a", -0.3, -0.01),
    also("stretch_b", 1.01, 1.3),
)
SEARCHABLE: dict[str, tuple[Dimension, ...]] = {
    "pr_darts": (
        Dimension("lambda1", 1e-3, 1e-1),
        Dimension("lambda2", 5e-4, 5e-2),
        Dimension("lambda3", 5e-4, 5e-2),
        also("threshold", 0.05, 0.5),
        *GATE,
    ),
    "independent_gate": (Dimension("lam", 5e-4, 5e-2), *GATE),
    # a decade either side of the authors' defaults: the zero-one loss weight 10, β0 = 1
    "fair_darts": (Dimension("zero_one_weight", 1.0, 100.0),),
    "darts_minus": (Dimension("skip_beta", 0.1, 10.0),),
    # GDAS has no loss term and DrNAS's default regulariser is the shared α weight decay, so
    # theirs are searched only when asked for; the τ ranges meet at 1 (never τ_min > τ_max).
    "gdas": (also("gumbel_tau_max", 1.0, 20.0, log=True), also("gumbel_tau_min", 0.01, 1.0, log=True)),
    "drnas": (also("kl_scale", 1e-4, 1e-1, log=True),),
    # a decade either side of the authors' final weight 50; the start only when asked for
    "beta_darts": (Dimension("beta_weight_end", 5.0, 500.0), also("beta_weight_start", 0.0, 5.0)),
}


def _all_dimensions() -> dict[str, tuple[str, Dimension]]:
    """{flag stem: (a method that has it, its dimension)}; a shared setting (k) appears once."""
    found = {}
    for method, dims in SEARCHABLE.items():
        for dim in dims:
            found.setdefault(dim.flag(method).lstrip("-"), (method, dim))
    return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("what is tuned (a setting given as a run flag is held fixed instead)")
    for stem, (method, dim) in _all_dimensions().items():
        kind = "integer" if dim.integer else "log-uniform" if dim.log else "uniform"
        if dim.optional:
            group.add_argument(f"--tune-{stem}", action="store_true", help=f"also tune --{stem}")
        group.add_argument(
            f"--{stem}-range", nargs=2, type=flags.number, metavar=("LOW", "HIGH"), default=None,
            help=f"{kind} range of --{stem} (default {dim.low:g} {dim.high:g})",
        )


@dataclasses.dataclass(frozen=True)
class Searched:
    """One searched setting of this study: its optuna name (the flag stem) and its range."""

    name: str
    dim: Dimension
    low: float
    high: float

    def suggest(self, trial):
        return self.dim.suggest(trial, self.name, self.low, self.high)


def resolve(args: argparse.Namespace, method: str) -> list[Searched]:
    """The settings this study searches, with their ranges; UsageError for a flag that cannot apply."""
    if method not in SEARCHABLE:
        raise UsageError(f"method {method} has no regulariser weights to tune; tune one of {', '.join(SEARCHABLE)}")
    own = {dim.flag(method).lstrip("-"): dim for dim in SEARCHABLE[method]}
    for stem in _all_dimensions():
        if stem not in own and (_range(args, stem) or getattr(args, _tune_dest(stem), False)):
            raise UsageError(f"--{stem}-range / --tune-{stem}: method {method} has no --{stem}")
    fixed, searched = flags.given(args), []
    for stem, dim in own.items():
        asked = getattr(args, _tune_dest(stem), False) or _range(args, stem) is not None  # a range implies tuning
        if dim.field in fixed:
            if asked:
                raise UsageError(f"--{stem} {fixed[dim.field]} fixes what --tune-{stem} / --{stem}-range would tune: choose one")
            continue
        if asked or not dim.optional:
            low, high = _range(args, stem) or (dim.low, dim.high)
            _check_range(stem, dim, low, high)
            searched.append(Searched(stem, dim, *((int(low), int(high)) if dim.integer else (low, high))))
    if not searched:
        # gdas and drnas have only settings searched when asked for
        optional = ", ".join(f"--tune-{stem}" for stem, dim in own.items() if dim.optional and dim.field not in fixed)
        why = f"{method} searches only what is asked for ({optional})" if optional else "every searchable setting was fixed by a run flag"
        raise UsageError(f"nothing left to tune: {why}")
    return searched


def _tune_dest(stem: str) -> str:
    return f"tune_{stem.replace('-', '_')}"


def _range(args: argparse.Namespace, stem: str):
    return getattr(args, f"{stem.replace('-', '_')}_range")


def _check_range(stem: str, dim: Dimension, low: float, high: float) -> None:
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise UsageError(f"--{stem}-range needs finite LOW <= HIGH, got {low:g} {high:g}")
    if dim.log and low <= 0:
        raise UsageError(f"--{stem}-range is log-uniform: LOW must be positive, got {low:g}")
    if dim.integer and (low != int(low) or high != int(high)):
        raise UsageError(f"--{stem}-range takes whole numbers, got {low:g} {high:g}")
