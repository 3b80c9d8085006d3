"""The command line: bad input is one line on stderr and exit 2, with nothing written."""

import gzip
import json

import pytest

from conftest import cli

TINY_RUN = ["--epochs", "1", "--train-subset", "20", "--batch-size", "4", "--init-channels", "4", "--cells-per-stage", "1"]


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "--method", "enas", "--space", "nb201"], "unknown method 'enas'"),
        (["run", "--method", "darts", "--space", "nb301"], "unknown search space 'nb301'"),
        (["run", "--method", "darts", "--space", "nb201", "--dataset", "svhn"], "unknown dataset 'svhn'"),
        (["run", "--method", "darts", "--space", "nb201", "--lambda1", "0.1"], "--lambda1: not a setting of method darts"),
        (["run", "--method", "pr_darts", "--space", "nb201", "--lambda1", "-1"], "--lambda1 must be non-negative"),
        (["run", "--method", "pr_darts", "--space", "nb201", "--lambda3", "nan"], "--lambda3"),
        (["run", "--method", "pr_darts", "--space", "nb201", "--k", "6"], "--k must be between 1 and the 5 operations"),
        (["run", "--method", "darts", "--space", "nb201", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["run", "--method", "darts", "--space", "nb201", "--order", "3"], "--order must be 1 or 2"),
        (["frobnicate"], "unknown command 'frobnicate'"),
    ],
)
def test_bad_run_flags(args, fragment, tmp_path, tiny_cifar):
    out = tmp_path / "runs"
    if args[0] == "run":  # the flag under test comes last, so it wins over TINY_RUN
        result = cli("run", *TINY_RUN, *args[1:], "--data-dir", tiny_cifar, "--out", out)
    else:
        result = cli(*args)
    assert_one_line_error(result, fragment)
    assert not out.exists() or not any(out.iterdir())


def test_missing_data_directory(tmp_path):
    out = tmp_path / "runs"
    result = cli("run", "--method", "darts", "--space", "nb201", *TINY_RUN, "--data-dir", tmp_path / "nodata", "--out", out)
    assert_one_line_error(result, str(tmp_path / "nodata"), "NASBENCH_OFFLINE")
    assert not out.exists()


@pytest.mark.parametrize("damage", ["missing", "truncated", "not_a_table"])
def test_unreadable_benchmark(damage, tmp_path, tiny_cifar, nb201_table):
    bench = tmp_path / "table.csv.gz"
    if damage == "truncated":
        bench.write_bytes(nb201_table.read_bytes()[:5000])
    elif damage == "not_a_table":
        bench.write_bytes(gzip.compress(b"hello,world\n1,2\n"))
    out = tmp_path / "runs"
    result = cli("run", "--method", "darts", "--space", "nb201", *TINY_RUN, "--data-dir", tiny_cifar,
                 "--benchmark", bench, "--out", out)
    assert_one_line_error(result, "benchmark")
    assert not out.exists()


def test_lookup_prints_the_row_as_json(nb201_table):
    arch = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
    result = cli("lookup", arch, "--benchmark", nb201_table, "--json")
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["index"] == 1835 and row["arch"] == arch
    assert row["cifar10_test_acc"] == pytest.approx(54.29666666666666)
    assert row["cifar10_valid_acc"] == pytest.approx(39.76933332)


def test_lookup_by_index_gives_the_same_row(nb201_table):
    by_index = json.loads(cli("lookup", "9930", "--benchmark", nb201_table, "--json").stdout)
    assert by_index["arch"] == "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


@pytest.mark.parametrize("arch", ["|nor_conv_3x3~0|", "|nor_conv_3x3~0|+|x~0|none~1|+|none~0|none~1|none~2|", "nonsense"])
def test_lookup_of_a_malformed_string(arch, nb201_table):
    assert_one_line_error(cli("lookup", arch, "--benchmark", nb201_table), "lookup: error")


def test_lookup_with_nothing_imported_answers_from_the_embedded_table(tmp_path):
    result = cli("lookup", "9930", "--which", env={"NASBENCH_CACHE": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "cifar10_test_acc                      94.36\n" in result.stdout  # rounded for people
    assert "embedded table" in result.stdout


def test_lookup_never_imports_torch(nb201_table):
    import subprocess
    import sys

    code = (
        "import sys; from nasbench_suite.cli import main; "
        f"rc = main(['lookup', '0', '--benchmark', {str(nb201_table)!r}]); "
        "assert rc == 0; assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cli.__globals__["ROOT"])
    assert result.returncode == 0, result.stderr
