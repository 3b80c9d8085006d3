"""The catalogue of bad input across commands: one clear line on stderr, exit 2, nothing written.
(Each command's own test file covers its own flags; this gathers the data and text cases.)"""

import csv
import dataclasses
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT, cli, write_cifar10
from methods.base import flag_name
from nasbench_suite import registry
from nasbench_suite.cli import main

TINY = ["run", "--method", "darts", "--space", "nb201", "--epochs", "1", "--train-subset", "20", "--batch-size", "4",
        "--init-channels", "4", "--cells-per-stage", "1"]
BAD_GENOTYPE = "Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[], reduce_concat=[2])"


def one_line(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def damage(folder, how):
    batch = folder / "cifar-10-batches-py" / "data_batch_1"
    if how == "truncated":
        batch.write_bytes(batch.read_bytes()[:4000])
    elif how == "corrupted":
        data = bytearray(batch.read_bytes())
        data[100:200] = b"\xff" * 100
        batch.write_bytes(bytes(data))
    elif how == "empty":
        for f in folder.rglob("*"):
            if f.is_file():
                f.unlink()


@pytest.mark.parametrize("how, says", [("empty", "no cifar10 batch files"), ("truncated", "truncated or corrupted"),
                                       ("corrupted", "truncated or corrupted")])
def test_a_damaged_data_directory(how, says, tmp_path):
    data = write_cifar10(tmp_path / "data")
    damage(data, how)
    one_line(cli(*TINY, "--data-dir", data, "--out", tmp_path / "runs"), says)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", [["describe", "--space", "darts"], ["train", "--space", "darts", "--device", "cpu"],
                                     ["plot-cell", "--space", "darts"]])
def test_a_malformed_genotype_text(command, tmp_path):
    genotype = ["--genotype", BAD_GENOTYPE] if command[0] != "plot-cell" else [BAD_GENOTYPE]
    out = ["--out", tmp_path / "out" / ("cell.png" if command[0] == "plot-cell" else "")] if command[0] != "describe" else []
    one_line(cli(*command, *genotype, *out), "expected 8 (operation, input) pairs")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


@pytest.mark.parametrize("args, says", [
    (["train", "--space", "darts", "--genotype", "pr_darts", "--dataset", "svhn"], "invalid choice: 'svhn'"),
    (["run", "--method", "pr_darts", "--space", "darts", "--k", "9"], "--k must be between 1 and the 8 operations"),
    (["run", "--method", "independent_gate", "--space", "nb201", "--lambda", "-0.5"], "--lambda must be non-negative"),
    (["run", "--method", "pr_darts", "--space", "nb201", "--gate-drop", "1"], "--gate-drop must be in [0, 1)"),
    (["lookup", "|nor_conv_3x3~0|+|none~0|"], "lookup: error"),
])
def test_settings_that_cannot_work(args, says, tmp_path):
    one_line(cli(*args, "--out", tmp_path / "out") if args[0] != "lookup" else cli(*args), says)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("method", registry.method_names())
def test_every_method_refuses_a_setting_it_does_not_take(method, tmp_path, capsys):
    """In process (no data is read before the flags are checked): another method's setting."""
    own = {f.name for f in dataclasses.fields(registry.get_method(method).Config)}
    foreign = next(f for m in registry.method_names() for f in dataclasses.fields(registry.get_method(m).Config)
                   if f.name not in own)
    args = ["run", "--method", method, "--space", "nb201", flag_name(foreign), str(foreign.default)]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{flag_name(foreign)}: not a setting of" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_leaderboard_compiled_while_runs_write_reads_only_finished_records(tmp_path, shared_data):
    runs, out = tmp_path / "runs", tmp_path / "board"
    runs.mkdir()
    writer = subprocess.Popen(
        [sys.executable, "-m", "nasbench_suite", *TINY[:5], "--epochs", "3", "--train-subset", "100",
         "--batch-size", "4", "--init-channels", "4", "--cells-per-stage", "1", "--data-dir", str(shared_data),
         "--out", str(runs)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = []
    while True:
        done = writer.poll() is not None
        result = cli("leaderboard", "--runs", runs, "--out", out, "--format", "csv", "--no-plots")
        assert result.returncode == 0, result.stderr
        with open(out / "leaderboard.csv") as f:
            seen.append(sum(int(row["seeds"]) for row in csv.DictReader(f) if row["kind"] == "measured"))
        if done:
            break
        time.sleep(0.2)
    assert writer.returncode == 0, writer.stderr.read()
    assert seen[0] == 0 and seen[-1] == 1 and sorted(seen) == seen  # never a half-written run
