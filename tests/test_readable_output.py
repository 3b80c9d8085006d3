"""What people read: rounded numbers, labelled cells, short row labels, budgets beside trained
results, progress in a log file, and files others may read."""

import csv
import io
import os
import stat

from handmade_records import search_record, training_record, write_run
from rich.console import Console

from nasbench_suite import records
from nasbench_suite.cli import main
from nasbench_suite.progress import duration, step_progress
from nasbench_suite.tune.report import _per_cell


def test_leaderboard_labels_budgets_numbers_and_grammar(tmp_path, capsys):
    runs, train, out = tmp_path / "runs", tmp_path / "train", tmp_path / "out"
    for seed, acc in enumerate((93.5, 93.82, 93.66)):  # their mean is 93.66000000000001 as a float
        write_run(runs, search_record("darts", seed=seed, test_acc=acc))
    for i, weight in enumerate((0.0123456789012345, 0.0031234567890123)):  # two tune trials' weights
        write_run(runs, search_record("pr_darts", space="darts", run_id=f"trial{i}", lambda1=weight))
    write_run(train, {**training_record(3.1, run_id="trial0"), "epochs": 1, "config": {"train_subset": 500}, "run_id": "t0"})
    assert main(["leaderboard", "--runs", str(runs), "--train", str(train), "--out", str(out), "--no-plots"]) == 0
    said = capsys.readouterr().out
    assert "5 finished runs, 1 training -> " in said and " in 2 tables" in said
    md = (out / "leaderboard.md").read_text()
    assert "and 1 evaluation training (" in md
    assert ("Data: darts on cifar10, 3-epoch searches on all training images (2 runs); "
            "nb201 on cifar10, 3-epoch searches on all training images (3 runs).") in md
    assert "| pr_darts (lambda1=0.0123) | 1 | 3.10 | 1 epoch, 500 images |" in md
    assert "| pr_darts (lambda1=0.00312) | 1 | — | — |" in md
    rows = {r["label"]: r for r in csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text()))}
    assert rows["darts"]["cifar10_test_acc_mean"] == "93.66"
    assert rows["pr_darts (lambda1=0.0123)"]["trained"] == "1 epoch, 500 images"


def test_labels_keep_the_digits_that_tell_rows_apart(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    for i, weight in enumerate((0.0100001, 0.0100002)):
        write_run(runs, search_record("pr_darts", run_id=f"trial{i}", test_acc=90.0, lambda1=weight))
    assert main(["leaderboard", "--runs", str(runs), "--out", str(out), "--no-plots", "--format", "md"]) == 0
    md = (out / "leaderboard.md").read_text()
    assert "pr_darts (lambda1=0.0100001)" in md and "pr_darts (lambda1=0.0100002)" in md


def test_tune_report_names_the_cell_types():
    assert _per_cell({"normal": 1, "reduce": 1}) == "normal 1, reduce 1"
    assert _per_cell({"cell": 2}) == "2" and _per_cell(None) == "-"


def test_without_a_terminal_progress_is_a_line_about_once_a_minute():
    clock = iter(range(0, 1000, 25))  # each step takes 25 s
    out = io.StringIO()
    console = Console(file=out, width=80)  # not a terminal: a log file, a Slurm job
    with step_progress(console, epoch=1, epochs=4, steps=10, images_per_step=64, clock=lambda: next(clock)) as advance:
        for _ in range(10):
            advance()
    lines = out.getvalue().splitlines()
    assert lines == [
        "  epoch 2/4  step 3/10  2.6 images/s  ETA epoch 2m55s, run 11m15s",
        "  epoch 2/4  step 6/10  2.6 images/s  ETA epoch 1m40s, run 10m00s",
        "  epoch 2/4  step 9/10  2.6 images/s  ETA epoch 25s, run 8m45s",
    ]
    assert duration(3 * 3600 + 7 * 60) == "3h07m"


def test_atomic_writes_give_files_the_usual_mode(tmp_path):
    before = os.umask(0o022)
    try:
        records.write_json(tmp_path / "record.json", {"a": 1})
        os.umask(0o027)
        records.write_atomic(tmp_path / "private.csv", b"x")
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "record.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "private.csv").stat().st_mode) == 0o640
