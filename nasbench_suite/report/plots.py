"""The leaderboard's figures (PNG): per-epoch curves, final operation weights, best cells.

- skip connections per epoch, a panel per group, each seed thin behind the mean over seeds and
  darts's mean as the reference (the figure behind the argument: does DARTS's skip count
  climb, and PR-DARTS's not?), and likewise depth;
- a heat map of each group's final operation weights (softmax(α) or gate activation
  probability, as the record says), averaged over seeds: the text is the weight, the colour
  the weight ÷ its edge's mean, a box each edge's strongest operation;
- the best seed's derived cell as a graph.

Matplotlib's object API without pyplot: no display, no global state.
"""

from __future__ import annotations

import io
import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from nasbench_suite import records
from nasbench_suite.report.drawing import draw_genotype
from nasbench_suite.errors import UsageError
from nasbench_suite.report.standings import Row, Section
from spaces import genotypes, nb201_arch
from spaces.base import SpaceError

DPI = 110
# Operation and edge names of the spaces the heat maps can label (torch-free modules).
SPACE_AXES = {
    "nb201": (nb201_arch.OPS, nb201_arch.EDGES),
    "darts": (genotypes.OPS, genotypes.EDGES),
}
CURVES = {"skip_count": "skip connections", "depth": "cell depth"}


def save_png(fig: Figure, path: Path) -> None:
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # layout notes ("constrained_layout not applied") are not the user's to act on
        warnings.simplefilter("ignore")
        fig.savefig(buffer, format="png", dpi=DPI)
    records.write_atomic(path, buffer.getvalue())


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:80] or "row"


def cell_name(cell_type: str) -> str:
    return "cell" if cell_type == "cell" else f"{cell_type} cell"


