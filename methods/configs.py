"""Every method's own settings, free of torch.

A method module imports its Config from here, so that `run` checks every flag (its name and
its value) before torch is loaded: a typo is answered at once. CONFIGS names them; the
registry checks it against the registered methods.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from methods.base import MethodConfig, MethodError


def field(default, help):
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass
class DartsConfig(MethodConfig):
    shift_invariant: ClassVar[bool] = True  # softmax(α) per edge

    order: int = dataclasses.field(
        default=1, metadata={"help": "1: first-order α gradient; 2: the unrolled (virtual step) gradient"}
    )

    def validate(self, spec):
        super().validate(spec)
        if self.order not in (1, 2):
            raise MethodError(f"--order must be 1 or 2, not {self.order}")


@dataclasses.dataclass
class DartsMinusConfig(DartsConfig):
    skip_beta: float = dataclasses.field(
        default=1.0, metadata={"help": "β0: the auxiliary skip's coefficient at the first epoch (linear to 0 over the epochs)"}
    )

    def validate(self, spec):
        super().validate(spec)
        if self.skip_beta < 0:
            raise MethodError(f"--skip-beta must be non-negative, not {self.skip_beta}")


@dataclasses.dataclass
class GateConfig(MethodConfig):
    k: int = field(2, "operations kept per edge in each forward pass")
    gate_drop: float = field(0.4, "probability that a gate is dropped before the top-k choice (exploration)")
    tau_max: float = field(1.0, "gate temperature at the first epoch")
    tau_min: float = field(0.1, "gate temperature at the last epoch (linear in between)")
    stretch_a: float = field(-0.1, "lower end a of the stretched gate (a < 0)")
    stretch_b: float = field(1.1, "upper end b of the stretched gate (b > 1)")

    def validate(self, spec):
        super().validate(spec)
        if not 1 <= self.k <= spec.num_ops:
            raise MethodError(f"--k must be between 1 and the {spec.num_ops} operations of the space, not {self.k}")
        if not 0 <= self.gate_drop < 1:
            raise MethodError(f"--gate-drop must be in [0, 1), not {self.gate_drop}")
        if not 0 < self.tau_min <= self.tau_max:
            raise MethodError("the temperatures need 0 < --tau-min <= --tau-max")
        if not (self.stretch_a < 0 and self.stretch_b > 1):
            raise MethodError("the stretch needs --stretch-a < 0 and --stretch-b > 1")


@dataclasses.dataclass
class IndependentGateConfig(GateConfig):
    lam: float = dataclasses.field(
        default=0.005, metadata={"flag": "--lambda", "help": "weight of the mean activation probability of kept ops"}
    )

    def validate(self, spec):
        super().validate(spec)
        if self.lam < 0:
            raise MethodError(f"--lambda must be non-negative, not {self.lam}")


@dataclasses.dataclass
class PRDartsConfig(GateConfig):
    threshold: float = field(0.2, "group activation probability allowed before a group is penalised (t)")
    lambda1: float = field(0.01, "weight of the skip-connection group penalty")
    lambda2: float = field(0.005, "weight of the parametric and pooling group penalties")
    lambda3: float = field(0.005, "weight of the path-depth reward (0: group gates without path)")

    def validate(self, spec):
        super().validate(spec)
        for name in ("lambda1", "lambda2", "lambda3", "threshold"):
            if getattr(self, name) < 0:
                raise MethodError(f"--{name} must be non-negative, not {getattr(self, name)}")


@dataclasses.dataclass
class FairDartsConfig(MethodConfig):
    zero_one_weight: float = dataclasses.field(
        default=10.0, metadata={"help": "weight of the zero-one loss that pushes each sigmoid weight to 0 or 1"}
    )

    def validate(self, spec):
        super().validate(spec)
        if self.zero_one_weight < 0:
            raise MethodError(f"--zero-one-weight must be non-negative, not {self.zero_one_weight}")


@dataclasses.dataclass
class GdasConfig(MethodConfig):
    shift_invariant: ClassVar[bool] = True  # a Gumbel sample over log_softmax(α)

    gumbel_tau_max: float = field(10.0, "Gumbel-softmax temperature at the first epoch")
    gumbel_tau_min: float = field(0.1, "Gumbel-softmax temperature at the last epoch (linear in between)")
    zero_terms: str = field("auto", "add the unsampled ops' zero hard weights to each edge (their α get a gradient): "
                                    "on, off, or auto (on with one cell type, as the authors' NAS-Bench-201 cell)")

    def validate(self, spec):
        super().validate(spec)
        if not 0 < self.gumbel_tau_min <= self.gumbel_tau_max:
            raise MethodError("the temperatures need 0 < --gumbel-tau-min <= --gumbel-tau-max")
        if self.zero_terms not in ("auto", "on", "off"):
            raise MethodError(f"--zero-terms must be auto, on or off, not {self.zero_terms!r}")


@dataclasses.dataclass
class DrNASConfig(MethodConfig):
    kl_scale: float = dataclasses.field(
        default=0.0,
        metadata={"help": "weight of the KL(Dir(elu(α)+1) ‖ Dir(1)) term (the authors' reg_type kl); "
                          "0: their default l2, which is the shared --arch-weight-decay"},
    )

    def validate(self, spec):
        super().validate(spec)
        if self.kl_scale < 0:
            raise MethodError(f"--kl-scale must be non-negative, not {self.kl_scale}")


@dataclasses.dataclass
class BetaDartsConfig(MethodConfig):
    shift_invariant: ClassVar[bool] = True  # softmax(α) per edge; the β-decay term does see a shift

    beta_weight_start: float = field(0.0, "weight of the β-decay term at the first epoch")
    beta_weight_end: float = field(50.0, "weight it rises to, linearly, at --epochs (reached one epoch after the last)")

    def validate(self, spec):
        super().validate(spec)
        if self.beta_weight_start < 0 or self.beta_weight_end < 0:
            raise MethodError("--beta-weight-start and --beta-weight-end must be non-negative")


CONFIGS: dict[str, type[MethodConfig]] = {
    "darts": DartsConfig,
    "darts_minus": DartsMinusConfig,
    "independent_gate": IndependentGateConfig,
    "pr_darts": PRDartsConfig,
    "fair_darts": FairDartsConfig,
    "gdas": GdasConfig,
    "drnas": DrNASConfig,
    "beta_darts": BetaDartsConfig,
}
