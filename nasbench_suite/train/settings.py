"""What determines a training: the evaluation protocol (TrainSettings, with the ImageNet
one beside it), the resolved configuration a run directory's config.json holds
(TrainConfig), and that directory's creation. No torch here."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from nasbench_suite import records
from nasbench_suite.errors import UsageError


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
    # torch.compile of the network's cells (compiling.MODES; auto: reduce-overhead on CUDA, off
    # on the CPU). How steps run, not what they compute: not part of identity(), so not of the
    # run directory's name either.
    compile: str = "auto"
    # The test set is evaluated every test_every epochs and after the last: what is measured, not
    # what is trained (evaluation draws nothing random and changes no weight), so not part of
    # identity() either. On a CPU, 10,000 test images cost about as much as a third of an epoch.
    test_every: int = 1

    def identity(self) -> dict:
        """What makes two trainings the same training."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("compile", "test_every")}

    def run_name(self) -> str:
        """<space>-<dataset>-<cell>-s<seed>-<hash of this config>: the same settings, the same directory."""
        digest = hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:10]
        cell = self.source["name"] or self.source["run_id"] or "genotype"
        return f"{self.space}-{self.dataset}-{cell}-s{self.settings['seed']}-{digest}"


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
