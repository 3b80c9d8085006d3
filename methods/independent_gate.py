"""Independent gates: the ablation with one gate per operation and one plain sparsity term."""

import torch

from methods.base import register_method
from methods.configs import IndependentGateConfig
from methods.gates import GateMethod


@register_method
class IndependentGate(GateMethod):
    name = "independent_gate"
    Config = IndependentGateConfig

    def regularizer(self, mix):
        kept = [p[m] for p, m in self.kept_probabilities(mix).values()]
        sparsity = torch.cat(kept).mean()
        return self.config.lam * sparsity, {"sparsity": sparsity.detach()}
