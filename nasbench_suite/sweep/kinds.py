"""What a sweep's cells are: searches (`sweep`, the flags of `run`) or evaluation trainings
(`sweep-train`, the flags of `train`). Each kind says which flags become grid axes, how a
cell's flags become a checked configuration, what of it identifies the study (paths and the
device left out, so machines with their own folders share it), and how a cell runs: afresh,
or continuing the run directory of an earlier attempt where that directory is reachable.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from nasbench_suite import flags, records, registry
from nasbench_suite.errors import UsageError
from nasbench_suite.sweep import grid

MACHINE_FIELDS = records.MACHINE_FIELDS


def _identity(config) -> dict:
    found = dataclasses.asdict(config)
    for key in MACHINE_FIELDS:
        found.pop(key, None)
    return json.loads(json.dumps(found))


def _finished(run_dir: Path) -> dict | None:
    """The record of a run directory that already finished (its worker died before telling)."""
    try:
        return json.loads((run_dir / records.RECORD).read_text())
    except (OSError, ValueError):
        return None


def _same_cell(config, run_dir: Path) -> bool:
    """Whether a reachable directory of an earlier attempt holds this very cell."""
    try:
        theirs = json.loads((run_dir / records.CONFIG).read_text())
    except (OSError, ValueError):
        return False
    return {k: v for k, v in theirs.items() if k not in MACHINE_FIELDS} == _identity(config)


class Search:
    command = "sweep"
    run_command_name = "run"
    axes = {"method": (grid.name_list, "methods"), "space": (grid.name_list, "spaces"),
            "dataset": (grid.name_list, "datasets"), "seed": (grid.int_list, "seeds")}

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from nasbench_suite.search import command as run_command

        run_command.add_arguments(parser)

    def check_flags(self, args: argparse.Namespace, cells: list[grid.Cell]) -> None:
        """A method's or space's own flag applies to the cells that have it; one that no cell
        takes is an error (as `run` refuses --lambda1 on darts)."""
        own = set()
        for cell in cells:
            a = cell.args(args)
            own |= {f.name for cls in (registry.get_method(a.method).Config, registry.get_space(a.space).Config)
                    for f in dataclasses.fields(cls)}
        foreign = sorted(set(flags.given(args)) - own)
        if foreign:
            raise UsageError(f"{', '.join(flags.FLAG_OF[n] for n in foreign)}: not a setting of any method or space in the grid")

    def config(self, args: argparse.Namespace):
        from nasbench_suite.search import command as run_command

        mine = argparse.Namespace(**vars(args))
        method, space = registry.get_method(args.method).Config, registry.get_space(args.space).Config
        own = {f.name for cls in (method, space) for f in dataclasses.fields(cls)}
        for name in flags.given(args):
            if name not in own:
                setattr(mine, flags.PREFIX + name, None)
        return run_command.config_from_args(mine)

    identity = staticmethod(_identity)

    def check_inputs(self, config) -> None:
        """The device and the data (fetched once, here, not by every worker at once)."""
        from nasbench_suite.data import cifar
        from nasbench_suite.devices import resolve_device

        resolve_device(config.device)
        train = cifar.load_cifar(config.dataset, Path(config.data_dir))
        cifar.search_split(train, cifar.dataset_format(config.dataset).num_classes, config.train_subset)

    def run(self, config, out: Path, previous: Path | None, on_start) -> tuple[dict, Path]:
        """The cell's record and run directory: an earlier attempt's directory continued from
        its checkpoint where it is reachable, else a new run under `out`."""
        from nasbench_suite.search.lifecycle import resume_run, start_run

        if previous is not None and _same_cell(config, previous):
            on_start(previous)
            record = _finished(previous)
            return (record if record else resume_run(previous)), previous
        where = []
        record = start_run(config, out, on_start=lambda run_dir: (where.append(run_dir), on_start(run_dir)))
        return record, where[0]

    def describe(self, record: dict) -> str:
        bench = record.get("benchmark") or {}
        test = bench.get("cifar10_test_acc")
        return f"run {record['run_id']}" + (f", nb201 cifar10 test {test:.2f}%" if test is not None else "")


class Train:
    command = "sweep-train"
    run_command_name = "train"
    axes = {"genotype": (grid.name_list, "genotypes (published names or search run directories)"),
            "dataset": (grid.name_list, "datasets"), "seed": (grid.int_list, "seeds")}

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from nasbench_suite.train import command as train_command

        train_command.add_arguments(parser)

    def check_flags(self, args: argparse.Namespace, cells: list[grid.Cell]) -> None:
        pass

    def config(self, args: argparse.Namespace):
        from nasbench_suite.train import command as train_command

        return train_command.config_from_args(args)

    identity = staticmethod(_identity)

    def check_inputs(self, config) -> None:
        from nasbench_suite.devices import resolve_device

        resolve_device(config.device)

    def run(self, config, out: Path, previous: Path | None, on_start) -> tuple[dict, Path]:
        """Trainings name their directory by their configuration, and continue from its
        checkpoint: an earlier attempt's directory where reachable, else out/<name>."""
        from nasbench_suite.train import ddp, trainer

        run_dir = previous if previous is not None and _same_cell(config, previous) else out / config.run_name()
        on_start(run_dir)
        record = _finished(run_dir)
        if record:
            return record, run_dir
        return trainer.Trainer(config, ddp.start(config.device)).fit(run_dir), run_dir

    def describe(self, record: dict) -> str:
        return f"run {record['run_id']}, test error {record['test_error']:.2f}%"


KINDS = {"sweep": Search(), "sweep-train": Train()}
