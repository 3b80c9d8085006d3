"""`nasbench-suite run`: one search, from flags (or a run directory to resume) to a run record."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from nasbench_suite import compiling, flags, registry
from nasbench_suite.errors import UsageError
from nasbench_suite.paths import data_dir as default_data_dir
from nasbench_suite.search.settings import RunConfig, SearchSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", help=f"one of: {', '.join(registry.method_names())}")
    parser.add_argument("--space", help=f"one of: {', '.join(registry.space_names())}")
    parser.add_argument("--dataset", default="cifar10", help="cifar10 or cifar100 (default cifar10)")
    parser.add_argument("--epochs", type=int, default=SearchSettings.epochs, help="search epochs (default 50)")
    parser.add_argument("--batch-size", type=int, default=SearchSettings.batch_size, help="batch size of each half (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of everything random (default 0)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default auto: cuda if present")
    parser.add_argument("--compile", default="auto", choices=compiling.MODES,
                        help="torch.compile the supernet's cells in this mode (default auto: reduce-overhead on CUDA, off on the CPU; "
                             "gate methods and gdas then run their kept operations densely)")
    parser.add_argument("--train-subset", type=int, metavar="N", help="use the first N training images, class-balanced")
    parser.add_argument("--data-dir", type=Path, help="folder of the CIFAR python batches (default $NASBENCH_DATA or the cache); fetched there if missing")
    parser.add_argument("--benchmark", type=Path, help="compact NAS-Bench-201 table for the lookup (default: the imported one, else the embedded 200-epoch means)")
    parser.add_argument("--out", type=Path, default=Path("results/runs"), help="where run directories go (default results/runs)")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue an unfinished run from its last epoch")
    opt = parser.add_argument_group("optimisation (defaults: DESIGN.md's shared protocol)")
    opt.add_argument("--lr", type=float, default=SearchSettings.lr, help="weight learning rate, cosine-annealed (default 0.025)")
    opt.add_argument("--lr-min", type=float, default=SearchSettings.lr_min, help="final weight learning rate (default 0.001)")
    opt.add_argument("--weight-decay", type=float, help="weight decay of the weights (default: the space's protocol)")
    opt.add_argument("--arch-lr", type=float, default=SearchSettings.arch_lr, help="Adam learning rate of α (default 3e-4)")
    opt.add_argument("--arch-weight-decay", type=float, default=SearchSettings.arch_weight_decay, help="weight decay of α (default 1e-3)")
    # torch-free (methods/configs.py, spaces/configs.py): a typo is answered before torch loads
    flags.add_flags(parser, {n: registry.space_config(n)[0] for n in registry.space_names()}, "space")
    flags.add_flags(parser, {n: registry.method_config(n) for n in registry.method_names()}, "method")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The resolved configuration; every setting is checked here, before anything is written."""
    if not args.method or not args.space:
        raise UsageError("run needs --method and --space (or --resume RUN_DIR)")
    method_cls, (space_cls, spec) = registry.method_config(args.method), registry.space_config(args.space)
    flags.reject_foreign(args, [method_cls, space_cls], f"method {args.method} on space {args.space}")
    method_config, space_config = flags.build(args, method_cls), flags.build(args, space_cls)
    method_config.validate(spec)
    space_config.validate()
    if args.compile not in ("off", "auto") and getattr(method_config, "order", 1) == 2:
        raise UsageError("--compile applies to first-order searches; --order 2 (the unrolled α step) runs uncompiled")
    settings = SearchSettings(
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, lr=args.lr, lr_min=args.lr_min,
        weight_decay=args.weight_decay, arch_lr=args.arch_lr, arch_weight_decay=args.arch_weight_decay,
    )
    settings.validate()
    return RunConfig(
        method=args.method, space=args.space, dataset=args.dataset, train_subset=args.train_subset,
        data_dir=str(args.data_dir or default_data_dir()), benchmark=str(args.benchmark) if args.benchmark else None,
        device=args.device, compile=args.compile, settings=dataclasses.asdict(settings),
        method_config=dataclasses.asdict(method_config), space_config=dataclasses.asdict(space_config),
    )


def main(args: argparse.Namespace) -> int:
    config = None if args.resume else config_from_args(args)  # every flag checked before torch loads
    from nasbench_suite.search.lifecycle import resume_run, start_run

    record = resume_run(args.resume) if args.resume else start_run(config, args.out)
    return 0 if record else 1
