"""The DARTS CIFAR space (Liu et al., ICLR 2019): search supernet and evaluation networks.

Macro layout, shared by every network here: a stem, then `layers` cells; the cells at 1/3
and 2/3 of the depth are reduction cells (stride 2, channels doubled). Each cell reads the
outputs of the two previous cells, brought to its width by 1x1 convs (a factorized
reduction when the previous cell halved the resolution), and outputs the concatenation of
its output nodes.

- Search: C=16, 8 cells, stem multiplier 3; every edge holds every operation, pooling is
  followed by a BatchNorm, all BatchNorms have affine=False.
- Evaluation (CIFAR): C=36, 20 cells, auxiliary head after the cell at 2/3 depth, drop-path
  on every non-identity operation during training.
- Evaluation (ImageNet, mobile setting): C=48, 14 cells, a three-conv stem (224 -> 56 and 28).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from spaces import fused
from spaces import genotypes as g
from spaces.base import EdgeMix, SpaceError, active_ops, add_offsets, register_space
from spaces.configs import DartsConfig, DartsInfo
from spaces.darts_ops import (
    AuxiliaryHead, DilConv, FactorizedReduce, ReLUConvBN, SepConv, batch_norm, drop_path, make_op,
)

STEM_MULTIPLIER = 3


@dataclasses.dataclass(frozen=True)
class CellShape:
    c_prev_prev: int
    c_prev: int
    channels: int
    reduction: bool
    reduction_prev: bool


def layout(layers: int, channels: int, c_stem: int, outputs: dict[bool, int], reduction_prev: bool = False) -> list[CellShape]:
    """Each cell's widths; outputs[reduction] is how many nodes a cell of that kind concatenates."""
    shapes, c_pp, c_p = [], c_stem, c_stem
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        channels *= 2 if reduction else 1
        shapes.append(CellShape(c_pp, c_p, channels, reduction, reduction_prev))
        c_pp, c_p, reduction_prev = c_p, outputs[reduction] * channels, reduction
    return shapes


def preprocess(shape: CellShape, affine: bool) -> tuple[nn.Module, nn.Module]:
    """1x1 convs that bring both cell inputs to the cell's width and resolution."""
    if shape.reduction_prev:
        first = FactorizedReduce(shape.c_prev_prev, shape.channels, affine)
    else:
        first = ReLUConvBN(shape.c_prev_prev, shape.channels, 1, 1, 0, affine)
    return first, ReLUConvBN(shape.c_prev, shape.channels, 1, 1, 0, affine)


class SearchCell(nn.Module):
    """Every operation on each of the 14 edges; the EdgeMix says which run and their weights.

    Two paths compute the same function on the same weights. The plain one runs each
    operation of each edge on its own, as the DARTS code does. The fast one (default) works
    per source node: the ReLU in front of every convolution, each pooling with its
    BatchNorm, and the identity are computed once for all edges leaving the node, and each
    convolution's edge weight is the scale of its last BatchNorm instead of a separate pass.
    Its depthwise convolutions run through `fused.depthwise_conv`, and each node hands its
    operations a dense gradient (`fused.dense_grad`) rather than a slice of the cell's.
    """

    def __init__(self, shape: CellShape, fast: bool = True, aux_skip: bool = False):
        super().__init__()
        self.reduction, self.fast = shape.reduction, fast
        self.cell_type = "reduce" if shape.reduction else "normal"  # which EdgeMix it takes
        self.pre0, self.pre1 = preprocess(shape, affine=False)
        self.edges = nn.ModuleList(
            nn.ModuleList(self._op(op, shape.channels, 2 if shape.reduction and src < 2 else 1) for op in g.OPS)
            for src, _ in g.EDGES
        )
        # DARTS-'s auxiliary skip, only when asked for: other methods' supernets keep their parameters
        self.aux = None
        if aux_skip:
            self.aux = nn.ModuleList(
                FactorizedReduce(shape.channels, shape.channels, affine=False) if shape.reduction and src < 2 else nn.Identity()
                for src, _ in g.EDGES
            )

    @staticmethod
    def _op(name, channels, stride):
        op = make_op(name, channels, stride, affine=False)
        return nn.Sequential(op, batch_norm(channels, affine=False)) if "pool" in name else op

    def forward(self, s0, s1, mix: EdgeMix):
        if mix.aux_skip is not None and self.aux is None:
            raise SpaceError("the mix sets aux_skip, but the supernet was built without it (aux_skip=True)")
        states = [self.pre0(s0), self.pre1(s1)]
        (self._forward_fast if self.fast else self._forward_plain)(states, mix)
        return torch.cat(states[2:], dim=1)

    def _forward_plain(self, states, mix):
        for node in g.NODES:
            terms = [
                mix.weights[e, k] * self.edges[e][o](states[src])
                for e, (src, dst) in enumerate(g.EDGES) if dst == node for k, o in active_ops(mix, e, g.OPS)
            ]
            if mix.aux_skip is not None:
                terms += [mix.aux_skip * self.aux[e](states[src]) for e, (src, dst) in enumerate(g.EDGES) if dst == node]
            states.append(add_offsets(sum(terms) if terms else self._zeros(states[1]), mix, node, g.EDGES))

    def _forward_fast(self, states, mix):
        totals = {}
        for src in range(g.NODES[-1]):
            shared = {}  # what every edge leaving src computes alike
            for e, (edge_src, dst) in enumerate(g.EDGES):
                if edge_src == src:
                    for k, o in active_ops(mix, e, g.OPS):
                        term = self._fast_term(self.edges[e][o], states[src], mix.weights[e, k], shared)
                        totals[dst] = term if dst not in totals else totals[dst] + term
                    if mix.aux_skip is not None:  # the identity is shared with skip_connect's
                        term = self._fast_term(self.aux[e], states[src], mix.aux_skip, shared)
                        totals[dst] = term if dst not in totals else totals[dst] + term
            if src + 1 in g.NODES:  # every input of node src + 1 is in
                node = totals.get(src + 1, self._zeros(states[1]))
                states.append(fused.dense_grad(add_offsets(node, mix, src + 1, g.EDGES)))

    @staticmethod
    def _fast_term(op, h, weight, shared):
        """weight * op(h), reusing what another edge leaving the same node already computed."""
        if isinstance(op, (SepConv, DilConv)):
            if "relu" not in shared:
                shared["relu"] = torch.relu(h)
            return _scaled_conv(op, shared["relu"], weight)
        if isinstance(op, FactorizedReduce):  # a stride-2 skip has weights of its own
            return weight * op(h)
        # identity, or pooling + BatchNorm: parameter-free, so alike on every edge
        kind = type(op[0] if isinstance(op, nn.Sequential) else op)
        if kind not in shared:
            shared[kind] = _fast_pool(op, h) if isinstance(op, nn.Sequential) else op(h)
        return weight * shared[kind]

    def _zeros(self, h):
        """A node whose every kept operation is `none`."""
        return torch.zeros_like(h[:, :, ::2, ::2] if self.reduction else h)


