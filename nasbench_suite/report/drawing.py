"""A derived cell drawn as a graph: nodes, and one arrow per kept edge labelled with its operation.

NAS-Bench-201 cells (`none` edges are left out: they carry nothing) and DARTS genotypes
(normal and reduction cell side by side). Matplotlib's object API without pyplot, so no
display and no global state is needed.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

from nasbench_suite.errors import UsageError
from spaces import genotypes, nb201_arch
from spaces.base import longest_path

NODE_RADIUS = 0.22
SAMPLES = 201  # points along each drawn edge: where its label may sit, and what a label must not cover


def op_color(op: str) -> str:
    if op == "skip_connect":
        return "#d62728"  # red: the operation the suite watches
    if "pool" in op:
        return "#1f77b4"
    return "#2ca02c" if op != "none" else "#999999"


def guess_space(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("Genotype("):
        return "darts"
    if stripped.startswith("|") or stripped.isdigit():
        return "nb201"
    raise UsageError("cannot tell the genotype's space: pass --space nb201 or --space darts")


def draw_genotype(text: str, space: str | None = None, title: str | None = None) -> Figure:
    """The figure of a genotype in its text form (nb201: the official string or an index)."""
    space = space or guess_space(text)
    if space == "nb201":
        arch = nb201_arch.index_to_arch(int(text)) if text.strip().isdigit() else text
        return draw_nb201(nb201_arch.parse_arch(arch), title)
    if space == "darts":
        return draw_darts(genotypes.parse_genotype(text), title)
    raise UsageError(f"cells of the {space!r} space cannot be drawn; known: nb201, darts")


def draw_nb201(ops: tuple[str, ...], title: str | None = None) -> Figure:
    fig = Figure(figsize=(7.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    nodes = {i: (1.6 * i, 0.0) for i in range(nb201_arch.NUM_NODES)}
    names = {0: "in", nb201_arch.NUM_NODES - 1: "out"}
    edges = [(s, d, op) for (s, d), op in zip(nb201_arch.EDGES, ops) if op != "none"]
    # Arcs: neighbours straight, two-node hops above, the long 0->3 edge below.
    bend = {1: 0.0, 2: -0.45, 3: 0.35}
    _place_labels(fig, _draw_graph(ax, nodes, names, [(s, d, op, bend[d - s]) for s, d, op in edges]))
    skips = sum(op == "skip_connect" for op in ops)
    depth = longest_path(edges, [0], [nb201_arch.NUM_NODES - 1], lambda op: 1)
    ax.set_title(title or f"NAS-Bench-201 cell: {skips} skip, depth {depth} (none edges not drawn)", fontsize=10)
    return fig


def draw_darts(genotype: genotypes.Genotype, title: str | None = None) -> Figure:
    fig = Figure(figsize=(12, 8), layout="constrained")
    first, last = genotypes.NODES[0], genotypes.NODES[-1] + 1
    # Inputs left, above and below; intermediate nodes in a row; the output at the right end.
    nodes = {0: (0.0, 1.5), 1: (0.0, -1.5), "out": (2.2 * (last - 1), 0.0)}
    nodes.update({i: (2.2 * (i - 1), 0.0) for i in range(first, last)})
    names = {0: "k-2", 1: "k-1", "out": "out"}  # the two previous cells' outputs, this cell's
    names.update({i: str(i - first) for i in range(first, last)})
    drawn = []
    for ax, cell_type in zip(fig.subplots(2, 1), genotypes.CELL_TYPES):
        kept = genotype.edges(cell_type)
        # Between intermediate nodes: neighbours straight, longer hops arc below then above.
        edges = [(s, d, op, 0.0 if s < first or d - s == 1 else 0.28 * (-1) ** (d - s)) for s, d, op in kept]
        edges += [(node, "out", None, 0.0 if node == last - 1 else -0.12) for node in genotype.concat(cell_type)]
        drawn += _draw_graph(ax, nodes, names, edges)
        skips = sum(op == "skip_connect" for _, _, op in kept)
        ax.set_title(f"{cell_type} cell: {skips} skip", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    _place_labels(fig, drawn)
    return fig


def _draw_graph(ax, nodes: dict, names: dict, edges: list) -> list:
    """edges: (src, dst, op or None for an unlabelled edge, bend); bend < 0 arcs above, > 0 below.
    Returns (axes, label or None, points along the edge) per edge, for _place_labels."""
    drawn = []
    for src, dst, op, bend in edges:
        (x1, y1), (x2, y2) = nodes[src], nodes[dst]
        color = op_color(op) if op else "#bbbbbb"  # unlabelled: the cell's concatenated output
        ax.add_patch(FancyArrowPatch(
            (x1, y1), (x2, y2), connectionstyle=f"arc3,rad={bend}", arrowstyle="-|>", mutation_scale=14,
            color=color, lw=1.6, shrinkA=17, shrinkB=17, zorder=1,
        ))
        # matplotlib's arc3 curve is a quadratic Bezier through this control point (the aspect is equal)
        cx, cy = (x1 + x2) / 2 + bend * (y2 - y1), (y1 + y2) / 2 - bend * (x2 - x1)
        t = np.linspace(0, 1, SAMPLES)[:, None]
        points = (1 - t) ** 2 * [x1, y1] + 2 * t * (1 - t) * [cx, cy] + t**2 * [x2, y2]
        label = None
        if op:
            label = ax.text(*points[SAMPLES // 2], op, ha="center", va="center", fontsize=7.5, color=color, zorder=3,
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
        drawn.append((ax, label, points))
    for node, (x, y) in nodes.items():
        ax.add_patch(Circle((x, y), NODE_RADIUS, fc="#f2f2f2", ec="#333333", zorder=2))
        ax.text(x, y, names.get(node, str(node)), ha="center", va="center", fontsize=7, zorder=3)
    xs, ys = [p[0] for p in nodes.values()], [p[1] for p in nodes.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 1.1, max(ys) + 1.1)
    ax.set_aspect("equal")
    ax.axis("off")
    return drawn


def _place_labels(fig: Figure, drawn: list) -> None:
    """Slide each label along its own edge to where it covers no other label, node or edge,
    preferring the middle: labels of parallel edges crowded at their midpoints."""
    FigureCanvasAgg(fig)
    fig.draw_without_rendering()  # runs the layout: positions on the page are final from here
    renderer = fig.canvas.get_renderer()
    nodes = [p.get_window_extent(renderer) for ax in {a for a, _, _ in drawn} for p in ax.patches if isinstance(p, Circle)]
    curves = [(label, ax.transData.transform(points)) for ax, label, points in drawn]
    placed = []
    for ax, label, points in drawn:
        if label is None:
            continue
        others = np.concatenate([c for lbl, c in curves if lbl is not label] or [np.empty((0, 2))])

        def cost(i):
            label.set_position(points[i])
            box = label.get_window_extent(renderer).padded(3)
            hits = sum(box.expanded(1.8, 3).overlaps(b) for b in placed) + sum(box.overlaps(b) for b in nodes)
            x, y = others.T
            crossed = ((box.x0 <= x) & (x <= box.x1) & (box.y0 <= y) & (y <= box.y1)).sum()
            return 1000 * hits + crossed + abs(i - SAMPLES // 2) / SAMPLES

        best = min(range(SAMPLES // 8, SAMPLES - SAMPLES // 8), key=cost)
        label.set_position(points[best])
        placed.append(label.get_window_extent(renderer))
