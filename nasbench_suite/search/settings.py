"""What determines a search: the shared optimisation protocol (SearchSettings) and the whole
resolved configuration a run directory's config.json holds (RunConfig). No torch here."""

from __future__ import annotations

import dataclasses
import math

from nasbench_suite.errors import UsageError


@dataclasses.dataclass
class SearchSettings:
    epochs: int = 50
    batch_size: int = 64
    seed: int = 0
    lr: float = 0.025  # network weights: cosine from lr to lr_min over the epochs
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float | None = None  # None: the space's standard protocol
    grad_clip: float = 5.0
    arch_lr: float = 3e-4
    arch_weight_decay: float = 1e-3

    def validate(self):
        if self.epochs < 1:
            raise UsageError(f"--epochs must be at least 1, not {self.epochs}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, not {self.batch_size}")
        for name in ("lr", "lr_min", "momentum", "weight_decay", "grad_clip", "arch_lr", "arch_weight_decay"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise UsageError(f"--{name.replace('_', '-')} must be a non-negative number, not {value}")



@dataclasses.dataclass
class RunConfig:
    """Everything that determines a search; config.json holds exactly this."""

    method: str
    space: str
    dataset: str = "cifar10"
    train_subset: int | None = None
    data_dir: str = ""
    benchmark: str | None = None
    device: str = "auto"
    # torch.compile of the supernet: auto (resolved on the device: compiling.resolve), off, or a
    # mode (default, reduce-overhead, max-autotune); the record says which ran. How the steps
    # run, not what they compute (float tolerance apart): like the device, it is left out of
    # what makes runs comparable and of sweep and tune identities. Off where config.json
    # predates the flag.
    compile: str = "off"
    settings: dict = dataclasses.field(default_factory=dict)
    method_config: dict = dataclasses.field(default_factory=dict)
    space_config: dict = dataclasses.field(default_factory=dict)
    tuning: dict | None = None  # {"study": name, "trial": number} when a `tune` trial ran this search
