"""`benchmark import`: our importer and the official readers agree on files in the official
structures, and no file can make the import run code."""

import bz2
import builtins
import gzip
import os
import pickle
import random

import pytest
import torch

import nb201_files as files
from conftest import SHARED_DATA
from nasbench_suite.nb201 import table as benchmark
from nasbench_suite.cli import main
from nasbench_suite.nb201.official import numpy_scalar_globals
from spaces import nb201_arch

# What each column means, written out once more here: the importer must keep to it.
STEMS = {
    "cifar10_valid_acc": ("cifar10-valid", "x-valid"),
    "cifar10_validsplit_test_acc": ("cifar10-valid", "ori-test"),
    "cifar10_validsplit_train_acc": ("cifar10-valid", "train"),
    "cifar10_test_acc": ("cifar10", "ori-test"),
    "cifar10_train_acc": ("cifar10", "train"),
    "cifar100_valid_acc": ("cifar100", "x-valid"),
    "cifar100_test_acc": ("cifar100", "x-test"),
    "cifar100_train_acc": ("cifar100", "train"),
    "imagenet16_valid_acc": ("ImageNet16-120", "x-valid"),
    "imagenet16_test_acc": ("ImageNet16-120", "x-test"),
    "imagenet16_train_acc": ("ImageNet16-120", "train"),
}
COST_DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16": "ImageNet16-120"}
CELLS = (0, 1835, 9930)  # first index, all-skip, the best CIFAR-100 cell


def official_row(api, index: int) -> dict:
    """Every number the official reader gives for a cell, under the column name it must have."""
    row = {}
    for hp, suffix in (("200", ""), ("12", "_12ep")):
        info = api.query_meta_info_by_index(index, hp)
        for stem, (dataset, setname) in STEMS.items():
            if dataset not in info.get_dataset_names():
                continue
            try:
                row[stem + suffix] = info.get_metrics(dataset, setname)["accuracy"]  # mean over seeds
            except KeyError:  # a seed lacks this set: the reader has no mean
                pass
            for seed, run in info.query(dataset).items():
                try:
                    one = run.get_train() if setname == "train" else run.get_eval(setname)
                    row[f"{stem}{suffix}_seed{seed}"] = one["accuracy"]
                except KeyError:
                    pass
    for short, dataset in COST_DATASETS.items():
        costs = api.get_cost_info(index, dataset, hp="200")
        row.update({f"params_mb_{short}": costs["params"], f"flops_m_{short}": costs["flops"]})
        if costs["latency"] is not None:
            row[f"latency_s_{short}"] = costs["latency"]
    return row


def assert_agree(table_path, api, indexes):
    table = benchmark.load_table(table_path)
    assert len(table) == len(indexes)
    for index in indexes:
        ours = table.lookup(nb201_arch.index_to_arch(index))
        assert ours["index"] == index
        ours = {k: v for k, v in ours.items() if k not in ("index", "arch") and v is not None}
        theirs = official_row(api, index)
        assert sorted(ours) == sorted(theirs)
        for column, value in theirs.items():
            assert ours[column] == pytest.approx(float(value), rel=1e-12), column


def nb201_api(path):
    from nas_201_api import NASBench201API

    # torch >= 2.6 loads weights-only by default: the reader needs the same numpy allowance
    with torch.serialization.safe_globals(numpy_scalar_globals()):
        return NASBench201API(str(path), verbose=False)


@pytest.mark.parametrize("v1_0, legacy", [(False, True), (True, True), (False, False)], ids=["v1_1", "v1_0", "zip"])
def test_pth_import_agrees_with_nas_201_api(tmp_path, v1_0, legacy):
    cells = files.nb201_cells(CELLS, v1_0=v1_0)
    if v1_0:  # one seed of one cell lacks the ori-test set, as old records do: no mean there
        arch = cells[1835]["full"]
        arch["all_results"][("cifar10-valid", 777)]["eval_acc1es"] = {
            k: v for k, v in arch["all_results"][("cifar10-valid", 777)]["eval_acc1es"].items() if not k.startswith("ori-test")}
    path, out = tmp_path / "NAS-Bench-201-v1_1-096897.pth", tmp_path / "t.csv.gz"
    files.write_nb201_pth(path, cells, legacy=legacy)
    if v1_0:  # written in 2020, with numpy 1.x: its scalars are named numpy.core.multiarray.scalar
        raw = path.read_bytes()
        assert b"numpy._core.multiarray\nscalar" in raw
        path.write_bytes(raw.replace(b"numpy._core.multiarray\nscalar", b"numpy.core.multiarray\nscalar"))
    assert main(["benchmark", "import", str(path), "--output", str(out), "--allow-partial"]) == 0
    assert_agree(out, nb201_api(path), CELLS)
    row = benchmark.load_table(out).lookup(nb201_arch.index_to_arch(9930))
    assert ("cifar100_test_acc_12ep" in row) == (not v1_0)  # v1_0 trained cifar10-valid only at 12 epochs


