"""Running trials: in this process (--workers 1) or in W spawned processes sharing the study.

Each worker opens the study itself (processes share nothing but the storage) and runs its
share of this command's trials. A trial is one search; a user error inside it (the loss
became NaN) fails that trial only. A worker that dies (killed, out of memory) has its
running trial marked failed at once by this process; a whole command killed is caught by
the heartbeat on the next run.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import multiprocessing.connection
import os
import socket
import zlib
from pathlib import Path

import optuna

from nasbench_suite.tune import storage, stored
from nasbench_suite.errors import USER_ERRORS
from nasbench_suite.tune.report import console, trial_line

INTERRUPT_GRACE_S = 10


def shares(trials: int, workers: int) -> list[int]:
    """This command's trials split as evenly as possible over at most `trials` workers."""
    n = min(trials, workers)
    return [trials // n + (i < trials % n) for i in range(n)]


def run_all(plan) -> bool:
    """Run this command's trials; False when a worker process did not end normally."""
    parts = shares(plan.args.trials, plan.args.workers)
    if len(parts) == 1:
        work(plan, 0, parts[0])
        return True
    return _run_processes(plan, parts)


def _run_processes(plan, parts: list[int]) -> bool:
    procs = spawn(work, [(plan, i, n, True) for i, n in enumerate(parts)])
    return supervise(procs, lambda p: storage.fail_trials_of(storage.load(plan.ref), storage.worker_id(p.pid)),
                     then="the other workers go on")


def spawn(target, arg_tuples: list[tuple]) -> list[multiprocessing.Process]:
    """Start one worker process per argument tuple (spawned: no forked CUDA or database connections)."""
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=target, args=args, name=f"worker {i + 1}") for i, args in enumerate(arg_tuples)]
    for p in procs:
        p.start()
    console.print(f"{len(procs)} workers started (pids {', '.join(str(p.pid) for p in procs)})")
    return procs


def supervise(procs: list[multiprocessing.Process], fail_trials_of, then: str) -> bool:
    """Wait for the workers. One that ends abnormally has its running trials failed at once
    (fail_trials_of(p) -> their numbers), not a heartbeat later. After Ctrl-C the workers
    (interrupted too) get time to fail their own trials, then are ended. False when a worker
    did not end normally."""
    healthy, pending = True, list(procs)
    try:
        while pending:
            multiprocessing.connection.wait([p.sentinel for p in pending])
            for p in [p for p in pending if not p.is_alive()]:
                pending.remove(p)
                if p.exitcode != 0:
                    healthy = False
                    failed = fail_trials_of(p)
                    how = f"signal {-p.exitcode}" if p.exitcode < 0 else f"status {p.exitcode}"
                    what = f"its trial {', '.join(map(str, failed))} is marked failed" if failed else "no trial of it was running"
                    console.print(f"{p.name} (pid {p.pid}) ended with {how}; {what}; {then}")
    except KeyboardInterrupt:
        for p in pending:
            p.join(INTERRUPT_GRACE_S)
            if p.is_alive():
                p.terminate()
                p.join()
            fail_trials_of(p)
        raise
    return healthy


def work(plan, index: int, n_trials: int, child: bool = False) -> None:
    """One worker: open the study and run `n_trials` trials of it."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # each trial gets one line of ours
    if child:
        _settle_child(plan.args.workers)
    sampler = optuna.samplers.TPESampler(seed=_sampler_seed(plan, index), constant_liar=True)
    # a cell derived in the first epochs says little of the search's end: no pruning before half of them
    warmup = max(1, plan.args.epochs // 2)
    pruner = optuna.pruners.MedianPruner(n_warmup_steps=warmup) if plan.args.pruner == "median" else optuna.pruners.NopPruner()
    study = storage.load(plan.ref, sampler, pruner)
    try:
        study.optimize(
            functools.partial(run_trial, plan=plan), n_trials=n_trials, catch=USER_ERRORS,
            callbacks=[lambda study, trial: console.print(trial_line(plan, trial))],
        )
    except KeyboardInterrupt:
        if not child:
            raise
        raise SystemExit(130)  # optuna has marked the trial failed; the parent says so


def _settle_child(workers: int) -> None:
    """A worker process: no per-epoch output (trial lines only), its share of the CPU threads."""
    import torch

    from nasbench_suite.search import lifecycle

    lifecycle.console.quiet = True
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def _sampler_seed(plan, index: int) -> int:
    """Reproducible on one machine; different between workers, machines and reruns, so two
    of them never start the study with the same random trials."""
    key = f"{socket.gethostname()}|{plan.args.seed}|{plan.trials_before}|{index}"
    return zlib.crc32(key.encode())


RECORD_ATTRS = ("genotype", "skip_count", "depth", "conv_depth", "params_mb", "search_seconds")  # kept with each search


def run_trial(trial: optuna.Trial, plan) -> float:
    """One search per seed with the sampled weights; the mean of their objective values.

    The pruner sees the seeds' epochs one after another (steps 1..E for the first seed,
    E+1..2E for the second), so trials are compared at the same epoch of the same seed."""
    from nasbench_suite.search.lifecycle import start_run

    trial.set_user_attr("worker", storage.worker_id())
    values = {s.name: s.suggest(trial) for s in plan.searched}
    results = []
    for i, seed in enumerate(plan.seeds):
        config = plan.trial_config(values, trial.number, seed)
        offset = i * config.settings["epochs"]

        def on_epoch(row, offset=offset):
            value = plan.objective.per_epoch(row)
            if value is not None:
                trial.report(value, offset + row["epoch"])
                if trial.should_prune():
                    raise optuna.TrialPruned()

        try:
            record = start_run(config, plan.args.out, on_epoch=on_epoch)
            stored.store(trial, record, Path(plan.args.out) / record["run_id"], index=i)  # the leaderboard reads it from the storage
            value, extra = plan.objective.measure(record)
        except USER_ERRORS as err:
            trial.set_user_attr("error", str(err))
            raise
        results.append({"seed": seed, "run_id": record["run_id"], "value": value, **extra,
                        **{key: record[key] for key in RECORD_ATTRS}})
    trial.set_user_attr("seeds", results)
    if len(results) == 1:  # one search: its numbers at the top level, as before --seeds
        for key, v in results[0].items():
            if key not in ("seed", "value"):
                trial.set_user_attr(key, v)
    return math.fsum(r["value"] for r in results) / len(results)
