"""The real thing: `nasbench-suite run` on real CIFAR-10 images, looked up in the real table."""

import gzip
import hashlib
import json
import shutil

import pytest

from conftest import cli
from nasbench_suite import registry
from nasbench_suite.nb201.table import EMBEDDED, load_table
from spaces import nb201_arch
from spaces.nb201 import NB201

RECORD_KEYS = {
    "method", "space", "dataset", "seed", "genotype", "skip_count", "depth", "conv_depth", "params_mb",
    "search_seconds", "device", "versions", "config", "benchmark", "alpha", "op_weights",
}
METRIC_KEYS = {
    "epoch", "train_loss", "train_acc", "val_loss", "seconds", "genotype", "skip_count", "depth", "conv_depth",
    "op_weights", "benchmark",
}


def only_run_dir(out):
    (run_dir,) = out.iterdir()
    return run_dir


@pytest.mark.parametrize("method", registry.method_names())
def test_one_epoch_on_real_images_is_looked_up_in_the_real_table(method, tmp_path, shared_data, nb201_table):
    """Every registered method; a tiny supernet (the derived cell is the benchmark's size anyway)."""
    out = tmp_path / "runs"
    result = cli(
        "run", "--method", method, "--space", "nb201", "--epochs", "1", "--train-subset", "256",
        "--init-channels", "4", "--cells-per-stage", "1",
        "--data-dir", shared_data, "--benchmark", nb201_table, "--out", out,
    )
    assert result.returncode == 0, result.stderr
    run_dir = only_run_dir(out)
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.pt", "config.json", "metrics.jsonl", "record.json"]

    record = json.loads((run_dir / "record.json").read_text())
    assert RECORD_KEYS <= set(record)
    assert record["method"] == method and record["space"] == "nb201" and record["seed"] == 0
    row = load_table(nb201_table).lookup(record["genotype"])
    assert record["benchmark"] == row
    assert {"cifar10_valid_acc", "cifar10_test_acc", "cifar100_test_acc", "imagenet16_test_acc"} <= set(row)
    space = NB201()
    genotype = space.parse(record["genotype"])
    assert record["params_mb"] == space.params_mb(genotype)
    assert {k: record[k] for k in ("skip_count", "depth", "conv_depth")} == space.describe(genotype)
    assert record["config"]["settings"]["epochs"] == 1 and record["config"]["train_subset"] == 256
    assert record["search_seconds"] > 0 and record["gpu_hours"] is None

    (line,) = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert METRIC_KEYS <= set(line)
    assert line["genotype"] == record["genotype"]
    assert len(line["op_weights"]["cell"]) == 6 and len(line["op_weights"]["cell"][0]) == 5
    if method in ("independent_gate", "pr_darts"):  # the gate methods
        assert {"tau", "activation_probability"} <= set(line) and line["tau"] == 1.0
        assert record["stretch_a"] == -0.1 and record["stretch_b"] == 1.1
        assert line["activation_probability"] == line["op_weights"]
    if method == "pr_darts":
        assert {"reg_skip", "reg_param", "reg_pool", "reg_path"} <= set(line)
    assert "nb201 cifar10 test" in result.stdout


def test_with_nothing_imported_the_embedded_table_answers(tmp_path, shared_data):
    out = tmp_path / "runs"
    result = cli(
        "run", "--method", "darts", "--space", "nb201", "--epochs", "1", "--train-subset", "40", "--batch-size", "8",
        "--init-channels", "4", "--cells-per-stage", "1", "--data-dir", shared_data, "--out", out,
        env={"NASBENCH_CACHE": str(tmp_path / "empty-cache")},
    )
    assert result.returncode == 0, result.stderr
    record = json.loads((only_run_dir(out) / "record.json").read_text())
    assert record["benchmark"]["cifar10_test_acc"] is not None
    assert record["benchmark_table"] == str(EMBEDDED) and f"looked up in the embedded table {EMBEDDED}" in result.stdout


def test_a_table_without_the_derived_cell_the_run_finishes_and_says_so(tmp_path, shared_data):
    out, table = tmp_path / "runs", tmp_path / "one-cell.csv"
    table.write_text(f"index,arch,cifar10_test_acc\n15624,{nb201_arch.index_to_arch(15624)},10.0\n")
    result = cli(
        "run", "--method", "darts", "--space", "nb201", "--epochs", "1", "--train-subset", "40", "--batch-size", "8",
        "--init-channels", "4", "--cells-per-stage", "1", "--data-dir", shared_data, "--out", out, "--benchmark", table,
    )
    assert result.returncode == 0, result.stderr
    assert "nothing was looked up" in result.stdout
    record = json.loads((only_run_dir(out) / "record.json").read_text())
    assert record["benchmark"] is None


def test_same_seed_same_genotype_and_the_same_data_identity_from_another_directory(tmp_path, shared_data):
    """The same command twice, the second with the images in another directory (flat, not in
    their official subfolder) and the embedded table passed as a copy elsewhere: the same
    genotype and α, and the same record of what the data was, whatever the paths."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for batch in (shared_data / "cifar-10-batches-py").iterdir():
        (elsewhere / batch.name).symlink_to(batch)
    table = tmp_path / "copied-table.csv.gz"
    shutil.copyfile(EMBEDDED, table)

    def search(out, *where):
        result = cli(
            "run", "--method", "pr_darts", "--space", "nb201", "--epochs", "2", "--train-subset", "80",
            "--batch-size", "8", "--init-channels", "4", "--cells-per-stage", "1", "--seed", 3, "--out", out, *where,
        )
        assert result.returncode == 0, result.stderr
        run_dirs = sorted(out.iterdir(), key=lambda p: p.stat().st_mtime)
        return json.loads((run_dirs[-1] / "record.json").read_text())

    out = tmp_path / "runs"
    here = search(out, "--data-dir", shared_data)
    there = search(out, "--data-dir", elsewhere, "--benchmark", table)
    assert len(list(out.iterdir())) == 2  # two runs, two directories
    assert (here["genotype"], here["alpha"]) == (there["genotype"], there["alpha"])
    assert here["config"]["data_dir"] != there["config"]["data_dir"] and here["benchmark_table"] != there["benchmark_table"]
    assert here["data"] == there["data"]
    assert here["data"]["benchmark_sha256"] == hashlib.sha256(gzip.decompress(EMBEDDED.read_bytes())).hexdigest()
    assert {k: here["data"][k] for k in ("dataset", "train_subset", "weight_images", "arch_images")} == {
        "dataset": "cifar10", "train_subset": 80, "weight_images": 40, "arch_images": 40}
    assert len(here["data"]["images_sha256"]) == 64 and "halved in file order" in here["data"]["split"]
