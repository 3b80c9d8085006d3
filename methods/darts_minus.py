"""DARTS- (Chu et al., ICLR 2021): DARTS plus an auxiliary skip connection on every edge,
outside the softmax, whose coefficient β decays to 0 over the search. The skip's residual
benefit no longer needs skip_connect's α, so skip_connect must win on its own merit:

    edge e:  Σ_o softmax(α_e)_o · o(x) + β(epoch) · skip(x),   β(e) = β0 · (1 − e/E)

The maths and defaults are the authors' (Meituan-AutoML/DARTS- @adb81a8):
- the auxiliary op, with no α of its own, on every edge of normal and reduction cells alike:
  the identity, or on a stride-2 edge (a reduction cell's edges from its two inputs,
  src/search/model_search.py:68-71) a FactorizedReduce(C, C, affine=False) of its own;
  added as β·aux(x) beside the softmax sum: src/search/model_search.py:17-21 and 40-45.
- β linear: β0·(T_max − e)/(T_max − T_start) for T_start <= e <= T_stop (src/utils.py:181-188),
  β0 = --skip_beta = 1 with --decay linear (scripts/run_darts_minus.sh:7-8,15), T_start = 0 and
  T_stop = T_max = 50 = the epochs (src/search/args.py:28,80-82), set at the start of each epoch
  e = 0..49 (src/search/train_search.py:104-107). With the run's E epochs for their 50:
  β(e) = β0·(1 − e/E), β0 at the first epoch, β0/E at the last; never 0 during the search, and
  the skip is dropped from the derived cell.
- no extra loss; α steps with Adam lr 3e-4, betas (0.5, 0.999), wd 1e-3 (src/search/architect.py:17-18,
  src/search/args.py:36-37), the shared settings; first order unless --unrolled (args.py:38),
  here `--order` as for darts.
- the genotype: the DARTS rule (src/search/model_search.py:184-224), the space's own derive.

On nb201 (the authors have no code for it) every search edge has stride 1, so the auxiliary
skip is the identity on all six edges of every cell.
"""

import torch

from methods.base import register_method
from methods.configs import DartsMinusConfig
from methods.darts import Darts
from spaces.base import EdgeMix


@register_method
class DartsMinus(Darts):
    name = "darts_minus"
    Config = DartsMinusConfig
    aux_skip = True  # the supernet holds the skip's FactorizedReduce on stride-2 edges

    def __init__(self, spec, config: DartsMinusConfig):
        super().__init__(spec, config)
        self.beta = config.skip_beta

    def start_epoch(self, epoch, epochs):
        self.beta = self.config.skip_beta * (1 - epoch / epochs)

    def mix(self):
        return {t: EdgeMix(torch.softmax(a, dim=-1), aux_skip=self.beta) for t, a in self.alpha.items()}

    def log_state(self):
        return {"aux_skip_beta": self.beta}
