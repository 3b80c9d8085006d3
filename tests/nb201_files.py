"""Small benchmark files in the exact official structures, built with the official classes.

The records are made the way the authors made them: ResultsCount / ArchResults objects of
the installed readers (nas_201_api for the .pth, nats_bench for NATS-Bench), filled with
per-epoch numbers, turned into their state dicts and saved with torch.save (legacy format,
as in 2020) or nats_bench.pickle_save. Every file carries the full 15,625-string meta_archs
list, like the real ones, but results for only a few cells.
"""

from __future__ import annotations

import collections
import random

import numpy as np
import torch

from spaces import nb201_arch

# The evaluation sets each dataset has in the official files.
EVAL_SETS = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test"),
}
DATASETS = tuple(EVAL_SETS)


def run_record(module, dataset: str, seed: int, epochs: int, arch_str: str, rng: random.Random,
               params: float, flops: float):
    """One training run: a ResultsCount of `module` (nas_201_api or nats_bench)."""
    acc = lambda: rng.uniform(10.0, 95.0)  # noqa: E731
    train = collections.OrderedDict((e, acc()) for e in range(epochs))
    losses = collections.OrderedDict((e, rng.uniform(0.1, 2.0)) for e in range(epochs))
    times = collections.OrderedDict((e, rng.uniform(5.0, 9.0)) for e in range(epochs))
    config = {"channel": 16, "num_cells": 5, "arch_str": arch_str, "class_num": 10}
    # the authors counted params and FLOPs with numpy: numpy scalars in the files
    record = module.ResultsCount(dataset, None, train, losses, np.float64(params), np.float64(flops),
                                 config, seed, epochs, [rng.uniform(0.005, 0.03) for _ in range(3)])
    record.update_train_info(train, dict(train), losses, times)
    keys = [f"{name}@{e}" for name in EVAL_SETS[dataset] for e in range(epochs)]
    record.update_eval({k: acc() for k in keys}, {k: rng.uniform(0.1, 2.0) for k in keys}, {k: 1.0 for k in keys})
    return record


def arch_results(module, index: int, epochs: int, seeds: dict[str, list[int]], rng: random.Random) -> dict:
    """An ArchResults state dict: `seeds` {dataset: [seeds]} for the datasets it covers. Every
    run of a dataset trains the same network, so its params and FLOPs agree across seeds."""
    arch_str = nb201_arch.index_to_arch(index)
    results = module.ArchResults(index, arch_str)
    for dataset, dataset_seeds in seeds.items():
        params, flops = rng.uniform(0.07, 1.5), rng.uniform(7, 220)
        for seed in dataset_seeds:
            results.update(dataset, seed, run_record(module, dataset, seed, epochs, arch_str, rng, params, flops))
    return results.state_dict()


def all_datasets(seeds: list[int]) -> dict[str, list[int]]:
    return {d: list(seeds) for d in DATASETS}


def nb201_cells(indexes, seed: int = 0, v1_0: bool = False) -> dict:
    """{index: {"less": hp 12, "full": hp 200}} as in NAS-Bench-201-v1_x. Cells get 1, 2 or 3
    seeds in turn; v1_0's 12-epoch runs cover cifar10-valid only."""
    import nas_201_api

    rng, cells = random.Random(seed), {}
    for k, index in enumerate(indexes):
        full_seeds = [777, 888, 999][: 1 + k % 3]
        less = {"cifar10-valid": [111, 777]} if v1_0 else {**all_datasets([111]), "cifar10-valid": [111, 777]}
        cells[index] = {
            "less": arch_results(nas_201_api, index, 12, less, rng),
            "full": arch_results(nas_201_api, index, 200, all_datasets(full_seeds), rng),
        }
    return cells


def nats_cells(indexes, seed: int = 0) -> dict:
    """{index: OrderedDict("12": ..., "200": ...)} as in NATS-tss-v1_0-3ffb9."""
    import nats_bench

    rng, cells = random.Random(seed), {}
    for k, index in enumerate(indexes):
        cells[index] = collections.OrderedDict(
            [("12", arch_results(nats_bench, index, 12, all_datasets([111]), rng)),
             ("200", arch_results(nats_bench, index, 200, all_datasets([777, 888, 999][: 1 + k % 3]), rng))]
        )
    return cells


def write_nb201_pth(path, cells: dict, meta_archs=None, legacy: bool = True) -> None:
    content = {"meta_archs": meta_archs or nb201_arch.all_archs(), "arch2infos": cells, "evaluated_indexes": set(cells)}
    torch.save(content, path, _use_new_zipfile_serialization=not legacy)


def write_nats_dir(folder, cells: dict, meta_archs=None) -> None:
    """meta.pickle.pbz2 and one 000123.pickle.pbz2 per cell, as tss-collect.py wrote them."""
    import nats_bench

    folder.mkdir(parents=True, exist_ok=True)
    meta = {"meta_archs": meta_archs or nb201_arch.all_archs(), "total_archs": nb201_arch.NUM_CELLS,
            "arch2infos": None, "evaluated_indexes": set()}
    nats_bench.pickle_save(meta, str(folder / "meta.pickle"))
    for index, records in cells.items():
        nats_bench.pickle_save(records, str(folder / f"{index:06d}.pickle"))


def write_nats_file(path_without_pbz2, cells: dict) -> None:
    """The single-file NATS-tss-v1_0-3ffb9.pickle.pbz2 layout."""
    import nats_bench

    content = {"meta_archs": nb201_arch.all_archs(), "total_archs": nb201_arch.NUM_CELLS,
               "arch2infos": cells, "evaluated_indexes": set(cells)}
    nats_bench.pickle_save(content, str(path_without_pbz2))
