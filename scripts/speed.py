"""Measure search and evaluation-training speed on the darts space (not a test: numbers for
the README and issues). Real CIFAR-10 images, data on the device, as the commands run them.

    python scripts/speed.py search --device cpu --data-dir ../shared/data          # s/step per method
    python scripts/speed.py search --device cuda --data-dir ../shared/data --channels-last
    python scripts/speed.py train --device cuda --data-dir ../shared/data [--channels-last] [--no-bf16]

A search step is one bilevel iteration: an α step on a batch of the architecture half and a
weight step on a batch of the weight half (2 x batch images). A training step is one SGD
step of the evaluation network (C=36, 20 cells, auxiliary head) on one batch.
Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench_suite import data, runner  # noqa: E402
from nasbench_suite.run import RunConfig  # noqa: E402
from nasbench_suite.search import SearchSettings  # noqa: E402
from spaces import genotypes  # noqa: E402
from spaces.darts import Darts  # noqa: E402

METHODS = {"darts": {"order": 1}, "darts_2nd": {"order": 2}, "independent_gate": {}, "pr_darts": {}}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step, device, warmup: int, steps: int) -> float:
    for _ in range(warmup):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return (time.perf_counter() - start) / steps


def measure_search(args) -> None:
    for label in args.methods:
        method = "darts" if label.startswith("darts") else label
        config = RunConfig(
            method=method, space="darts", train_subset=4 * args.batch_size, data_dir=str(args.data_dir),
            device=args.device, settings=dataclasses.asdict(SearchSettings(epochs=1, batch_size=args.batch_size)),
            method_config=METHODS[label], space_config={"init_channels": 16, "layers": 8},
        )
        p = runner.prepare(config)
        s = p.searcher
        if args.channels_last:
            s.model.to(memory_format=torch.channels_last)
            s.augment.channels_last = True
        w_order = torch.randperm(len(s.weight_half), device=p.device)
        a_order = torch.randperm(len(s.arch_half), device=p.device)

        def step():
            batch = s._batch(s.weight_half, w_order, 0)
            s.arch_step(batch, s._batch(s.arch_half, a_order, 0))
            s.weight_step(batch)

        seconds = time_steps(step, p.device, args.warmup, args.steps)
        report("search", label, p.device, args, seconds, 2 * args.batch_size)


def measure_train(args) -> None:
    device = runner.resolve_device(args.device)
    torch.backends.cudnn.benchmark = device.type == "cuda"  # as `train` runs
    fmt = data.dataset_format("cifar10")
    train = data.load_cifar("cifar10", args.data_dir).to(device)
    augment = data.Augment(fmt, device, cutout=16, channels_last=args.channels_last)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if args.bf16 else nullcontext()
    for name in args.genotypes:
        torch.manual_seed(0)
        model = Darts().network(genotypes.PUBLISHED[name], 10, auxiliary=True).to(device)
        if args.channels_last:
            model.to(memory_format=torch.channels_last)
        model.train()
        model.drop_path_prob = 0.2
        opt = torch.optim.SGD(model.parameters(), 0.025, momentum=0.9, weight_decay=3e-4)

        def step():
            idx = torch.randint(0, len(train), (args.batch_size,), device=device)
            x, y = augment(train.images[idx]), train.labels[idx]
            with autocast:
                logits, aux = model(x)
                loss = F.cross_entropy(logits, y) + 0.4 * F.cross_entropy(aux, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()

        seconds = time_steps(step, device, args.warmup, args.steps)
        report("train", name, device, args, seconds, args.batch_size)


def report(kind, label, device, args, seconds, images):
    print(json.dumps({
        "kind": kind, "what": label, "device": str(device), "threads": torch.get_num_threads(),
        "batch_size": args.batch_size, "channels_last": args.channels_last,
        "bf16": args.bf16 if kind == "train" else device.type == "cuda",  # the search autocasts on CUDA
        "seconds_per_step": round(seconds, 4),
        "images_per_second": round(images / seconds, 1),
    }), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("search", "train"))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--batch-size", type=int, help="default 64 (search), 96 (train)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--genotypes", nargs="+", default=["darts_v2", "pr_darts"], choices=list(genotypes.PUBLISHED))
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None, help="train: default on CUDA")
    args = parser.parse_args()
    args.batch_size = args.batch_size or (64 if args.kind == "search" else 96)
    if args.bf16 is None:
        args.bf16 = args.device == "cuda"
    measure_search(args) if args.kind == "search" else measure_train(args)


if __name__ == "__main__":
    main()
