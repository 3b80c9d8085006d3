"""The fast path computes the same function as the plain reference path, on the same weights."""

import pytest
import torch
import torch.nn.functional as F

from nasbench_suite import registry

TINY = {"nb201": {"init_channels": 4, "cells_per_stage": 2}, "darts": {"init_channels": 4, "layers": 5}}


def set_fast(model, fast):
    cells = [m for m in model.modules() if hasattr(m, "fast")]
    assert cells, "the supernet has no cells with a fast path"
    for m in cells:
        m.fast = fast


@pytest.mark.parametrize("space_name", sorted(TINY))
@pytest.mark.parametrize("method_name", registry.method_names())
@pytest.mark.parametrize("channels_last", [False, True])
def test_fast_and_plain_paths_agree(space_name, method_name, channels_last, float64):
    """In float64, so that summation order (the paths add terms in different orders) cannot
    hide a real difference behind tiny-batch BatchNorm rounding. The fast path runs in
    channels-last memory on the CPU, so it is checked in both layouts; the α gradient is
    taken alone too, as the search's architecture step takes it."""
    space, cls = registry.get_space(space_name), registry.get_method(method_name)
    torch.manual_seed(0)
    model = space.supernet(space.Config(**TINY[space_name]), num_classes=10, aux_skip=cls.aux_skip)
    method = cls(space.spec, cls.Config())
    method.start_epoch(0, 1)
    x, y = torch.randn(6, 3, 32, 32), torch.arange(6)
    mix = method.mix()
    results = {}
    alphas = list(method.alpha.values())
    for fast in (False, True):
        set_fast(model, fast)
        layout = torch.channels_last if fast and channels_last else torch.contiguous_format
        model.to(memory_format=layout)
        model.zero_grad()
        logits = model(x.contiguous(memory_format=layout), mix)
        loss = F.cross_entropy(logits, y)
        alpha_only = torch.autograd.grad(loss, alphas, retain_graph=True)
        grads = torch.autograd.grad(loss, [*model.parameters(), *alphas], retain_graph=True, allow_unused=True)
        weight_grads = [g for g in grads[: -len(alphas)] if g is not None]
        for a, b in zip(alpha_only, grads[-len(alphas):]):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
        results[fast] = (logits.detach(), weight_grads, alpha_only)
    (plain_out, plain_w, plain_a), (fast_out, fast_w, fast_a) = results[False], results[True]
    torch.testing.assert_close(fast_out, plain_out, rtol=1e-9, atol=1e-10)
    assert len(fast_w) == len(plain_w)
    for f, p in zip(fast_w, plain_w):
        torch.testing.assert_close(f, p, rtol=1e-7, atol=1e-9)
    for f, p in zip(fast_a, plain_a):
        torch.testing.assert_close(f, p, rtol=1e-7, atol=1e-9)


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)
