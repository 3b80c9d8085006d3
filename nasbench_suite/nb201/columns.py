"""The columns of the compact NAS-Bench-201 table: one name per official number, and what it means.

A name is built from three parts, so every column of an import can be read without a key:

    <stem>[_12ep][_seed<N>]

    stem        which dataset, which split, which quantity (the table below);
    _12ep       the 12-epoch budget (hp=12); without it, 200 epochs (hp=200), the numbers
                papers quote;
    _seed<N>    one training run (seed N); without it, the mean over the file's seeds.

Costs (params, FLOPs, latency) are properties of the network, not of a training run: they
have no budget or seed suffix. The stems of the first table (cifar10_valid_acc,
cifar10_test_acc, ...) are the keys run records and leaderboards use; they never change.
Torch-free: `lookup --help` renders this.
"""

from __future__ import annotations

import re

HP_SUFFIX = {"200": "", "12": "_12ep"}

# (official dataset, official evaluation set) -> stem. Order = column order of the table.
ACCURACY_STEMS = {
    ("cifar10-valid", "x-valid"): "cifar10_valid_acc",
    ("cifar10-valid", "ori-test"): "cifar10_validsplit_test_acc",
    ("cifar10", "ori-test"): "cifar10_test_acc",
    ("cifar100", "x-valid"): "cifar100_valid_acc",
    ("cifar100", "x-test"): "cifar100_test_acc",
    ("ImageNet16-120", "x-valid"): "imagenet16_valid_acc",
    ("ImageNet16-120", "x-test"): "imagenet16_test_acc",
    ("cifar10-valid", "train"): "cifar10_validsplit_train_acc",
    ("cifar10", "train"): "cifar10_train_acc",
    ("cifar100", "train"): "cifar100_train_acc",
    ("ImageNet16-120", "train"): "imagenet16_train_acc",
}

# (official dataset, official cost key) -> column. cifar10 and cifar10-valid train the same network.
COST_COLUMNS = {
    (dataset, key): f"{name}_{short}"
    for key, name in (("params", "params_mb"), ("flops", "flops_m"), ("latency", "latency_s"))
    for dataset, short in (("cifar10", "cifar10"), ("cifar100", "cifar100"), ("ImageNet16-120", "imagenet16"))
}

COLUMN_HELP = {
    "cifar10_valid_acc": "cifar10-valid, x-valid: trained on 25k CIFAR-10 train images, tested on the other 25k; the number a search may be tuned on",
    "cifar10_validsplit_test_acc": "cifar10-valid, ori-test: the same 25k-trained network on the 10k CIFAR-10 test images",
    "cifar10_test_acc": "cifar10, ori-test: trained on all 50k CIFAR-10 train images, tested on the 10k test images; the CIFAR-10 number papers quote",
    "cifar100_valid_acc": "cifar100, x-valid: 5k of the 10k CIFAR-100 test images",
    "cifar100_test_acc": "cifar100, x-test: the other 5k CIFAR-100 test images; the CIFAR-100 number papers quote",
    "imagenet16_valid_acc": "ImageNet16-120, x-valid: 3k of its 6k test images",
    "imagenet16_test_acc": "ImageNet16-120, x-test: the other 3k; the ImageNet16-120 number papers quote",
    "cifar10_validsplit_train_acc": "cifar10-valid, train: accuracy on its own 25k training images",
    "cifar10_train_acc": "cifar10, train: accuracy on its own 50k training images",
    "cifar100_train_acc": "cifar100, train: accuracy on its 50k training images",
    "imagenet16_train_acc": "ImageNet16-120, train: accuracy on its training images",
    "params_mb_cifar10": "parameters of the CIFAR-10 network, in millions (likewise _cifar100, _imagenet16: a larger classifier)",
    "flops_m_cifar10": "FLOPs of one CIFAR-10 forward pass, in millions (the official 'FLOP ... M'; likewise _cifar100, _imagenet16)",
    "latency_s_cifar10": "the official latency of the CIFAR-10 network, in seconds (likewise _cifar100, _imagenet16)",
}

SUFFIX_HELP = {
    "(none)": "200 training epochs (hp=200), mean over the seeds in the file: the numbers papers quote",
    "_12ep": "12 training epochs (hp=12): a low-fidelity budget, never the quoted numbers",
    "_seed<N>": "one training run with seed N instead of the mean (777, 888, 999 at 200 epochs)",
    "_nb201v11": "the number as NAS-Bench-201-v1_1-096897.pth has it, where a table holds two sources",
}

_SUFFIXES = re.compile(r"^(?P<stem>.+?)(?P<hp>_12ep)?(?:_seed(?P<seed>\d+))?(?P<v11>_nb201v11)?$")
_STEM_ORDER = {stem: i for i, stem in enumerate(ACCURACY_STEMS.values())}
_COST_ORDER = {name: i for i, name in enumerate(COST_COLUMNS.values())}


def accuracy_column(dataset: str, setname: str, hp: str, seed: int | None = None) -> str:
    return ACCURACY_STEMS[(dataset, setname)] + HP_SUFFIX[hp] + ("" if seed is None else f"_seed{seed}")


def sort_key(column: str) -> tuple:
    """Headline numbers first (200-epoch means), then costs, 12-epoch means, then single seeds."""
    if column in _COST_ORDER:
        return (1, _COST_ORDER[column], 0, False)
    m = _SUFFIXES.match(column)
    group = (0 if not m["hp"] else 2) if m["seed"] is None else (3 if not m["hp"] else 4)
    return (group, _STEM_ORDER.get(m["stem"], len(_STEM_ORDER)), int(m["seed"] or 0), bool(m["v11"]))


def is_known(column: str) -> bool:
    if column in COST_COLUMNS.values():
        return True
    m = _SUFFIXES.match(column)
    return m["stem"] in _STEM_ORDER and not (m["v11"] and (m["hp"] or m["seed"]))


def is_headline(column: str) -> bool:
    """index, arch, costs and the 200-epoch means: what a run record keeps of a table row."""
    m = _SUFFIXES.match(column)
    return column in ("index", "arch") or column in _COST_ORDER or not (m["hp"] or m["seed"])


def readable(column: str, value) -> str:
    """A table value as people read it: accuracies to 2 decimals, costs to 4 significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, str) or column == "index":
        return str(value)
    return f"{value:.2f}" if "_acc" in column else f"{value:.4g}"


def help_text() -> str:
    """Which number is which, for `lookup --help`."""
    width = max(map(len, COLUMN_HELP))
    lines = ["columns (accuracies in %):"]
    lines += [f"  {name:<{width}}  {text}" for name, text in COLUMN_HELP.items()]
    lines += ["", "suffixes:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in SUFFIX_HELP.items()]
    return "\n".join(lines)
