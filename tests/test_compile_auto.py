"""`--compile auto` and what comes with it: the mode auto means on each device, the fall-back
to eager where compiling fails (a real failure: inductor without a C++ compiler), the record
saying which mode ran, the compile cache all processes share, one graph for every epoch of a
compiled training, the α_0 diagnostic on a fixed sample of steps, and on a GPU (skipped here):
the auto path against eager, fused optimisers and no host sync inside an epoch."""

import argparse
import json

import pytest
import torch
from conftest import cli
from test_compile import assert_same_state, batches, searcher, steps  # at the top: a rename fails here, not on a GPU only
from test_search import make_searcher

from nasbench_suite import compiling, registry
from nasbench_suite.errors import UsageError
from nasbench_suite.search import command as run_command
from nasbench_suite.search import loop

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine (scripts/device_check.sh runs it)")
TINY_RUN = ["--method", "pr_darts", "--space", "nb201", "--epochs", "1", "--train-subset", "80", "--batch-size", "8",
            "--init-channels", "4", "--cells-per-stage", "1", "--device", "cpu"]
TINY_TRAIN = ["--space", "darts", "--genotype", "darts_v2", "--epochs", "2", "--init-channels", "4", "--layers", "3",
              "--train-subset", "40", "--test-subset", "20", "--batch-size", "8", "--drop-path", "0.3", "--device", "cpu"]


def test_auto_is_reduce_overhead_on_cuda_and_off_elsewhere():
    assert compiling.resolve("auto", "cuda") == "reduce-overhead"
    assert compiling.resolve("auto", "cpu") == "off"
    assert compiling.resolve("auto", "mps") == "off"
    assert compiling.resolve("auto", "cuda", unrolled=True) == "off"  # the unrolled α step runs uncompiled
    for mode in ("off", "default", "reduce-overhead", "max-autotune"):
        assert compiling.resolve(mode, "cuda") == compiling.resolve(mode, "cpu") == mode


def run_args(*extra):
    parser = argparse.ArgumentParser()
    run_command.add_arguments(parser)
    return parser.parse_args(["--method", "darts", "--space", "nb201", *extra])


def test_auto_is_the_default_and_second_order_takes_it_but_refuses_a_mode():
    assert run_command.config_from_args(run_args()).compile == "auto"
    assert run_command.config_from_args(run_args("--order", "2")).compile == "auto"
    with pytest.raises(UsageError, match="--order 2"):
        run_command.config_from_args(run_args("--order", "2", "--compile", "default"))


def test_the_compile_cache_is_one_folder_the_user_can_move(monkeypatch, tmp_path):
    import torch._functorch.config
    import torch._inductor.config

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("NASBENCH_CACHE", str(tmp_path / "suite"))
    compiling.share_cache()
    assert torch._inductor.config.fx_graph_cache and torch._functorch.config.enable_autograd_cache
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    assert cache_dir() == str(tmp_path / "suite" / "compile")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    compiling.share_cache()
    assert cache_dir() == str(tmp_path / "mine")


