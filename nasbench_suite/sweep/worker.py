"""A sweep worker: claim a cell, run it as an Optuna trial, keep its record with the trial,
and again, until no cell is left to claim.

Every worker (a --workers process here, or the same command on another machine) does the
same; they share nothing but the storage. A trial is opened, then a cell is claimed for it
(claims.py: the database lets one worker have each attempt); the trial's heartbeat tells
the others it is alive. When it stops (the worker was killed, its machine died) any worker
marks the trial failed, and the cell is claimed again, continuing the dead worker's run
directory from its last checkpoint where this machine can reach that directory (a shared
file system), or from the start elsewhere. A worker that has nothing left to claim waits
while other cells run, so that it can take over one whose worker dies (--no-wait: it ends).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from pathlib import Path

import optuna
from rich.console import Console

from nasbench_suite.errors import USER_ERRORS
from nasbench_suite.sweep import claims
from nasbench_suite.tune import storage, stored
from nasbench_suite.tune.workers import spawn, supervise

console = Console(highlight=False, soft_wrap=True)


@dataclasses.dataclass
class Opened:
    """The study as a worker uses it: optuna's view, the engine for claims, the study's id."""

    study: optuna.Study
    engine: object
    study_id: int

    @classmethod
    def of(cls, ref: storage.StudyRef) -> "Opened":
        rdb = storage.open_storage(ref.url, ref.heartbeat_s)
        study = optuna.load_study(study_name=ref.name, storage=rdb)
        return cls(study, rdb.engine, rdb.get_study_id_from_name(ref.name))

    def states(self, plan) -> dict[str, claims.CellState]:
        return claims.states(self.engine, self.study_id, self.study, [c.key for c in plan.cells], plan.args.max_attempts)


def poll_seconds(plan) -> float:
    return min(10.0, max(0.5, plan.ref.heartbeat_s / 2))


def work(plan, index: int = 0, child: bool = False) -> None:
    """Run cells until none is left to claim (and, unless --no-wait, none runs elsewhere)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if child:
        _settle_child(plan.args.sweep_workers)
    opened = Opened.of(plan.ref)
    waiting_said = False
    try:
        while True:
            storage.fail_stale(opened.study)
            st = opened.states(plan)
            todo = [c for c in plan.cells if st[c.key].claimable]
            if not todo:
                running = [c for c in plan.cells if st[c.key].status == "running"]
                if not running or plan.args.no_wait:
                    return
                if not waiting_said:
                    console.print(f"worker {storage.worker_id()}: nothing left to claim; waiting while {len(running)} cells run elsewhere, to take over any whose worker dies")
                    waiting_said = True
                time.sleep(poll_seconds(plan))
                continue
            waiting_said = False
            shift = index % len(todo)  # workers started together try different cells first
            todo = todo[shift:] + todo[:shift]
            opened.study.optimize(
                lambda trial: run_cell(trial, plan, opened, todo, st), n_trials=1, catch=USER_ERRORS,
                callbacks=[lambda study, trial: _say(plan, trial)],
            )
    except KeyboardInterrupt:
        if not child:
            raise
        raise SystemExit(130)  # optuna has marked the trial failed: the cell is claimable again


def run_cell(trial: optuna.Trial, plan, opened: Opened, todo: list, st: dict) -> float:
    """Claim the first free cell of `todo` for this trial and run it; its grid index."""
    trial.set_user_attr("worker", storage.worker_id())
    for cell in todo:
        if claims.claim(opened.engine, opened.study_id, cell.key, st[cell.key].attempt, trial.number):
            break
    else:  # others took every one first: this trial ends pruned, holding no cell
        trial.set_user_attr("claimed", None)
        raise optuna.TrialPruned()
    attempt = st[cell.key].attempt
    for key, value in (("cell", cell.key), ("cell_index", cell.index), ("attempt", attempt + 1)):
        trial.set_user_attr(key, value)
    previous = _previous_run_dir(st[cell.key])
    if previous:
        console.print(f"cell {cell.key}: attempt {attempt + 1}; the run directory of the last is {previous}")

    def on_start(run_dir: Path) -> None:
        trial.set_user_attr("run_dir", str(Path(run_dir).resolve()))
        trial.set_user_attr("host", socket.gethostname())

    try:
        record, run_dir = plan.kind.run(plan.configs[cell.index], Path(plan.args.out), previous, on_start)
    except USER_ERRORS as err:
        trial.set_user_attr("error", str(err))  # the run itself failed: retrying would fail again
        raise
    trial.set_user_attr("run_id", record["run_id"])
    stored.store(trial, record, run_dir)
    return float(cell.index)


def _previous_run_dir(state: claims.CellState) -> Path | None:
    """The run directory of the cell's last attempt, where this machine can reach it."""
    if state.last is None:
        return None
    text = state.last.user_attrs.get("run_dir")
    return Path(text) if text and Path(text).is_dir() else None


def _say(plan, trial) -> None:
    a = trial.user_attrs
    if "cell" not in a:
        return  # a trial that lost every race: nothing ran
    head = f"cell {a['cell_index'] + 1}/{len(plan.cells)} {a['cell']} (trial {trial.number}, attempt {a['attempt']})"
    if trial.state == optuna.trial.TrialState.COMPLETE:
        record = (stored.read(a) or {}).get("record") or {}
        console.print(f"{head}: done, {plan.kind.describe(record)}")
    else:
        console.print(f"{head}: {trial.state.name.lower()}: {a.get('error', 'see the message above')}")


def _settle_child(workers: int) -> None:
    """A worker process: no per-epoch output (cell lines only), its share of the CPU threads."""
    import torch

    from nasbench_suite.search import lifecycle
    from nasbench_suite.train import trainer

    lifecycle.console.quiet = True
    trainer.console.quiet = True
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def run_all(plan) -> bool:
    """This machine's workers: this process, or --workers spawned processes. False when one
    did not end normally."""
    if plan.args.sweep_workers == 1:
        work(plan)
        return True
    procs = spawn(work, [(plan, i, True) for i in range(plan.args.sweep_workers)])
    return supervise(procs, lambda p: storage.fail_trials_of(Opened.of(plan.ref).study, storage.worker_id(p.pid)),
                     then="its cell, if any, goes to another worker")
