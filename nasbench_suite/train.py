"""`nasbench-suite train`: train a genotype's network from scratch and record its test error.

The run directory's name is a function of the resolved configuration, so the same command
finds its unfinished run and continues it, and reports a finished one without touching it.
Several GPUs: `torchrun --nproc_per_node N -m nasbench_suite train ...` (--batch-size is
the total over all processes).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from pathlib import Path

from nasbench_suite import genotype_arg, records, registry
from nasbench_suite.errors import UsageError
from nasbench_suite.paths import data_dir as default_data_dir


def _field(default, help):
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass
class TrainSettings:
    """The evaluation protocol. Defaults: DARTS on CIFAR; IMAGENET below for ImageNet."""

    epochs: int = _field(600, "training epochs")
    batch_size: int = _field(96, "images per step, over all processes")
    lr: float = _field(0.025, "SGD learning rate, cosine-annealed to 0")
    momentum: float = _field(0.9, "SGD momentum")
    weight_decay: float = _field(3e-4, "weight decay")
    grad_clip: float = _field(5.0, "gradient norm clipping")
    init_channels: int = _field(36, "channels of the first cells (C)")
    layers: int = _field(20, "cells")
    auxiliary_weight: float = _field(0.4, "weight of the auxiliary head's loss (0: no head)")
    drop_path: float = _field(0.2, "drop-path probability, rising linearly from 0 over the epochs")
    cutout: int = _field(16, "side of the cutout square (CIFAR; 0: none)")
    label_smoothing: float = _field(0.0, "label smoothing of the loss")
    seed: int = _field(0, "seed of the weights, data order, augmentation and drop-path")
    # Measured with nasbench-suite bench: channels-last trains 1.4x faster on a 2-core CPU; on an
    # H200 the network at batch 96 is bound by kernel launches, and bf16 with channels-last gave
    # 558 images/s against 576 without, so neither is on there by default.
    channels_last: bool | None = _field(None, "channels-last memory format (default: on the CPU only)")
    bf16: bool = _field(False, "bfloat16 autocast (default off)")

    def validate(self, world: int = 1) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not (value >= 0 and value < float("inf")):
                raise UsageError(f"{flag(f.name)} must be a non-negative number, not {value}")
        for name in ("epochs", "batch_size", "init_channels", "layers"):
            if getattr(self, name) < 1:
                raise UsageError(f"{flag(name)} must be at least 1, not {getattr(self, name)}")
        if not (self.drop_path < 1 and self.label_smoothing < 1):
            raise UsageError("--drop-path and --label-smoothing must be below 1")
        if self.batch_size % world:
            raise UsageError(f"--batch-size {self.batch_size} does not split evenly over {world} processes")


# The DARTS ImageNet (mobile setting) protocol; the learning rate is cosine-annealed here
# (DARTS decays it by 0.97 per epoch).
IMAGENET = TrainSettings(
    epochs=250, batch_size=128, lr=0.1, weight_decay=3e-5, init_channels=48, layers=14, drop_path=0.0, cutout=0,
    label_smoothing=0.1,
)
DATASETS = ("cifar10", "cifar100", "imagenet")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


@dataclasses.dataclass
class TrainConfig:
    """Everything that determines a training; config.json holds exactly this."""

    space: str
    genotype: str  # the genotype's text, as the space writes it
    source: dict  # {"run_id": search run or None, "name": published cell or None}
    dataset: str
    data_dir: str
    settings: dict
    device: str = "auto"
    train_subset: int | None = None
    test_subset: int | None = None
    workers: int = 8  # ImageNet loader processes

    def run_name(self) -> str:
        """<space>-<dataset>-<cell>-s<seed>-<hash of this config>: the same settings, the same directory."""
        digest = hashlib.sha256(json.dumps(dataclasses.asdict(self), sort_keys=True).encode()).hexdigest()[:10]
        cell = self.source["name"] or self.source["run_id"] or "genotype"
        return f"{self.space}-{self.dataset}-{cell}-s{self.settings['seed']}-{digest}"


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
    space = registry.get_space(args.space)
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
    data_dir = args.data_dir or default_data_dir()
    return TrainConfig(
        space=space.name, genotype=space.format(genotype), source=source, dataset=args.dataset,
        data_dir=str(data_dir), settings=dataclasses.asdict(settings), device=args.device,
        train_subset=args.train_subset, test_subset=args.test_subset, workers=args.workers,
    )


def _reject_settings_with_resume(args: argparse.Namespace) -> None:
    named = ["space", "genotype", "data_dir", "train_subset", "test_subset"] + [f.name for f in dataclasses.fields(TrainSettings)]
    given = [flag(n) for n in named if getattr(args, n) is not None]
    if given:
        raise UsageError(f"--resume continues a run with its own settings; drop {', '.join(given)}")


def read_config(run_dir: Path) -> TrainConfig:
    try:
        return TrainConfig(**json.loads((run_dir / records.CONFIG).read_text()))
    except (OSError, ValueError, TypeError) as err:
        raise UsageError(f"{run_dir} is not a training run: cannot read its {records.CONFIG} ({err})")


def create_run_dir(config: TrainConfig, run_dir: Path) -> None:
    """The run directory with its config.json, unless it already has one."""
    if (run_dir / records.CONFIG).is_file():
        return
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        records.write_json(run_dir / records.CONFIG, dataclasses.asdict(config))
    except OSError as err:
        raise UsageError(f"cannot create the run directory {run_dir}: {err.strerror or err}")


def prepare(args: argparse.Namespace, world: int = 1) -> tuple[TrainConfig, Path]:
    """This command's configuration and run directory (out/<run name>, or --resume's);
    nothing is written."""
    if args.resume:
        _reject_settings_with_resume(args)
        return read_config(args.resume), args.resume
    config = config_from_args(args, world)
    run_dir = args.out / config.run_name()
    if (run_dir / records.CONFIG).is_file() and read_config(run_dir) != config:
        raise UsageError(f"{run_dir} holds a different configuration; move it away or pass --resume {run_dir}")
    return config, run_dir


def main(args: argparse.Namespace) -> int:
    from nasbench_suite import ddp, trainer

    procs = ddp.start(args.device)
    try:
        config, run_dir = prepare(args, procs.world)
        if (run_dir / records.RECORD).is_file():
            if procs.main:
                trainer.report_finished(run_dir)
            return 0
        trainer.Trainer(config, procs).fit(run_dir)
        return 0
    finally:
        ddp.stop()
