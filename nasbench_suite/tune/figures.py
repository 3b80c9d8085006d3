"""Optuna's own figures of a study, beside its best.json: the optimisation history, each
weight's importance, a slice per weight and the contour of each pair (optuna.visualization.
matplotlib). Written at the end of every tune command, so they always show the whole study."""

from __future__ import annotations

import warnings
from pathlib import Path

from nasbench_suite import records



def write_figures(study, names: list[str], out: Path, complete: int, importance: bool) -> list[Path]:
    """The PNGs written under `out`: the importances only where report.py could compute them,
    the contour only with two weights and three complete trials (below, it draws empty axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as vis
    from matplotlib.ticker import NullFormatter

    figures = {"optimization_history": lambda: vis.plot_optimization_history(study),
               "slice": lambda: vis.plot_slice(study, params=names)}
    if len(names) >= 2 and complete >= 3:
        figures["contour"] = lambda: vis.plot_contour(study, params=names)
    if importance:
        figures["param_importances"] = lambda: vis.plot_param_importances(study, params=names)
    written = []
    for name, draw in figures.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optuna marks its matplotlib figures experimental
            axes = draw()
        figure = (axes.flat[0] if hasattr(axes, "flat") else axes).get_figure()
        for ax in figure.axes:  # log axes: decades only, the 2×10^-3 ... labels run into each other
            for axis in (ax.xaxis, ax.yaxis):
                if axis.get_scale() == "log":
                    axis.set_minor_formatter(NullFormatter())
        wide = name in ("slice", "contour")  # a panel per weight (contour: per pair)
        figure.set_size_inches(max(6.4, 3.2 * len(names)) if wide else 6.4, 3.2 * len(names) if name == "contour" else 4.8)
        path = out / f"{name}.png"
        records.write_atomic(path, _png(figure))
        plt.close(figure)
        written.append(path)
    return written


def _png(figure) -> bytes:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    return buffer.getvalue()
