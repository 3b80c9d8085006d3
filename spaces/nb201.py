"""NAS-Bench-201 (Dong & Yang, ICLR 2020): the search supernet and the benchmark's network.

Network: stem conv, three stages of N cells (C, 2C, 4C channels) with a residual reduction
block between stages, BN-ReLU, global pooling, linear classifier. During search the cells'
BatchNorms have affine=False and always use batch statistics (track_running_stats=False).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from spaces import fused
from spaces import nb201_arch as arch
from spaces.base import EdgeMix, SpaceError, active_ops, add_offsets, register_space
from spaces.configs import NB201Config, NB201Info


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in, c_out, kernel, stride, affine, track):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track),
        )


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def make_op(name: str, channels: int, affine: bool, track: bool) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, affine, track)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, affine, track)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise SpaceError(f"unknown NAS-Bench-201 operation {name!r}")


class ResidualReduction(nn.Module):
    """The benchmark's reduction block between stages: a stride-2 basic residual block."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, affine=True, track=True)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, affine=True, track=True)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class SearchCell(nn.Module):
    """Every operation on every edge; which ones run, and with what weight, is the EdgeMix's.

    Two paths compute the same function on the same weights. The plain one runs each
    operation of each edge on its own, as the original NAS-Bench-201 code does. The fast one
    (default) works per source node: the ReLU, the pooling and the identity are computed once
    for all outgoing edges, the convolutions of one kind on every outgoing edge run as one
    wider convolution, and each edge's weight is the scale of the BatchNorm that follows.
    """

    def __init__(self, channels: int, fast: bool = True):
        super().__init__()
        self.edges = nn.ModuleList(
            nn.ModuleList(make_op(op, channels, affine=False, track=False) for op in arch.OPS) for _ in arch.EDGES
        )
        self.channels, self.fast = channels, fast
        self.cell_type = "cell"  # which EdgeMix it takes

    def forward(self, x, mix: EdgeMix):
        return self._forward_fast(x, mix) if self.fast else self._forward_plain(x, mix)

    def _forward_plain(self, x, mix):
        nodes = [x]
        for dst in range(1, arch.NUM_NODES):
            terms = []
            for e, (src, edge_dst) in enumerate(arch.EDGES):
                if edge_dst == dst:
                    terms += [mix.weights[e, k] * self.edges[e][o](nodes[src]) for k, o in active_ops(mix, e, arch.OPS)]
                    if mix.aux_skip is not None:  # DARTS-: every search edge has stride 1, so the identity
                        terms.append(mix.aux_skip * nodes[src])
            nodes.append(add_offsets(sum(terms) if terms else torch.zeros_like(x), mix, dst, arch.EDGES))
        return nodes[-1]

    def _forward_fast(self, x, mix):
        totals: list[torch.Tensor | None] = [x] + [None] * (arch.NUM_NODES - 1)
        for src in range(arch.NUM_NODES - 1):
            h = totals[src] if totals[src] is not None else torch.zeros_like(x)
            h = add_offsets(h, mix, src, arch.EDGES)  # every edge into src is in
            relu = None  # shared by every convolution leaving src
            for op, uses in _uses_by_op(mix, src).items():
                weights = [mix.weights[e, k] for e, k, _ in uses]  # views: no index tensors to build
                if op in ("skip_connect", "avg_pool_3x3"):
                    shared = h if op == "skip_connect" else fused.avg_pool_3x3(h)
                    terms = [w * shared for w in weights]
                else:
                    relu = F.relu(h) if relu is None else relu
                    terms = self._wide_conv(op, relu, uses, weights)
                for (_, _, dst), term in zip(uses, terms):
                    totals[dst] = term if totals[dst] is None else totals[dst] + term
            if mix.aux_skip is not None:  # DARTS-: the identity once, on every edge leaving src
                aux = mix.aux_skip * h
                for dst in (d for s, d in arch.EDGES if s == src):
                    totals[dst] = aux if totals[dst] is None else totals[dst] + aux
        out = totals[-1] if totals[-1] is not None else torch.zeros_like(x)
        return add_offsets(out, mix, arch.NUM_NODES - 1, arch.EDGES)

    def _wide_conv(self, op: str, relu_h, uses, weights):
        """w * BN(conv(relu(h))) for every edge in `uses`, as one convolution and one
        affine-free BatchNorm on batch statistics whose per-channel scale is each edge's w."""
        convs = [self.edges[e][arch.OPS.index(op)][1] for e, _, _ in uses]
        wide = convs[0].weight if len(convs) == 1 else torch.cat([conv.weight for conv in convs])
        y = F.conv2d(relu_h, wide, padding=convs[0].padding)
        # a contiguous scale: an expand()ed one gave NaN α gradients on channels-last CPU tensors
        scale = torch.stack(weights).repeat_interleave(self.channels)
        y = F.batch_norm(y, None, None, scale, None, True, 0.0, 1e-5)
        return y.split(self.channels, dim=1)


