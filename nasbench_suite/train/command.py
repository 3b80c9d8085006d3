"""`nasbench-suite train`: train a genotype's network from scratch and record its test error.

The run directory's name is a function of the resolved configuration, so the same command
finds its unfinished run and continues it, and reports a finished one without touching it.
Several GPUs: `torchrun --nproc_per_node N -m nasbench_suite train ...` (--batch-size is
the total over all processes).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from nasbench_suite import compiling, records, registry

from nasbench_suite.train import genotype_arg
from nasbench_suite.errors import UsageError
from nasbench_suite.paths import data_dir as default_data_dir
from nasbench_suite.train.settings import DATASETS, IMAGENET, TrainConfig, TrainSettings, flag, read_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", help="search space of the genotype (darts)")
    parser.add_argument("--genotype", metavar="G", help="genotype text, a finished search run directory, or a published cell: darts_v1, darts_v2, pr_darts")
    parser.add_argument("--dataset", default="cifar10", choices=DATASETS, help="default cifar10")
    parser.add_argument("--data-dir", type=Path, help="CIFAR batches (default $NASBENCH_DATA or the cache); for imagenet a folder with train/ and val/ class folders (required)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default auto: cuda if present")
    parser.add_argument("--out", type=Path, default=Path("results/train"), help="where run directories go (default results/train)")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue this run (no other settings)")
    parser.add_argument("--train-subset", type=int, metavar="N", help="CIFAR: train on the first N images, class-balanced")
    parser.add_argument("--test-subset", type=int, metavar="N", help="CIFAR: test on the first N images, class-balanced")
    parser.add_argument("--workers", type=int, default=8, help="ImageNet: data loader processes per GPU (default 8)")
    parser.add_argument("--compile", default="auto", choices=compiling.MODES,
                        help="torch.compile the network's cells in this mode (default auto: reduce-overhead on CUDA, off on the CPU)")
    parser.add_argument("--test-every", type=int, default=1, metavar="N",
                        help="evaluate on the test set every N epochs and after the last (default 1); trains the same weights")
    group = parser.add_argument_group("protocol (defaults: DARTS; on ImageNet its mobile setting)")
    for f in dataclasses.fields(TrainSettings):
        cifar, imagenet = f.default, getattr(IMAGENET, f.name)
        default = f"{cifar}" if cifar == imagenet else f"{cifar} on CIFAR, {imagenet} on ImageNet"
        if f.name in ("channels_last", "bf16"):
            group.add_argument(flag(f.name), action=argparse.BooleanOptionalAction, help=f.metadata["help"])
        else:
            group.add_argument(flag(f.name), type=type(f.default), metavar=type(f.default).__name__.upper(),
                               help=f"{f.metadata['help']} (default {default})")


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    base = IMAGENET if args.dataset == "imagenet" else TrainSettings()
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainSettings) if getattr(args, f.name) is not None}
    return dataclasses.replace(base, **given)


def config_from_args(args: argparse.Namespace, world: int = 1) -> TrainConfig:
    """The resolved configuration, its settings checked (the data is checked by the Trainer)."""
    if not args.space or not args.genotype:
        raise UsageError("train needs --space and --genotype (or --resume RUN_DIR)")
    space = registry.space_info(args.space)  # torch-free: the flags are checked before torch loads
    if getattr(space, "has_benchmark", False):
        raise UsageError(f"the {space.name} space's cells are looked up in its benchmark, not trained: use `lookup`")
    if args.dataset == "imagenet":
        if not getattr(space, "evaluates_on_imagenet", False):
            raise UsageError(f"the {space.name} space has no ImageNet network")
        if args.data_dir is None:
            raise UsageError("--dataset imagenet needs --data-dir DIR (with train/ and val/ class folders; nothing is downloaded)")
        if args.train_subset or args.test_subset:
            raise UsageError("--train-subset and --test-subset apply to CIFAR only")
    genotype, source = genotype_arg.resolve(space, args.genotype)
    settings = settings_from_args(args)
    settings.validate(world)
    if args.workers < 0:
        raise UsageError(f"--workers must be non-negative, not {args.workers}")
    if args.test_every < 1:
        raise UsageError(f"--test-every must be at least 1, not {args.test_every}")
    data_dir = args.data_dir or default_data_dir()
    return TrainConfig(
        space=space.name, genotype=space.format(genotype), source=source, dataset=args.dataset,
        data_dir=str(data_dir), settings=dataclasses.asdict(settings), device=args.device,
        train_subset=args.train_subset, test_subset=args.test_subset, workers=args.workers, compile=args.compile,
        test_every=args.test_every,
    )


def _reject_settings_with_resume(args: argparse.Namespace) -> None:
    named = ["space", "genotype", "data_dir", "train_subset", "test_subset"] + [f.name for f in dataclasses.fields(TrainSettings)]
    given = [flag(n) for n in named if getattr(args, n) is not None]
    if given:
        raise UsageError(f"--resume continues a run with its own settings; drop {', '.join(given)}")


def prepare(args: argparse.Namespace, world: int = 1) -> tuple[TrainConfig, Path]:
    """This command's configuration and run directory (out/<run name>, or --resume's);
    nothing is written."""
    if args.resume:
        _reject_settings_with_resume(args)
        return dataclasses.replace(read_config(args.resume), compile=args.compile), args.resume
    config = config_from_args(args, world)
    run_dir = args.out / config.run_name()
    if (run_dir / records.CONFIG).is_file() and read_config(run_dir).identity() != config.identity():
        raise UsageError(f"{run_dir} holds a different configuration; move it away or pass --resume {run_dir}")
    return config, run_dir


def main(args: argparse.Namespace) -> int:
    # every flag checked before torch loads; the process count as torchrun sets it (ddp.start reads the same)
    config, run_dir = prepare(args, int(os.environ.get("WORLD_SIZE", "1")))
    from nasbench_suite.train import ddp, trainer

    procs = ddp.start(args.device)
    try:
        if (run_dir / records.RECORD).is_file():
            if procs.main:
                trainer.report_finished(run_dir)
            return 0
        trainer.Trainer(config, procs).fit(run_dir)
        return 0
    finally:
        ddp.stop()
