"""`nasbench-suite describe`: what a genotype's cells and network look like, without training.

Skip connections, depth and conv depth per cell type; parameters (without the auxiliary
head) and multiply-adds of the standard evaluation network: on darts, CIFAR (C=36, 20
cells) or, with --dataset imagenet, the mobile-setting ImageNet network (C=48, 14 cells).
"""

from __future__ import annotations

import argparse
import json

from nasbench_suite import registry

from nasbench_suite.train import genotype_arg
from nasbench_suite.errors import UsageError

NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet": 1000}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", required=True, help=f"one of: {', '.join(registry.space_names())}")
    parser.add_argument("--genotype", required=True, metavar="G", help="genotype text, a finished search run directory, or a published cell (darts_v1, darts_v2, pr_darts)")
    parser.add_argument("--dataset", default="cifar10", choices=tuple(NUM_CLASSES), help="network to count (default cifar10)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def describe(space, genotype, dataset: str) -> dict:
    """The cell statistics and the evaluation network's size (dataset: one the space evaluates on)."""
    imagenet = dataset == "imagenet"
    options = {"imagenet": True} if imagenet else {}
    network = space.network(genotype, NUM_CLASSES[dataset], **options)
    return {
        **space.describe(genotype),
        "params_mb": space.params_mb(genotype, NUM_CLASSES[dataset], **options),
        "multiply_adds_m": multiply_adds(network, 224 if imagenet else 32) / 1e6,
    }


def multiply_adds(model, image_size: int) -> int:
    """Multiply-adds of convolutions and linear layers for one image (inference)."""
    import torch
    from torch import nn

    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * per_output
        else:
            total += output.numel() * module.in_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size))
    finally:
        for hook in hooks:
            hook.remove()
    return total


def main(args: argparse.Namespace) -> int:
    checked = registry.space_info(args.space)  # the space, genotype and dataset are checked before torch loads
    genotype, source = genotype_arg.resolve(checked, args.genotype)
    if args.dataset == "imagenet" and not getattr(checked, "evaluates_on_imagenet", False):
        raise UsageError(f"the {checked.name} space has no ImageNet network")
    space = registry.get_space(args.space)
    info = {"space": space.name, "genotype": space.format(genotype), "source": source, "dataset": args.dataset,
            **describe(space, genotype, args.dataset)}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(info["genotype"])
    cell_types = list(info["skip_count"])
    width = max(map(len, cell_types + ["cell"]))
    print(f"{'cell':<{width}}  skips  depth  conv depth")
    for t in cell_types:
        print(f"{t:<{width}}  {info['skip_count'][t]:>5}  {info['depth'][t]:>5}  {info['conv_depth'][t]:>10}")
    print(f"{args.dataset} network: {info['params_mb']:.2f}M parameters (without the auxiliary head), "
          f"{info['multiply_adds_m']:.0f}M multiply-adds per image")
    return 0
