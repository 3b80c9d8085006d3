"""`nasbench-suite tune`: search the regulariser weights with Optuna, on one machine or many.

Every trial is an ordinary search (a run directory under --out, so leaderboards see it)
with sampled weights; its value is the objective of objectives.py. A study lives in a
storage (SQLite under results/tuning/ by default, any SQLAlchemy URL to share it between
machines): running the same command again, here or elsewhere, adds trials to it.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import json
from pathlib import Path

from nasbench_suite import flags

from nasbench_suite.search import command as run_command
from nasbench_suite.search.settings import RunConfig

from nasbench_suite.tune import dimensions, objectives, storage
from nasbench_suite.errors import UsageError

DESCRIPTION = (
    "Tune the regulariser weights (pr_darts: --lambda1/2/3, independent_gate: --lambda) with Optuna. "
    "Each trial runs one search with the run flags below and sampled weights, and maximises, on nb201, the "
    "NAS-Bench-201 validation accuracy (cifar10_valid_acc) of the derived cell (test accuracies are only "
    "stored with the trial), or, on darts (no table), the validation accuracy of the derived network on the "
    "held-out half of the training split after --proxy-epochs of training on the other half."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    run_command.add_arguments(parser)
    _hide(parser, "resume")  # a study resumes by running the same command again
    group = parser.add_argument_group("tuning")
    group.add_argument("--trials", type=int, default=20, help="trials this command adds to the study (default 20)")
    group.add_argument("--study", help="study name (default METHOD-SPACE-<hash of the settings that are not tuned>)")
    group.add_argument("--storage", help="SQLAlchemy URL, e.g. postgresql://user@host/db to share a study between machines (default sqlite under --tuning-dir)")
    group.add_argument("--tuning-dir", type=Path, default=Path("results/tuning"), help="the default SQLite file and best.json go to DIR/<study>/ (default results/tuning)")
    group.add_argument("--workers", type=int, default=1, help="trials run at once, each in its own process (default 1)")
    group.add_argument("--seeds", type=seed_list, metavar="LIST", help="search seeds of every trial, e.g. 100,101: one search each, the trial's value their mean objective (default: --seed alone)")
    group.add_argument("--pruner", choices=("none", "median"), default="none", help="median: stop a trial whose per-epoch validation accuracy falls below the median of earlier trials at that epoch, from half the first seed's epochs on (default none)")
    group.add_argument("--objective", choices=objectives.NAMES, default="auto", help="benchmark: the table's cifar10_valid_acc; proxy: a short training of the derived network; auto (default): benchmark where the space has a table, else proxy")
    group.add_argument("--proxy-epochs", type=int, default=10, help="proxy objective: epochs of training on the weight half of the training split before scoring on the held-out half (default 10)")
    group.add_argument("--heartbeat", type=int, metavar="SECONDS", help=f"a trial is declared dead when its worker is silent for twice this; fixed when the study is made (default {storage.DEFAULT_HEARTBEAT_S})")
    dimensions.add_arguments(parser)


def seed_list(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes whole numbers separated by commas, not {text!r}")
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"--seeds needs distinct seeds, not {text!r}")
    return seeds


def _hide(parser: argparse.ArgumentParser, dest: str) -> None:
    for action in parser._actions:
        if action.dest == dest:
            action.help = argparse.SUPPRESS


@dataclasses.dataclass
class Plan:
    """A checked tuning job: all a worker process needs (picklable)."""

    args: argparse.Namespace
    searched: list[dimensions.Searched]
    objective: object
    ref: storage.StudyRef
    study_dir: Path
    trials_before: int  # trials in the study when this command started

    @property
    def seeds(self) -> list[int]:
        """The searches of every trial: --seeds, or --seed alone."""
        return self.args.seeds or [self.args.seed]

    def trial_config(self, values: dict, number: int | None, seed: int | None = None) -> RunConfig:
        """The run configuration of a trial's search of `seed` (default the first), from the
        run flags and the sampled values."""
        args = copy.copy(self.args)
        args.seed = self.seeds[0] if seed is None else seed
        for s in self.searched:
            setattr(args, flags.PREFIX + s.dim.field, values[s.name])
        config = run_command.config_from_args(args)
        if number is not None:
            config.tuning = {"study": self.ref.name, "trial": number}
        return config


def make_plan(args: argparse.Namespace) -> Plan:
    """Check every input and open (or create) the study; nothing runs yet."""
    if args.resume:
        raise UsageError("tune has no --resume: run the same tune command again to add trials to its study")
    for name, least in (("trials", 1), ("workers", 1), ("heartbeat", 1)):
        value = getattr(args, name)
        if value is not None and value < least:
            raise UsageError(f"--{name} must be at least {least}, not {value}")
    base = run_command.config_from_args(args)
    searched = dimensions.resolve(args, base.method)
    objective = objectives.choose(args.objective, base.space, args.proxy_epochs)
    if args.pruner == "median" and not objective.per_epoch_values:
        raise UsageError(f"--pruner median needs a value after every epoch; the {objective.name} objective has none")
    objective.check(base)
    draft = Plan(args, searched, objective, None, None, 0)
    for end in ("low", "high"):  # settings the method refuses fail now, not in a trial
        draft.trial_config({s.name: getattr(s, end) for s in searched}, None)
    _check_inputs(base)
    identity = study_identity(base, searched, objective, args.seeds)
    name = args.study or default_study_name(base, identity)
    study_dir = args.tuning_dir / name
    url = args.storage or storage.default_url(study_dir)
    ref, trials_before = storage.create_or_load(url, name, identity, args.heartbeat)
    return dataclasses.replace(draft, ref=ref, study_dir=study_dir, trials_before=trials_before)


def _check_inputs(base: RunConfig) -> None:
    """What config_from_args leaves to the run: the device and the data (fetched once, here,
    not by every worker at once), so an input every trial would trip over is one line now."""
    from nasbench_suite.data import cifar
    from nasbench_suite.devices import resolve_device

    resolve_device(base.device)
    train = cifar.load_cifar(base.dataset, Path(base.data_dir))
    cifar.search_split(train, cifar.dataset_format(base.dataset).num_classes, base.train_subset)


def study_identity(base: RunConfig, searched: list, objective, seeds: list[int] | None = None) -> dict:
    """What a study searches: the run settings that are not tuned, the ranges, the objective
    (and, with --seeds, the seeds of every trial in place of --seed).

    Paths and the device are left out, so machines with their own folders share a study.
    """
    config = dataclasses.asdict(base)
    for key in ("data_dir", "benchmark", "device", "compile", "tuning"):
        config.pop(key)
    if seeds:
        config["settings"].pop("seed")
        config["seeds"] = seeds
    for s in searched:
        config["method_config"].pop(s.dim.field)
    ranges = {s.name: [s.low, s.high, "int" if s.dim.integer else "log" if s.dim.log else "uniform"] for s in searched}
    return {**config, "searched": ranges, **objective.describe()}


def default_study_name(base: RunConfig, identity: dict) -> str:
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:6]
    return f"{base.method}-{base.space}-{digest}"


def main(args: argparse.Namespace) -> int:
    import optuna

    from nasbench_suite.tune import report, workers

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not its "study created" chatter
    plan = make_plan(args)
    report.announce(plan)
    healthy = workers.run_all(plan)
    best = report.report(plan)
    return 0 if healthy and best else 1
