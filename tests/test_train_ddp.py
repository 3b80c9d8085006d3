"""Training on two processes with DDP (torchrun, gloo on the CPU), as on several GPUs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nasbench_suite import records
from nasbench_suite.train import ddp, trainer
from nasbench_suite.train.settings import read_config
from conftest import ROOT

WORKER = Path(__file__).with_name("ddp_train_worker.py")


pytestmark = pytest.mark.usefixtures("one_thread")


def test_two_processes_stay_in_step_and_write_one_record(shared_data, tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(WORKER),
         "--space", "darts", "--genotype", "darts_v2", "--epochs", "1", "--train-subset", "40", "--test-subset", "30",
         "--batch-size", "10", "--init-channels", "4", "--layers", "3", "--channels-last", "--device", "cpu",
         "--data-dir", str(shared_data), "--out", str(tmp_path / "out"), "--weights-out", str(weights)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("finished") == 1  # only the main process reports

    rank0, rank1 = (torch.load(weights / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for name, tensor in rank0.items():  # parameters and BatchNorm statistics alike
        torch.testing.assert_close(rank1[name], tensor, rtol=0, atol=0, msg=name)

    (run_dir,) = (tmp_path / "out").iterdir()
    record = json.loads((run_dir / records.RECORD).read_text())
    assert record["processes"] == 2 and record["device"].startswith("2 x cpu")
    (row,) = records.read_jsonl(run_dir / records.METRICS)
    checkpoint = torch.load(run_dir / records.CHECKPOINT, weights_only=True)["model"]
    for name, tensor in rank0.items():
        torch.testing.assert_close(checkpoint[name], tensor, rtol=0, atol=0, msg=name)

    # The test set was split over the two processes; one process evaluating it whole agrees.
    config = read_config(run_dir)
    alone = trainer.Trainer(config, ddp.start("cpu"))
    alone.load_checkpoint(run_dir)
    alone = alone.evaluate()
    assert alone["test_loss"] == pytest.approx(row["test_loss"], rel=1e-5)
    assert alone["test_acc"] == row["test_acc"] == record["test_acc"]
