"""Fast-path replacements for operations whose own CPU kernels are slow; same function."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F


def avg_pool_3x3(x: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """avg_pool2d(x, 3, stride, padding=1, count_include_pad=False) as a depthwise convolution
    with a box kernel, divided by how many pixels each window holds (measured 2.3x faster
    forward and backward on a channels-last 64x16x32x32 batch on this suite's CPU)."""
    n, c, h, w = x.shape
    # compiled: built in the graph (a constant there), not through the eager cache
    box = _box.__wrapped__ if torch.compiler.is_compiling() else _box
    kernel, count = box(c, h, w, stride, x.device, x.dtype)
    return F.conv2d(x, kernel, stride=stride, padding=1, groups=c) / count


@functools.lru_cache(maxsize=64)
def _box(channels, h, w, stride, device, dtype):
    kernel = torch.ones(channels, 1, 3, 3, device=device, dtype=dtype)
    count = F.conv2d(torch.ones(1, 1, h, w, device=device, dtype=dtype), kernel[:1], stride=stride, padding=1)
    return kernel, count


class _DenseGrad(torch.autograd.Function):
    """Identity whose backward hands on the gradient densely, in the input's memory layout."""

    @staticmethod
    def forward(ctx, x):
        ctx.layout = _layout(x)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad.contiguous(memory_format=ctx.layout)


def dense_grad(x: torch.Tensor) -> torch.Tensor:
    """x, but its gradient arrives dense. A cell's output concatenates its nodes, so each node's
    gradient is a channel slice of a larger one; a channels-last slice made the BatchNorm
    backward of every operation into that node ~20x slower on this suite's CPU."""
    return _DenseGrad.apply(x)


def depthwise_conv(x: torch.Tensor, conv: torch.nn.Conv2d) -> torch.Tensor:
    """conv(x) for a depthwise convolution of the DARTS space (square kernel, 'same' padding),
    by the kernels measured fastest on this suite's CPU; the same function on any input.

    A conv dilated by 2 is an undilated conv over each of the four pixel phases (even or odd
    rows by even or odd columns), and with stride 2 it reads the even-even phase alone. oneDNN's
    dilated depthwise backward is slow: a quarter of the pixels undilated made the stride-2 convs
    14-18x faster, and the four phases in one batch made a darts-space search step 14% faster."""
    (kernel, _), (stride, _), (padding, _), (dilation, _) = conv.kernel_size, conv.stride, conv.padding, conv.dilation
    cpu = x.device.type == "cpu"
    if dilation == 2 and padding == 2 * (kernel // 2):
        if stride == 2:  # fewer pixels on any device
            return _depthwise(_EvenPixels.apply(x), conv.weight, 1, kernel // 2, 1, cpu)
        if cpu and x.shape[2] % 2 == 0 and x.shape[3] % 2 == 0:
            return _from_phases(_depthwise(_to_phases(x), conv.weight, 1, kernel // 2, 1, cpu), x.shape[0])
    return _depthwise(x, conv.weight, stride, padding, dilation, cpu)


def _depthwise(x, weight, stride, padding, dilation, cpu):
    """The one place that picks _Depthwise5x5: on the CPU, for an undilated 5x5 with padding 2."""
    if cpu and weight.shape[-1] == 5 and dilation == 1 and padding == 2:
        return _Depthwise5x5.apply(x, weight, stride)
    return F.conv2d(x, weight, None, stride, padding, dilation, x.shape[1])


def _to_phases(x):
    """(n, c, h, w) -> (4n, c, h/2, w/2): the four pixel phases stacked on the batch, with one copy
    in the channels-last order."""
    n, c, h, w = x.shape
    nhwc = x.permute(0, 2, 3, 1).reshape(n, h // 2, 2, w // 2, 2, c)
    return nhwc.permute(2, 4, 0, 1, 3, 5).reshape(4 * n, h // 2, w // 2, c).permute(0, 3, 1, 2)


def _from_phases(y, n):
    """The inverse of _to_phases."""
    _, c, h, w = y.shape
    phases = y.permute(0, 2, 3, 1).reshape(2, 2, n, h, w, c)
    return phases.permute(2, 3, 0, 4, 1, 5).reshape(n, 2 * h, 2 * w, c).permute(0, 3, 1, 2)


class _EvenPixels(torch.autograd.Function):
    """x[:, :, ::2, ::2], dense and in x's layout, forward and backward (a strided slice's own
    backward hands on a contiguous gradient, which slows every channels-last op behind it)."""

    @staticmethod
    def forward(ctx, x):
        ctx.shape, ctx.layout = x.shape, _layout(x)
        return x[:, :, ::2, ::2].contiguous(memory_format=ctx.layout)

    @staticmethod
    def backward(ctx, grad):
        full = torch.empty(ctx.shape, dtype=grad.dtype, device=grad.device, memory_format=ctx.layout).zero_()
        full[:, :, ::2, ::2] = grad
        return full


class _Depthwise5x5(torch.autograd.Function):
    """An undilated 5x5 depthwise conv (padding 2) whose weight gradient is taken as four 3x3
    ones: oneDNN's own 5x5 depthwise weight gradient is ~15x slower than its 3x3 one."""

    @staticmethod
    def forward(ctx, x, weight, stride):
        ctx.save_for_backward(x, weight)
        ctx.stride = stride
        return F.conv2d(x, weight, None, stride, 2, 1, x.shape[1])

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad = grad.contiguous(memory_format=_layout(x))
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = _conv_backward(grad, x, weight, ctx.stride, 2, (True, False))[0]
        if ctx.needs_input_grad[1]:
            grad_w = _weight_grad_5x5(grad, x, ctx.stride)
        return grad_x, grad_w, None


def _conv_backward(grad, x, weight, stride, padding, wanted):
    return torch.ops.aten.convolution_backward(
        grad, x, weight, None, [stride] * 2, [padding] * 2, [1, 1], False, [0, 0], x.shape[1], [*wanted, False])


def _weight_grad_5x5(grad, x, stride):
    """Each 3x3 corner of the 5x5 kernel is the weight of a valid 3x3 conv over the padded input,
    shifted by that corner's offset; the four corners overlap and together cover the kernel."""
    padded = F.pad(x, [2] * 4)
    h, w = (stride * (n - 1) + 3 for n in grad.shape[2:])
    corner = x.new_empty(x.shape[1], 1, 3, 3)
    weight_grad = x.new_empty(x.shape[1], 1, 5, 5)
    for top in (0, 2):
        for left in (0, 2):
            window = padded[:, :, top:top + h, left:left + w]
            weight_grad[:, :, top:top + 3, left:left + 3] = _conv_backward(grad, window, corner, stride, 0, (False, True))[1]
    return weight_grad


def _layout(x: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
