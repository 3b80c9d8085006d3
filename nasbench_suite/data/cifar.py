"""CIFAR on the device: read the python-version batch files, split, augment with tensor ops.

The whole dataset is one uint8 tensor on the device; crops, flips and cutout are batched
tensor operations, so there are no loader workers and no host round trips.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import torch

from nasbench_suite.data.files import CifarFormat, dataset_format, find_batches, read_batch
from nasbench_suite.errors import UsageError


@dataclasses.dataclass
class Split:
    """uint8 images (N, 3, 32, 32) and int64 labels, on one device."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self):
        return len(self.labels)

    def to(self, device) -> "Split":
        return Split(self.images.to(device), self.labels.to(device))


def load_cifar(name: str, data_dir: Path, train: bool = True, fetch: bool = True) -> Split:
    """The training (or test) images of CIFAR-10/100 from DATA_DIR, fetched there if missing."""
    fmt = dataset_format(name)
    folder = find_batches(name, data_dir)
    if folder is None and fetch:
        from nasbench_suite.data.fetch import fetch_cifar

        fetch_cifar(name, data_dir)
        folder = find_batches(name, data_dir)
    if folder is None:
        raise UsageError(f"no {name} batch files in {data_dir}")
    files = sorted(folder.glob(fmt.train_files)) if train else [folder / fmt.test_file]
    parts = [read_batch(path, fmt) for path in files]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if len(labels) == 0:
        raise UsageError(f"the {name} batches in {folder} hold no images")
    return Split(torch.from_numpy(images), torch.from_numpy(labels))


def balanced_subset(labels: torch.Tensor, n: int, num_classes: int) -> torch.Tensor:
    """Indices of the first n images, n/num_classes per class (the remainder to the first classes)."""
    if n > len(labels):
        raise UsageError(f"--train-subset {n} is larger than the {len(labels)} training images available")
    counts = [n // num_classes + (c < n % num_classes) for c in range(num_classes)]
    picked = [torch.nonzero(labels == c).flatten()[:k] for c, k in enumerate(counts)]
    if any(len(p) < k for p, k in zip(picked, counts)):
        raise UsageError(f"--train-subset {n} needs {max(counts)} images of every class; some have fewer")
    return torch.cat(picked).sort().values


def search_split(train: Split, num_classes: int, subset: int | None) -> tuple[Split, Split]:
    """The DARTS split: half of the training images step the weights, the other half α.

    Each class is halved in file order, so both halves stay class-balanced.
    """
    if subset is not None and subset < 2:
        raise UsageError("--train-subset must be at least 2 (one image for each half)")
    keep = balanced_subset(train.labels, subset, num_classes) if subset else torch.arange(len(train))
    labels = train.labels[keep]
    first, second = [], []
    for c in range(num_classes):
        members = keep[labels == c]
        first.append(members[: (len(members) + 1) // 2])
        second.append(members[(len(members) + 1) // 2 :])
    w_idx, a_idx = torch.cat(first).sort().values, torch.cat(second).sort().values
    if len(a_idx) == 0:
        raise UsageError("too few training images to split into a weight half and an architecture half")
    return Split(train.images[w_idx], train.labels[w_idx]), Split(train.images[a_idx], train.labels[a_idx])


SPLIT_RULE = ("the first train_subset images of each class in file order (all images without it), each class "
              "then halved in file order: the first half steps the weights, the second α")


def split_identity(dataset: str, subset: int | None, weight_half: Split, arch_half: Split) -> dict:
    """What identifies a search's images wherever their files lie: the dataset, the subset, how
    the halves are drawn, and the sha256 of both halves' pixels and labels (uint8 and int64
    little-endian, in order, weight half first)."""
    digest = hashlib.sha256()
    for half in (weight_half, arch_half):
        digest.update(half.images.cpu().contiguous().numpy())
        digest.update(np.ascontiguousarray(half.labels.cpu().numpy(), dtype="<i8"))
    return {"dataset": dataset, "train_subset": subset, "split": SPLIT_RULE, "weight_images": len(weight_half),
            "arch_images": len(arch_half), "images_sha256": digest.hexdigest()}


class Augment:
    """Normalise uint8 batches on their device, with optional crop, flip and cutout."""

    def __init__(self, fmt: CifarFormat, device, crop=True, flip=True, cutout: int = 0, channels_last=False):
        self.mean = torch.tensor(fmt.mean, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(fmt.std, device=device).view(1, 3, 1, 1) * 255
        self.crop, self.flip, self.cutout, self.channels_last = crop, flip, cutout, channels_last

    def __call__(self, images: torch.Tensor, train: bool = True) -> torch.Tensor:
        if train and self.crop:  # on the raw pixels: the padding is black, as in torchvision
            images = random_crop(images, padding=4)
        if train and self.flip:
            flip = torch.rand(len(images), device=images.device) < 0.5
            images = torch.where(flip.view(-1, 1, 1, 1), images.flip(3), images)
        x = (images.float() - self.mean) / self.std
        if train and self.cutout:
            x = cutout(x, self.cutout)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def random_crop(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Per-image random crop of the zero-padded batch, as two gathers."""
    n, c, h, w = images.shape
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n, 1), device=images.device)
    dx = torch.randint(0, 2 * padding + 1, (n, 1), device=images.device)
    rows = (dy + torch.arange(h, device=images.device)).view(n, 1, h, 1).expand(n, c, h, w + 2 * padding)
    cols = (dx + torch.arange(w, device=images.device)).view(n, 1, 1, w).expand(n, c, h, w)
    return padded.gather(2, rows).gather(3, cols)


def cutout(x: torch.Tensor, size: int) -> torch.Tensor:
    """Zero one size x size square per image, its centre uniform over the image (DARTS cutout)."""
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n, 1, 1), device=x.device)
    cx = torch.randint(0, w, (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    half = size // 2
    hole = (ys >= cy - half) & (ys < cy + half) & (xs >= cx - half) & (xs < cx + half)
    return x * (~hole).unsqueeze(1)
