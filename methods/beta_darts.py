"""β-DARTS (Ye et al., CVPR 2022): DARTS plus the β-decay regulariser on α.

From the authors' code (Sunshine-Ye/Beta-DARTS @ f307704):

- weights: softmax(α) per edge, as DARTS (nasbench201/model.py:237-241; the weight step's
  copy of softmax(α) into α, nasbench201/train_search.py:234-250, is the same function).
- the α loss adds λ · L_β, L_β = mean over edges of logsumexp(α_e) (optimizers/darts/
  architect.py:55-59), so ∂L_β/∂α[e, o] = softmax(α_e)_o / edges: each α decays in
  proportion to its own softmax weight. With two cell types, the mean runs over the rows of
  both (their DARTS-space call passes the list of both, sota/cnn/model_search.py:147-152,
  which the released mlc_loss cannot take; one mean over every edge is what it means).
- λ = 0 + 50·epoch/100 with epochs counted from 0 (architect.py:80-85), under their 100-epoch
  default (nasbench201/train_search.py:40). The literal 100 is their run's length, so here
  λ(epoch) = start + (end − start) · epoch / epochs with start 0 and end 50 (--beta-weight-start,
  --beta-weight-end): their schedule exactly at --epochs 100, the same ramp over a shorter run.
- α: Adam 3e-4, betas (0.5, 0.999), weight decay 1e-3 besides λ · L_β (architect.py:18-20;
  nasbench201/train_search.py:52-53), first order, α step before the weight step
  (train_search.py:229-249), as here. Genotype: argmax α per edge (nasbench201/model.py:182-193).

Their NAS-Bench-201 setting (nasbench201/train_search.py:33-53): 100 epochs, batch 64, weights
SGD 0.025 cosine to 0.001, momentum 0.9, weight decay 3e-4; here the shared budget and the
nb201 weight protocol (5e-4, Nesterov) apply.
"""

import torch

from methods.base import Method, register_method
from methods.configs import BetaDartsConfig
from spaces.base import EdgeMix


@register_method
class BetaDarts(Method):
    name = "beta_darts"
    Config = BetaDartsConfig
    weights_meaning = "softmax(alpha) per edge"

    def __init__(self, spec, config: BetaDartsConfig):
        super().__init__(spec, config)
        self.beta_weight = config.beta_weight_start

    def start_epoch(self, epoch, epochs):
        c = self.config
        self.beta_weight = c.beta_weight_start + (c.beta_weight_end - c.beta_weight_start) * epoch / epochs

    def mix(self):
        return {t: EdgeMix(torch.softmax(a, dim=-1)) for t, a in self.alpha.items()}

    def regularizer(self, mix):
        beta_decay = torch.logsumexp(torch.cat(list(self.alpha.values())), dim=-1).mean()
        return self.beta_weight * beta_decay, {"beta_decay": beta_decay.detach()}

    @torch.no_grad()
    def op_weights(self):
        return {t: torch.softmax(a, dim=-1) for t, a in self.alpha.items()}

    def log_state(self):
        return {"beta_weight": self.beta_weight}
