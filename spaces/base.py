"""What every search space provides, and the small description a method sees of it.

A space owns its operations, its search network (supernet), its genotype format and the
network built from a genotype. A method never imports a space module: it sees only a
`CellSpec` and hands the supernet one `EdgeMix` per cell type.

A space is a class registered with @register_space, instantiated without arguments:

    name: str                       the --space value
    spec: CellSpec                  what methods see
    Config: dataclass               its own run flags (--init-channels, ...), with validate()
    weight_decay, nesterov          its standard protocol for the network weights
    has_benchmark: bool             (optional) derived cells are looked up in a table
    supernet(config, num_classes, fast=True, aux_skip=False)
                                    nn.Module; forward(x, {cell_type: EdgeMix}) -> logits. Its
                                    cells have a `fast` attribute: True runs the fast path, False
                                    the plain reference path (each op of each edge on its own);
                                    both compute the same function on the same weights.
                                    Each also has `cell_type` (the EdgeMix it takes) and
                                    `edges[e][o]` (operation o of edge e), which
                                    `op_parameters` reads.
                                    aux_skip=True also builds the auxiliary skip of every edge
                                    (EdgeMix.aux_skip); only then may a mix set it
    derive({cell_type: scores})     genotype from (edges x ops) scores, larger = stronger
    parse(text) / format(genotype)  the genotype's text form; parse raises SpaceError
    describe(genotype)              {"skip_count"|"depth"|"conv_depth": {cell_type: int}}
    network(genotype, num_classes)  the network a genotype stands for (evaluation)
    params_mb(genotype, num_classes)  its parameters in millions

Kept free of torch at import time, so torch-free commands (lookup) can use the spaces'
text formats.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

if TYPE_CHECKING:
    import torch


class SpaceError(ValueError):
    """Bad input to a space (a malformed genotype, an impossible size): one line for the user."""


@dataclass(frozen=True)
class CellSpec:
    """All a method knows of a space.

    ops: operation names, in α's column order.
    edges: (src, dst) node pairs, in α's row order.
    chain: indices into `edges` along the deepest chain of the cell (the path term's edges).
    cell_types: one α per cell type, e.g. ("cell",) or ("normal", "reduce").
    """

    ops: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    chain: tuple[int, ...]
    cell_types: tuple[str, ...]

    @property
    def num_edges(self) -> int:
        return len(self.edges)

    @property
    def num_ops(self) -> int:
        return len(self.ops)


@dataclass
class EdgeMix:
    """How the edges of one cell type mix their operations in one forward pass.

    Dense (ops is None): edge e outputs sum_o weights[e, o] * op_o(x) over every operation.
    Sparse: edge e outputs sum_k weights[e, k] * op_{ops[e][k]}(x); only those ops run.
    `ops` holds plain ints so the supernet never waits on the device to learn what to run.

    aux_skip (DARTS-): every edge also adds aux_skip * skip(x), outside the weights; skip is
    the identity, or on a stride-2 edge its own FactorizedReduce. Where a method needs a path
    that no operation's weight can stand for, it is one more term here rather than a column
    of α; a supernet only holds those FactorizedReduce weights when built with aux_skip=True,
    so every other method's supernet keeps exactly the parameters (and random draws) it had.
    None: no auxiliary path (0.0 still runs it, with coefficient 0). A float, or a 0-d tensor
    (what a compiled supernet gets, so that a new β is no new graph).

    offsets (GDAS): a 0-d tensor per edge added to the edge's output, broadcast over the
    feature map. GDAS's hard weights of the operations it did not run are 0 in value; adding
    them this way (as its authors' NAS-Bench-201 cell does) gives their α a gradient, the sum
    of the node's output gradient, without running them. None: nothing added.
    """

    weights: "torch.Tensor"
    ops: list[list[int]] | None = None
    aux_skip: float | None = None
    offsets: "torch.Tensor | None" = None

    def detach(self) -> "EdgeMix":
        """The same choice with no gradient to α (for the weight step)."""
        offsets = None if self.offsets is None else self.offsets.detach()
        return replace(self, weights=self.weights.detach(), offsets=offsets)

    def dense(self, num_ops: int) -> "EdgeMix":
        """The same mix as a dense one: the weights scattered into an (edges x ops) matrix,
        0 for every operation not kept. A compiled supernet sees one graph whatever a gate
        method or GDAS keeps (the kept ops are Python data that change every step).

        Exact: an operation of weight 0 adds 0·op(x) = 0, and the matrix's zeros are constants,
        so α's gradient flows only through the kept weights, each receiving what it receives
        in the sparse form (scatter_add's backward gathers the gradient at the kept places; an
        op kept twice gets the sum of its weights, as the sparse form sums its two terms). The
        skipped operations' network weights get a zero gradient here instead of none: see
        `unkept_parameters`. offsets and aux_skip are kept as they are.
        """
        import torch

        if self.ops is None:
            return self
        index = torch.tensor(self.ops, dtype=torch.long)
        if self.weights.device.type == "cuda":  # pinned, so the copy does not wait for the GPU
            index = index.pin_memory()
        index = index.to(self.weights.device, non_blocking=True)
        matrix = self.weights.new_zeros(len(self.ops), num_ops).scatter_add(1, index, self.weights)
        return replace(self, weights=matrix, ops=None)


def op_parameters(supernet) -> dict[tuple[str, int, int], list]:
    """{(cell type, edge, op): that operation's network weights} over every search cell of a
    supernet (a module with `cell_type` and `edges[e][o]`, as each space's SearchCell has)."""
    found: dict[tuple[str, int, int], list] = {}
    for cell in supernet.modules():
        if hasattr(cell, "cell_type") and hasattr(cell, "edges"):
            for e, ops in enumerate(cell.edges):
                for o, op in enumerate(ops):
                    found.setdefault((cell.cell_type, e, o), []).extend(op.parameters())
    return found


def unkept_parameters(by_op: dict[tuple[str, int, int], list], mixes: dict[str, EdgeMix]) -> list:
    """The network weights of operations a sparse mix did not run (none for a dense mix). Run
    densely, they get a zero gradient where the sparse form gives them none, and SGD would
    still move them (weight decay, momentum): set their .grad to None before the step."""
    kept = {(t, e, o) for t, mix in mixes.items() if mix.ops is not None for e, ops in enumerate(mix.ops) for o in ops}
    sparse = {t for t, mix in mixes.items() if mix.ops is not None}
    return [p for key, params in by_op.items() if key[0] in sparse and key not in kept for p in params]


def active_ops(mix: EdgeMix, e: int, op_names: Sequence[str]) -> list[tuple[int, int]]:
    """(column of mix.weights, op index) pairs edge e runs. `none` contributes exactly zero
    whatever its weight, so it never runs."""
    ops = range(len(op_names)) if mix.ops is None else mix.ops[e]
    return [(k, o) for k, o in enumerate(ops) if op_names[o] != "none"]


def add_offsets(h: "torch.Tensor", mix: EdgeMix, node: int, edges: Sequence[tuple[int, int]]) -> "torch.Tensor":
    """Node `node`'s value h plus the offsets of the edges into it (EdgeMix.offsets); h itself
    when the mix has none, so other methods' steps are unchanged. Offsets are taken as views,
    one per edge, so no index tensor is built on the device."""
    if mix.offsets is None:
        return h
    rows = [e for e, (_, dst) in enumerate(edges) if dst == node]
    return h + sum(mix.offsets[e] for e in rows) if rows else h


# A space's registry lives here, not in the harness, so spaces never import the harness.
SPACES: dict[str, type] = {}


def register_space(cls):
    """Class decorator: make a space available under its `name`; a clash is a bug."""
    if cls.name in SPACES:
        raise ValueError(f"two search spaces are named {cls.name!r}")
    SPACES[cls.name] = cls
    return cls


def longest_path(
    edges: Iterable[tuple[int, int, str]],
    sources: Sequence[int],
    sinks: Sequence[int],
    weight: Callable[[str], int],
) -> int:
    """Largest total weight over paths from a source to a sink; 0 if no sink is reachable.

    edges are (src, dst, op) with src < dst (cells are DAGs in topological order);
    `none` edges must already be removed.
    """
    best: dict[int, int] = {s: 0 for s in sources}
    for src, dst, op in sorted(edges, key=lambda e: e[1]):
        if src in best:
            best[dst] = max(best.get(dst, 0), best[src] + weight(op))
    return max((best[s] for s in sinks if s in best and s not in sources), default=0)