def _uses_by_op(mix: EdgeMix, src: int) -> dict[str, list[tuple[int, int, int]]]:
    """For edges leaving node src: op name -> [(edge, column in mix.weights, dst)]."""
    uses: dict[str, list] = {}
    for e, (edge_src, dst) in enumerate(arch.EDGES):
        if edge_src == src:
            for k, o in active_ops(mix, e, arch.OPS):
                uses.setdefault(arch.OPS[o], []).append((e, k, dst))
    return uses


class InferCell(nn.Module):
    """A cell with one fixed operation per edge, as the benchmark trained it."""

    def __init__(self, ops: tuple[str, ...], channels: int):
        super().__init__()
        self.layers = nn.ModuleList(make_op(op, channels, affine=True, track=True) for op in ops)

    def forward(self, x):
        nodes = [x]
        for dst in range(1, arch.NUM_NODES):
            nodes.append(sum(self.layers[e](nodes[src]) for e, (src, d) in enumerate(arch.EDGES) if d == dst))
        return nodes[-1]


class Network(nn.Module):
    """The benchmark's macro skeleton around `make_cell(channels)`."""

    def __init__(self, make_cell, channels: int, cells_per_stage: int, num_classes: int):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        blocks, c_prev = [], channels
        for stage in range(3):
            c = channels * 2**stage
            if stage:
                blocks.append(ResidualReduction(c_prev, c))
            blocks += [make_cell(c) for _ in range(cells_per_stage)]
            c_prev = c
        self.cells = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU())
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x, mix: dict[str, EdgeMix] | None = None):
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x, mix["cell"]) if isinstance(cell, SearchCell) else cell(x)
        x = self.lastact(x).mean((2, 3))
        return self.classifier(x)


@register_space
class NB201(NB201Info):
    # The benchmark's own training protocol for the network weights.
    weight_decay, nesterov = 5e-4, True

    def supernet(self, config: NB201Config, num_classes: int, fast: bool = True, aux_skip: bool = False) -> Network:
        """aux_skip builds nothing here: every search edge has stride 1, so its skip is the identity."""
        config.validate()
        return Network(lambda c: SearchCell(c, fast), config.init_channels, config.cells_per_stage, num_classes)

    def derive(self, scores: dict[str, torch.Tensor]) -> tuple[str, ...]:
        """Each edge keeps its strongest operation, `none` included."""
        return tuple(arch.OPS[i] for i in scores["cell"].argmax(dim=1).tolist())

    def network(self, genotype: tuple[str, ...], num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5):
        return Network(lambda c: InferCell(genotype, c), channels, cells_per_stage, num_classes)

    def params_mb(self, genotype: tuple[str, ...], num_classes: int = 10) -> float:
        """Parameters of the benchmark's network for this cell, in millions (the table's unit)."""
        return sum(p.numel() for p in self.network(genotype, num_classes).parameters()) / 1e6
