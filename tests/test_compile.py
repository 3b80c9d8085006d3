"""The compiled search step is the eager one: `run --compile` changes how a step runs, not
what it computes (float tolerance apart), and the dense form of a sparse mix is the mix.

Backends, chosen by what this suite's 2-core CPU can compile in a test run (measured with
both cores shared with another job): a tiny nb201 supernet's cells compile in about 5 s with
torch's `aot_eager` backend and 70 s with inductor (its C++ compiler); a darts-space cell takes
about 9 s to capture with `eager` and 16 s with `aot_eager`. So the darts space runs, for one
method per kind of mix, with the `eager` backend (dynamo captures each cell's graph, with its guards, on the dense mix;
autograd runs it), every method on nb201 with `aot_eager` (the backward captured by AOT
autograd too, as inductor gets it), and inductor itself compiles pr_darts on nb201. Compiled code is
shared between tests: methods whose dense mixes look alike reuse one cell's graphs. On a GPU the
same matrix runs with inductor (skipped here: this machine has no CUDA device).
"""

import pytest
import torch

from nasbench_suite import registry
from nasbench_suite.data.cifar import Split
from nasbench_suite.data.files import DATASETS
from nasbench_suite.search.loop import Searcher
from nasbench_suite.search.settings import SearchSettings
from spaces.base import op_parameters, unkept_parameters

# The smallest supernets with every cell type: nb201 one cell per stage; darts a normal cell
# and both reduction cells.
SMALLEST = {"nb201": {"init_channels": 4, "cells_per_stage": 1}, "darts": {"init_channels": 4, "layers": 3}}
BATCH = 6
# The images these steps see: 8x8 pixels go through both reductions of either space (8 -> 4 -> 2)
# and cost a sixteenth of CIFAR's 32x32; what is compared (the same graph, the same numbers)
# does not depend on the size, and the graphs are as static at one size as at another.
SIDE = 8
# aot_eager captures what eager does and the backward too; it is worth its cost on nb201 only.
# Every method on nb201. On the darts space (about a minute a method here), one method per kind
# of mix the compiled cells see: a dense weight per operation (darts; drnas, beta_darts and
# fair_darts hand over the same form), sparse gates made dense (pr_darts; independent_gate
# alike), GDAS's hard weights with offsets, DARTS-'s skip outside the softmax. Every method's
# dense form is checked on both spaces below.
DARTS_SPACE_MIXES = ("darts", "pr_darts", "gdas", "darts_minus")
CASES = [("aot_eager", "nb201", method) for method in registry.method_names()]
CASES += [("eager", "darts", method) for method in DARTS_SPACE_MIXES]
CASES.append(("inductor", "nb201", "pr_darts"))


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def searcher(space_name, method_name, compile, backend="inductor", device="cpu"):
    """A tiny search on random images, the same from the same seed whatever `compile` is."""
    space, cls = registry.get_space(space_name), registry.get_method(method_name)
    torch.manual_seed(0)
    method = cls(space.spec, cls.Config())
    images = torch.randint(0, 256, (2 * BATCH, 3, 32, 32), dtype=torch.uint8)
    halves = [Split(images[i::2], torch.arange(BATCH) % 10) for i in (0, 1)]
    found = Searcher(space, space.Config(**SMALLEST[space_name]), method, SearchSettings(epochs=2, batch_size=BATCH),
                     device, *halves, DATASETS["cifar10"], compile=compile, backend=backend)
    method.start_epoch(0, 2)
    return found


def batches(device="cpu"):
    gen = torch.Generator().manual_seed(1)
    return [(torch.randn(BATCH, 3, SIDE, SIDE, generator=gen).to(device), (torch.arange(BATCH) % 10).to(device))
            for _ in range(2)]


def steps(s, data, epochs=(0, 0, 1)):
    """An α step and a weight step per entry of `epochs` (the method's epoch for it); returns
    each step's outputs."""
    torch.manual_seed(2)  # the method's draws (gates, Gumbel, Dirichlet) alike in both runs
    out = []
    for epoch in epochs:
        s.method.start_epoch(epoch, 2)
        train, val = data
        out.append({**s.arch_step(train, val), **s.weight_step(train)})
    return out


def assert_same_state(a, b, rtol, atol, alpha_atol=None):
    for (name, x), (_, y) in zip(a.method.alpha.items(), b.method.alpha.items()):
        torch.testing.assert_close(x, y, rtol=rtol, atol=alpha_atol or atol, msg=lambda m: f"alpha {name}: {m}")
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        torch.testing.assert_close(x, y, rtol=rtol, atol=atol, msg=lambda m: f"{name}: {m}")


def graphs() -> int:
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


