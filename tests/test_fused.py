"""The fast path's own kernels compute what torch's do, values and gradients, in float64."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spaces import fused

# (kernel, stride, dilation) of every depthwise conv of the DARTS space
DEPTHWISE = [(k, s, d) for k in (3, 5) for s in (1, 2) for d in (1, 2)]
LAYOUTS = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}


def gradients(out, inputs, seed=1):
    torch.manual_seed(seed)  # randn, not randn_like: the same values at the same indices in any layout
    return torch.autograd.grad(out, inputs, torch.randn(out.shape, dtype=out.dtype))


@pytest.mark.parametrize("kernel,stride,dilation", DEPTHWISE)
@pytest.mark.parametrize("size", [8, 7], ids=["even", "odd"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_depthwise_conv_matches_torch(kernel, stride, dilation, size, layout):
    torch.manual_seed(0)
    conv = nn.Conv2d(5, 5, kernel, stride, dilation * (kernel // 2), dilation, groups=5, bias=False).double()
    x = torch.randn(3, 5, size, size, dtype=torch.float64).contiguous(memory_format=LAYOUTS[layout]).requires_grad_()
    ours, theirs = fused.depthwise_conv(x, conv), conv(x)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    for mine, ref in zip(gradients(ours, [x, conv.weight]), gradients(theirs, [x, conv.weight])):
        torch.testing.assert_close(mine, ref, rtol=1e-10, atol=1e-12)
    # the architecture step asks for the input's gradient alone
    torch.testing.assert_close(gradients(fused.depthwise_conv(x, conv), [x])[0], gradients(conv(x), [x])[0])


def test_gradients_leave_the_depthwise_conv_in_the_input_layout():
    """A gradient in another layout than its tensor slows every channels-last kernel behind it."""
    conv = nn.Conv2d(4, 4, 5, 2, 4, 2, groups=4, bias=False)
    x = torch.randn(2, 4, 8, 8).contiguous(memory_format=torch.channels_last).requires_grad_()
    (grad,) = gradients(fused.depthwise_conv(x, conv), [x])
    assert grad.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [8, 7], ids=["even", "odd"])
def test_avg_pool_matches_torch(stride, size):
    x = torch.randn(2, 3, size, size, dtype=torch.float64, requires_grad=True)
    ours = fused.avg_pool_3x3(x, stride)
    theirs = F.avg_pool2d(x, 3, stride, padding=1, count_include_pad=False)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(gradients(ours, [x])[0], gradients(theirs, [x])[0])


def test_dense_grad_is_the_identity_with_a_dense_gradient():
    """A node's gradient is a channel slice of its cell's output gradient: not channels-last."""
    x = torch.randn(2, 6, 4, 4).contiguous(memory_format=torch.channels_last).requires_grad_()
    other = torch.randn(2, 6, 4, 4).contiguous(memory_format=torch.channels_last)
    expected = torch.zeros(2, 6, 4, 4)
    expected[:, 3:] = 1
    for node, dense in ((x, False), (fused.dense_grad(x), True)):
        assert torch.equal(node, x)
        (grad,) = torch.autograd.grad(torch.cat([node, other], dim=1)[:, 3:9], [x], torch.ones(2, 6, 4, 4))
        torch.testing.assert_close(grad, expected)
        assert grad.is_contiguous(memory_format=torch.channels_last) == dense
