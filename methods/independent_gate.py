"""Independent gates: the ablation with one gate per operation and one plain sparsity term."""

import dataclasses

import torch

from methods.base import MethodError, register_method
from methods.gates import GateConfig, GateMethod


@dataclasses.dataclass
class IndependentGateConfig(GateConfig):
    lam: float = dataclasses.field(
        default=0.005, metadata={"flag": "--lambda", "help": "weight of the mean activation probability of kept ops"}
    )

    def validate(self, spec):
        super().validate(spec)
        if self.lam < 0:
            raise MethodError(f"--lambda must be non-negative, not {self.lam}")


@register_method
class IndependentGate(GateMethod):
    name = "independent_gate"
    Config = IndependentGateConfig

    def regularizer(self, mix):
        kept = [p[m] for p, m in self.kept_probabilities(mix).values()]
        sparsity = torch.cat(kept).mean()
        return self.config.lam * sparsity, {"sparsity": sparsity.detach()}
