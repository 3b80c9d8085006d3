"""DARTS CIFAR cells as text: the genotype form of the DARTS papers, its parser, the rule that
derives a genotype from scores, and what a genotype's cells look like (skips, depths).

Torch-free, so records, leaderboards and plots can read genotypes without a framework.

A cell has input nodes 0 and 1 (the two previous cells' outputs) and intermediate nodes
2..5; node i may take an edge from every earlier node (2+3+4+5 = 14 edges). A genotype
keeps two (operation, input) pairs per intermediate node, node 2's first, and lists the
nodes whose concatenation is the cell's output:

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5],
             reduce=[...], reduce_concat=[2, 3, 4, 5])

The text is read with a small tokenizer and parser (never eval): lists or tuples of
(string, int) pairs, lists of ints, and `range(a, b)`; texts pasted from the papers' code
read unchanged. `format_genotype` writes the form above, and parsing it gives g back.
"""

from __future__ import annotations

import dataclasses
import re

from spaces.base import SpaceError, longest_path

OPS = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
PARAMETRIC = frozenset({"sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"})
CELL_TYPES = ("normal", "reduce")
INPUTS, NODES = (0, 1), (2, 3, 4, 5)
# (src, dst) in α's row order: node 2's inputs, then node 3's, ...
EDGES = tuple((j, i) for i in NODES for j in range(i))
# The deepest chain 1->2->3->4->5 (the PR-DARTS path term's edges).
CHAIN = tuple(EDGES.index(e) for e in ((1, 2), (2, 3), (3, 4), (4, 5)))
FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


class GenotypeError(SpaceError):
    """A text that is not a DARTS genotype."""


