"""PR-DARTS (Zhou et al., NeurIPS 2020): group-structured sparse gates plus a path-depth reward.

Over the kept operations, each group's mean activation probability (averaged over cell
types) is penalised above a threshold t; skip connections hardest (λ1), so they cannot win
by converging fastest. The product of the conv activation probabilities along the cell's
deepest chain is rewarded (λ3), so deep cells, which converge slower, are not abandoned:

    L_val + λ1·R_skip + λ2·(R_param + R_pool) − λ3·P_path
"""

import torch

from methods.base import register_method
from methods.configs import PRDartsConfig
from methods.gates import GateMethod


def op_groups(ops):
    """Column masks of the skip, pooling and parametric groups (`none` counts as parametric,
    as in the authors' code) and of the conv operations the path term follows."""
    skip = torch.tensor([o == "skip_connect" for o in ops])
    pool = torch.tensor(["pool" in o for o in ops])
    param = ~(skip | pool)
    conv = param & torch.tensor([o != "none" for o in ops])
    return {"skip": skip, "pool": pool, "param": param}, conv


@register_method
class PRDarts(GateMethod):
    name = "pr_darts"
    Config = PRDartsConfig

    def __init__(self, spec, config):
        super().__init__(spec, config)
        self.groups, self.conv = op_groups(spec.ops)

    def regularizer(self, mix):
        c, kept = self.config, self.kept_probabilities(mix).values()
        terms = {g: sum(group_mean(p, m & cols.to(m.device)) for p, m in kept) / len(kept) for g, cols in self.groups.items()}
        penalties = {g: torch.relu(v - c.threshold) for g, v in terms.items()}
        path = sum(self.path_probability(p, m) for p, m in kept) / len(kept)
        loss = c.lambda1 * penalties["skip"] + c.lambda2 * (penalties["param"] + penalties["pool"]) - c.lambda3 * path
        return loss, {**{g: v.detach() for g, v in penalties.items()}, "path": path.detach()}

    def path_probability(self, probs, mask):
        """Product along the chain of each edge's mean kept-conv probability (edges with none kept skip)."""
        conv = mask[list(self.spec.chain)] & self.conv.to(mask.device)
        chain = probs[list(self.spec.chain)]
        used = conv.any(dim=1)
        if not used.any():
            return probs.new_zeros(())
        means = (chain * conv).sum(dim=1)[used] / conv.sum(dim=1)[used]
        return means.prod()


def group_mean(probs, members):
    """Mean probability of the kept members; 0 when the group kept nothing in this cell type."""
    return probs[members].mean() if members.any() else probs.new_zeros(())
