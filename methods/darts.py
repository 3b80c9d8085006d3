"""DARTS (Liu et al., ICLR 2019): every edge is a softmax(α)-weighted sum of all operations."""

import torch

from methods.base import Method, register_method
from methods.configs import DartsConfig
from spaces.base import EdgeMix


@register_method
class Darts(Method):
    name = "darts"
    Config = DartsConfig
    weights_meaning = "softmax(alpha) per edge"

    def __init__(self, spec, config: DartsConfig):
        super().__init__(spec, config)
        self.unrolled = config.order == 2

    def mix(self):
        return {t: EdgeMix(torch.softmax(a, dim=-1)) for t, a in self.alpha.items()}

    def regularizer(self, mix):
        return torch.zeros((), device=self.alpha[self.spec.cell_types[0]].device), {}

    @torch.no_grad()
    def op_weights(self):
        return {t: torch.softmax(a, dim=-1) for t, a in self.alpha.items()}
