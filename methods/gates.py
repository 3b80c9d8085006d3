"""Stochastic binary gates shared by independent_gate and pr_darts.

Each operation has its own hard-concrete gate (Louizos et al., 2018): a Bernoulli variable
relaxed by a temperature τ, stretched to (a, b) and clipped to [0, 1]. On each edge the k
operations with the largest gates are kept and weighted by the straight-through value
h = 1 - g.detach() + g: the forward pass sees a hard 1, the gradient flows through g.
"""

import math

import torch

from methods.base import Method
from methods.configs import GateConfig
from spaces.base import EdgeMix


def activation_probability(alpha, tau, a, b):
    """P(g != 0) of the stretched, clipped gate."""
    return torch.sigmoid(alpha - tau * math.log(-a / b))


def sample_gates(alpha, tau, a, b):
    u = torch.rand_like(alpha).clamp_(1e-6, 1 - 1e-6)
    s = torch.sigmoid((alpha + torch.log(u) - torch.log1p(-u)) / tau)
    return (s * (b - a) + a).clamp(0.0, 1.0)


def keep_top_k(gates, k, drop_rate):
    """Indices (edges x k) of the kept operations.

    A dropped gate ranks below every kept-eligible one; ties (gates clipped to 1 or 0) are
    broken at random by sorting a random permutation stably.
    """
    score = gates.detach() - 2.0 * (torch.rand_like(gates) < drop_rate)
    shuffle = torch.rand_like(score).argsort(dim=1)
    order = score.gather(1, shuffle).argsort(dim=1, descending=True, stable=True)
    return shuffle.gather(1, order[:, :k])


def kept_mask(mix: EdgeMix, num_ops: int):
    mask = torch.zeros(len(mix.ops), num_ops, dtype=torch.bool, device=mix.weights.device)
    for e, ops in enumerate(mix.ops):
        mask[e, ops] = True
    return mask


class GateMethod(Method):
    """α are gate logits; the subclass says only what its regularizer is."""

    Config = GateConfig
    weights_meaning = "activation probability P(g != 0) = sigmoid(alpha - tau*log(-a/b)) at the current tau"

    def __init__(self, spec, config: GateConfig):
        super().__init__(spec, config)
        self.tau = config.tau_max

    def start_epoch(self, epoch, epochs):
        c = self.config
        self.tau = c.tau_max - (c.tau_max - c.tau_min) * epoch / max(1, epochs - 1)

    def probabilities(self):
        """P(g != 0) per cell type, with gradient."""
        c = self.config
        return {t: activation_probability(a, self.tau, c.stretch_a, c.stretch_b) for t, a in self.alpha.items()}

    def mix(self):
        c, mixes = self.config, {}
        for t, a in self.alpha.items():
            g = sample_gates(a, self.tau, c.stretch_a, c.stretch_b)
            kept = keep_top_k(g, c.k, c.gate_drop)
            straight_through = 1.0 - g.detach() + g
            mixes[t] = EdgeMix(straight_through.gather(1, kept), kept.tolist())
        return mixes

    def kept_probabilities(self, mix):
        """{cell_type: (P(g != 0), kept mask)} for the operations this forward pass ran."""
        probs = self.probabilities()
        return {t: (probs[t], kept_mask(mix[t], self.spec.num_ops)) for t in self.spec.cell_types}

    @torch.no_grad()
    def op_weights(self):
        return self.probabilities()

    def log_state(self):
        c = self.config
        return {"tau": self.tau, "stretch_a": c.stretch_a, "stretch_b": c.stretch_b, "activation_probability": self.op_weights()}