def write_section_plots(section: Section, folder: Path) -> list[Path]:
    """Every figure of one section; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(fig: Figure | None, stem: str) -> None:
        if fig is None:
            return
        path = folder / f"{stem}.png"
        while path in written:  # two labels with the same slug
            path = path.with_name(f"{path.stem}-{len(written)}.png")
        save_png(fig, path)
        written.append(path)

    name = f"{section.space}-{section.dataset}"
    for metric in CURVES:
        save(per_epoch_figure(section, metric), f"{slug(metric)}-{name}")
    for row in section.rows:
        if row.kind == "search":
            save(weights_figure(row, section.space), f"weights-{name}-{slug(row.label)}")
    for row in section.rows:
        if row.best is not None:
            try:
                fig = draw_genotype(row.best["genotype"], section.space, title=f"{row.label}: seed {row.best['seed']}")
            except (SpaceError, UsageError):
                continue  # a cell the drawing cannot read stays in the tables as text
            save(fig, f"cell-{name}-{slug(row.label)}")
    return written


def per_epoch_figure(section: Section, metric: str) -> Figure | None:
    """One panel per group (a dozen overlaid groups cannot be told apart), on shared axes: each
    seed a thin line behind the mean over seeds, one colour per cell type (translucent ±std
    bands overlapped into mud and ran below zero), and in grey the mean of the darts group on
    the same supernet, the reference the leaderboard's "vs darts" column compares against."""
    rows = [row for row in section.rows if any(run.metrics for run in row.runs)]
    if not rows:
        return None
    cell_types = section.cell_types
    colours = colormaps["tab10"].colors
    columns = min(4, len(rows))
    grid = (len(rows) + columns - 1) // columns
    fig = Figure(figsize=(3.4 * columns + 0.6, 2.7 * grid + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(grid, columns, sharex=True, sharey=True, squeeze=False)).ravel()
    for ax, row in zip(axes, rows):
        reference = next((r for r in rows if r.method == "darts" and r is not row
                          and r.settings.get("space") == row.settings.get("space")), None)
        for k, cell_type in enumerate(cell_types):
            if reference is not None:
                epochs, mean = _epoch_means([_seed_curve(run, metric, cell_type) for run in reference.runs])
                if epochs:
                    ax.plot(epochs, mean, color="0.55", linewidth=1.5, linestyle="--",
                            label=f"{reference.label}{_which(cell_type, cell_types)}")
            seeds = [s for s in (_seed_curve(run, metric, cell_type) for run in row.runs) if s[0]]
            for epochs, values in seeds:
                ax.plot(epochs, values, color=colours[k], linewidth=0.8, alpha=0.35)
            epochs, mean = _epoch_means(seeds)
            if epochs:
                ax.plot(epochs, mean, color=colours[k], linewidth=2, marker="o", markersize=3,
                        label=f"mean of {row.seeds}{_which(cell_type, cell_types)}")
        ax.set_title(textwrap.fill(row.label, 42), fontsize=9)  # settings-long labels wrap, not overlap
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[len(rows):]:
        ax.set_visible(False)
    axes[0].set_ylim(bottom=0)
    axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.supxlabel("search epoch", fontsize=10)
    fig.supylabel(CURVES[metric], fontsize=10)
    fig.suptitle(f"{CURVES[metric]} per search epoch: thin lines seeds, thick their mean", fontsize=10)
    return fig


def _which(cell_type: str, cell_types: list[str]) -> str:
    return "" if len(cell_types) == 1 else f", {cell_name(cell_type)}"


def _seed_curve(run, metric: str, cell_type: str) -> tuple[list[int], list[float]]:
    lines = [line for line in run.metrics or [] if cell_type in line.get(metric, {})]
    return [line["epoch"] for line in lines], [float(line[metric][cell_type]) for line in lines]


def _epoch_means(seeds) -> tuple[list[int], np.ndarray]:
    """Epochs seen by any seed, and the mean of the seeds that reached each."""
    by_epoch: dict[int, list[float]] = {}
    for epochs, values in seeds:
        for e, v in zip(epochs, values):
            by_epoch.setdefault(e, []).append(v)
    epochs = sorted(by_epoch)
    return epochs, np.array([np.mean(by_epoch[e]) for e in epochs])


def weights_figure(row: Row, space: str) -> Figure | None:
    """Heat map of the final operation weights per cell type, averaged over the row's seeds."""
    finals = [run.record.get("op_weights") for run in row.runs]
    finals = [w for w in finals if isinstance(w, dict) and w]
    if not finals:
        return None
    cell_types = sorted(set.intersection(*(set(w) for w in finals)))
    means = {}
    for t in cell_types:
        try:
            means[t] = np.mean([np.asarray(w[t], dtype=float) for w in finals], axis=0)
        except (ValueError, TypeError):  # not numbers, or shapes that differ between seeds
            continue
    means = {t: m for t, m in means.items() if m.ndim == 2}
    if not means:
        return None
    ops, edges = SPACE_AXES.get(space, (None, None))
    height = max(m.shape[0] for m in means.values())
    width = 2.5 + 0.75 * max(m.shape[1] for m in means.values()) * len(means)
    fig = Figure(figsize=(width, 1.8 + 0.42 * height), layout="constrained")
    for ax, (t, m) in zip(np.atleast_1d(fig.subplots(1, len(means))), means.items()):
        known = ops is not None and m.shape == (len(edges), len(ops))
        # Weights barely differ from uniform early on (0.20 each, 0.55 each): colour each edge's
        # weights relative to its own mean, on a scale fitted to the data; the text is the weight.
        relative = m / np.maximum(m.mean(axis=1, keepdims=True), 1e-12)
        spread = max(float(np.abs(relative - 1).max()), 1e-6)
        image = ax.imshow(relative, cmap="RdBu_r", vmin=1 - spread, vmax=1 + spread, aspect="auto")
        strongest = _strongest(m, ops if known else None, space)
        for (i, j), value in np.ndenumerate(m):
            ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=6.5,
                    fontweight="bold" if strongest[i] == j else "normal")
        for i, j in enumerate(strongest):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.5))
        ax.set_xticks(range(m.shape[1]), ops if known else range(m.shape[1]), rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(m.shape[0]), [f"{s}→{d}" for s, d in edges] if known else range(m.shape[0]), fontsize=7)
        ax.set_title(cell_name(t), fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8, label="weight ÷ edge mean")
    fig.suptitle(f"{row.label}: final weights, {len(finals)} seed{'s' * (len(finals) != 1)}", fontsize=9)
    return fig


def _strongest(m: np.ndarray, ops, space: str) -> list[int]:
    """Each edge's strongest operation: what nb201 derives; on darts `none` never wins and each
    node then keeps two of its edges."""
    scores = m.copy()
    if ops is not None and space != "nb201" and "none" in ops:
        scores[:, list(ops).index("none")] = -np.inf
    return [int(j) for j in scores.argmax(axis=1)]
