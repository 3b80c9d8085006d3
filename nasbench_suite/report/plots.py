"""The leaderboard's figures (PNG): per-epoch curves, final operation weights, best cells.

- skip connections per epoch for each group, mean over seeds with a ±1 std band (the figure
  behind the argument: DARTS's skip count climbs, PR-DARTS's does not), and likewise depth;
- a heat map of each group's final operation weights (softmax(α) or gate activation
  probability, as the record says), averaged over seeds;
- the best seed's derived cell as a graph.

Matplotlib's object API without pyplot: no display, no global state.
"""

from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
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
    """One panel per cell type; one line per group (mean over its seeds) with a ±1 std band."""
    rows = [row for row in section.rows if any(run.metrics for run in row.runs)]
    if not rows:
        return None
    cell_types = section.cell_types
    fig = Figure(figsize=(6.5 * len(cell_types), 4.2), layout="constrained")
    for ax, cell_type in zip(np.atleast_1d(fig.subplots(1, len(cell_types))), cell_types):
        for row in rows:
            epochs, mean, std = _epoch_stats(row, metric, cell_type)
            if not epochs:
                continue
            (line,) = ax.plot(epochs, mean, marker="o", markersize=3, label=f"{row.label} (n={row.seeds})")
            ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        ax.set_xlabel("search epoch")
        ax.set_ylabel(CURVES[metric])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{CURVES[metric]}, {cell_name(cell_type)} — {section.space}, {section.dataset}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def _epoch_stats(row: Row, metric: str, cell_type: str):
    """Epochs seen by any seed, and the mean and std (0 for one seed) of the seeds that reached each."""
    by_epoch: dict[int, list[int]] = {}
    for run in row.runs:
        for line in run.metrics or []:
            if cell_type in line.get(metric, {}):
                by_epoch.setdefault(line["epoch"], []).append(line[metric][cell_type])
    epochs = sorted(by_epoch)
    values = [np.asarray(by_epoch[e], dtype=float) for e in epochs]
    return epochs, np.array([v.mean() for v in values]), np.array([v.std(ddof=1) if len(v) > 1 else 0.0 for v in values])


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
    meaning = row.runs[0].record.get("op_weights_meaning", "operation weights")
    ops, edges = SPACE_AXES.get(space, (None, None))
    height = max(m.shape[0] for m in means.values())
    width = 2.5 + 0.65 * max(m.shape[1] for m in means.values()) * len(means)
    fig = Figure(figsize=(width, 1.8 + 0.42 * height), layout="constrained")
    for ax, (t, m) in zip(np.atleast_1d(fig.subplots(1, len(means))), means.items()):
        image = ax.imshow(m, cmap="viridis", vmin=0.0, vmax=max(1e-9, float(m.max())), aspect="auto")
        for (i, j), value in np.ndenumerate(m):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6.5,
                    color="white" if value < 0.6 * m.max() else "black")
        known = ops is not None and m.shape == (len(edges), len(ops))
        ax.set_xticks(range(m.shape[1]), ops if known else range(m.shape[1]), rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(m.shape[0]), [f"{s}→{d}" for s, d in edges] if known else range(m.shape[0]), fontsize=7)
        ax.set_title(cell_name(t), fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    text = f"{row.label}: final {meaning}, mean over {len(finals)} seed(s)"
    fig.suptitle(textwrap.fill(text, width=int(fig.get_figwidth() * 13)), fontsize=9)
    return fig
