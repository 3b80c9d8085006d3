"""fair_darts and darts_minus: their maths checked against values worked out here, by hand,
never by the methods' own code; and the auxiliary skip that darts_minus adds to the supernets."""

import math

import pytest
import torch

from methods.darts_minus import DartsMinus, DartsMinusConfig
from methods.fair_darts import FairDarts, FairDartsConfig
from nasbench_suite.data.cifar import load_cifar, search_split
from nasbench_suite.data.files import DATASETS
from nasbench_suite.search.loop import Searcher
from nasbench_suite.search.settings import SearchSettings
from spaces.base import EdgeMix, SpaceError
from spaces.darts import Darts as DartsSpace
from spaces.darts_ops import FactorizedReduce
from spaces.nb201 import NB201, SearchCell

NB201_EDGES = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]  # j -> i for every j < i
DARTS_EDGES = [(j, i) for i in range(2, 6) for j in range(i)]


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("space", [NB201, DartsSpace])
def test_fair_darts_sigmoid_weights_zero_one_loss_and_its_gradient(space):
    torch.manual_seed(0)
    method = FairDarts(space.spec, FairDartsConfig(zero_one_weight=7.0))
    with torch.no_grad():
        for a in method.alpha.values():
            a.copy_(2 * torch.randn_like(a))
    alpha = {t: a.detach().tolist() for t, a in method.alpha.items()}
    sig = {t: [[1 / (1 + math.exp(-v)) for v in row] for row in rows] for t, rows in alpha.items()}
    real = [o != "none" for o in space.spec.ops]
    n = sum(real) * space.spec.num_edges * len(space.spec.cell_types)
    zero_one = -sum((s - 0.5) ** 2 for rows in sig.values() for row in rows for s, r in zip(row, real) if r) / n

    mix = method.mix()
    for t in space.spec.cell_types:
        torch.testing.assert_close(mix[t].weights, torch.tensor(sig[t]), rtol=1e-6, atol=1e-7)
        assert mix[t].ops is None and mix[t].aux_skip is None  # dense, no auxiliary path
    loss, terms = method.regularizer(mix)
    assert terms["zero_one"].item() == pytest.approx(zero_one, rel=1e-5)
    assert loss.item() == pytest.approx(7.0 * zero_one, rel=1e-5)

    loss.backward()
    for t in space.spec.cell_types:
        # d/dα of -7/n (σ-0.5)²: -7/n · 2(σ-0.5) · σ(1-σ); `none` is outside the loss
        expected = [[-7.0 / n * 2 * (s - 0.5) * s * (1 - s) if r else 0.0 for s, r in zip(row, real)] for row in sig[t]]
        torch.testing.assert_close(method.alpha[t].grad, torch.tensor(expected), rtol=1e-4, atol=1e-9)


def test_fair_darts_ranks_by_sigmoid():
    method = FairDarts(NB201.spec, FairDartsConfig())
    with torch.no_grad():
        method.alpha["cell"].copy_(torch.tensor([[0.0, -3.0, 2.0, 1.0, -1.0]] * 6))
    weights = method.op_weights()["cell"]
    assert weights[0].tolist() == pytest.approx([0.5, 1 / (1 + math.e**3), 1 / (1 + math.e**-2), 1 / (1 + math.e**-1), 1 / (1 + math.e)])
    assert NB201().derive(method.op_weights()) == ("nor_conv_1x1",) * 6


@pytest.mark.parametrize("beta0, epochs, expected", [
    (1.0, 50, {0: 1.0, 1: 0.98, 25: 0.5, 49: 0.02}),  # the authors' schedule: 50 epochs, β0 = 1
    (0.5, 4, {0: 0.5, 1: 0.375, 2: 0.25, 3: 0.125}),
])
def test_darts_minus_coefficient_falls_linearly_to_zero_over_the_epochs(beta0, epochs, expected):
    torch.manual_seed(0)
    method = DartsMinus(DartsSpace.spec, DartsMinusConfig(skip_beta=beta0))
    for epoch, beta in expected.items():
        method.start_epoch(epoch, epochs)
        mix = method.mix()
        for t, a in method.alpha.items():
            assert mix[t].aux_skip == pytest.approx(beta, abs=1e-12)
            exp = torch.exp(a.detach())
            torch.testing.assert_close(mix[t].weights, exp / exp.sum(1, keepdim=True))  # softmax, unchanged
            assert mix[t].detach().aux_skip == mix[t].aux_skip  # the weight step sees it too
        assert method.log_state()["aux_skip_beta"] == pytest.approx(beta, abs=1e-12)
    assert DartsMinus.aux_skip and not FairDarts.aux_skip


def hand_nb201_cell(cell, x, weights, c):
    """The nb201 cell worked out edge by edge: every op of the edge, weighted, plus c·x."""
    nodes = [x]
    for i in range(1, 4):
        node = 0
        for e, (j, dst) in enumerate(NB201_EDGES):
            if dst == i:
                node = node + sum(weights[e, o] * cell.edges[e][o](nodes[j]) for o in range(5)) + c * nodes[j]
        nodes.append(node)
    return nodes[-1]


