"""GDAS, DrNAS and β-DARTS: one α step's maths, checked against values worked out here
from their formulas (numpy / scipy in float64), not by the methods' own helpers."""

import numpy as np
import pytest
import torch
from scipy import special

from methods.beta_darts import BetaDarts, BetaDartsConfig
from methods.drnas import DrNAS, DrNASConfig
from methods.gdas import Gdas, GdasConfig
from nasbench_suite.cli import main
from spaces.base import CellSpec
from spaces.nb201 import NB201

TWO_TYPES = CellSpec(ops=("none", "skip_connect", "conv_a", "conv_b"), edges=((0, 1), (0, 2), (1, 2)), chain=(0, 2),
                     cell_types=("normal", "reduce"))


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def make(cls, config, spec=NB201.spec, seed=0):
    torch.manual_seed(seed)
    return cls(spec, config)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# GDAS


def test_gdas_temperature_falls_linearly_from_10_to_0_1():
    method = make(Gdas, GdasConfig())
    taus = []
    for epoch in range(5):
        method.start_epoch(epoch, 5)
        taus.append(method.tau)
    assert taus == pytest.approx([10 - 9.9 * e / 4 for e in range(5)])  # the authors' tau_max - (max - min)·e/(E - 1)
    assert taus[0] == 10.0 and taus[-1] == pytest.approx(0.1)


