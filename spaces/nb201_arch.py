"""NAS-Bench-201 cells as text: the official architecture string, its parser and the index.

Torch-free, so `lookup` answers without loading a deep-learning framework.

A cell has nodes 0..3 and an edge j->i for every j < i; each edge holds one operation.
The official string lists node 1's, 2's and 3's inputs:

    |nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|

The benchmark's indices 0..15624 are the authors' enumeration of all cells, shuffled once
with Python's `random.seed(88)` (NAS-Bench-201's generate_meta_info), so index <-> string
needs no benchmark file.
"""

from __future__ import annotations

import functools
import itertools
import random

from spaces.base import SpaceError

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
PARAMETRIC = frozenset({"nor_conv_1x1", "nor_conv_3x3"})
NUM_NODES = 4
# (src, dst) in the order of the string and of α's rows: 0->1, 0->2, 1->2, 0->3, 1->3, 2->3.
EDGES = tuple((j, i) for i in range(1, NUM_NODES) for j in range(i))
CHAIN = tuple(EDGES.index(e) for e in ((0, 1), (1, 2), (2, 3)))
NUM_CELLS = len(OPS) ** len(EDGES)  # 15,625


class ArchError(SpaceError):
    """A string that is not a NAS-Bench-201 cell."""


def format_arch(ops: tuple[str, ...]) -> str:
    """Official string of a cell given its six edge operations in EDGES order."""
    nodes, k = [], 0
    for i in range(1, NUM_NODES):
        nodes.append("|" + "|".join(f"{ops[k + j]}~{j}" for j in range(i)) + "|")
        k += i
    return "+".join(nodes)


def parse_arch(text: str) -> tuple[str, ...]:
    """The six edge operations of an official string; ArchError says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ArchError("empty architecture string")
    nodes = text.strip().split("+")
    if len(nodes) != NUM_NODES - 1:
        raise ArchError(f"architecture string {text!r} has {len(nodes)} nodes separated by '+', expected 3")
    ops = []
    for i, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")) or len(node) < 2:
            raise ArchError(f"node {i} of {text!r} must look like |op~0|op~1|")
        entries = node[1:-1].split("|")
        if len(entries) != i:
            raise ArchError(f"node {i} of {text!r} has {len(entries)} inputs, expected {i}")
        for j, entry in enumerate(entries):
            op, sep, src = entry.partition("~")
            if not sep or src != str(j):
                raise ArchError(f"entry {entry!r} of node {i} in {text!r} must be op~{j}")
            if op not in OPS:
                raise ArchError(f"unknown operation {op!r} in {text!r}; known: {', '.join(OPS)}")
            ops.append(op)
    return tuple(ops)


def canonical(text: str) -> str:
    """The string as the benchmark spells it (validated, whitespace stripped)."""
    return format_arch(parse_arch(text))


@functools.cache
def _all_cells() -> tuple[tuple[tuple[str, ...], ...], dict[tuple[str, ...], int]]:
    # The authors enumerate node by node, earlier edges varying slowest, then shuffle.
    cells = [tuple(ops) for ops in itertools.product(OPS, repeat=len(EDGES))]
    random.Random(88).shuffle(cells)
    return tuple(cells), {ops: i for i, ops in enumerate(cells)}


def arch_to_index(text: str) -> int:
    return _all_cells()[1][parse_arch(text)]


def index_to_arch(index: int) -> str:
    if not 0 <= index < NUM_CELLS:
        raise ArchError(f"index {index} is outside 0..{NUM_CELLS - 1}")
    return format_arch(_all_cells()[0][index])


def all_archs() -> list[str]:
    """Every cell's string, in benchmark index order."""
    return [format_arch(ops) for ops in _all_cells()[0]]
