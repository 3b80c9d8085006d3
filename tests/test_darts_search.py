"""One short search epoch of every method on the darts space, on real CIFAR-10 images."""

import dataclasses
import json

import pytest
import torch

from nasbench_suite import records, registry
from nasbench_suite.cli import main
from nasbench_suite.search.settings import RunConfig
from nasbench_suite.search.lifecycle import start_run
from nasbench_suite.search.settings import SearchSettings
from spaces.darts import Darts
from conftest import cli

TINY = ["--epochs", "1", "--train-subset", "20", "--batch-size", "10", "--init-channels", "4", "--layers", "3"]


pytestmark = pytest.mark.usefixtures("one_thread")


def check_search_record(record: dict, run_dir):
    space = Darts()
    genotype = space.parse(record["genotype"])
    assert set(record["skip_count"]) == {"normal", "reduce"}
    assert {k: record[k] for k in ("skip_count", "depth", "conv_depth")} == space.describe(genotype)
    assert all(1 <= d <= 4 for d in record["depth"].values())
    assert record["params_mb"] == space.params_mb(genotype, 10)  # the C=36, 20-cell network
    (row,) = records.read_jsonl(run_dir / records.METRICS)
    weights = {t: torch.tensor(w) for t, w in row["op_weights"].items()}
    assert all(w.shape == (14, 8) for w in weights.values())
    assert space.format(space.derive(weights)) == record["genotype"]  # the record's cell is the last epoch's


@pytest.mark.parametrize("method, method_config", [*((m, {}) for m in registry.method_names()), ("darts", {"order": 2})])
def test_one_search_epoch(method, method_config, shared_data, tmp_path):
    config = RunConfig(
        method=method, space="darts", train_subset=20, data_dir=str(shared_data), device="cpu",
        settings=dataclasses.asdict(SearchSettings(epochs=1, batch_size=10)), method_config=method_config,
        space_config={"init_channels": 4, "layers": 3},
    )
    record = start_run(config, tmp_path)
    (run_dir,) = tmp_path.iterdir()
    check_search_record(record, run_dir)


def test_the_headline_command_searches_with_pr_darts(shared_data, tmp_path):
    """`nasbench-suite run --method pr_darts --space darts`, tiny: the path term follows the chain."""
    done = cli("run", "--method", "pr_darts", "--space", "darts", *TINY, "--data-dir", shared_data, "--out", tmp_path,
               env={"OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    (run_dir,) = tmp_path.iterdir()
    record = json.loads((run_dir / records.RECORD).read_text())
    check_search_record(record, run_dir)
    (row,) = records.read_jsonl(run_dir / records.METRICS)
    assert row["reg_path"] > 0  # some chain edge kept a convolution
    assert set(row["activation_probability"]) == {"normal", "reduce"}


def test_darts_settings_are_flags_of_run_and_foreign_ones_are_refused(tmp_path, capsys):
    assert main(["run", "--method", "darts", "--space", "darts", "--cells-per-stage", "2", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "nasbench-suite run: error: --cells-per-stage: not a setting of method darts on space darts"
    )
    assert main(["run", "--method", "darts", "--space", "darts", "--layers", "0", "--out", str(tmp_path)]) == 2
    assert "--layers must be at least 1" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
