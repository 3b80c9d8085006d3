"""`lookup`: one cell or every cell of the real table, without torch."""

import csv
import gzip
import io
import json
import os
import re
import subprocess
import sys

import pytest

import nb201_files as files
from conftest import NB201_TABLE, ROOT
from nasbench_suite.cli import main
from nasbench_suite.nb201.table import EMBEDDED
from spaces import nb201_arch

BEST_C100 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def source_rows(nb201_table):
    with gzip.open(nb201_table, "rt") as f:
        return list(csv.DictReader(f))


def test_one_cell_by_string_or_index(nb201_table, source_rows, capsys):
    assert main(["lookup", BEST_C100, "--benchmark", str(nb201_table), "--json"]) == 0
    by_string = json.loads(capsys.readouterr().out)
    assert main(["lookup", "9930", "--benchmark", str(nb201_table), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == by_string
    source = source_rows[9930]
    assert by_string == {"index": 9930, "arch": BEST_C100, **{k: float(v) for k, v in source.items() if k not in ("index", "arch")}}
    assert main(["lookup", "9930", "--benchmark", str(nb201_table)]) == 0
    text = capsys.readouterr().out  # text is for people: rounded (json and csv keep the table's values)
    assert re.search(r"^cifar100_test_acc +73\.51$", text, re.MULTILINE) and source["cifar100_test_acc"] == "73.51333326009114"
    assert re.search(r"^params_mb_cifar10 +1\.289$", text, re.MULTILINE)


def test_all_cells_as_csv_is_the_table(nb201_table, source_rows, tmp_path):
    out = tmp_path / "all.csv"
    assert main(["lookup", "--all", "--benchmark", str(nb201_table), "--output", str(out)]) == 0
    assert list(csv.DictReader(io.StringIO(out.read_text()))) == source_rows


def test_all_cells_as_json(nb201_table, source_rows, capsys):
    assert main(["lookup", "--all", "--format", "json", "--benchmark", str(nb201_table)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["arch"] for r in rows] == nb201_arch.all_archs()
    assert all(r["cifar10_test_acc"] == float(s["cifar10_test_acc"]) for r, s in zip(rows, source_rows))


def test_lookup_and_import_never_import_torch(nb201_table, tmp_path):
    """A cold interpreter: both lookups and a NATS / CSV import leave torch unloaded."""
    files.write_nats_dir(tmp_path / "simple", files.nats_cells([9930]))
    code = (
        "import sys\n"
        "from nasbench_suite.cli import main\n"
        "for args in sys.argv[1:]:\n"
        "    assert main(args.split('\\t')) == 0, args\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    calls = [
        ["lookup", BEST_C100, "--benchmark", str(nb201_table)],
        ["lookup", "9930", "--which"],  # the embedded table, or the imported one
        ["lookup", "--all", "--format", "json", "--benchmark", str(nb201_table), "--output", str(tmp_path / "a.json")],
        ["benchmark", "import", str(nb201_table), "--output", str(tmp_path / "csv.csv.gz")],
        ["benchmark", "import", str(tmp_path / "simple"), "--output", str(tmp_path / "nats.csv.gz"), "--allow-partial"],
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code, *("\t".join(c) for c in calls)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(json.loads((tmp_path / "a.json").read_text())) == nb201_arch.NUM_CELLS


def test_the_embedded_table_answers_unless_one_was_imported_or_given(tmp_path, monkeypatch, capsys):
    """Embedded < `benchmark import` < --benchmark; --which says which answered."""
    monkeypatch.setenv("NASBENCH_CACHE", str(tmp_path / "cache"))
    assert EMBEDDED.read_bytes() == NB201_TABLE.read_bytes()  # the shared table, shipped byte for byte

    def answer(*extra):
        assert main(["lookup", "9930", "--json", "--which", *extra]) == 0
        row = json.loads(capsys.readouterr().out)
        return row["cifar10_test_acc"], row["table"]

    assert answer() == (94.36333333333334, f"embedded table {EMBEDDED} (NAS-Bench-201 200-epoch means; see SOURCE.md beside it)")
    mine = tmp_path / "mine.csv"
    mine.write_text(f"index,arch,cifar10_test_acc\n9930,{BEST_C100},1.5\n")
    assert main(["benchmark", "import", str(mine), "--allow-partial"]) == 0
    capsys.readouterr()
    imported = tmp_path / "cache" / "benchmarks" / "nb201.csv.gz"
    assert answer() == (1.5, f"imported table {imported}")
    given = tmp_path / "given.csv"
    given.write_text(f"index,arch,cifar10_test_acc\n9930,{BEST_C100},2.5\n")
    assert answer("--benchmark", str(given)) == (2.5, f"--benchmark {given}")
    capsys.readouterr()
    assert main(["lookup", "--which"]) == 0
    assert capsys.readouterr().out == f"imported table {imported}\n"


def test_bad_requests_get_one_line(nb201_table, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NASBENCH_CACHE", str(tmp_path / "empty-cache"))
    truncated = tmp_path / "truncated.csv.gz"
    truncated.write_bytes(NB201_TABLE.read_bytes()[:50_000])
    partial = tmp_path / "partial.csv"
    partial.write_text("index,arch,cifar10_test_acc\n9930," + BEST_C100 + ",94.0\n")
    cases = [
        (["lookup", "--all", "--which"], "one cell in text or json"),
        (["lookup", "9930", "--benchmark", str(tmp_path / "missing.csv")], "cannot read benchmark"),
        (["lookup", "9930", "--benchmark", str(truncated)], "truncated"),
        (["lookup", "0", "--benchmark", str(partial)], "is not in"),
        (["lookup", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--benchmark", str(nb201_table)], "unknown operation"),
        (["lookup", "15625", "--benchmark", str(nb201_table)], "outside 0..15624"),
        (["lookup", "9930", "--all", "--benchmark", str(nb201_table)], "one ARCH or --all"),
        (["lookup", "--all", "--format", "text", "--benchmark", str(nb201_table)], "csv or json"),
    ]
    for args, says in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and says in err, (args, err)


def test_all_cells_as_json_from_a_hand_written_table(tmp_path, capsys):
    """Numbers as a person may write them (1., +2, .5e1) still come out as valid JSON numbers."""
    table = tmp_path / "hand.csv"
    table.write_text(f"index,arch,cifar10_test_acc,cifar100_test_acc\r\n9930,{BEST_C100},94.,+2\r\n0,{nb201_arch.index_to_arch(0)},.5e1,\r\n")
    assert main(["lookup", "--all", "--format", "json", "--benchmark", str(table)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["cifar10_test_acc"], r["cifar100_test_acc"]) for r in rows] == [(94.0, 2.0), (5.0, None)]
    table.write_text(f"index,arch,cifar10_test_acc\n9930,{BEST_C100},9x4\n")
    assert main(["lookup", "--all", "--format", "json", "--benchmark", str(table)]) == 2
    assert "line 2 is not numeric" in capsys.readouterr().err