def _fast_pool(op: nn.Sequential, h):
    pool, bn = op
    if isinstance(pool, nn.AvgPool2d):
        return bn(fused.avg_pool_3x3(h, pool.stride))
    return op(h)


def _scaled_conv(op: nn.Sequential, relu_h, weight):
    """weight * op(h) for a DilConv or SepConv whose leading ReLU was already applied."""
    if isinstance(op, SepConv):
        _, depthwise, pointwise, bn = op[0]
        return _scaled_conv(op[1], torch.relu(bn(pointwise(fused.depthwise_conv(relu_h, depthwise)))), weight)
    _, depthwise, pointwise, bn = op
    y = pointwise(fused.depthwise_conv(relu_h, depthwise))
    # a contiguous scale: an expand()ed one gave NaN α gradients on channels-last CPU tensors
    return F.batch_norm(y, None, None, weight.repeat(y.shape[1]), None, True, 0.0, bn.eps)


class SearchNetwork(nn.Module):
    def __init__(self, channels: int, layers: int, num_classes: int, fast: bool = True, aux_skip: bool = False):
        super().__init__()
        c_stem = STEM_MULTIPLIER * channels
        self.stem = nn.Sequential(nn.Conv2d(3, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
        shapes = layout(layers, channels, c_stem, {False: len(g.NODES), True: len(g.NODES)})
        self.cells = nn.ModuleList(SearchCell(shape, fast, aux_skip) for shape in shapes)
        self.classifier = nn.Linear(len(g.NODES) * shapes[-1].channels, num_classes)

    def forward(self, x, mix: dict[str, EdgeMix]):
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, mix["reduce" if cell.reduction else "normal"])
        return self.classifier(s1.mean((2, 3)))


class EvalCell(nn.Module):
    """A genotype's cell: two operations per node, summed; drop-path on non-identity ops."""

    def __init__(self, genotype: g.Genotype, shape: CellShape):
        super().__init__()
        cell_type = "reduce" if shape.reduction else "normal"
        self.pre0, self.pre1 = preprocess(shape, affine=True)
        edges = genotype.edges(cell_type)
        self.inputs = [src for src, _, _ in edges]
        self.ops = nn.ModuleList(
            make_op(op, shape.channels, 2 if shape.reduction and src < 2 else 1, affine=True) for src, _, op in edges
        )
        self.concat = genotype.concat(cell_type)

    def forward(self, s0, s1, drop_prob: float | torch.Tensor = 0.0):
        states = [self.pre0(s0), self.pre1(s1)]
        for k in range(len(g.NODES)):
            node = 0
            for e in (2 * k, 2 * k + 1):
                h = self.ops[e](states[self.inputs[e]])
                # a tensor drop_prob (a compiled network's, so one graph serves every epoch) always applies
                if self.training and (torch.is_tensor(drop_prob) or drop_prob > 0) and not isinstance(self.ops[e], nn.Identity):
                    h = drop_path(h, drop_prob)
                node = node + h
            states.append(node)
        return torch.cat([states[i] for i in self.concat], dim=1)


class EvalNetwork(nn.Module):
    """The network trained from scratch. In training mode with an auxiliary head, forward
    returns (logits, auxiliary logits); otherwise the logits. Set `drop_path_prob` per epoch."""

    def __init__(self, genotype: g.Genotype, channels: int, layers: int, num_classes: int, auxiliary: bool, imagenet: bool):
        super().__init__()
        if imagenet:  # s0 at 1/4 of 224, s1 at 1/8; the first cell reduces s0 to match
            self.stem0 = nn.Sequential(
                nn.Conv2d(3, channels // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(channels // 2),
                nn.ReLU(inplace=False),
                nn.Conv2d(channels // 2, channels, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(channels),
            )
            self.stem1 = ReLUConvBN(channels, channels, 3, 2, 1)
            c_stem, reduction_prev = channels, True
        else:  # both cell inputs start as the stem's output
            c_stem, reduction_prev = STEM_MULTIPLIER * channels, False
            self.stem0 = nn.Sequential(nn.Conv2d(3, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
            self.stem1 = nn.Identity()
        outputs = {False: len(genotype.normal_concat), True: len(genotype.reduce_concat)}
        shapes = layout(layers, channels, c_stem, outputs, reduction_prev)
        self.cells = nn.ModuleList(EvalCell(genotype, shape) for shape in shapes)
        self.aux_after = 2 * layers // 3
        self.auxiliary = None
        if auxiliary:
            c_aux = outputs[shapes[self.aux_after].reduction] * shapes[self.aux_after].channels
            self.auxiliary = AuxiliaryHead(c_aux, num_classes, pool_stride=2 if imagenet else 3)
        self.classifier = nn.Linear(outputs[shapes[-1].reduction] * shapes[-1].channels, num_classes)
        self.drop_path_prob = 0.0

    def forward(self, x):
        s0 = self.stem0(x)
        s1 = self.stem1(s0)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_after and self.auxiliary is not None and self.training:
                aux = self.auxiliary(s1)
        logits = self.classifier(s1.mean((2, 3)))
        return logits if aux is None else (logits, aux)


# The evaluation networks' standard sizes (channels, cells).
CIFAR_SIZE, IMAGENET_SIZE = (36, 20), (48, 14)


@register_space
class Darts(DartsInfo):
    weight_decay, nesterov = 3e-4, False  # the DARTS protocol for the network weights

    def supernet(self, config: DartsConfig, num_classes: int, fast: bool = True, aux_skip: bool = False) -> SearchNetwork:
        """aux_skip: every edge also holds DARTS-'s auxiliary skip, the identity, or on the
        reduction cells' stride-2 edges a FactorizedReduce of its own (affine=False), as the
        authors' MixedOp has it (Meituan-AutoML/DARTS- src/search/model_search.py:17-21)."""
        config.validate()
        return SearchNetwork(config.init_channels, config.layers, num_classes, fast, aux_skip)

    def derive(self, scores: dict[str, torch.Tensor]) -> g.Genotype:
        return g.derive({t: s.detach().float().cpu().tolist() for t, s in scores.items()})

    def network(self, genotype: g.Genotype, num_classes: int = 10, channels: int | None = None, layers: int | None = None,
                auxiliary: bool = False, imagenet: bool = False) -> EvalNetwork:
        """The evaluation network; channels and layers default to the standard CIFAR (36, 20)
        or ImageNet (48, 14) sizes."""
        default_channels, default_layers = IMAGENET_SIZE if imagenet else CIFAR_SIZE
        channels, layers = channels or default_channels, layers or default_layers
        check_size(channels, layers, auxiliary)
        return EvalNetwork(genotype, channels, layers, num_classes, auxiliary, imagenet)

    def params_mb(self, genotype: g.Genotype, num_classes: int = 10, imagenet: bool = False) -> float:
        """Parameters of the standard evaluation network, without the auxiliary head, in millions."""
        return sum(p.numel() for p in self.network(genotype, num_classes, imagenet=imagenet).parameters()) / 1e6


def check_size(channels: int, layers: int, auxiliary: bool) -> None:
    if channels < 2:
        raise SpaceError(f"the evaluation network needs at least 2 channels, not {channels}")
    if layers < (2 if auxiliary else 1):
        raise SpaceError("the auxiliary head sits after the second reduction cell: it needs at least 2 layers")