def read_run(out):
    (run_dir,) = out.iterdir()
    record = json.loads((run_dir / "record.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("seconds")
    return record, rows


def no_compiler(tmp_path):
    """Inductor with no C++ compiler to call, and a cold cache (a warm one would need none)."""
    return {"CXX": "/nonexistent/g++", "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}


def test_a_run_whose_compiling_fails_goes_on_eager_and_is_the_eager_search(tiny_cifar, nb201_table, tmp_path):
    """Default (auto on the CPU: off) against --compile default with a compiler that cannot run:
    one line says so, the record says off, and α, genotype and every metric are the eager run's."""
    common = [*TINY_RUN, "--data-dir", tiny_cifar, "--benchmark", nb201_table]
    eager = cli("run", *common, "--out", tmp_path / "eager", env={"OMP_NUM_THREADS": "1"})
    assert eager.returncode == 0, eager.stderr
    failed = cli("run", *common, "--compile", "default", "--out", tmp_path / "failed", env=no_compiler(tmp_path))
    assert failed.returncode == 0, failed.stderr
    lines = [line for line in failed.stdout.splitlines() if "compiling (default) failed, running eager" in line]
    assert len(lines) == 1 and "C++ compiler" in lines[0], failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr
    (want, want_rows), (got, got_rows) = read_run(tmp_path / "eager"), read_run(tmp_path / "failed")
    assert want["config"]["compile"] == "auto" and want["compile"] == "off"
    assert got["config"]["compile"] == "default" and got["compile"] == "off"
    for key in ("alpha", "genotype", "op_weights", "benchmark", "alpha_movement"):
        assert got[key] == want[key], key
    assert got_rows == want_rows


def test_a_training_whose_compiling_fails_goes_on_eager_and_is_the_eager_training(tiny_cifar, tmp_path):
    common = [*TINY_TRAIN, "--data-dir", tiny_cifar]
    eager = cli("train", *common, "--compile", "off", "--out", tmp_path / "eager", env={"OMP_NUM_THREADS": "1"})
    assert eager.returncode == 0, eager.stderr
    failed = cli("train", *common, "--compile", "default", "--out", tmp_path / "failed", env=no_compiler(tmp_path))
    assert failed.returncode == 0, failed.stderr
    assert failed.stdout.count("compiling (default) failed, running eager") == 1, failed.stdout
    (want, want_rows), (got, got_rows) = read_run(tmp_path / "eager"), read_run(tmp_path / "failed")
    # the same run directory name: how a training runs is not what it is
    assert want["run_id"] == got["run_id"]
    assert want["compile"] == got["compile"] == "off" and got["config"]["compile"] == "default"
    assert got_rows == want_rows and got["test_acc"] == want["test_acc"]


def test_a_compiled_training_keeps_one_graph_while_drop_path_rises(float64):
    """drop-path's probability changes every epoch; as a tensor it is an input of the compiled
    cells, not a constant baked into them. At the same random state the tensor form drops
    what the float form drops."""
    from torch._dynamo.utils import counters

    space = registry.get_space("darts")
    torch.manual_seed(0)
    model = space.network(space.known_genotypes["darts_v2"], 10, 4, 3, auxiliary=True).train()
    x = torch.randn(2, 3, 32, 32)
    expected = []
    for p in (0.1, 0.2):
        model.drop_path_prob = p
        torch.manual_seed(1)
        expected.append(model(x)[0])
    compiling.compile_modules(model.cells, "default", backend="eager")
    model.drop_path_prob = torch.tensor(0.0)
    graphs = []
    for p, want in zip((0.1, 0.2), expected):
        model.drop_path_prob.fill_(p)
        torch.manual_seed(1)
        torch.testing.assert_close(model(x)[0], want, rtol=1e-12, atol=1e-12)
        graphs.append(counters["stats"]["unique_graphs"])
    assert graphs[0] == graphs[1], "a new drop-path probability compiled new graphs"


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def test_the_alpha0_terms_run_on_a_fixed_sample_of_steps_and_change_no_alpha(tiny_cifar, monkeypatch, one_thread):
    """About ALPHA0_SAMPLES α steps an epoch carry the diagnostic, at fixed steps; α ends where a
    search with the diagnostic on every step ends."""
    def search(samples):
        monkeypatch.setattr(loop, "ALPHA0_SAMPLES", samples)
        searcher = make_searcher("pr_darts", tiny_cifar)
        searcher.settings.batch_size = 1  # 20 steps an epoch
        calls = []
        terms = searcher._terms_at_alpha0
        searcher._terms_at_alpha0 = lambda mix: calls.append(1) or terms(mix)
        stats = searcher.run_epoch(0)
        return searcher.method.alpha["cell"].detach(), stats, len(calls), searcher.steps_per_epoch

    alpha, stats, calls, steps = search(8)
    assert steps == 20 and calls == 10  # steps 0, 2, ..., 18
    every_alpha, every_stats, every_calls, _ = search(10**9)
    assert every_calls == 20
    assert torch.equal(alpha, every_alpha)
    assert {k: v for k, v in stats.items() if "alpha0" not in k and k != "seconds"} == \
        {k: v for k, v in every_stats.items() if "alpha0" not in k and k != "seconds"}
    assert all(f"reg_{n}_at_alpha0" in stats for n in ("skip", "pool", "param", "path"))


def cuda_searcher(method_name, compile):
    return searcher("nb201", method_name, compile, device="cuda")


@CUDA
@pytest.mark.parametrize("method_name", ["darts", "pr_darts", "gdas", "darts_minus"])
def test_auto_on_cuda_compiles_with_cuda_graphs_and_matches_eager(method_name):
    """One method of each kind of mix: auto is reduce-overhead there, its steps are the eager
    steps within float32 tolerance, and the optimisers are the fused ones."""

    data = batches("cuda")
    eager, auto = cuda_searcher(method_name, "off"), cuda_searcher(method_name, "auto")
    assert auto.compile == "reduce-overhead" and eager.compile == "off"
    assert auto.w_opt.defaults["fused"] and auto.a_opt.defaults["fused"]
    for e, g in zip(steps(eager, data), steps(auto, data)):
        for key in e:
            torch.testing.assert_close(g[key].float(), e[key].float(), rtol=2e-3, atol=2e-3, msg=lambda m: f"{key}: {m}")
    assert_same_state(auto, eager, rtol=1e-3, atol=1e-3, alpha_atol=3 * 2 * 3e-4)


@CUDA
@pytest.mark.parametrize("compile", ["off", "auto"])
def test_no_host_sync_inside_a_darts_epoch_on_cuda(compile):
    """The loop's steps queue work and never wait for the GPU (darts: no sparse mix to read back)."""
    s = cuda_searcher("darts", compile)
    order = torch.arange(len(s.weight_half), device="cuda")
    batch = s._batch(s.weight_half, order, 0), s._batch(s.arch_half, order, 0)
    for _ in range(3):  # compiling, CUDA graph recording
        s.step(*batch)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for step in range(3):
            s.step(*batch, diagnose=step == 0)
    finally:
        torch.cuda.set_sync_debug_mode("default")