@pytest.mark.parametrize("layout", ["directory", "single-file"])
def test_nats_import_agrees_with_nats_bench(tmp_path, layout):
    import nats_bench

    cells = files.nats_cells(CELLS)
    # seeds disagreeing on a network's size (a fault of the real files): both take seed 888's
    for seed, params in ((777, 1.0), (888, 1.1), (999, 1.2)):
        cells[9930]["200"]["all_results"][("cifar10", seed)]["params"] = params
    if layout == "directory":
        path = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
        files.write_nats_dir(path, cells)
        api = nats_bench.create(str(path), "tss", fast_mode=True, verbose=False)
    else:
        files.write_nats_file(tmp_path / "NATS-tss-v1_0-3ffb9.pickle", cells)
        path = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
        api = nats_bench.create(str(path), "tss", fast_mode=False, verbose=False)
    out = tmp_path / "t.csv.gz"
    assert main(["benchmark", "import", str(path), "--output", str(out), "--allow-partial"]) == 0
    assert_agree(out, api, CELLS)
    assert benchmark.load_table(out).lookup(nb201_arch.index_to_arch(9930))["params_mb_cifar10"] == 1.1


class CreatesAFile:
    """Unpickled unsafely, this opens (creates) `target`: what a malicious benchmark file does."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (builtins.open, (self.target, "w"))


def test_a_pth_that_would_run_code_is_refused_and_creates_nothing(tmp_path, capsys):
    target, path, out = tmp_path / "created", tmp_path / "evil.pth", tmp_path / "table.csv.gz"
    torch.save({"meta_archs": nb201_arch.all_archs(), "arch2infos": {0: CreatesAFile(target)}}, path,
               _use_new_zipfile_serialization=False)
    out.write_bytes(b"the table a previous import wrote")
    assert main(["benchmark", "import", str(path), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "refusing" in err and "open" in err
    assert not target.exists()
    assert out.read_bytes() == b"the table a previous import wrote"
    torch.load(path, weights_only=False)  # the file is live: loaded unsafely it does create it
    assert target.exists()


def test_a_nats_pickle_that_would_run_code_is_refused_and_creates_nothing(tmp_path, capsys):
    folder, target, out = tmp_path / "NATS-tss-v1_0-3ffb9-simple", tmp_path / "created", tmp_path / "t.csv.gz"
    files.write_nats_dir(folder, files.nats_cells([5]))
    evil = folder / "000007.pickle.pbz2"
    evil.write_bytes(bz2.compress(pickle.dumps({"200": CreatesAFile(target)})))
    assert main(["benchmark", "import", str(folder), "--output", str(out), "--allow-partial"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "refusing to load" in err and "open" in err
    assert not target.exists() and not out.exists()
    pickle.loads(bz2.decompress(evil.read_bytes()))  # the file is live: plain pickle creates it
    assert target.exists()


def test_cell_strings_must_be_the_spaces_enumeration(tmp_path, capsys):
    meta = nb201_arch.all_archs()
    meta[3], meta[4] = meta[4], meta[3]
    files.write_nats_dir(tmp_path / "swapped", files.nats_cells([0]), meta_archs=meta)
    files.write_nats_dir(tmp_path / "short", files.nats_cells([0]), meta_archs=meta[:100])
    for name, says in (("swapped", "cell 3 is"), ("short", "lists 100 cell strings")):
        assert main(["benchmark", "import", str(tmp_path / name), "--output", str(tmp_path / "t.csv.gz"), "--allow-partial"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and says in err
    assert not (tmp_path / "t.csv.gz").exists()


def test_a_partial_file_is_refused_unless_allowed(tmp_path, capsys):
    folder, out = tmp_path / "simple", tmp_path / "t.csv.gz"
    files.write_nats_dir(folder, files.nats_cells([1, 2]))
    assert main(["benchmark", "import", str(folder), "--output", str(out)]) == 2
    assert "only 2 of 15,625 cells have results" in capsys.readouterr().err
    assert not out.exists()
    assert main(["benchmark", "import", str(folder), "--output", str(out), "--allow-partial"]) == 0
    assert len(benchmark.load_table(out)) == 2


def test_an_interrupted_directory_import_resumes(tmp_path, capsys):
    folder, out = tmp_path / "simple", tmp_path / "t.csv.gz"
    files.write_nats_dir(folder, files.nats_cells([1, 2, 3]))
    first, good = (folder / "000001.pickle.pbz2").read_bytes(), (folder / "000003.pickle.pbz2").read_bytes()
    (folder / "000003.pickle.pbz2").write_bytes(good[:100])  # cut short: the import stops there
    args = ["benchmark", "import", str(folder), "--output", str(out), "--allow-partial"]
    assert main(args) == 2
    assert "000003.pickle.pbz2" in capsys.readouterr().err and not out.exists()
    (folder / "000003.pickle.pbz2").write_bytes(good)
    (folder / "000001.pickle.pbz2").write_bytes(b"garbage")  # finished before: not read again
    assert main(args) == 0
    assert len(benchmark.load_table(out)) == 3
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
    (folder / "000001.pickle.pbz2").write_bytes(first)
    import nats_bench

    assert_agree(out, nats_bench.create(str(folder), "tss", fast_mode=True, verbose=False), [1, 2, 3])


def test_compact_tables_merge_column_by_column(tmp_path):
    hp200, hp12, out = SHARED_DATA / "nb201" / "nb201.csv.gz", SHARED_DATA / "nb201" / "nb201_hp12.csv", tmp_path / "t.csv.gz"
    assert main(["benchmark", "import", str(hp200), str(hp12), "--output", str(out)]) == 0
    merged, a, b = (benchmark.load_table(p) for p in (out, hp200, hp12))
    assert len(merged) == nb201_arch.NUM_CELLS
    assert merged.columns[:5] == ["cifar10_valid_acc", "cifar10_valid_acc_nb201v11", "cifar10_validsplit_test_acc",
                                  "cifar10_validsplit_test_acc_nb201v11", "cifar10_test_acc"]
    assert sorted(merged.columns) == sorted(a.columns + b.columns)
    for row in random.Random(0).sample(list(merged.rows()), 50):
        assert row == {**a.lookup(row["arch"]), **b.lookup(row["arch"])}
    with gzip.open(out, "rt") as f:
        assert f.readline().startswith("index,arch,")


NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.mark.parametrize(
    "text, says",
    [
        (f"index,arch,cifar10_test_acc,my_column\n{nb201_arch.arch_to_index(NONE)},{NONE},1.0,2.0\n", "unknown columns my_column"),
        (f"index,arch,cifar10_test_acc\n0,{NONE},1.0\n", "disagrees with the space"),
        (f"index,arch,cifar10_test_acc\n{nb201_arch.arch_to_index(NONE)},{NONE},x\n", "not numeric"),
        (f"index,arch,cifar10_test_acc\n{nb201_arch.arch_to_index(NONE)},{NONE}\n", "has 2 fields, the header 3"),
    ],
)
def test_bad_compact_tables_are_refused_in_one_line(tmp_path, capsys, text, says):
    (tmp_path / "bad.csv").write_text(text)
    assert main(["benchmark", "import", str(tmp_path / "bad.csv"), "--output", str(tmp_path / "t.csv.gz"), "--allow-partial"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err
    assert not (tmp_path / "t.csv.gz").exists()


def test_the_same_column_from_two_sources_is_refused(tmp_path, capsys):
    table = SHARED_DATA / "nb201" / "nb201.csv.gz"
    copy = tmp_path / "copy.csv.gz"
    copy.write_bytes(table.read_bytes())
    assert main(["benchmark", "import", str(table), str(copy), "--output", str(tmp_path / "t.csv.gz")]) == 2
    assert "comes from both" in capsys.readouterr().err


def test_import_writes_into_the_cache_where_lookup_finds_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NASBENCH_CACHE", str(tmp_path / "cache"))
    files.write_nats_dir(tmp_path / "simple", files.nats_cells([9930]))
    assert main(["benchmark", "import", str(tmp_path / "simple"), "--allow-partial"]) == 0
    assert (tmp_path / "cache" / "benchmarks" / "nb201.csv.gz").is_file()
    capsys.readouterr()
    assert main(["lookup", "9930", "--json"]) == 0
    assert '"cifar10_test_acc"' in capsys.readouterr().out
    assert os.stat(tmp_path / "cache" / "benchmarks" / "nb201.csv.gz").st_mode & 0o044  # readable like any file
