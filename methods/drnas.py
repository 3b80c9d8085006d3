"""DrNAS (Chen et al., ICLR 2021): operation weights are a reparameterised Dirichlet sample.

From the authors' code (xiangning-chen/DrNAS @ f2caa4d):

- every forward pass, per edge: w ~ Dirichlet(elu(α) + 1), drawn with rsample, so the
  pathwise gradient reaches α (utils.py:167-172, 186-194; 201-space/search_model.py:121-127);
  every cell of a type shares the sample, and the weight step draws its own
  (201-space/train_search.py:269). The edge is the w-weighted sum of all operations.
- regulariser, `--reg_type` (201-space/train_search.py:57-60): the default `l2` is Adam weight
  decay on α of reg_scale = 1e-3 (architect.py:17-22), exactly the α weight decay every
  method gets here (--arch-weight-decay 1e-3), so by default DrNAS adds no loss term.
  `kl` adds reg_scale · Σ_edges KL(Dir(elu(α) + 1) ‖ Dir(1)) over both cell types
  (201-space/search_model.py:57, 66-72; DARTS-space/model_search.py:200-209) with Adam weight
  decay 0: here --kl-scale > 0 (their help text says to retune the scale for KL,
  201-space/train_search.py:59-60; pass --arch-weight-decay 0 to drop the decay as they do).
- genotype: argmax softmax(α) per edge (201-space/search_model.py:104-116; the DARTS space
  ranks softmax(α) too, DARTS-space/model_search.py:251-254), the same ranking as the
  Dirichlet mean, elu + 1 being increasing.

Their NAS-Bench-201 setting (201-space/train_search.py:33-60, 153-157, 192-193): 100 epochs,
batch 64, weights SGD 0.025 cosine to 0.001, momentum 0.9, weight decay 3e-4 without Nesterov;
α Adam 3e-4, betas (0.5, 0.999), weight decay 1e-3; first order, α step before the weight
step; no partial channels (k = 1) and no progressive pruning (that is train_search_progressive.py,
a memory saver). Here the shared budget and the nb201 weight protocol (5e-4, Nesterov) apply.
"""

import torch
import torch.nn.functional as F
from torch.distributions import Dirichlet, kl_divergence

from methods.base import Method, register_method
from methods.configs import DrNASConfig
from spaces.base import EdgeMix


@register_method
class DrNAS(Method):
    name = "drnas"
    Config = DrNASConfig
    weights_meaning = "softmax(alpha) per edge (what the authors' genotype ranks; the Dirichlet mean ranks alike)"

    def dirichlet(self, t):
        # elu + 1 > 0 always: skip torch's argument check, which would wait on the device every step
        return Dirichlet(F.elu(self.alpha[t]) + 1, validate_args=False)

    def mix(self):
        return {t: EdgeMix(self.dirichlet(t).rsample()) for t in self.alpha}

    def regularizer(self, mix):
        if not self.config.kl_scale:
            return torch.zeros((), device=self.alpha[self.spec.cell_types[0]].device), {}
        flat = {t: Dirichlet(torch.ones_like(a), validate_args=False) for t, a in self.alpha.items()}  # the anchor
        kl = sum(kl_divergence(self.dirichlet(t), flat[t]).sum() for t in self.alpha)
        return self.config.kl_scale * kl, {"kl": kl.detach()}

    @torch.no_grad()
    def op_weights(self):
        return {t: torch.softmax(a, dim=-1) for t, a in self.alpha.items()}
