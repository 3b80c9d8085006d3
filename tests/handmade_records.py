"""Hand-made run and training records with known numbers, in the shapes the harness writes."""

import json
from pathlib import Path

from nasbench_suite.registry import space_info

DARTS_INFO = space_info("darts")  # torch-free: the genotype's text form and cell statistics

NB201_ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
NB201_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))"
)
METHOD_CONFIGS = {
    "darts": {"order": 1},
    "pr_darts": {"k": 2, "gate_drop": 0.4, "tau_max": 1.0, "tau_min": 0.1, "stretch_a": -0.1, "stretch_b": 1.1,
                 "threshold": 0.2, "lambda1": 0.01, "lambda2": 0.005, "lambda3": 0.005},
}


def search_record(method="darts", space="nb201", seed=0, test_acc=None, skip=0, depth=3, run_id=None,
                  dataset="cifar10", gpu_hours=None, genotype=None, op_weights=None, **method_settings):
    cell_types = ("cell",) if space == "nb201" else ("normal", "reduce")
    per_cell = lambda value: {t: value for t in cell_types}  # noqa: E731
    benchmark = None
    if test_acc is not None:
        benchmark = {"cifar10_valid_acc": test_acc - 3, "cifar10_test_acc": test_acc,
                     "cifar100_test_acc": test_acc - 20, "imagenet16_test_acc": test_acc - 45}
    return {
        "run_id": run_id or "-".join([method, space, dataset, f"s{seed}", *(f"{k}{v}" for k, v in sorted(method_settings.items()))]),
        "method": method, "space": space, "dataset": dataset, "seed": seed,
        "genotype": genotype or (NB201_CONV if space == "nb201" else DARTS_V2),
        "skip_count": per_cell(skip), "depth": per_cell(depth), "conv_depth": per_cell(1),
        "params_mb": 1.0 + seed / 10, "epochs": 3, "search_seconds": 100.0 + seed, "gpu_hours": gpu_hours,
        "device": "cpu (2 threads)",
        "config": {"method": method, "space": space, "dataset": dataset, "train_subset": None,
                   "settings": {"epochs": 3, "batch_size": 64, "seed": seed},
                   "method_config": {**METHOD_CONFIGS[method], **method_settings}, "space_config": {}},
        "benchmark": benchmark,
        "op_weights": op_weights or {t: [[0.2] * (5 if space == "nb201" else 8)] * (6 if space == "nb201" else 14) for t in cell_types},
        "op_weights_meaning": "softmax(alpha) per edge",
    }


def training_record(test_error, seed=0, run_id=None, name=None, dataset="cifar10", genotype=DARTS_V2):
    return {
        "kind": "train", "space": "darts", "dataset": dataset, "seed": seed, "genotype": genotype,
        "source": {"run_id": run_id, "name": name}, "epochs": 600, "test_acc": 100 - test_error,
        **DARTS_INFO.describe(DARTS_INFO.parse(genotype)),  # skip count, depth, conv depth, as `train` records them
        "test_error": test_error, "params_mb": 3.3, "train_seconds": 1000.0, "gpu_hours": None,
        "device": "cpu", "versions": {}, "config": {}, "finished_at": "2026-01-01T00:00:00+00:00",
    }


def write_run(root: Path, record: dict, metrics: list[dict] | None = None) -> Path:
    """A finished run directory: config.json, metrics.jsonl (if given) and record.json."""
    run_dir = root / record.get("run_id", f"run-{len(list(root.glob('*')))}")
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(record.get("config", {})))
    if metrics is not None:
        (run_dir / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    (run_dir / "record.json").write_text(json.dumps(record))
    return run_dir


def epochs(skips: list[int], depths: list[int] | None = None, cell_types=("cell",)) -> list[dict]:
    """metrics.jsonl rows with the given skip count (and depth) per epoch."""
    depths = depths or [3] * len(skips)
    return [{"epoch": e + 1, "skip_count": {t: s for t in cell_types}, "depth": {t: d for t in cell_types}}
            for e, (s, d) in enumerate(zip(skips, depths))]