@dataclasses.dataclass(frozen=True)
class Genotype:
    """Per cell type: eight (operation, input node) pairs, two per node 2..5, and the output nodes."""

    normal: tuple[tuple[str, int], ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[tuple[str, int], ...]
    reduce_concat: tuple[int, ...]

    def edges(self, cell_type: str) -> list[tuple[int, int, str]]:
        """(src, dst, op) of the kept edges of one cell type."""
        pairs = getattr(self, cell_type)
        return [(src, NODES[k // 2], op) for k, (op, src) in enumerate(pairs)]

    def concat(self, cell_type: str) -> tuple[int, ...]:
        return getattr(self, f"{cell_type}_concat")


# ---- text -> tokens -> values -------------------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:(?P<name>[A-Za-z_]\w*)|(?P<int>-?\d{1,9})|(?P<str>'[^'\\]*'|"[^"\\]*")|(?P<punct>[()\[\],=]))""")
_CLOSING = {"(": ")", "[": "]"}
_MAX_DEPTH = 3  # a list of pairs is two deep; anything deeper is refused before recursion can blow up


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos, end = [], 0, len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if not match:
            pos += len(text[pos:]) - len(text[pos:].lstrip())
            raise GenotypeError(f"genotype text: unexpected character {text[pos]!r} at position {pos}")
        tokens.append((match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over the tokens; every value is a plain literal, nothing is called
    except `range` with integer arguments."""

    def __init__(self, text: str):
        self.tokens, self.i = _tokenize(text), 0

    def fail(self, expected: str):
        if self.i < len(self.tokens):
            _, tok, pos = self.tokens[self.i]
            raise GenotypeError(f"genotype text: expected {expected} at position {pos}, found {tok!r}")
        raise GenotypeError(f"genotype text: expected {expected}, but the text ended")

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self, expected: str, kind: str | None = None, text: str | None = None) -> str:
        if self.i >= len(self.tokens):
            self.fail(expected)
        tok_kind, tok, _ = self.tokens[self.i]
        if (kind and tok_kind != kind) or (text and tok != text):
            self.fail(expected)
        self.i += 1
        return tok

    def genotype(self) -> dict:
        self.take("'Genotype('", "name", "Genotype")
        self.take("'('", text="(")
        fields = {}
        while self.peek() != ")":
            name = self.take("a field name (normal=, normal_concat=, reduce=, reduce_concat=)", "name")
            if name not in FIELDS:
                raise GenotypeError(f"genotype text: unknown field {name!r}; expected {', '.join(FIELDS)}")
            if name in fields:
                raise GenotypeError(f"genotype text: field {name!r} is given twice")
            self.take("'='", text="=")
            fields[name] = self.value()
            if self.peek() != ")":
                self.take("',' or ')'", text=",")
        self.take("')'", text=")")
        if self.i != len(self.tokens):
            self.fail("the end of the text")
        return fields

    def value(self, depth: int = 0):
        tok = self.peek()
        if tok in _CLOSING:
            if depth == _MAX_DEPTH:
                raise GenotypeError("genotype text: lists nested deeper than a list of pairs")
            self.i += 1
            items = []
            while self.peek() != _CLOSING[tok]:
                items.append(self.value(depth + 1))
                if self.peek() != _CLOSING[tok]:
                    self.take(f"',' or {_CLOSING[tok]!r}", text=",")
            self.i += 1
            return items if tok == "[" else tuple(items)
        if tok == "range":
            self.i += 1
            self.take("'(' after range", text="(")
            args = [int(self.take("an integer", "int"))]
            if self.peek() == ",":
                self.i += 1
                args.append(int(self.take("an integer", "int")))
            self.take("')'", text=")")
            if len(range(*args)) > len(NODES):
                raise GenotypeError(f"genotype text: range{tuple(args)} is longer than the {len(NODES)} intermediate nodes")
            return list(range(*args))
        kind = self.tokens[self.i][0] if tok is not None else None
        if kind == "int":
            self.i += 1
            return int(tok)
        if kind == "str":
            self.i += 1
            return tok[1:-1]
        self.fail("a list, a tuple, range(a, b), a string or an integer")


# ---- values -> Genotype ---------------------------------------------------------------------


def _pairs(cell_type: str, value) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, (list, tuple)) or len(value) != 2 * len(NODES):
        raise GenotypeError(f"genotype {cell_type}: expected {2 * len(NODES)} (operation, input) pairs, two per node 2..5")
    pairs = []
    for k, pair in enumerate(value):
        node = NODES[k // 2]
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str) and isinstance(pair[1], int)):
            raise GenotypeError(f"genotype {cell_type}: pair {k + 1} must be ('operation', input node), not {pair!r}")
        op, src = pair
        if op not in OPS or op == "none":
            raise GenotypeError(f"genotype {cell_type}: unknown operation {op!r}; known: {', '.join(OPS[1:])}")
        if not 0 <= src < node:
            raise GenotypeError(f"genotype {cell_type}: pair {k + 1} feeds node {node}, so its input must be 0..{node - 1}, not {src}")
        pairs.append((op, src))
    return tuple(pairs)


def _concat(cell_type: str, value) -> tuple[int, ...]:
    if (
        not isinstance(value, (list, tuple)) or not value or len(set(value)) != len(value)
        or not all(isinstance(n, int) and n in NODES for n in value)
    ):
        raise GenotypeError(f"genotype {cell_type}_concat: expected distinct nodes from 2..5 such as [2, 3, 4, 5], not {value!r}")
    return tuple(value)


def parse_genotype(text: str) -> Genotype:
    """The genotype of a DARTS-style text; GenotypeError (one line) says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise GenotypeError("empty genotype text")
    fields = _Parser(text).genotype()
    missing = [f for f in FIELDS if f not in fields]
    if missing:
        raise GenotypeError(f"genotype text lacks {', '.join(missing)}")
    return Genotype(
        normal=_pairs("normal", fields["normal"]), normal_concat=_concat("normal", fields["normal_concat"]),
        reduce=_pairs("reduce", fields["reduce"]), reduce_concat=_concat("reduce", fields["reduce_concat"]),
    )


def format_genotype(genotype: Genotype) -> str:
    parts = [f"{f}={list(getattr(genotype, f))!r}" for f in FIELDS]
    return f"Genotype({', '.join(parts)})"


# ---- scores -> Genotype, and what a genotype implies ----------------------------------------


def derive(scores: dict[str, list[list[float]]]) -> Genotype:
    """Per node, the two distinct incoming edges whose strongest non-`none` operation scores
    highest (strongest first; ties to the lower input), each keeping that operation."""
    none = OPS.index("none")
    cells = {}
    for cell_type in CELL_TYPES:
        rows, pairs = scores[cell_type], []
        for node in NODES:
            best = []  # (strength, src, op index) of each incoming edge
            for src in range(node):
                row = rows[EDGES.index((src, node))]
                op = max((o for o in range(len(OPS)) if o != none), key=lambda o: (row[o], -o))
                best.append((row[op], -src, op))
            for strength, neg_src, op in sorted(best, reverse=True)[:2]:
                pairs.append((OPS[op], -neg_src))
        cells[cell_type] = tuple(pairs)
    return Genotype(cells["normal"], NODES, cells["reduce"], NODES)


def describe(genotype: Genotype) -> dict:
    """Skip count, depth and conv depth per cell type.

    Depth: edges on the longest path from an input node to an output node; conv depth: the
    same, counting only parametric operations (separable and dilated convolutions).
    """
    info = {"skip_count": {}, "depth": {}, "conv_depth": {}}
    for t in CELL_TYPES:
        edges, sinks = genotype.edges(t), genotype.concat(t)
        info["skip_count"][t] = sum(op == "skip_connect" for _, _, op in edges)
        info["depth"][t] = longest_path(edges, INPUTS, sinks, lambda op: 1)
        info["conv_depth"][t] = longest_path(edges, INPUTS, sinks, lambda op: int(op in PARAMETRIC))
    return info


# ---- published cells --------------------------------------------------------------------------

# DARTS first and second order: Liu et al., ICLR 2019, the authors' genotypes.py.
# PR-DARTS: Zhou et al., NeurIPS 2020, the authors' searched cell.
PUBLISHED_TEXT = {
    "darts_v1": "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])",
    "darts_v2": "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
    "pr_darts": "Genotype(normal=[('skip_connect', 0), ('sep_conv_3x3', 1), ('dil_conv_3x3', 2), ('sep_conv_3x3', 0), ('dil_conv_3x3', 3), ('sep_conv_3x3', 1), ('dil_conv_3x3', 4), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 0), ('dil_conv_5x5', 1), ('sep_conv_3x3', 0), ('dil_conv_5x5', 2), ('sep_conv_5x5', 1), ('dil_conv_3x3', 3), ('dil_conv_5x5', 4), ('dil_conv_5x5', 1)], reduce_concat=range(2, 6))",
}
PUBLISHED = {name: parse_genotype(text) for name, text in PUBLISHED_TEXT.items()}