def test_gdas_sample_and_its_straight_through_gradient(float64):
    method = make(Gdas, GdasConfig())
    with torch.no_grad():
        method.alpha["cell"].copy_(torch.randn(6, 5))
    method.start_epoch(3, 10)
    tau, alpha = method.tau, method.alpha["cell"].detach().numpy()

    torch.manual_seed(7)
    mix = method.mix()["cell"]
    torch.manual_seed(7)  # the same Exp(1) draw, seen from here
    gumbel = -np.log(torch.empty(6, 5).exponential_().numpy())
    log_p = alpha - np.log(np.exp(alpha).sum(1, keepdims=True))
    probs = softmax((log_p + gumbel) / tau)
    index = probs.argmax(1)

    assert mix.ops == [[i] for i in index]
    np.testing.assert_allclose(mix.weights.detach().numpy()[:, 0], 1.0, atol=1e-12)  # the hard one-hot
    assert torch.equal(mix.offsets.detach(), torch.zeros(6))  # the unsampled ops' h, exactly 0

    # L = Σ_e c_e·h[e, sampled] + d_e·Σ_{k unsampled} h[e, k]: the straight-through h has p's gradient.
    c, d = np.random.default_rng(0).normal(size=(2, 6))
    (mix.weights[:, 0] @ torch.tensor(c) + mix.offsets @ torch.tensor(d)).backward()
    dl_dp = np.where(np.arange(5) == index[:, None], c[:, None], d[:, None])
    dl_dz = probs * (dl_dp - (probs * dl_dp).sum(1, keepdims=True)) / tau  # through softmax(z / τ)
    expected = dl_dz - softmax(alpha) * dl_dz.sum(1, keepdims=True)  # through log_softmax(α)
    np.testing.assert_allclose(method.alpha["cell"].grad.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_gdas_runs_one_operation_per_edge_and_every_alpha_learns():
    """In the supernet the unsampled operations do not run, yet every α gets a gradient."""
    method = make(Gdas, GdasConfig())
    mix = method.mix()
    assert all(len(ops) == 1 for ops in mix["cell"].ops)
    net = NB201().supernet(NB201.Config(init_channels=4, cells_per_stage=1), 10)
    torch.nn.functional.cross_entropy(net(torch.randn(4, 3, 32, 32), mix), torch.arange(4)).backward()
    assert (method.alpha["cell"].grad != 0).all()


def test_gdas_zero_terms_follow_the_authors_cell_of_each_space():
    assert make(Gdas, GdasConfig()).mix()["cell"].offsets is not None  # their NAS-Bench-201 cell
    assert all(m.offsets is None for m in make(Gdas, GdasConfig(), TWO_TYPES).mix().values())  # their NASNet cell
    assert all(m.offsets is not None for m in make(Gdas, GdasConfig(zero_terms="on"), TWO_TYPES).mix().values())


@pytest.mark.parametrize("space_name", ["nb201", "darts"])
def test_gdas_offsets_give_the_same_gradient_on_the_fast_and_plain_paths(space_name, float64):
    """--zero-terms on, on both supernets (test_fast_path runs each space's default)."""
    from nasbench_suite import registry

    space = registry.get_space(space_name)
    size = {"nb201": {"init_channels": 4, "cells_per_stage": 1}, "darts": {"init_channels": 4, "layers": 3}}[space_name]
    method = make(Gdas, GdasConfig(zero_terms="on"), space.spec)
    mix = method.mix()
    torch.manual_seed(1)
    net, x = space.supernet(space.Config(**size), 10), torch.randn(4, 3, 32, 32)
    grads = []
    for fast in (False, True):
        for cell in (m for m in net.modules() if hasattr(m, "fast")):
            cell.fast = fast
        loss = torch.nn.functional.cross_entropy(net(x, mix), torch.arange(4))
        grads.append(torch.autograd.grad(loss, list(method.alpha.values()), retain_graph=True))
    for plain, fast in zip(*grads):
        assert (plain != 0).all()  # every α, the unsampled operations' too
        torch.testing.assert_close(fast, plain, rtol=1e-7, atol=1e-10)


# DrNAS


def test_drnas_weights_are_dirichlet_samples_with_concentration_elu_plus_one():
    """The mean over many edges of one α row: E[w] = β / Σβ, β = elu(α) + 1."""
    row = torch.tensor([-1.5, -0.2, 0.0, 0.4, 1.3])
    spec = CellSpec(ops=tuple("abcde"), edges=((0, 1),) * 100_000, chain=(0,), cell_types=("cell",))
    method = make(DrNAS, DrNASConfig(), spec)
    with torch.no_grad():
        method.alpha["cell"].copy_(row.expand(100_000, 5))
    w = method.mix()["cell"].weights.detach()
    assert torch.allclose(w.sum(1), torch.ones(100_000), atol=1e-5)
    beta = np.where(row.numpy() > 0, row.numpy() + 1, np.exp(row.numpy()))  # elu(α) + 1
    # 100k draws: standard errors below 0.0015 for these concentrations
    np.testing.assert_allclose(w.mean(0).numpy(), beta / beta.sum(), atol=0.005)


def test_drnas_pathwise_gradient_of_one_sample(float64):
    """With two operations w_0 ~ Beta(β_0, β_1), whose pathwise derivative is unique in one
    dimension: dw/dβ_i = -∂I_w(β_0, β_1)/∂β_i / density(w), I the regularised incomplete beta."""
    alpha = torch.tensor([[-0.7, 0.3], [0.5, -1.2], [0.0, 0.8], [1.1, 0.9]])
    spec = CellSpec(ops=("a", "b"), edges=((0, 1),) * 4, chain=(0,), cell_types=("cell",))
    method = make(DrNAS, DrNASConfig(), spec)
    with torch.no_grad():
        method.alpha["cell"].copy_(alpha)
    c = torch.tensor([0.5, -1.0, 2.0, 1.5])
    w = method.mix()["cell"].weights
    (w[:, 0] @ c).backward()

    a = alpha.numpy()
    beta = np.where(a > 0, a + 1, np.exp(a))
    dbeta_dalpha = np.where(a > 0, 1.0, np.exp(a))
    x, (b0, b1), eps = w[:, 0].detach().numpy(), beta.T, 1e-6
    density = x ** (b0 - 1) * (1 - x) ** (b1 - 1) / special.beta(b0, b1)
    dx_db0 = -(special.betainc(b0 + eps, b1, x) - special.betainc(b0 - eps, b1, x)) / (2 * eps) / density
    dx_db1 = -(special.betainc(b0, b1 + eps, x) - special.betainc(b0, b1 - eps, x)) / (2 * eps) / density
    expected = c.numpy()[:, None] * np.stack([dx_db0, dx_db1], 1) * dbeta_dalpha
    # torch approximates the incomplete beta's derivative (series and asymptotic forms): ~1e-4 relative
    np.testing.assert_allclose(method.alpha["cell"].grad.numpy(), expected, rtol=1e-3, atol=1e-8)


def test_drnas_default_adds_nothing_and_kl_is_the_closed_form(float64):
    method = make(DrNAS, DrNASConfig(), TWO_TYPES)
    loss, terms = method.regularizer(method.mix())
    assert loss.item() == 0.0 and terms == {}

    method = make(DrNAS, DrNASConfig(kl_scale=0.3), TWO_TYPES)
    with torch.no_grad():
        for a in method.alpha.values():
            a.copy_(torch.randn(3, 4))
    loss, terms = method.regularizer(method.mix())
    loss.backward()
    kl, grads = 0.0, {}
    for t, a in method.alpha.items():
        # KL(Dir(β) ‖ Dir(1)) = lnΓ(β0) − Σ lnΓ(β_k) − lnΓ(K) + Σ (β_k − 1)(ψ(β_k) − ψ(β0)), by autograd
        alpha = a.detach().clone().requires_grad_()
        beta = torch.where(alpha > 0, alpha + 1, torch.exp(alpha))
        b0 = beta.sum(1)
        kl_t = (torch.lgamma(b0) - torch.lgamma(beta).sum(1) - special.gammaln(4)
                + ((beta - 1) * (torch.digamma(beta) - torch.digamma(b0)[:, None])).sum(1)).sum()
        (grads[t],) = torch.autograd.grad(0.3 * kl_t, alpha)
        kl += kl_t.item()
    assert terms["kl"].item() == pytest.approx(kl, rel=1e-10)
    assert loss.item() == pytest.approx(0.3 * kl, rel=1e-10)
    for t, a in method.alpha.items():
        torch.testing.assert_close(a.grad, grads[t], rtol=1e-9, atol=1e-12)


# β-DARTS


@pytest.mark.parametrize("epochs", [100, 10])
def test_beta_darts_weight_is_the_authors_ramp_over_the_run(epochs):
    method = make(BetaDarts, BetaDartsConfig())
    for epoch in (0, 1, epochs // 3, epochs - 1):
        method.start_epoch(epoch, epochs)
        assert method.beta_weight == pytest.approx(50 * epoch / epochs)  # authors, at 100 epochs: 0 + 50·epoch/100


def test_beta_decay_term_and_its_gradient(float64):
    method = make(BetaDarts, BetaDartsConfig(), TWO_TYPES)
    with torch.no_grad():
        for a in method.alpha.values():
            a.copy_(torch.randn(3, 4))
    method.start_epoch(6, 20)  # λ = 50·6/20 = 15
    loss, terms = method.regularizer(method.mix())
    loss.backward()
    rows = np.concatenate([a.detach().numpy() for a in method.alpha.values()])
    lse = np.log(np.exp(rows).sum(1))
    assert terms["beta_decay"].item() == pytest.approx(lse.mean(), rel=1e-12)
    assert loss.item() == pytest.approx(15 * lse.mean(), rel=1e-12)
    grad = np.concatenate([a.grad.numpy() for a in method.alpha.values()])
    np.testing.assert_allclose(grad, 15 * softmax(rows) / len(rows), rtol=1e-12)  # each α decays by its own weight


def test_beta_darts_weights_are_the_darts_softmax():
    method = make(BetaDarts, BetaDartsConfig())
    torch.testing.assert_close(method.mix()["cell"].weights, torch.softmax(method.alpha["cell"], -1))


@pytest.mark.parametrize("args, says", [
    (["--method", "gdas", "--gumbel-tau-min", "0"], "0 < --gumbel-tau-min <= --gumbel-tau-max"),
    (["--method", "gdas", "--zero-terms", "yes"], "--zero-terms must be auto, on or off"),
    (["--method", "drnas", "--kl-scale", "-1"], "--kl-scale must be non-negative"),
    (["--method", "beta_darts", "--beta-weight-end", "-5"], "must be non-negative"),
])
def test_settings_that_cannot_work(args, says, tmp_path, capsys):
    assert main(["run", *args, "--space", "nb201", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
