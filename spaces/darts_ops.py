"""The eight operations of the DARTS CIFAR space and the blocks around them (Liu et al., 2019).

Every convolution is ReLU -> conv -> BatchNorm. `affine` is False in the search network (as
the DARTS code has it, so α alone scales an operation) and True in the evaluation network.
"""

from __future__ import annotations

import torch
from torch import nn


def batch_norm(channels: int, affine: bool) -> nn.BatchNorm2d:
    """The evaluation network's BatchNorm (affine, running statistics), or the search network's:
    no affine and always batch statistics, as NAS-Bench-201's search cells have it. Search
    networks only ever run in training mode, where the two agree; without running statistics
    the fast path may normalise once for several edges and still compute the same function."""
    return nn.BatchNorm2d(channels, affine=affine, track_running_stats=affine)


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in, c_out, kernel, stride, padding, affine=True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
            batch_norm(c_out, affine),
        )


class DilConv(nn.Sequential):
    """ReLU, depthwise (dilated) conv, pointwise conv, BatchNorm."""

    def __init__(self, c_in, c_out, kernel, stride, padding, dilation, affine=True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            batch_norm(c_out, affine),
        )


class SepConv(nn.Sequential):
    """Two undilated DilConvs in a row, the first carrying the stride (the DARTS separable conv)."""

    def __init__(self, c_in, c_out, kernel, stride, padding, affine=True):
        super().__init__(
            DilConv(c_in, c_in, kernel, stride, padding, 1, affine),
            DilConv(c_in, c_out, kernel, 1, padding, 1, affine),
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing every other pixel: two stride-2 1x1 convs, the
    second shifted by one pixel, concatenated. Needs an even c_out and even input sizes."""

    def __init__(self, c_in, c_out, affine=True):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = batch_norm(c_out, affine)

    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class Zero(nn.Module):
    """`none`: a placeholder that keeps α's column order; the cells never call it."""

    def forward(self, x):
        raise RuntimeError("the `none` operation is never computed")


def make_op(name: str, channels: int, stride: int, affine: bool) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, affine)
    if name.startswith("sep_conv_"):
        kernel = int(name[-1])
        return SepConv(channels, channels, kernel, stride, kernel // 2, affine)
    if name.startswith("dil_conv_"):
        kernel = int(name[-1])
        return DilConv(channels, channels, kernel, stride, kernel - 1, 2, affine)
    raise ValueError(f"unknown DARTS operation {name!r}")


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples with probability drop_prob, scaling the rest to keep the mean."""
    keep = 1.0 - drop_prob
    mask = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < keep
    return x * mask.to(x.dtype) / keep


class AuxiliaryHead(nn.Sequential):
    """The auxiliary classifier at 2/3 depth, on the 8x8 (CIFAR) or 7x7 (ImageNet) maps."""

    def __init__(self, channels, num_classes, pool_stride):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=pool_stride, padding=0, count_include_pad=False),
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=False),
            nn.Flatten(),
            nn.Linear(768, num_classes),
        )
