"""The gate maths shared by independent_gate and pr_darts, and each method's regulariser."""

import math

import pytest
import torch

from methods.gates import activation_probability, keep_top_k, sample_gates
from methods.independent_gate import IndependentGate, IndependentGateConfig
from methods.pr_darts import PRDarts, PRDartsConfig
from spaces.base import CellSpec, EdgeMix
from spaces.nb201 import NB201

A, B = -0.1, 1.1
# A darts-like description: 8 operations, 2 cell types, a 4-edge chain.
DARTS_LIKE = CellSpec(
    ops=("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"),
    edges=tuple((j, i) for i in range(2, 6) for j in range(i)),
    chain=(2, 5, 9, 13),  # (1,2), (2,3), (3,4), (4,5)
    cell_types=("normal", "reduce"),
)


@pytest.mark.parametrize("alpha_value, tau", [(-1.0, 1.0), (0.0, 1.0), (0.7, 0.5), (2.0, 0.1), (-0.3, 0.1)])
def test_fraction_of_open_gates_matches_the_activation_probability(alpha_value, tau):
    torch.manual_seed(0)
    alpha = torch.full((200_000,), alpha_value)
    open_fraction = (sample_gates(alpha, tau, A, B) > 0).float().mean().item()
    expected = activation_probability(torch.tensor(alpha_value), tau, A, B).item()
    # 200k Bernoulli draws: the standard error is at most 0.0012.
    assert open_fraction == pytest.approx(expected, abs=0.005)


def test_gates_are_clipped_to_zero_one_and_hit_both_ends():
    torch.manual_seed(0)
    g = sample_gates(torch.zeros(10_000), 0.5, A, B)
    assert g.min() == 0.0 and g.max() == 1.0
    assert ((g > 0) & (g < 1)).any()


def test_keep_top_k_keeps_exactly_k_distinct_operations_per_edge():
    torch.manual_seed(0)
    gates = torch.rand(14, 8)
    for k in (1, 2, 3, 8):
        kept = keep_top_k(gates, k, drop_rate=0.4)
        assert kept.shape == (14, k)
        assert all(len(set(row)) == k for row in kept.tolist())


def test_without_dropout_the_largest_gates_are_kept():
    gates = torch.tensor([[0.1, 0.9, 0.5, 0.3], [0.8, 0.0, 0.2, 0.7]])
    kept = keep_top_k(gates, 2, drop_rate=0.0)
    assert [sorted(r) for r in kept.tolist()] == [[1, 2], [0, 3]]


def test_ties_at_one_are_broken_at_random():
    torch.manual_seed(0)
    gates = torch.tensor([[1.0, 1.0, 1.0, 0.2]])
    chosen = {tuple(sorted(keep_top_k(gates, 2, 0.0)[0].tolist())) for _ in range(200)}
    assert chosen == {(0, 1), (0, 2), (1, 2)}


def test_gate_drop_rate():
    """With all gates equal but one clearly strongest, k=1 keeps it unless it was dropped."""
    torch.manual_seed(0)
    gates = torch.zeros(20_000, 5)
    gates[:, 0] = 0.9
    kept = keep_top_k(gates, 1, drop_rate=0.4)[:, 0]
    dropped_fraction = (kept != 0).float().mean().item()
    # Op 0 loses when it is dropped and at least one other op is not: 0.4 * (1 - 0.4**4).
    assert dropped_fraction == pytest.approx(0.4 * (1 - 0.4**4), abs=0.01)


def gate_method(cls, config, spec=DARTS_LIKE):
    torch.manual_seed(0)
    return cls(spec, config)


def test_straight_through_forward_is_hard_and_gradient_reaches_alpha():
    method = gate_method(PRDarts, PRDartsConfig(), NB201.spec)
    method.start_epoch(0, 10)
    mix = method.mix()["cell"]
    assert torch.allclose(mix.weights, torch.ones_like(mix.weights))
    net = NB201().supernet(NB201.Config(init_channels=4, cells_per_stage=1), 10)
    loss = torch.nn.functional.cross_entropy(net(torch.randn(4, 3, 32, 32), {"cell": mix}), torch.arange(4))
    loss.backward()
    grad = method.alpha["cell"].grad
    assert grad is not None and grad.abs().sum() > 0
    # Only kept operations receive a gradient from the loss.
    kept = torch.zeros_like(grad, dtype=torch.bool)
    for e, ops in enumerate(mix.ops):
        kept[e, ops] = True
    assert (grad[~kept] == 0).all()


def test_temperature_falls_linearly_over_the_epochs():
    method = gate_method(PRDarts, PRDartsConfig(tau_max=1.0, tau_min=0.1))
    taus = []
    for epoch in range(4):
        method.start_epoch(epoch, 4)
        taus.append(method.tau)
    assert taus == pytest.approx([1.0, 0.7, 0.4, 0.1])


def hand_mix(kept_per_type, spec=DARTS_LIKE):
    """EdgeMix per cell type with the given kept op indices (weights irrelevant to the regularisers)."""
    return {t: EdgeMix(torch.ones(spec.num_edges, len(kept[0])), kept) for t, kept in kept_per_type.items()}


