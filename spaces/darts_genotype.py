"""DARTS-space genotypes as text, torch-free: the parser `plot-cell` and the leaderboard use.

Stop-gap until spaces/genotypes.py (the darts space) lands; then one of the two goes.

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5],
             reduce=[('max_pool_3x3', 0), ...], reduce_concat=range(2, 6))

Node i (2..5) takes the two entries 2(i-2) and 2(i-2)+1, each (operation, input node j < i);
nodes 0 and 1 are the outputs of the two previous cells. The text is read with Python's
syntax tree and only literals (and `range(a, b)`, as DARTS prints it) are accepted: nothing
in it is ever evaluated.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from spaces.base import SpaceError

OPS = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
PARAMETRIC = frozenset({"sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"})
CELL_TYPES = ("normal", "reduce")
INPUTS = 2  # nodes 0 and 1
STEPS = 4  # intermediate nodes 2..5
# (src, dst) in α's row order: node 2's inputs 0, 1; node 3's 0, 1, 2; ...
EDGES = tuple((j, i) for i in range(INPUTS, INPUTS + STEPS) for j in range(i))


class GenotypeError(SpaceError):
    """Text that is not a DARTS genotype."""


@dataclass(frozen=True)
class Cell:
    """One cell type: (op, input) pairs, two per intermediate node, and the concatenated nodes."""

    edges: tuple[tuple[str, int], ...]
    concat: tuple[int, ...]

    def node_edges(self):
        """(src, dst, op) for every kept edge."""
        return [(j, INPUTS + k // 2, op) for k, (op, j) in enumerate(self.edges)]


def parse_genotype(text: str) -> dict[str, Cell]:
    """{"normal": Cell, "reduce": Cell}; GenotypeError says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise GenotypeError("empty genotype")
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        raise GenotypeError(f"not a genotype ({type(err).__name__}) in {_short(text)}")
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Genotype"):
        raise GenotypeError(f"a DARTS genotype looks like Genotype(normal=[...], ...), not {_short(text)}")
    if call.args:
        raise GenotypeError("write the genotype's fields by name (normal=..., normal_concat=..., ...)")
    fields = {kw.arg: kw.value for kw in call.keywords}
    expected = {f"{t}{suffix}" for t in CELL_TYPES for suffix in ("", "_concat")}
    if set(fields) != expected:
        raise GenotypeError(f"a genotype has exactly the fields {', '.join(sorted(expected))}; got {', '.join(map(str, fields))}")
    return {t: _cell(t, _literal(fields[t], t), _concat(fields[f"{t}_concat"], t)) for t in CELL_TYPES}


def format_genotype(cells: dict[str, Cell]) -> str:
    parts = []
    for t in CELL_TYPES:
        parts.append(f"{t}=[{', '.join(f'({op!r}, {j})' for op, j in cells[t].edges)}]")
        parts.append(f"{t}_concat={list(cells[t].concat)}")
    return f"Genotype({', '.join(parts)})"


def _literal(node: ast.AST, name: str):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        raise GenotypeError(f"{name} must be a literal list of (operation, input) pairs")


def _concat(node: ast.AST, cell_type: str) -> tuple[int, ...]:
    name = f"{cell_type}_concat"
    is_range = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
    if is_range and not node.keywords and len(node.args) == 2:
        start, stop = (_literal(a, name) for a in node.args)
        value = range(start, stop) if all(type(v) is int for v in (start, stop)) else None
    else:
        value = _literal(node, name)
    if not isinstance(value, (list, tuple, range)) or not all(type(v) is int for v in value):
        raise GenotypeError(f"{name} must be a list of node numbers, e.g. [2, 3, 4, 5]")
    nodes = tuple(value)
    intermediate = range(INPUTS, INPUTS + STEPS)
    if not nodes or len(set(nodes)) != len(nodes) or not set(nodes) <= set(intermediate):
        raise GenotypeError(f"{name} must list distinct intermediate nodes {intermediate.start}..{intermediate.stop - 1}, not {list(nodes)}")
    return nodes


def _cell(cell_type: str, value, concat: tuple[int, ...]) -> Cell:
    if not isinstance(value, (list, tuple)) or len(value) != 2 * STEPS:
        raise GenotypeError(f"{cell_type} must list {2 * STEPS} (operation, input) pairs, two per node")
    edges = []
    for k, pair in enumerate(value):
        node = INPUTS + k // 2
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise GenotypeError(f"{cell_type} entry {k} must be an (operation, input) pair, not {pair!r}")
        op, src = pair
        if op not in OPS:
            raise GenotypeError(f"unknown operation {op!r} in {cell_type}; known: {', '.join(OPS)}")
        if type(src) is not int or not 0 <= src < node:
            raise GenotypeError(f"{cell_type} entry {k} feeds node {node}, so its input must be 0..{node - 1}, not {src!r}")
        edges.append((op, src))
    return Cell(tuple(edges), concat)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= 60 else text[:57] + "...")
