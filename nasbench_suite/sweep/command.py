"""`nasbench-suite sweep` (searches) and `sweep-train` (evaluation trainings): a grid of runs
shared by every machine that runs the same command with the same --storage.

The grid is the product of the list flags (`--method darts,pr_darts --seed 0-4`); every other
flag is held for every cell, as `run` (or `train`) takes it. The study (an Optuna study in
the storage; a SQLite file under --sweep-dir by default) records which cells ran, their
records and their run directories: running the command again, here or on another machine,
runs only what is left. See worker.py for how a cell is claimed and retried.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from pathlib import Path

from nasbench_suite.errors import UsageError
from nasbench_suite.sweep import grid, kinds
from nasbench_suite.tune import storage

COMMAND = "sweep"
DEFAULT_MAX_ATTEMPTS = 3


def add_arguments(parser: argparse.ArgumentParser, command: str = COMMAND) -> None:
    kind = kinds.KINDS[command]
    parser.description = (
        f"Run a grid of `{kind.run_command_name}`s, each cell exactly once, on one machine (--workers) or many: "
        f"run the same command with the same --storage on every machine (or Slurm array task)."
    )
    kind.add_arguments(parser)
    for axis, (parse, what) in kind.axes.items():
        grid.as_list_flag(parser, axis, parse, what)
    for action in parser._actions:
        if action.dest == "resume":
            action.help = argparse.SUPPRESS  # a sweep resumes by running the same command again
    group = parser.add_argument_group("sweep")
    group.add_argument("--storage", help="SQLAlchemy URL shared by every machine, e.g. postgresql://user:pass@host/db (default: sqlite under --sweep-dir)")
    group.add_argument("--study", help="study name (default sweep-<hash of the grid and its settings>)")
    group.add_argument("--sweep-dir", type=Path, default=Path("results/sweeps"), help="the default SQLite file goes to DIR/<study>/ (default results/sweeps)")
    # `train` has its own --workers (ImageNet loader processes): there the sweep's is --sweep-workers
    workers = "--sweep-workers" if any(a.dest == "workers" for a in parser._actions) else "--workers"
    group.add_argument(workers, dest="sweep_workers", type=int, default=1, help="cells at once on this machine, each in its own process (default 1)")
    group.add_argument("--heartbeat", type=int, metavar="SECONDS", help=f"a cell whose worker is silent for twice this is taken over; fixed when the study is made (default {storage.DEFAULT_HEARTBEAT_S})")
    group.add_argument("--max-attempts", type=int, default=DEFAULT_MAX_ATTEMPTS, help=f"a cell whose worker died this many times is given up (default {DEFAULT_MAX_ATTEMPTS})")
    group.add_argument("--no-wait", action="store_true", help="end when nothing is left to claim, instead of waiting while other machines' cells run (to take over any whose worker dies)")


@dataclasses.dataclass
class Plan:
    """A checked sweep: all a worker process needs (picklable)."""

    args: argparse.Namespace
    command: str
    cells: list[grid.Cell]
    configs: list  # one resolved configuration per cell, in grid order
    ref: storage.StudyRef

    @property
    def kind(self):
        return kinds.KINDS[self.command]


def make_plan(args: argparse.Namespace, command: str = COMMAND) -> Plan:
    """Check every input and every cell, and open (or create) the study; nothing runs yet."""
    kind = kinds.KINDS[command]
    if getattr(args, "resume", None):
        raise UsageError(f"{command} has no --resume: run the same command again to run what is left")
    for name, least in (("sweep_workers", 1), ("heartbeat", 1), ("max_attempts", 1)):
        value = getattr(args, name)
        if value is not None and value < least:
            raise UsageError(f"--{name.replace('_', '-').replace('sweep-workers', 'workers')} must be at least {least}, not {value}")
    cells = grid.cells({axis: getattr(args, axis) for axis in kind.axes})
    kind.check_flags(args, cells)
    configs = []
    for cell in cells:
        try:
            configs.append(kind.config(cell.args(args)))
        except UsageError as err:
            raise UsageError(f"cell {cell.key}: {err}")
    for config in {json.dumps(_input_of(c), sort_keys=True): c for c in configs}.values():
        kind.check_inputs(config)
    identity = {"cells": [c.key for c in cells], "settings": _digest([kind.identity(c) for c in configs])}
    name = args.study or f"{command}-{_digest(identity)[:8]}"
    url = args.storage or storage.default_url(args.sweep_dir / name)
    ref, _ = storage.create_or_load(url, name, identity, args.heartbeat, command=command)
    from nasbench_suite.sweep import claims, worker

    claims.ensure_table(worker.Opened.of(ref).engine)
    return Plan(args, command, cells, configs, ref)


def _input_of(config) -> dict:
    """What the data check depends on."""
    return {k: getattr(config, k, None) for k in ("dataset", "data_dir", "train_subset", "device")}


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def summary(plan) -> dict[str, list[str]]:
    """{status: the keys of the cells in it}, as the storage has them now."""
    from nasbench_suite.sweep import worker

    opened = worker.Opened.of(plan.ref)
    storage.fail_stale(opened.study)
    found: dict[str, list[str]] = {}
    for key, state in opened.states(plan).items():
        found.setdefault(state.status, []).append(key)
    return found


def main(args: argparse.Namespace, command: str = COMMAND) -> int:
    import optuna

    from nasbench_suite.sweep import worker

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    plan = make_plan(args, command)
    before = summary(plan)
    worker.console.print(
        f"sweep {plan.ref.name} in {storage.shown_url(plan.ref.url)}: {len(plan.cells)} cells, "
        + ", ".join(f"{len(keys)} {status}" for status, keys in sorted(before.items()))
        + f"; {plan.args.sweep_workers} worker{'s' * (plan.args.sweep_workers != 1)} here"
    )
    healthy = worker.run_all(plan)
    after = summary(plan)
    worker.console.print(f"sweep {plan.ref.name}: " + ", ".join(f"{len(keys)} {status}" for status, keys in sorted(after.items())))
    for key in after.get("failed", []):
        worker.console.print(f"failed for good: {key}")
    if after.get("running"):
        worker.console.print("cells still running elsewhere: run the same command again to take over any whose worker dies")
    return 0 if healthy and not after.get("failed") else 1
