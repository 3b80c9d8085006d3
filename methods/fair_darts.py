"""Fair DARTS (Chu et al., ECCV 2020): each operation has its own sigmoid weight, with no
softmax making the operations of an edge compete, and a zero-one loss pushes every weight
to 0 or 1, so the derived cell and the supernet it came from differ less:

    edge e:  Σ_o σ(α_eo)·o(x)          α loss:  L_val + w·L01,   L01 = −mean_eo (σ(α_eo) − 0.5)²

The maths and defaults are the authors' (xiaomi-automl/FairDARTS @270cfc9, fairdarts/):
- sigmoid weights, summed over the operations: model_search.py:20-21 and 104-111;
- L01 = −F.mse_loss(σ(α), 0.5), one mean over the normal and reduce α together:
  separate_loss.py:14-17, architect.py:20-25 (the `l2` default; train_search.py:36);
- w = aux_loss_weight = 10, constant over the search: train_search.py:29 and the README's
  search command; first order (architect.py:20-26).
- their genotype: per node the two inputs whose best σ is largest, each with its best op,
  kept only where that σ ≥ 0.85 (utils.py:161-184; train_search.py:40-41).

How it is fitted to the suite:
- The authors' operations have no `none` (genotypes.py:8-16). Here `none` is a column of α that
  contributes nothing whatever its weight, so L01 averages over the other operations only, as
  over the authors' α. `none`'s α then moves under Adam's weight decay alone and stays near 0
  (σ ≈ 0.5), where the authors' α all start (zeros, model_search.py:125-126).
- The genotype is the space's own derive on σ(α), the one rule every method gets. nb201: each
  edge its strongest operation, `none` included, which so wins only where L01 pushed every other
  operation below σ ≈ 0.5 ("off"); the 0.85 threshold cannot apply where every edge needs an
  operation. darts: two distinct inputs per node, each with its best non-`none` op; these are the
  authors' candidates, but the threshold is not applied, because the genotype format and the
  evaluation network need two inputs per node.
- α starts at 1e-3·N(0,1), not zeros, and steps with the shared Adam (lr 3e-4, betas (0.5,
  0.999)), not the authors' (lr 3e-3, betas (0.9, 0.999): train_search.py:46-47,
  architect.py:15-16); the network weights keep the shared SGD, not the authors' lr 0.005 and
  batch 128 (train_search.py:23-24). The shared settings keep every method on equal terms.
"""

import torch

from methods.base import Method, register_method
from methods.configs import FairDartsConfig
from spaces.base import EdgeMix


@register_method
class FairDarts(Method):
    name = "fair_darts"
    Config = FairDartsConfig
    weights_meaning = "sigmoid(alpha) per operation (independent, no softmax)"

    def __init__(self, spec, config: FairDartsConfig):
        super().__init__(spec, config)
        self.real_ops = [o != "none" for o in spec.ops]  # the columns L01 averages over

    def mix(self):
        return {t: EdgeMix(torch.sigmoid(a)) for t, a in self.alpha.items()}

    def regularizer(self, mix):
        sigmoids = torch.cat([torch.sigmoid(a[:, self.real_ops]) for a in self.alpha.values()])
        zero_one = -((sigmoids - 0.5) ** 2).mean()
        return self.config.zero_one_weight * zero_one, {"zero_one": zero_one.detach()}

    @torch.no_grad()
    def op_weights(self):
        return {t: torch.sigmoid(a) for t, a in self.alpha.items()}