@pytest.mark.parametrize("backend,space_name,method_name", CASES)
def test_compiled_search_steps_match_eager(backend, space_name, method_name, float64, one_thread):
    """Three α + weight steps (the last in a new epoch: a new τ, β or temperature), compiled
    and eager, from the same seed: the same losses, α and network weights, in float64. After
    the first step no new graph is compiled: the dense mix keeps one graph whatever the gates
    keep."""
    data = batches()
    eager = searcher(space_name, method_name, "off")
    compiled = searcher(space_name, method_name, "default", backend)
    expected = steps(eager, data, epochs=(0,))
    got = steps(compiled, data, epochs=(0,))
    before = graphs()
    for e, g in zip(expected, got):
        assert e.keys() == g.keys()
        for key in e:
            torch.testing.assert_close(g[key], e[key], rtol=1e-9, atol=1e-12, msg=lambda m: f"{key}: {m}")
    assert_same_state(compiled, eager, rtol=1e-9, atol=1e-12)
    # two more steps, the second in the next epoch, from where both are now
    expected = steps(eager, data, epochs=(0, 1))
    got = steps(compiled, data, epochs=(0, 1))
    assert graphs() == before, "a later step compiled a new graph: the compiled supernet is not static"
    for e, g in zip(expected, got):
        for key in e:
            torch.testing.assert_close(g[key], e[key], rtol=1e-9, atol=1e-12, msg=lambda m: f"{key}: {m}")
    assert_same_state(compiled, eager, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("space_name", sorted(SMALLEST))
@pytest.mark.parametrize("method_name", registry.method_names())
@pytest.mark.parametrize("fast", [True, False])
def test_the_dense_form_of_a_mix_is_the_mix(space_name, method_name, fast, float64):
    """Forward, α gradient and the network weights' gradients of the dense form equal the sparse
    form's; the weights of operations the sparse form did not run get exactly zero, and they
    are exactly what unkept_parameters names (the harness drops their gradient)."""
    space, cls = registry.get_space(space_name), registry.get_method(method_name)
    torch.manual_seed(0)
    model = space.supernet(space.Config(**SMALLEST[space_name]), 10, fast=fast, aux_skip=cls.aux_skip)
    method = cls(space.spec, cls.Config())
    method.start_epoch(0, 2)
    mix = method.mix()
    dense = {t: m.dense(space.spec.num_ops) for t, m in mix.items()}
    for t, m in mix.items():
        if m.ops is None:
            assert dense[t] is m
        else:
            assert dense[t].ops is None and dense[t].weights.shape == (space.spec.num_edges, space.spec.num_ops)
            assert dense[t].offsets is m.offsets and dense[t].aux_skip == m.aux_skip
    x, y = torch.randn(4, 3, SIDE, SIDE), torch.arange(4)
    params, alphas = list(model.parameters()), list(method.alpha.values())
    results = []
    for form in (mix, dense):
        loss = torch.nn.functional.cross_entropy(model(x, form), y)
        results.append((loss.detach(), torch.autograd.grad(loss, [*params, *alphas], allow_unused=True, retain_graph=True)))
    (sparse_loss, sparse_grads), (dense_loss, dense_grads) = results
    torch.testing.assert_close(dense_loss, sparse_loss, rtol=1e-12, atol=1e-14)
    n = len(params)
    for a, b in zip(dense_grads[n:], sparse_grads[n:]):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-14)
    unkept = {id(p) for p in unkept_parameters(op_parameters(model), mix)}
    for p, d, s in zip(params, dense_grads[:n], sparse_grads[:n]):
        if s is None:
            assert id(p) in unkept and d is not None and not d.any()
        else:
            assert id(p) not in unkept
            torch.testing.assert_close(d, s, rtol=1e-9, atol=1e-12)


def test_an_operation_kept_twice_is_weighted_twice():
    """A method-independent conversion: were an op kept twice on an edge, the sparse form sums
    both terms, and the dense form the two weights."""
    from spaces.base import EdgeMix

    weights = torch.tensor([[0.25, 0.5], [1.0, 2.0]], requires_grad=True)
    dense = EdgeMix(weights, [[1, 1], [0, 2]]).dense(3)
    torch.testing.assert_close(dense.weights, torch.tensor([[0.0, 0.75, 0.0], [1.0, 0.0, 2.0]]))
    (dense.weights * torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    torch.testing.assert_close(weights.grad, torch.tensor([[2.0, 2.0], [4.0, 6.0]]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine (scripts/device_check.sh runs it on a GPU)")
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
@pytest.mark.parametrize("space_name", sorted(SMALLEST))
@pytest.mark.parametrize("method_name", registry.method_names())
def test_compiled_search_steps_match_eager_on_cuda(space_name, method_name, mode):
    """On a GPU, with inductor, in float32 (TF32 convolutions as eager has them): the same
    losses, α and network weights as the eager steps, within float32 tolerance; no new graph
    after the first step."""
    data = batches("cuda")
    eager = searcher(space_name, method_name, "off", device="cuda")
    compiled = searcher(space_name, method_name, mode, device="cuda")
    expected, got = steps(eager, data, epochs=(0,)), steps(compiled, data, epochs=(0,))
    before = graphs()
    expected += steps(eager, data, epochs=(0, 1))
    got += steps(compiled, data, epochs=(0, 1))
    assert graphs() == before, "a later step compiled a new graph: the compiled supernet is not static"
    for e, g in zip(expected, got):
        for key in e:
            torch.testing.assert_close(g[key].float(), e[key].float(), rtol=2e-3, atol=2e-3, msg=lambda m: f"{key}: {m}")
    # α steps by Adam: a near-zero gradient's sign can differ in float32, moving α by up to 2 lr
    assert_same_state(compiled, eager, rtol=1e-3, atol=1e-3, alpha_atol=3 * 2 * 3e-4)
