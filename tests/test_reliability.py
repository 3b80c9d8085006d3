"""Stops and failures: resume after SIGKILL or Ctrl-C, NaN losses, full disks, concurrent runs."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import ROOT, cli
from nasbench_suite import records, registry
from nasbench_suite.errors import UsageError

# Tiny but slow enough per epoch (25 steps) that a signal lands mid-run.
# 8 epochs: the signal must land mid-run even when a loaded machine starves the test's poll.
RUN = ["run", "--method", "pr_darts", "--space", "nb201", "--epochs", "8", "--train-subset", "200",
       "--batch-size", "4", "--init-channels", "4", "--cells-per-stage", "1", "--seed", "5"]
TIMES = {"run_id", "finished_at", "search_seconds", "gpu_hours", "seconds"}


def without_times(obj):
    if isinstance(obj, dict):
        return {k: without_times(v) for k, v in obj.items() if k not in TIMES}
    if isinstance(obj, list):
        return [without_times(v) for v in obj]
    return obj


def start(args, data_dir, out):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "nasbench_suite", *args, "--data-dir", str(data_dir), "--out", str(out)]
    # Ctrl-C's default action in the child, whatever this process inherited: a shell starts a
    # background job (CI in the background, `nohup ... &`) with SIGINT ignored, and so its children.
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_epochs(out: Path, n: int, proc, timeout=120) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for metrics in out.glob("*/metrics.jsonl"):
            if len(metrics.read_text().splitlines()) >= n:
                return metrics.parent
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the run never finished its first epoch")


def finished(run_dir: Path):
    record = json.loads((run_dir / "record.json").read_text())
    metrics = records.read_jsonl(run_dir / "metrics.jsonl")
    return without_times(record), without_times(metrics)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("whole")
    proc = start(RUN, shared_data, out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    (run_dir,) = out.iterdir()
    return finished(run_dir)


@pytest.mark.parametrize("sig, exit_code", [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGINT, 130)])
def test_a_stopped_search_resumes_to_the_same_record(sig, exit_code, uninterrupted, tmp_path, shared_data):
    out = tmp_path / "runs"
    proc = start(RUN, shared_data, out)
    run_dir = wait_for_epochs(out, 1, proc)
    proc.send_signal(sig)
    out_text, err = proc.communicate(timeout=60)
    assert proc.returncode == exit_code
    assert not (run_dir / "record.json").exists()
    if sig == signal.SIGINT:  # a SIGKILL that lands mid-write leaves write_atomic's temporary file
        assert not list(run_dir.glob(".*.tmp"))
        assert f"--resume {run_dir}" in out_text and "Traceback" not in err
    result = cli("run", "--resume", run_dir)
    assert result.returncode == 0, result.stderr
    assert finished(run_dir) == uninterrupted
    assert not list(run_dir.glob(".*.tmp"))


def test_resuming_a_finished_run_is_refused(tmp_path, tiny_cifar):
    out = tmp_path / "runs"
    args = [*RUN[:5], "--epochs", "1", "--train-subset", "20", "--batch-size", "4", "--init-channels", "4",
            "--cells-per-stage", "1", "--data-dir", tiny_cifar, "--out", out]
    assert cli(*args).returncode == 0
    (run_dir,) = out.iterdir()
    before = (run_dir / "record.json").read_bytes()
    result = cli("run", "--resume", run_dir)
    assert result.returncode == 2 and "finished run" in result.stderr
    assert (run_dir / "record.json").read_bytes() == before


def test_resume_of_something_that_is_not_a_run(tmp_path):
    result = cli("run", "--resume", tmp_path)
    assert result.returncode == 2 and "not a resumable run" in result.stderr


def tiny_config(data_dir, epochs=3, method="darts"):
    from nasbench_suite.search.settings import RunConfig

    return RunConfig(
        method=method, space="nb201", data_dir=str(data_dir), train_subset=40, device="cpu",
        settings={"epochs": epochs, "batch_size": 8, "seed": 0},
        method_config={}, space_config={"init_channels": 4, "cells_per_stage": 1},
    )


class Stop(Exception):
    pass


@pytest.mark.parametrize("method", registry.method_names())
def test_every_method_resumes_to_the_record_of_an_unbroken_run(method, tmp_path, tiny_cifar, one_thread):
    """In process, stopped after the first epoch's checkpoint: whatever a method draws or
    anneals (gates, Gumbel and Dirichlet samples, τ, λ) must come back from α and the seed."""
    from nasbench_suite.search.lifecycle import resume_run, start_run

    start_run(tiny_config(tiny_cifar, epochs=2, method=method), tmp_path / "whole")

    def stop_after_first(row):
        if row["epoch"] == 1:
            raise Stop

    with pytest.raises(Stop):
        start_run(tiny_config(tiny_cifar, epochs=2, method=method), tmp_path / "stopped", on_epoch=stop_after_first)
    (run_dir,) = (tmp_path / "stopped").iterdir()
    resume_run(run_dir)
    (whole,) = (tmp_path / "whole").iterdir()
    assert finished(run_dir) == finished(whole)


def test_a_nan_loss_stops_the_run_naming_the_epoch_and_keeps_the_last_good_checkpoint(tmp_path, tiny_cifar, monkeypatch):
    import nasbench_suite.search.lifecycle as runner

    prepared = []
    real_prepare = runner.prepare
    monkeypatch.setattr(runner, "prepare", lambda config: prepared.append(real_prepare(config)) or prepared[-1])

    def poison_after_first_epoch(row):
        if row["epoch"] == 1:  # the weights go bad after epoch 1 has been checkpointed
            with torch.no_grad():
                next(prepared[0].searcher.model.parameters()).fill_(float("nan"))

    with pytest.raises(UsageError, match=r"NaN or infinite in epoch 2.*last good checkpoint \(epoch 1\)"):
        runner.start_run(tiny_config(tiny_cifar), tmp_path / "runs", on_epoch=poison_after_first_epoch)
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert not (run_dir / "record.json").exists()
    assert len(records.read_jsonl(run_dir / "metrics.jsonl")) == 1
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["searcher"]["model"].values() if v.is_floating_point())


def test_a_full_disk_while_writing_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    records.write_json(target, {"old": True})

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(records.os, "fsync", no_space)
    with pytest.raises(UsageError, match="No space left on device"):
        records.write_json(target, {"new": True})
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def run_with_records_patched(patch: str, tiny_cifar, out: Path, epochs: int) -> subprocess.CompletedProcess:
    """The real `run` command on tiny data, in a process where `patch` (Python source) has
    first replaced part of nasbench_suite.records (imported as r): a fault where it strikes."""
    code = f"import errno, os, signal, sys\nimport nasbench_suite.records as r\n{patch}" \
           "from nasbench_suite.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    args = [*RUN[:5], "--epochs", str(epochs), "--train-subset", "20", "--batch-size", "4", "--init-channels", "4",
            "--cells-per-stage", "1", "--data-dir", str(tiny_cifar), "--out", str(out)]
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_run_killed_mid_write_resumes_and_clears_the_temporary_file(tmp_path, tiny_cifar):
    """A real SIGKILL between write_atomic's temporary file and its rename: the file stays
    behind (nothing can remove it then), and the resume removes it."""
    out = tmp_path / "runs"
    killed = run_with_records_patched(
        "real = r.os.replace\n"
        "def replace(src, dst):\n"
        "    if str(dst).endswith('checkpoint.pt'): os.kill(os.getpid(), signal.SIGKILL)\n"
        "    real(src, dst)\n"
        "r.os.replace = replace\n", tiny_cifar, out, epochs=2)
    assert killed.returncode == -signal.SIGKILL
    (run_dir,) = out.iterdir()
    assert [p.name for p in run_dir.glob(".*.tmp")] and not (run_dir / "checkpoint.pt").exists()
    result = cli("run", "--resume", run_dir)
    assert result.returncode == 0, result.stderr
    assert (run_dir / "record.json").exists() and not list(run_dir.glob(".*.tmp"))


def test_a_full_disk_mid_run_is_one_line_and_keeps_what_was_written(tmp_path, tiny_cifar):
    """The real command, with the disk 'filling up' after config.json was written."""
    out = tmp_path / "runs"
    result = run_with_records_patched(
        "real = r.os.fsync\n"
        "calls = []\n"
        "def fsync(fd):\n"
        "    calls.append(fd)\n"
        "    if len(calls) > 1: raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
        "    real(fd)\n"
        "r.os.fsync = fsync\n", tiny_cifar, out, epochs=1)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "No space left on device" in result.stderr
    (run_dir,) = out.iterdir()
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.json"]
    assert json.loads((run_dir / "config.json").read_text())["method"] == "pr_darts"


def test_an_unwritable_results_directory_is_one_line(tmp_path, tiny_cifar):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    args = [*RUN[:5], "--epochs", "1", "--train-subset", "20", "--init-channels", "4", "--cells-per-stage", "1",
            "--data-dir", tiny_cifar, "--out", blocker / "runs"]
    result = cli(*args)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "cannot create a run directory" in result.stderr
    assert blocker.read_text() == "not a directory"


def test_run_directories_started_together_never_collide(tmp_path, tiny_cifar):
    out = tmp_path / "runs"
    args = [*RUN[:5], "--epochs", "1", "--train-subset", "20", "--batch-size", "4", "--init-channels", "4",
            "--cells-per-stage", "1"]
    procs = [start(args, tiny_cifar, out) for _ in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    run_dirs = list(out.iterdir())
    assert len(run_dirs) == 4
    assert all((d / "record.json").is_file() for d in run_dirs)


def test_new_run_dirs_in_the_same_second_are_distinct(tmp_path):
    dirs = {records.new_run_dir(tmp_path, "same") for _ in range(200)}
    assert len(dirs) == 200
