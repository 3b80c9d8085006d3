"""The leaderboard: groups, mean ± std, published rows, skipped runs, and the real command on real runs."""

import csv
import gzip
import io
import json
import math
import os
import subprocess
import sys

import pytest
from conftest import ROOT, cli
from handmade_records import NB201_ALL_SKIP, epochs, search_record, training_record, write_run

from nasbench_suite.report import published
from nasbench_suite.report.collect import collect
from nasbench_suite.report.standings import build_sections
from nasbench_suite.report.tables import Board, render_csv, render_markdown, render_tex


def board_of(runs_dir, train_dir=None):
    found = collect(runs_dir, train_dir)
    sections, unlinked = build_sections(found, published.load())
    return Board(sections, found.skipped + unlinked, "coverage line")


def csv_rows(board):
    return {row["label"]: row for row in csv.DictReader(io.StringIO(render_csv(board)))}


def table_line(markdown, label):
    (line,) = [line for line in markdown.splitlines() if line.startswith(f"| {label} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


@pytest.fixture
def nb201_runs(tmp_path):
    runs = tmp_path / "runs"
    for seed, acc, skip in [(0, 90.0, 6), (1, 94.0, 6), (2, 92.0, 3)]:
        write_run(runs, search_record("darts", seed=seed, test_acc=acc, skip=skip), epochs([seed, 6]))
    for seed, acc in [(0, 93.0), (1, 95.0)]:
        write_run(runs, search_record("pr_darts", seed=seed, test_acc=acc, skip=1), epochs([1, 1]))
    write_run(runs, search_record("pr_darts", seed=0, test_acc=91.0, lambda3=0.0))
    return runs


def test_groups_by_method_settings_with_mean_and_sample_std(nb201_runs):
    board = board_of(nb201_runs)
    (section,) = board.sections
    labels = [row.label for row in section.rows if not row.published]
    # Sorted by the main accuracy (CIFAR-10 test); two pr_darts settings are two rows.
    assert labels == ["pr_darts (lambda3=0.005)", "darts", "pr_darts (lambda3=0.0)"]
    rows = csv_rows(board)
    darts = rows["darts"]
    assert darts["seeds"] == "3" and darts["cifar10_test_acc_n"] == "3"
    assert float(darts["cifar10_test_acc_mean"]) == pytest.approx(92.0)
    assert float(darts["cifar10_test_acc_std"]) == pytest.approx(2.0)  # sample std (n - 1), not 1.633
    assert float(darts["skip_count_cell_mean"]) == pytest.approx(5.0)
    assert float(darts["skip_count_cell_std"]) == pytest.approx(math.sqrt(3))
    assert float(darts["search_seconds_mean"]) == pytest.approx(101.0)
    assert darts["best_seed"] == "1"  # the 94% seed
    assert float(rows["pr_darts (lambda3=0.005)"]["cifar10_test_acc_std"]) == pytest.approx(math.sqrt(2))
    assert rows["pr_darts (lambda3=0.0)"]["cifar10_test_acc_std"] == ""  # one seed: no std
    markdown = render_markdown(board)
    assert table_line(markdown, "darts")[:6] == ["darts", "3", "89.00 ± 2.00", "92.00 ± 2.00", "72.00 ± 2.00", "47.00 ± 2.00"]
    assert table_line(markdown, "pr_darts (lambda3=0.005)")[3] == "94.00 ± 1.41"


def test_darts_space_errors_come_from_the_trainings_of_each_groups_cells(tmp_path):
    runs, train = tmp_path / "runs", tmp_path / "train"
    for seed in (0, 1):
        record = search_record("darts", space="darts", seed=seed, skip=2, run_id=f"search-{seed}", gpu_hours=0.5 + seed)
        write_run(runs, record, epochs([2, 2], cell_types=("normal", "reduce")))
    for i, (error, run_id) in enumerate([(2.9, "search-0"), (3.1, "search-1")]):
        write_run(train, {**training_record(error, seed=i, run_id=run_id), "run_id": f"t{i}"})
    write_run(train, {**training_record(17.5, run_id="search-1", dataset="cifar100"), "run_id": "t-c100"})
    for i, error in enumerate([2.7, 2.8]):
        write_run(train, {**training_record(error, seed=i, name="darts_v2"), "run_id": f"pub{i}"})
    write_run(train, {**training_record(2.0, run_id="search-gone"), "run_id": "orphan"})
    board = board_of(runs, train)
    c10, c100 = board.sections
    assert [row.label for row in c10.rows if not row.published] == ["darts_v2 cell, trained here", "darts"]
    rows = csv_rows(board)
    assert float(rows["darts"]["test_error_mean"]) == pytest.approx(3.0)
    assert float(rows["darts"]["test_error_std"]) == pytest.approx(math.sqrt(0.02))
    assert float(rows["darts"]["gpu_hours_mean"]) == pytest.approx(1.0)
    assert rows["darts"]["best_seed"] == "0"  # the 2.9% cell
    assert float(rows["darts_v2 cell, trained here"]["test_error_mean"]) == pytest.approx(2.75)
    assert [row.label for row in c100.rows] == ["darts, searched on cifar10", "PR-DARTS"]
    markdown = render_markdown(board)
    assert table_line(markdown, "darts")[2:5] == ["3.00 ± 0.14", "600 epochs, all images", "2.0 ± 0.0 / 2.0 ± 0.0"]
    assert table_line(markdown, "DARTS (2nd order) (published)")[2] == "2.76 ± 0.09"
    # a published cell trained here: its own cell statistics, and no parameter count of
    # another network size in the column that counts the evaluation network
    published_cell = table_line(markdown, "darts_v2 cell, trained here")
    assert published_cell[4:7] == ["2.0 ± 0.0 / 3.0 ± 0.0", "2.0 ± 0.0 / 2.0 ± 0.0", "2.0 ± 0.0 / 0.0 ± 0.0"]
    assert published_cell[9] == "—"
    assert float(csv_rows(board)["darts, searched on cifar10"]["params_mb_mean"]) == pytest.approx(1.05)
    assert [s.path.name for s in board.skipped] == ["orphan"]
    assert "search-gone" in board.skipped[0].reason


def test_published_rows_have_sources_and_agree_with_the_real_benchmark(nb201_table):
    results = {(r.space, r.dataset, r.name): r for r in published.load()}
    for result in results.values():
        assert result.sources and all("Table" in s or "README" in s for s in result.sources)
    with gzip.open(nb201_table, "rt") as f:
        table = list(csv.DictReader(f))
    all_skip = next(row for row in table if row["arch"] == NB201_ALL_SKIP)
    for name in ("DARTS-V1", "DARTS-V2"):  # DARTS ends in the all-skip cell on NAS-Bench-201
        for metric, (mean, std) in results[("nb201", "cifar10", name)].values.items():
            assert mean == round(float(all_skip[metric]), 2) and std == 0.0
    for metric, (mean, _) in results[("nb201", "cifar10", "optimal cell")].values.items():
        assert mean == round(max(float(row[metric]) for row in table), 2)
    darts = results[("darts", "cifar10", "DARTS (2nd order)")].values
    assert darts == {"test_error": (2.76, 0.09), "params_mb": (3.3, None), "search_gpu_days": (4.0, None)}
    assert results[("darts", "cifar10", "PR-DARTS")].values["test_error"] == (2.32, None)
    assert results[("darts", "cifar100", "PR-DARTS")].values == {"test_error": (16.45, None)}


def test_published_rows_are_marked_in_every_format(nb201_runs):
    board = board_of(nb201_runs)
    markdown, tex = render_markdown(board), render_tex(board)
    assert table_line(markdown, "DARTS-V1 (published)")[3] == "54.30 ± 0.00"
    assert "- DARTS-V1: Dong & Yang, NAS-Bench-201, ICLR 2020, Table 5" in markdown
    assert csv_rows(board)["GDAS"]["kind"] == "published"
    assert all(rule in tex for rule in ("\\toprule", "\\midrule", "\\bottomrule", "Published, not measured here"))
    assert "DARTS-V1$^{" in tex and "Dong \\& Yang" in tex


def test_corrupt_and_unfinished_runs_are_skipped_with_their_reason(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    good = write_run(runs, search_record("darts", seed=0, test_acc=90.0), epochs([1, 2]))
    (runs / "broken").mkdir()
    (runs / "broken" / "record.json").write_text('{"method": "darts", ')
    write_run(runs, {**search_record("darts", seed=1), "run_id": "no-seed", "seed": None})
    write_run(runs, {**search_record("darts", seed=2), "run_id": "nan"}).joinpath("record.json").write_text(
        json.dumps(search_record("darts", seed=2)).replace('"search_seconds": 102.0', '"search_seconds": NaN'))
    (runs / "unfinished").mkdir()
    (runs / "unfinished" / "config.json").write_text("{}")
    (runs / "stray").mkdir()
    bad_metrics = write_run(runs, search_record("darts", seed=3, test_acc=92.0, run_id="bad-metrics"))
    (bad_metrics / "metrics.jsonl").write_text('{"epoch": 1, "skip_count": {"cell": 1}, "depth": {"cell": 2}}\n{"epo')
    write_run(runs, search_record("darts", seed=4))  # no benchmark table: counts as a seed, has no accuracy
    result = cli("leaderboard", "--runs", runs, "--out", out, "--format", "md,csv")
    assert result.returncode == 0, result.stderr
    markdown = (out / "leaderboard.md").read_text()
    assert table_line(markdown, "darts")[1:4] == ["3", "88.00 ± 1.41 (n=2)", "91.00 ± 1.41 (n=2)"]
    reasons = {line.split("`")[1].split("/")[-1]: line for line in markdown.splitlines() if line.startswith("- `")}
    assert "corrupt record.json" in reasons["broken"]
    assert "'seed' is missing" in reasons["no-seed"]
    assert "NaN" in reasons["nan"]
    assert "unfinished run" in reasons["unfinished"] and "not a run directory" in reasons["stray"]
    assert "left out of the per-epoch plots" in reasons["bad-metrics"]
    assert good.name not in reasons and sorted(p.name for p in out.iterdir()) == ["leaderboard.csv", "leaderboard.md", "plots"]


def test_a_cell_with_two_records_counts_once_the_first_finished(tmp_path):
    """A sweep whose worker dies between writing a record and marking its trial done can leave
    one cell with two records, on two machines. The record that finished first counts, whatever
    its run id, machine or paths; the other is listed as skipped, naming it."""
    runs, train = tmp_path / "runs", tmp_path / "train"
    first = {**search_record("darts", seed=0, test_acc=90.0, run_id="z-first"), "finished_at": "2026-01-01T10:00:00+00:00"}
    again = {**search_record("darts", seed=0, test_acc=96.0, run_id="a-again"), "finished_at": "2026-01-01T11:00:00+00:00",
             "device": "cuda:0 (NVIDIA H200)"}
    again["config"] = {**again["config"], "data_dir": "/elsewhere/data", "benchmark": "/elsewhere/nb201.csv.gz", "device": "cuda"}
    for record in (first, again, search_record("darts", seed=1, test_acc=94.0),
                   {**search_record("darts", seed=0, test_acc=80.0, run_id="smaller-subset"),
                    "config": {**first["config"], "train_subset": 100}}):
        write_run(runs, record, epochs([0, 1]))
    for error, at in ((3.0, "2026-01-02T00:00:00+00:00"), (2.0, "2026-01-01T00:00:00+00:00")):
        write_run(train, {**training_record(error, name="darts_v2", run_id=None), "run_id": f"train-{error}", "finished_at": at})
    board = board_of(runs, train)
    rows = {row.label: row for section in board.sections for row in section.rows}
    darts = csv_rows(board)["darts (train_subset=None)"]
    assert darts["seeds"] == "2" and float(darts["cifar10_test_acc_mean"]) == pytest.approx(92.0)  # seeds 0 (90%) and 1 (94%)
    assert rows["darts (train_subset=100)"].seeds == 1  # another setting: another cell
    assert rows["darts_v2 cell, trained here"].metrics["test_error"].mean == pytest.approx(2.0)
    reasons = {s.path.name: s.reason for s in board.skipped}
    assert reasons == {"a-again": "the same cell as z-first, which finished first: each cell counts once",
                       "train-3.0": "the same cell as train-2.0, which finished first: each cell counts once"}


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    for args in (["--runs", tmp_path / "missing"], ["--runs", tmp_path, "--format", "md,pdf"]):
        result = cli("leaderboard", *args, "--out", tmp_path / "out")
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert not (tmp_path / "out").exists()


def test_leaderboard_never_imports_torch(nb201_runs, tmp_path):
    code = (
        "import sys; from nasbench_suite.cli import main; "
        f"assert main(['leaderboard', '--runs', {str(nb201_runs)!r}, '--out', {str(tmp_path / 'out')!r}, '--no-plots']) == 0; "
        "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules, 'heavy import'"
    )
    result = cli_python(code)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "leaderboard.tex").is_file()


def cli_python(code):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