def set_probabilities(method, probs_per_type):
    """Choose α so that P(g != 0) equals the given matrix (inverse of the activation probability)."""
    c = method.config
    with torch.no_grad():
        for t, p in probs_per_type.items():
            method.alpha[t].copy_(torch.logit(p) + method.tau * math.log(-c.stretch_a / c.stretch_b))


def test_independent_gate_penalises_the_mean_probability_of_kept_ops():
    method = gate_method(IndependentGate, IndependentGateConfig(lam=0.5))
    method.start_epoch(0, 1)
    probs = {t: torch.rand(14, 8) for t in DARTS_LIKE.cell_types}
    set_probabilities(method, probs)
    kept = {"normal": [[0, 4]] * 14, "reduce": [[3, 7]] * 14}
    loss, terms = method.regularizer(hand_mix(kept))
    expected = torch.cat([probs["normal"][:, [0, 4]].flatten(), probs["reduce"][:, [3, 7]].flatten()]).mean()
    assert terms["sparsity"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert loss.item() == pytest.approx(0.5 * expected.item(), rel=1e-5)


def test_pr_darts_group_penalties_above_and_below_the_threshold():
    method = gate_method(PRDarts, PRDartsConfig(threshold=0.3, lambda1=1.0, lambda2=1.0, lambda3=0.0))
    method.start_epoch(0, 1)
    probs = {t: torch.full((14, 8), 0.1) for t in DARTS_LIKE.cell_types}
    probs["normal"][:, 3] = 0.9  # skip_connect: normal 0.9, reduce 0.5 -> mean 0.7, above t
    probs["reduce"][:, 3] = 0.5
    probs["normal"][:, 4] = 0.2  # sep_conv_3x3: 0.2 in both -> below t
    probs["reduce"][:, 4] = 0.2
    set_probabilities(method, probs)
    kept = {t: [[3, 4]] * 14 for t in DARTS_LIKE.cell_types}  # one skip and one conv per edge; no pooling
    loss, terms = method.regularizer(hand_mix(kept))
    assert terms["skip"].item() == pytest.approx(0.7 - 0.3, abs=1e-5)
    assert terms["param"].item() == 0.0
    assert terms["pool"].item() == 0.0  # nothing kept in the group
    assert loss.item() == pytest.approx(0.4, abs=1e-5)


def test_none_counts_with_the_parametric_group():
    method = gate_method(PRDarts, PRDartsConfig(threshold=0.0, lambda3=0.0))
    method.start_epoch(0, 1)
    probs = {t: torch.full((14, 8), 0.25) for t in DARTS_LIKE.cell_types}
    probs["normal"][:, 0] = 0.75
    set_probabilities(method, probs)
    kept = {"normal": [[0, 1]] * 14, "reduce": [[0, 1]] * 14}  # none and max_pool
    _, terms = method.regularizer(hand_mix(kept))
    assert terms["param"].item() == pytest.approx((0.75 + 0.25) / 2, abs=1e-5)
    assert terms["pool"].item() == pytest.approx(0.25, abs=1e-5)


def test_pr_darts_path_is_the_product_along_the_chain_of_kept_conv_probabilities():
    method = gate_method(PRDarts, PRDartsConfig(lambda1=0.0, lambda2=0.0, lambda3=2.0))
    method.start_epoch(0, 1)
    probs = {t: torch.full((14, 8), 0.5) for t in DARTS_LIKE.cell_types}
    chain = DARTS_LIKE.chain
    probs["normal"][chain[0], 4], probs["normal"][chain[0], 6] = 0.8, 0.6  # mean of two kept convs: 0.7
    probs["normal"][chain[1], 5] = 0.9
    probs["normal"][chain[3], 7] = 0.4
    set_probabilities(method, probs)
    kept_normal = [[0, 3]] * 14  # none and skip only: edges off the chain, and chain[2], have no conv
    kept_normal[chain[0]] = [4, 6]
    kept_normal[chain[1]] = [5, 3]
    kept_normal[chain[3]] = [7, 0]
    kept = {"normal": kept_normal, "reduce": [[1, 3]] * 14}  # reduce: no conv on the chain -> 0
    loss, terms = method.regularizer(hand_mix(kept))
    expected = (0.7 * 0.9 * 0.4 + 0.0) / 2
    assert terms["path"].item() == pytest.approx(expected, abs=1e-5)
    assert loss.item() == pytest.approx(-2.0 * expected, abs=1e-5)


def test_lambda3_zero_removes_the_path_reward_from_the_loss():
    with_path = gate_method(PRDarts, PRDartsConfig(lambda1=0, lambda2=0, lambda3=1.0))
    without = gate_method(PRDarts, PRDartsConfig(lambda1=0, lambda2=0, lambda3=0.0))
    mix = hand_mix({t: [[4, 5]] * 14 for t in DARTS_LIKE.cell_types})
    assert with_path.regularizer(mix)[0].item() < 0
    assert without.regularizer(mix)[0].item() == 0.0


def test_regularisers_send_a_gradient_to_alpha():
    for cls, config in ((IndependentGate, IndependentGateConfig()), (PRDarts, PRDartsConfig(threshold=0.0))):
        method = gate_method(cls, config)
        method.start_epoch(0, 1)
        loss, _ = method.regularizer(method.mix())
        loss.backward()
        assert all(a.grad is not None and a.grad.abs().sum() > 0 for a in method.alpha.values())
