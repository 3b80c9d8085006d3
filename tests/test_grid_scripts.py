"""scripts/grid.py: what the CPU comparisons' scripts share to split a grid between processes."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import grid  # noqa: E402


def test_seed_ranges():
    assert grid.seeds("3-7") == [3, 4, 5, 6, 7] and grid.seeds("2") == [2] and grid.seeds("0-0") == [0]


def test_a_cell_is_claimed_once_and_a_dead_claim_taken_over(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["nb201_cpu.py"])
    assert grid.claim(tmp_path, "darts-s3") and grid.claim(tmp_path, "darts-s3")  # this process holds it
    # a live process of the same script holds a cell: not ours
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "nb201_cpu.py"])
    cmdline = Path(f"/proc/{holder.pid}/cmdline")
    for _ in range(500):  # right after exec the kernel may still show an empty command line
        if "nb201_cpu.py" in cmdline.read_text():
            break
        time.sleep(0.01)
    try:
        (tmp_path / "darts-s4").write_text(str(holder.pid))
        assert not grid.claim(tmp_path, "darts-s4")
    finally:
        holder.kill()
        holder.wait()
    assert grid.claim(tmp_path, "darts-s4")  # its process died: taken over
    assert (tmp_path / "darts-s4").read_text() == str(os.getpid())


def test_a_search_directory_is_found_by_its_resolved_settings(tmp_path):
    protocol = ["--space", "nb201", "--epochs", "20", "--arch-lr", "5e-3"]
    wanted = grid.search_config("pr_darts", 3, [*protocol, "--lambda1", "0.1"])
    for name, config in {
        "pr_darts-nb201-s3-a": {**wanted, "method_config": {**wanted["method_config"], "lambda1": 0.01}},
        "pr_darts-nb201-s3-b": wanted,
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({"data_dir": "/anywhere", **config}))
    assert grid.search_dir(tmp_path, "nb201", "pr_darts", 3, [*protocol, "--lambda1", "0.1"]) == tmp_path / "pr_darts-nb201-s3-b"
    assert grid.search_dir(tmp_path, "nb201", "pr_darts", 4, [*protocol, "--lambda1", "0.1"]) is None
    assert grid.search_dir(tmp_path, "nb201", "pr_darts", 3, [*protocol, "--lambda1", "0.2"]) is None


@pytest.mark.parametrize("script", ["nb201_cpu.py", "darts_cpu.py", "nb201_tune.py", "regularizer_pull.py"])
def test_each_script_starts(script):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage:" in done.stdout, done.stderr


def test_a_search_cell_starts_resumes_or_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["darts_cpu.py"])
    asked = []
    monkeypatch.setattr(grid, "run", lambda command, what: asked.append(command))
    flags = ["--space", "nb201", "--epochs", "20"]
    out = tmp_path / "runs"
    grid.search(out, "darts", "darts", 3, flags, ["--data-dir", "D"])
    assert asked.pop() == ["run", "--method", "darts", "--seed", "3", *flags, "--data-dir", "D", "--out", str(out)]
    run_dir = out / "darts-nb201-s3-x"  # a run directory of this cell, unfinished: resumed
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(grid.search_config("darts", 3, flags)))
    grid.search(out, "darts", "darts", 3, flags, ["--data-dir", "D"])
    assert asked.pop() == ["run", "--resume", str(run_dir)]
    (run_dir / "record.json").write_text("{}")  # finished: nothing to do
    grid.search(out, "darts", "darts", 3, flags, ["--data-dir", "D"])
    assert asked == [] and (tmp_path / ".claims" / "darts-s3").read_text() == str(os.getpid())


def test_published_cells_and_searched_rows_never_share_a_training_claim():
    import darts_cpu

    searched = {darts_cpu.training_claim(row, seed) for row, _, _ in darts_cpu.ROWS for seed in range(3)}
    published = {darts_cpu.training_claim(cell, seed, published=True) for cell in darts_cpu.PUBLISHED for seed in range(3)}
    assert "pr_darts" in {row for row, _, _ in darts_cpu.ROWS} & set(darts_cpu.PUBLISHED)  # the case that collided
    assert len(published) == 6 and not searched & published


def test_the_nb201_grid_runs_the_confirmatory_rows_as_the_family_file_states_them():
    # The family's rows are written twice: in confirmatory.json, which the leaderboard tests,
    # and in nb201_cpu.py, which runs them. A mismatch would leave a hypothesis pending forever.
    import nb201_cpu

    family = json.loads((ROOT / "results" / "nb201-cpu" / "confirmatory.json").read_text())
    assert family["protocol"] == nb201_cpu.PROTOCOL
    grid_rows = {name: (method, flags) for name, method, flags in nb201_cpu.ROWS}
    fixed = {name: spec for name, spec in family["rows"].items() if spec["flags"] is not None}
    assert {"darts", "pr_darts_x10", "pr_darts_tuned"} <= set(fixed)
    for name, spec in fixed.items():
        assert grid_rows[name] == (spec["method"], spec["flags"]), name