@pytest.mark.parametrize("fast", [False, True])
def test_nb201_aux_skip_adds_c_times_the_edge_input_on_every_edge(fast, float64):
    torch.manual_seed(0)
    cell = SearchCell(4, fast=fast)
    x, weights, c = torch.randn(3, 4, 8, 8), torch.rand(6, 5), 0.37
    torch.testing.assert_close(cell(x, EdgeMix(weights, aux_skip=c)), hand_nb201_cell(cell, x, weights, c))
    torch.testing.assert_close(cell(x, EdgeMix(weights)), hand_nb201_cell(cell, x, weights, 0.0))
    # With every weight 0 only the skips remain: node1 = c·x, node2 = c(x + node1), node3 = c(x + node1 + node2).
    torch.testing.assert_close(cell(x, EdgeMix(torch.zeros(6, 5), aux_skip=c)), c * (1 + c) ** 2 * x)


def test_nb201_supernet_with_aux_skip_against_a_hand_computed_forward(float64):
    torch.manual_seed(0)
    net = NB201().supernet(NB201.Config(init_channels=4, cells_per_stage=1), 10, aux_skip=True)
    x, weights, c = torch.randn(2, 3, 32, 32), torch.rand(6, 5), 0.6
    h = net.stem(x)
    for block in net.cells:
        h = hand_nb201_cell(block, h, weights, c) if isinstance(block, SearchCell) else block(h)
    expected = net.classifier(net.lastact(h).mean((2, 3)))
    for fast in (False, True):
        for cell in net.cells:
            cell.fast = fast
        torch.testing.assert_close(net(x, {"cell": EdgeMix(weights, aux_skip=c)}), expected)


def test_darts_aux_skip_is_a_factorized_reduce_on_stride_2_edges_only():
    net = DartsSpace().supernet(DartsSpace.Config(init_channels=4, layers=3), 10, aux_skip=True)
    for cell in net.cells:
        for e, (src, _) in enumerate(DARTS_EDGES):
            stride2 = cell.reduction and src < 2
            assert isinstance(cell.aux[e], FactorizedReduce if stride2 else torch.nn.Identity)
            if stride2:
                assert not cell.aux[e].bn.affine
    # Without aux_skip the supernet is the one every other method gets, and a mix may not ask for it.
    torch.manual_seed(0)
    plain = DartsSpace().supernet(DartsSpace.Config(init_channels=4, layers=3), 10, aux_skip=False)
    torch.manual_seed(0)
    default = DartsSpace().supernet(DartsSpace.Config(init_channels=4, layers=3), 10)
    assert all(cell.aux is None for cell in plain.cells)
    assert plain.state_dict().keys() == default.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), default.state_dict().values()))
    mix = {t: EdgeMix(torch.ones(14, 8), aux_skip=0.5) for t in ("normal", "reduce")}
    with pytest.raises(SpaceError):
        plain(torch.randn(2, 3, 32, 32), mix)


@pytest.mark.parametrize("fast", [False, True])
def test_darts_reduction_cell_with_only_the_aux_skip(fast, float64):
    """Every op weight 0: each node is c times the sum of its inputs' skips, FactorizedReduce
    on the stride-2 edges from the cell inputs."""
    torch.manual_seed(0)
    net = DartsSpace().supernet(DartsSpace.Config(init_channels=4, layers=3), 10, fast=fast, aux_skip=True)
    cell, c = net.cells[1], 0.8
    assert cell.reduction
    s0, s1 = torch.randn(2, 12, 16, 16), torch.randn(2, 16, 16, 16)
    states = [cell.pre0(s0), cell.pre1(s1)]
    for node in range(2, 6):
        states.append(sum(c * cell.aux[e](states[j]) for e, (j, i) in enumerate(DARTS_EDGES) if i == node))
    out = cell(s0, s1, EdgeMix(torch.zeros(14, 8), aux_skip=c))
    torch.testing.assert_close(out, torch.cat(states[2:], dim=1))
    assert out.shape[-1] == 8  # the reduction halved the resolution


def test_searcher_builds_trains_and_checkpoints_the_aux_skip_for_darts_minus(tiny_cifar):
    space = DartsSpace()

    def searcher():
        torch.manual_seed(0)
        method = DartsMinus(space.spec, DartsMinusConfig())
        w, a = search_split(load_cifar("cifar10", tiny_cifar), 10, subset=40)
        settings = SearchSettings(epochs=2, batch_size=8, seed=0)
        return Searcher(space, space.Config(init_channels=4, layers=3), method, settings, "cpu", w, a, DATASETS["cifar10"])

    first = searcher()
    aux = {n: p.detach().clone() for n, p in first.model.named_parameters() if ".aux." in n}
    assert aux, "darts_minus's supernet has no FactorizedReduce of the auxiliary skip"
    first.run_epoch(0)
    assert any(not torch.equal(p, aux[n]) for n, p in first.model.named_parameters() if n in aux)  # SGD trains them
    again = searcher()
    again.load_state_dict(first.state_dict())  # a resume rebuilds them from the method
    assert all(torch.equal(p, q) for p, q in zip(again.model.parameters(), first.model.parameters()))
