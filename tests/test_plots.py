"""Figures: real runs -> leaderboard plots, the per-epoch statistics, heat maps and cell drawings."""

import re
import struct

import numpy as np
import pytest
from conftest import cli
from handmade_records import DARTS_V2, NB201_CONV, epochs, search_record, training_record, write_run
from matplotlib.image import imread

from nasbench_suite.report import published
from nasbench_suite.report.drawing import draw_genotype
from nasbench_suite.report.collect import collect
from nasbench_suite.report.plots import per_epoch_figure, weights_figure, write_section_plots
from nasbench_suite.report.standings import build_sections


def assert_png(path, min_side=300, max_side=4000):
    """A real PNG of a sensible size with something drawn on it."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    width, height = struct.unpack(">II", data[16:24])
    assert min_side <= width <= max_side and min_side <= height <= max_side, (path, width, height)
    pixels = imread(path)
    assert pixels.shape[:2] == (height, width) and pixels[..., :3].std() > 0.02, path


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory, shared_data, nb201_table):
    """Two tiny real searches on real CIFAR-10, looked up in the real NAS-Bench-201 table."""
    runs = tmp_path_factory.mktemp("real") / "runs"
    for method in ("darts", "pr_darts"):
        result = cli("run", "--method", method, "--space", "nb201", "--epochs", 2, "--train-subset", 64,
                     "--init-channels", 4, "--cells-per-stage", 1, "--data-dir", shared_data,
                     "--benchmark", nb201_table, "--out", runs,
                     env={"OMP_NUM_THREADS": "1"})  # one thread: faster on the shared 2-core machine
        assert result.returncode == 0, result.stderr
    return runs


def test_leaderboard_of_real_runs_writes_tables_and_valid_plots(real_runs, tmp_path):
    out = tmp_path / "results"
    result = cli("leaderboard", "--runs", real_runs, "--out", out)
    assert result.returncode == 0, result.stderr
    markdown = (out / "leaderboard.md").read_text()
    assert "from 2 finished search runs" in markdown and "training subset of 64 images" in markdown
    for run_dir in real_runs.iterdir():
        record = __import__("json").loads((run_dir / "record.json").read_text())
        line = next(line for line in markdown.splitlines() if line.startswith(f"| {record['method']} |"))
        assert f"| {record['benchmark']['cifar10_test_acc']:.2f} |" in line
        assert f"`{record['genotype']}`" in markdown
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert plots == sorted([
        "skip-count-nb201-cifar10.png", "depth-nb201-cifar10.png",
        "weights-nb201-cifar10-darts.png", "weights-nb201-cifar10-pr-darts.png",
        "cell-nb201-cifar10-darts.png", "cell-nb201-cifar10-pr-darts.png",
    ])
    for name in plots:
        assert_png(out / "plots" / name)
    html = (out / "leaderboard.html").read_text()
    assert html.count("<table>") == 1 and sorted(re.findall(r'<img src="plots/([^"]+)"', html)) == plots
    assert "\\begin{tabular}" in (out / "leaderboard.tex").read_text()


@pytest.fixture
def two_seeds(tmp_path):
    runs = tmp_path / "runs"
    for seed, skips in [(0, [0, 2, 4]), (1, [2, 4, 6])]:
        weights = {"cell": (np.full((6, 5), 0.1) + seed * np.eye(6, 5)).tolist()}
        write_run(runs, search_record("darts", seed=seed, test_acc=90.0, op_weights=weights), epochs(skips))
    sections, _ = build_sections(collect(runs, None), published.load())
    return sections[0]


def test_skip_count_curve_draws_each_seed_thinly_behind_the_mean(two_seeds):
    ax = per_epoch_figure(two_seeds, "skip_count").axes[0]
    *seeds, mean = ax.lines
    assert [list(s.get_ydata()) for s in seeds] == [[0, 2, 4], [2, 4, 6]]
    assert list(mean.get_xdata()) == [1, 2, 3] and list(mean.get_ydata()) == [1.0, 3.0, 5.0]
    assert all(s.get_linewidth() < mean.get_linewidth() and s.get_color() == mean.get_color() for s in seeds)
    assert not ax.collections and ax.get_ylim()[0] == 0  # no translucent bands running below zero


def test_each_group_gets_its_own_panel_with_darts_as_the_grey_reference(tmp_path):
    runs = tmp_path / "runs"
    for seed, darts_skips, pr_skips in [(0, [1, 3, 5], [1, 1, 0]), (1, [1, 5, 5], [3, 1, 0])]:
        write_run(runs, search_record("darts", seed=seed, test_acc=90.0), epochs(darts_skips))
        write_run(runs, search_record("pr_darts", seed=seed, test_acc=93.0), epochs(pr_skips))
        write_run(runs, search_record("pr_darts", seed=seed, test_acc=92.0, lambda3=0.0), epochs([2, 2, 2]))
    sections, _ = build_sections(collect(runs, None), published.load())
    fig = per_epoch_figure(sections[0], "skip_count")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    titles = [ax.get_title().replace("\n", " ") for ax in panels]
    assert titles == [row.label for row in sections[0].rows if row.runs]  # one panel per group, in table order
    by_title = dict(zip(titles, panels))
    darts_panel, pr_panel = by_title["darts"], by_title["pr_darts (lambda3=0.005)"]
    assert not [line for line in darts_panel.lines if line.get_linestyle() == "--"]  # darts is not its own reference
    (reference,) = [line for line in pr_panel.lines if line.get_linestyle() == "--"]
    assert list(reference.get_ydata()) == [1.0, 4.0, 5.0] and reference.get_label() == "darts"
    assert list(pr_panel.lines[-1].get_ydata()) == [2.0, 1.0, 0.0]  # pr_darts's own mean, drawn last
    assert pr_panel.get_shared_y_axes().joined(pr_panel, darts_panel)  # same scale: panels compare by eye


def test_heat_map_colours_each_edge_against_its_mean_and_boxes_the_strongest(two_seeds):
    row = next(row for row in two_seeds.rows if row.kind == "search")
    ax = weights_figure(row, "nb201").axes[0]
    weights = np.full((6, 5), 0.1) + 0.5 * np.eye(6, 5)  # the mean over the two seeds
    relative = weights / weights.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(ax.images[0].get_array(), relative)
    low, high = ax.images[0].get_clim()
    assert (low, high) == pytest.approx((1 - 2.0, 1 + 2.0))  # fitted to the data, centred on the edge mean
    assert [t.get_text() for t in ax.texts][:6] == ["0.600", "0.100", "0.100", "0.100", "0.100", "0.100"]
    boxes = sorted((round(p.get_x() + 0.5), round(p.get_y() + 0.5)) for p in ax.patches)
    assert boxes == [(0, 0), (0, 5), (1, 1), (2, 2), (3, 3), (4, 4)]  # (operation, edge) of each edge's strongest
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    assert [t.get_text() for t in ax.get_yticklabels()][:3] == ["0→1", "0→2", "1→2"]


def test_no_matplotlib_warning_reaches_the_console(two_seeds, tmp_path, monkeypatch):
    import warnings

    from matplotlib.figure import Figure

    real_savefig = Figure.savefig

    def noisy_savefig(self, *args, **kwargs):
        warnings.warn("constrained_layout not applied because axes sizes collapsed to zero", UserWarning)
        return real_savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", noisy_savefig)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert write_section_plots(two_seeds, tmp_path / "plots")
    assert not caught


@pytest.mark.parametrize("name", ["darts_v1", "darts_v2", "pr_darts"])
def test_edge_labels_of_published_darts_cells_do_not_overlap(name):
    from spaces import genotypes

    fig = draw_genotype(genotypes.PUBLISHED_TEXT[name])
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        boxes = [t.get_window_extent(renderer) for t in ax.texts if "_" in t.get_text()]
        # apart by a quarter of a label's width, so side-by-side labels of parallel edges do not read as one
        assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.expanded(1.5, 2).overlaps(b)]


def test_darts_space_figures_are_valid_pngs(tmp_path):
    runs, train = tmp_path / "runs", tmp_path / "train"
    for seed in (0, 1):
        write_run(runs, search_record("pr_darts", space="darts", seed=seed, run_id=f"s{seed}"),
                  epochs([0, 1, seed], cell_types=("normal", "reduce")))
    write_run(train, {**training_record(2.7, name="darts_v2"), "run_id": "t0"})
    (section,) = build_sections(collect(runs, train), published.load())[0]
    written = write_section_plots(section, tmp_path / "plots")
    assert [p.name for p in written] == [
        "skip-count-darts-cifar10.png", "depth-darts-cifar10.png", "weights-darts-cifar10-pr-darts.png",
        "cell-darts-cifar10-darts-v2-cell-trained-here.png", "cell-darts-cifar10-pr-darts.png",
    ]
    for path in written:
        assert_png(path)


def edge_labels(fig):
    return sorted(t.get_text() for ax in fig.axes for t in ax.texts if "_" in t.get_text())


def test_cell_drawings_label_every_kept_edge():
    nb201 = draw_genotype("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|")
    assert edge_labels(nb201) == ["avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3", "skip_connect"]  # none: no edge
    darts = draw_genotype(DARTS_V2)
    assert edge_labels(darts) == sorted(["sep_conv_3x3"] * 5 + ["skip_connect"] * 5 + ["dil_conv_3x3"] + ["max_pool_3x3"] * 5)
    assert [ax.get_title() for ax in darts.axes] == ["normal cell: 2 skip", "reduce cell: 3 skip"]


def test_plot_cell_command(tmp_path):
    result = cli("plot-cell", NB201_CONV, "--out", tmp_path / "nb201.png")
    assert result.returncode == 0, result.stderr
    assert_png(tmp_path / "nb201.png")
    result = cli("plot-cell", DARTS_V2, cwd=tmp_path)  # default: results/plots/ under the working directory
    assert result.returncode == 0, result.stderr
    (written,) = (tmp_path / "results" / "plots").iterdir()
    assert written.name.startswith("cell-darts-")
    assert_png(written)
    for args in (["Genotype(normal=__import__('os').system('touch pwned'))"], [NB201_CONV, "--out", tmp_path / "x.jpg"],
                 ["|nor_conv_3x3~0|+|bogus~0|none~1|"]):
        result = cli("plot-cell", *args, cwd=tmp_path)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "x.jpg").exists()
