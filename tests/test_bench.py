"""`bench` measures what it says, in the JSON shape the issue fixes (timings are not asserted)."""

import json

import pytest

from conftest import cli

KEYS = {"space", "method", "phase", "path", "batch_size", "images_per_second", "ms_per_step", "peak_memory_mb"}


def test_bench_json_lists_one_object_per_measurement(tmp_path):
    result = cli("bench", "--space", "nb201", "--method", "pr_darts", "--phase", "search", "--steps", "1",
                 "--device", "cpu", "--json", "--tiny", "--out", tmp_path)  # tiny: the shape of the file, not the figures
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["space"], r["method"], r["phase"], r["path"]) for r in rows] == [
        ("nb201", "pr_darts", "search", "plain"), ("nb201", "pr_darts", "search", "fast")]
    for r in rows:
        assert KEYS <= set(r) and r["batch_size"] == 8 and r["tiny"]
        assert r["images_per_second"] * r["ms_per_step"] / 1000 == pytest.approx(8)
        assert r["peak_memory_mb"] > 0
    (saved,) = tmp_path.glob("*.json")
    assert json.loads(saved.read_text())["measurements"] == rows


def test_bench_refuses_unknown_names_in_one_line(tmp_path):
    result = cli("bench", "--space", "nb999", "--out", tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "unknown search space" in result.stderr


def test_a_narrowed_bench_replaces_only_what_it_measured_again(tmp_path):
    def bench(method):
        result = cli("bench", "--space", "nb201", "--method", method, "--phase", "search", "--path", "fast", "--steps", "1",
                     "--device", "cpu", "--json", "--tiny", "--out", tmp_path)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    first = bench("pr_darts")
    second = bench("independent_gate")
    (saved,) = tmp_path.glob("*.json")
    assert json.loads(saved.read_text())["measurements"] == first + second
    again = bench("pr_darts")
    assert json.loads(saved.read_text())["measurements"] == second + again

    saved.write_text('{"measurements": [{"space": "nb201"}]}')
    result = cli("bench", "--space", "nb201", "--method", "pr_darts", "--out", tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "cannot read" in result.stderr
    assert saved.read_text() == '{"measurements": [{"space": "nb201"}]}'


def test_the_compiled_path_is_planned_only_when_asked_for_and_keyed_by_its_mode():
    """Compiling every measurement would take minutes: `--path compiled` asks for it; its mode,
    bf16 and the layout are part of what a measurement is, so runs in two modes keep both rows."""
    import argparse

    from nasbench_suite import bench

    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    default = bench.plan(parser.parse_args(["--space", "nb201", "--method", "darts", "--phase", "search"]))
    assert [j["path"] for j in default] == ["plain", "fast"] and all(set(j) == {"space", "method", "phase", "path"} for j in default)
    args = parser.parse_args(["--space", "nb201", "--method", "darts", "--phase", "search", "--path", "fast", "--path",
                              "compiled", "--compile-mode", "reduce-overhead", "--bf16"])
    fast, compiled = bench.plan(args)
    assert fast == {"space": "nb201", "method": "darts", "phase": "search", "path": "fast", "bf16": True}
    assert compiled["compile_mode"] == "reduce-overhead" and compiled["bf16"]
    rows = [{**fast, "ms_per_step": 2.0}, {**compiled, "ms_per_step": 1.0}]
    assert bench._key(rows[0]) != bench._key(rows[1])
    assert bench._key(dict(compiled, compile_mode="default")) != bench._key(compiled)
    assert bench._path_label(compiled) == "compiled (reduce-overhead, bf16)"


def test_a_killed_bench_keeps_each_figure_it_measured_with_what_it_ran_on(tmp_path):
    """Two measurements; the bench is SIGKILLed once the first is in the file: the file is whole
    and holds it, with the GPU (none), the CPU's model, the threads and the torch build."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import torch

    from conftest import ROOT
    from nasbench_suite.devices import cpu_model

    proc = subprocess.Popen(
        [sys.executable, "-m", "nasbench_suite", "bench", "--space", "nb201", "--method", "darts", "--phase", "search",
         "--path", "fast", "--path", "plain", "--steps", "1", "--device", "cpu", "--out", str(tmp_path)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        rows = []
        while not rows and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            for saved in tmp_path.glob("*.json"):
                rows = json.loads(saved.read_text())["measurements"]
        assert proc.poll() is None, proc.stderr.read().decode()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    (saved,) = tmp_path.glob("*.json")
    (row,) = json.loads(saved.read_text())["measurements"]
    assert (row["path"], row["method"]) == ("fast", "darts") and row["ms_per_step"] > 0
    assert row["gpu"] is None and row["cpu"] == cpu_model() and row["threads"] == 1
    assert row["torch"] == torch.__version__ and row["torch_cuda"] == torch.version.cuda
    assert row["cpu_capability"] == torch.backends.cpu.get_cpu_capability()


def test_tiny_measurements_are_their_own_rows():
    """--tiny (rehearsing a script) never replaces a real figure of the same step."""
    import argparse

    from nasbench_suite import bench

    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    real = bench.plan(parser.parse_args(["--space", "nb201", "--method", "darts", "--phase", "search"]))
    tiny = bench.plan(parser.parse_args(["--space", "nb201", "--method", "darts", "--phase", "search", "--tiny"]))
    assert all(job["tiny"] for job in tiny) and not any("tiny" in job for job in real)
    assert bench._merged(real, tiny) == real + tiny
