"""What `tune` tells the user: a line per trial, then the best trials, each weight's
importance, and results/tuning/<study>/best.json."""

from __future__ import annotations

import datetime
import warnings

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.table import Table

from nasbench_suite import records

from nasbench_suite.tune import storage, stored
from nasbench_suite.errors import UsageError

console = Console(highlight=False, soft_wrap=True)
BEST_SHOWN = 10
# PED-ANOVA (optuna's default) contrasts the top 10% of trials with the rest: below ten
# complete trials that top is not even one trial.
MIN_TRIALS_FOR_IMPORTANCE = 10


def announce(plan) -> None:
    ranges = ", ".join(f"{s.name} in [{s.low:g}, {s.high:g}]" for s in plan.searched)
    console.print(
        f"study {plan.ref.name} in {storage.shown_url(plan.ref.url)} ({plan.trials_before} trials so far): "
        f"{plan.args.trials} more, {plan.args.workers} at a time; {ranges}; maximising {plan.objective.metric}"
    )


def weights_text(trial: FrozenTrial) -> str:
    return " ".join(f"{name}={value:.4g}" for name, value in trial.params.items())


def searches(trial: FrozenTrial) -> list[dict]:
    """Each search of a trial: seed, run id, value and the record's numbers (one per --seeds)."""
    return trial.user_attrs.get("seeds") or [trial.user_attrs]  # trials from before --seeds: one, at the top level


def trial_line(plan, trial: FrozenTrial) -> str:
    head = f"trial {trial.number} {trial.state.name.lower()}"
    if trial.state == TrialState.COMPLETE:
        runs = searches(trial)
        each = "" if len(runs) == 1 else " (" + ", ".join(f"seed {r['seed']} {r['value']:.2f}" for r in runs) + ")"
        ids = ", ".join(str(r.get("run_id")) for r in runs)
        return f"{head}: {plan.objective.metric} {trial.value:.2f}{each}  {weights_text(trial)}  run {ids}"
    if trial.state == TrialState.PRUNED:
        step = trial.last_step
        return f"{head} after epoch {step} ({plan.objective.metric} {trial.intermediate_values[step]:.2f})  {weights_text(trial)}"
    return f"{head}: {trial.user_attrs.get('error', 'see the message above')}  {weights_text(trial)}"


def report(plan) -> dict | None:
    """The best trials, the importances and best.json; None when no trial has completed."""
    study = storage.load(plan.ref)
    storage.fail_stale(study)
    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): sum(t.state == state for t in trials) for state in TrialState if state != TrialState.WAITING}
    console.print(f"study {plan.ref.name}: " + ", ".join(f"{n} {state}" for state, n in counts.items() if n))
    complete = sorted((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: -t.value)
    if not complete:
        console.print("no complete trial yet: no best weights to report")
        return None
    console.print(best_table(plan, complete[:BEST_SHOWN]))
    importance, note = importances(study, [s.name for s in plan.searched], len(complete))
    console.print("importance: " + (", ".join(f"{k} {v:.2f}" for k, v in importance.items()) if importance else note))
    best = best_record(plan, complete[0], counts, importance, note)
    try:
        plan.study_dir.mkdir(parents=True, exist_ok=True)
        records.write_json(plan.study_dir / "best.json", best)
    except OSError as err:  # the trials themselves are safe in the storage
        raise UsageError(f"cannot write {plan.study_dir / 'best.json'}: {err.strerror or err}")
    runs = ", ".join(str(r.get("run_id")) for r in searches(complete[0]))
    console.print(f"best: trial {best['best_trial']}, run {runs}; weights {best['run_flags']}")
    console.print(f"written: {plan.study_dir / 'best.json'}")
    from nasbench_suite.tune.figures import write_figures  # matplotlib: only once trials have completed

    for path in write_figures(study, [s.name for s in plan.searched], plan.study_dir, len(complete), importance is not None):
        console.print(f"written: {path}")
    return best


def best_table(plan, trials: list[FrozenTrial]) -> Table:
    """One row per trial: its value, weights, the table's CIFAR-10 test accuracy (for the
    reader; never optimised), skip count and depth per cell type. Run ids are in best.json."""
    names = [s.name for s in plan.searched]
    table = Table(title=f"best trials of {plan.ref.name} (value: {plan.objective.metric})")
    for column in ("trial", "value", *names, "c10 test", "skip", "depth"):
        table.add_column(column, justify="right", no_wrap=True)
    for t in trials:
        runs = searches(t)
        tests = [r["cifar10_test_acc"] for r in runs if r.get("cifar10_test_acc") is not None]
        table.add_row(
            str(t.number), f"{t.value:.2f}", *(f"{t.params[n]:.4g}" for n in names),
            f"{sum(tests) / len(tests):.2f}" if tests else "-",
            " / ".join(_per_cell(r.get("skip_count")) for r in runs), " / ".join(_per_cell(r.get("depth")) for r in runs),
        )
    return table


def _per_cell(values: dict | None) -> str:
    """`2` for one cell type, `normal 2, reduce 1` for several: a bare 1/1 does not say which is which."""
    if not values:
        return "-"
    return str(next(iter(values.values()))) if len(values) == 1 else ", ".join(f"{t} {v}" for t, v in values.items())


def importances(study: optuna.Study, names: list[str], complete: int) -> tuple[dict | None, str]:
    """Each searched weight's importance, or None and the reason there is none yet."""
    if len(names) < 2:
        return None, f"only {names[0]} is tuned: nothing to compare it with"
    if complete < MIN_TRIALS_FOR_IMPORTANCE:
        return None, f"needs at least {MIN_TRIALS_FOR_IMPORTANCE} complete trials (has {complete})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return dict(optuna.importance.get_param_importances(study, params=names)), ""
    except (RuntimeError, ValueError) as err:
        return None, f"not computable yet ({err})"


def best_record(plan, best: FrozenTrial, counts: dict, importance: dict | None, note: str) -> dict:
    config = plan.trial_config(best.params, best.number)
    return {
        "study": plan.ref.name,
        "storage": storage.shown_url(plan.ref.url),
        "method": config.method,
        "space": config.space,
        **plan.objective.describe(),
        "best_trial": best.number,
        "value": best.value,
        "weights": dict(best.params),
        "run_flags": " ".join(f"--{name} {value:.6g}" for name, value in best.params.items()),
        "method_config": config.method_config,
        "trial_attrs": stored.without_records(best.user_attrs),
        "trials": counts,
        "importance": importance,
        "importance_note": note or None,
        "written_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
