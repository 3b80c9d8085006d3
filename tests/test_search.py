"""The bilevel loop on tiny supernets: every method, determinism, the unrolled gradient."""

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from nasbench_suite import registry
from nasbench_suite.data.cifar import load_cifar, search_split
from nasbench_suite.data.files import DATASETS
from nasbench_suite.search.loop import Searcher
from nasbench_suite.search.settings import SearchSettings
from nasbench_suite.search.unrolled import unrolled_arch_backward

TINY = {"init_channels": 4, "cells_per_stage": 1}


def make_searcher(method_name, data_dir, seed=0, epochs=2, space_name="nb201", **method_settings):
    space = registry.get_space(space_name)
    cls = registry.get_method(method_name)
    torch.manual_seed(seed)
    method = cls(space.spec, cls.Config(**method_settings))
    train = load_cifar("cifar10", data_dir)
    w, a = search_split(train, 10, subset=40)
    settings = SearchSettings(epochs=epochs, batch_size=8, seed=seed)
    return Searcher(space, space.Config(**TINY), method, settings, "cpu", w, a, DATASETS["cifar10"])


@pytest.mark.parametrize("method_name", registry.method_names())
def test_every_method_searches_and_reports_its_epoch(method_name, tiny_cifar):
    searcher = make_searcher(method_name, tiny_cifar)
    before = {t: a.detach().clone() for t, a in searcher.method.alpha.items()}
    stats = searcher.run_epoch(0)
    assert {"train_loss", "train_acc", "val_loss", "lr", "seconds"} <= set(stats)
    assert all(v == v for v in stats.values())  # no NaN
    assert any(not torch.equal(before[t], a) for t, a in searcher.method.alpha.items())  # α stepped
    weights = searcher.method.op_weights()["cell"]
    assert weights.shape == (6, 5) and (weights >= 0).all()


@pytest.mark.parametrize("method_name", registry.method_names())
def test_same_seed_same_search(method_name, tiny_cifar):
    def final_alpha(seed):
        searcher = make_searcher(method_name, tiny_cifar, seed=seed)
        for epoch in range(2):
            searcher.run_epoch(epoch)
        return searcher.method.alpha["cell"].detach()

    first, again, other = final_alpha(0), final_alpha(0), final_alpha(1)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_weight_step_leaves_alpha_alone(tiny_cifar):
    searcher = make_searcher("darts", tiny_cifar)
    batch = searcher._batch(searcher.weight_half, torch.arange(len(searcher.weight_half)), 0)
    searcher.weight_step(batch)
    assert all(a.grad is None for a in searcher.method.alpha.values())


def exact_unrolled_gradient(model, method, lr, wd, train_batch, val_batch):
    """dL_val(w'(α), α)/dα by differentiating through the virtual step (no finite difference)."""
    params = dict(model.named_parameters())
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    mix = method.mix()
    loss_train = F.cross_entropy(functional_call(model, {**params, **buffers}, (train_batch[0], mix)), train_batch[1])
    grads = torch.autograd.grad(loss_train, list(params.values()), create_graph=True)
    virtual = {n: p - lr * (g + wd * p) for (n, p), g in zip(params.items(), grads)}
    loss_val = F.cross_entropy(functional_call(model, {**virtual, **buffers}, (val_batch[0], method.mix())), val_batch[1])
    return torch.autograd.grad(loss_val, list(method.alpha.values()))


@pytest.mark.parametrize("lr", [0.0, 0.05])
def test_unrolled_gradient_matches_differentiating_through_the_virtual_step(lr, tiny_cifar):
    torch.set_default_dtype(torch.float64)
    try:
        searcher = make_searcher("darts", tiny_cifar, order=2)
        model, method = searcher.model, searcher.method
        for group in searcher.w_opt.param_groups:
            group["lr"] = lr
        train_batch = (torch.randn(8, 3, 32, 32), torch.arange(8) % 10)
        val_batch = (torch.randn(8, 3, 32, 32), torch.arange(8) % 10)
        # A small finite-difference step in float64: the formula itself is what is checked here
        # (the tiny net is too curved for DARTS' step of 0.01 to be exact).
        unrolled_arch_backward(model, method, searcher.w_opt, train_batch, val_batch, F.cross_entropy, scale=1e-7)
        ours = method.alpha["cell"].grad.clone()
        wd = searcher.w_opt.param_groups[0]["weight_decay"]
        (exact,) = exact_unrolled_gradient(model, method, lr, wd, train_batch, val_batch)
    finally:
        torch.set_default_dtype(torch.float32)
    torch.testing.assert_close(ours, exact, rtol=1e-4, atol=1e-7)
    if lr:  # the second-order term is really there
        first_order = exact_unrolled_gradient(model, method, 0.0, wd, train_batch, val_batch)[0]
        assert (ours - first_order).abs().max() > 1e-4 * first_order.abs().max()
