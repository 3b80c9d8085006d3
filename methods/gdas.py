"""GDAS (Dong & Yang, CVPR 2019): each edge runs one operation, drawn by a hard Gumbel-softmax.

From the authors' code (D-X-Y/AutoDL-Projects @ f46486e):

- every forward pass, per cell type (xautodl/models/cell_searchs/search_model_gdas.py:114-129,
  search_model_gdas_nasnet.py:164-183): g = -log(Exp(1)) noise, p = softmax((log_softmax(α) +
  g) / τ), one-hot h of argmax p with the straight-through value h = onehot - p.detach() + p,
  drawn again while g or p is not finite. Every cell of the type shares the sample
  (search_model_gdas.py:132-136); the weight step draws its own (exps/NAS-Bench-201-algos/
  GDAS.py:49-55, `network(base_inputs)`), as does the α step (GDAS.py:65-69).
- only the sampled operation runs, weighted by h. The authors' NAS-Bench-201 cell also adds
  the other operations' h (value 0) as scalars, which gives their α a gradient (search_cells.py:
  72-86; issue 119's variant without them, search_cells.py:88-100, is not their default); their
  NASNet-space cell does not (search_cells.py:180-181). `--zero-terms auto` follows that: on
  with one cell type (their NAS-Bench-201 cell), off with normal and reduce cells.
- τ = τ_max - (τ_max - τ_min)·epoch / (epochs - 1): 10 at the first epoch, 0.1 at the last
  (GDAS.py:237-239; τ_max 10, τ_min 0.1 in scripts-search/NAS-Bench-201-algos/GDAS.sh:41).
- no loss term; α: Adam 3e-4, betas (0.5, 0.999), weight decay 1e-3 (GDAS.sh:42), as here.
- genotype: argmax α per edge (search_model_gdas.py:101-112); on the darts space the suite's
  one rule over softmax(α) (theirs keeps the top two (op, input) pairs, nasnet.py:128-143).

Their NAS-Bench-201 search ran 250 epochs, batch 64 (configs/nas-benchmark/algos/GDAS.config),
weights as this suite's nb201 protocol; here the shared budget (--epochs) applies. They step
the weights before α each batch; the shared loop steps α first.
"""

import torch

from methods.base import Method, register_method
from methods.configs import GdasConfig
from spaces.base import EdgeMix


def gumbel_hard(alpha, tau):
    """(straight-through hard weights h, sampled column per row)."""
    while True:  # -log(Exp(1)) is infinite when the draw is exactly 0: draw again, as the authors do
        gumbels = -torch.empty_like(alpha).exponential_().log()
        probs = torch.softmax((alpha.log_softmax(dim=1) + gumbels) / tau, dim=1)
        if torch.isfinite(gumbels).all() and torch.isfinite(probs).all():
            break
    index = probs.argmax(dim=1, keepdim=True)
    one_hot = torch.zeros_like(probs).scatter_(1, index, 1.0)
    return one_hot - probs.detach() + probs, index


@register_method
class Gdas(Method):
    name = "gdas"
    Config = GdasConfig
    weights_meaning = "softmax(alpha) per edge: the probability that GDAS samples each operation (at any tau)"

    def __init__(self, spec, config: GdasConfig):
        super().__init__(spec, config)
        self.tau = config.gumbel_tau_max
        self.zero_terms = config.zero_terms == "on" or (config.zero_terms == "auto" and len(spec.cell_types) == 1)

    def start_epoch(self, epoch, epochs):
        c = self.config
        self.tau = c.gumbel_tau_max - (c.gumbel_tau_max - c.gumbel_tau_min) * epoch / max(1, epochs - 1)

    def mix(self):
        mixes = {}
        for t, a in self.alpha.items():
            h, index = gumbel_hard(a, self.tau)
            sampled = h.gather(1, index)
            # the unsampled ops' h: each exactly 0 in value, each with a gradient of 1
            offsets = (h.sum(dim=1) - sampled[:, 0]) if self.zero_terms else None
            mixes[t] = EdgeMix(sampled, index.tolist(), offsets=offsets)
        return mixes

    def regularizer(self, mix):
        return torch.zeros((), device=self.alpha[self.spec.cell_types[0]].device), {}

    @torch.no_grad()
    def op_weights(self):
        return {t: torch.softmax(a, dim=-1) for t, a in self.alpha.items()}

    def log_state(self):
        return {"tau": self.tau}
