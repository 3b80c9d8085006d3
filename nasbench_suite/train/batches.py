"""Batches for evaluation training: CIFAR on the device, or an ImageNet folder via torchvision.

Both give every process the same number of steps (DDP needs lockstep): an epoch is a
permutation common to all processes, cut into global batches; process r takes every
world-th image of each. The test set is split the same way and each image seen once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import torch

from nasbench_suite.data import cifar
from nasbench_suite.train.ddp import Processes
from nasbench_suite.errors import UsageError

Batch = tuple[torch.Tensor, torch.Tensor]
EVAL_BATCH = 500


def _shard(indices: torch.Tensor, procs: Processes) -> torch.Tensor:
    return indices[procs.rank :: procs.world]


class CifarBatches:
    """CIFAR-10/100 as uint8 tensors on the device, augmented there (crop, flip, cutout)."""

    def __init__(self, name: str, data_dir: Path, procs: Processes, cutout: int, channels_last: bool,
                 train_subset: int | None = None, test_subset: int | None = None):
        fmt = cifar.dataset_format(name)
        self.num_classes, self.procs = fmt.num_classes, procs
        train = cifar.load_cifar(name, data_dir)
        test = cifar.load_cifar(name, data_dir, train=False, fetch=False)
        self.train = _subset(train, train_subset, fmt.num_classes, "--train-subset").to(procs.device)
        self.test = _subset(test, test_subset, fmt.num_classes, "--test-subset").to(procs.device)
        self.augment = cifar.Augment(fmt, procs.device, cutout=cutout, channels_last=channels_last)

    def steps(self, batch_size: int) -> int:
        return max(1, len(self.train) // batch_size)

    def train_batches(self, epoch_seed: int, batch_size: int) -> Iterator[Batch]:
        """A fresh order per epoch, from the seed alone (the same on every process); the last
        incomplete batch is dropped."""
        order = torch.randperm(len(self.train), generator=torch.Generator().manual_seed(epoch_seed))
        size = min(batch_size, len(self.train))
        for step in range(self.steps(batch_size)):
            idx = _shard(order[step * size : (step + 1) * size], self.procs).to(self.procs.device)
            yield self.augment(self.train.images[idx]), self.train.labels[idx]

    def test_batches(self) -> Iterator[Batch]:
        mine = _shard(torch.arange(len(self.test)), self.procs)
        for chunk in mine.split(EVAL_BATCH):
            idx = chunk.to(self.procs.device)
            yield self.augment(self.test.images[idx], train=False), self.test.labels[idx]


def _subset(split: cifar.Split, n: int | None, num_classes: int, flag: str) -> cifar.Split:
    if n is None:
        return split
    if not 1 <= n <= len(split):
        raise UsageError(f"{flag} must be between 1 and the {len(split)} images available, not {n}")
    keep = cifar.balanced_subset(split.labels, n, num_classes)
    return cifar.Split(split.images[keep], split.labels[keep])


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class FolderBatches:
    """An ImageNet-style folder (DIR/train/<class>/*, DIR/val/<class>/*) read by torchvision,
    with the DARTS augmentation: random resized crop to 224, flip, colour jitter."""

    def __init__(self, data_dir: Path, procs: Processes, channels_last: bool, workers: int):
        from torchvision import datasets, transforms

        for part in ("train", "val"):
            folder = data_dir / part
            if not folder.is_dir() or not any(p.is_dir() for p in folder.iterdir()):
                raise UsageError(f"no ImageNet folder at {data_dir}: expected {folder}/<class>/<image> (nothing is downloaded)")
        normalize = transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)
        train_tf = transforms.Compose([
            transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(),
            transforms.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.2),
            transforms.ToTensor(), normalize,
        ])
        test_tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(), normalize])
        try:
            self.train = datasets.ImageFolder(str(data_dir / "train"), train_tf)
            self.test = datasets.ImageFolder(str(data_dir / "val"), test_tf)
        except (OSError, RuntimeError, FileNotFoundError) as err:
            raise UsageError(f"cannot read the ImageNet folder {data_dir}: {err}")
        if self.train.classes != self.test.classes:
            raise UsageError(f"{data_dir}/train and {data_dir}/val hold different classes")
        self.num_classes, self.procs, self.workers = len(self.train.classes), procs, workers
        self.channels_last = channels_last

    def steps(self, batch_size: int) -> int:
        per_process = len(self.train) // self.procs.world
        return max(1, -(-per_process // (batch_size // self.procs.world)))

    def train_batches(self, epoch_seed: int, batch_size: int) -> Iterator[Batch]:
        from torch.utils.data import DistributedSampler

        sampler = DistributedSampler(self.train, self.procs.world, self.procs.rank, shuffle=True, seed=epoch_seed, drop_last=True)
        yield from self._load(self.train, sampler, batch_size // self.procs.world)

    def test_batches(self) -> Iterator[Batch]:
        mine = _shard(torch.arange(len(self.test)), self.procs).tolist()
        yield from self._load(torch.utils.data.Subset(self.test, mine), None, 128)

    def _load(self, dataset, sampler, batch_size) -> Iterator[Batch]:
        cuda = self.procs.device.type == "cuda"
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=batch_size, sampler=sampler, num_workers=self.workers, pin_memory=cuda,
        )
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        for x, y in loader:
            yield x.to(self.procs.device, non_blocking=True, memory_format=fmt), y.to(self.procs.device, non_blocking=True)
