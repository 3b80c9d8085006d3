"""DARTS (Liu et al., ICLR 2019): every edge is a softmax(α)-weighted sum of all operations."""

import dataclasses

import torch

from methods.base import Method, MethodConfig, MethodError, register_method
from spaces.base import EdgeMix


@dataclasses.dataclass
class DartsConfig(MethodConfig):
    order: int = dataclasses.field(
        default=1, metadata={"help": "1: first-order α gradient; 2: the unrolled (virtual step) gradient"}
    )

    def validate(self, spec):
        super().validate(spec)
        if self.order not in (1, 2):
            raise MethodError(f"--order must be 1 or 2, not {self.order}")


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
