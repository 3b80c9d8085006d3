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
def test_fast_and_plain_paths_agree(space_name, method_name):
    space, cls = registry.get_space(space_name), registry.get_method(method_name)
    torch.manual_seed(0)
    model = space.supernet(space.Config(**TINY[space_name]), num_classes=10)
    method = cls(space.spec, cls.Config())
    method.start_epoch(0, 1)
    x, y = torch.randn(6, 3, 32, 32), torch.arange(6)
    mix = method.mix()
    results = {}
    for fast in (False, True):
        set_fast(model, fast)
        model.zero_grad()
        for a in method.alpha.values():
            a.grad = None
        logits = model(x, mix)
        F.cross_entropy(logits, y).backward(retain_graph=True)
        grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        results[fast] = (logits.detach(), grads, [a.grad.clone() for a in method.alpha.values()])
    (plain_out, plain_w, plain_a), (fast_out, fast_w, fast_a) = results[False], results[True]
    torch.testing.assert_close(fast_out, plain_out, rtol=1e-4, atol=1e-5)
    assert len(fast_w) == len(plain_w)
    for f, p in zip(fast_w, plain_w):
        torch.testing.assert_close(f, p, rtol=1e-3, atol=1e-5)
    for f, p in zip(fast_a, plain_a):
        torch.testing.assert_close(f, p, rtol=1e-3, atol=1e-6)
