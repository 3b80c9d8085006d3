"""The CIFAR python-version batch files: each dataset's format, where its files are, and
reading one file (a restricted unpickler: a batch file is untrusted input). No torch here."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from nasbench_suite import safe_pickle
from nasbench_suite.errors import UsageError


@dataclasses.dataclass(frozen=True)
class CifarFormat:
    folder: str  # the official archive's folder name
    train_files: str  # glob of the training batches
    test_file: str
    label_key: bytes
    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


DATASETS = {
    "cifar10": CifarFormat(
        "cifar-10-batches-py", "data_batch_*", "test_batch", b"labels", 10,
        (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
    ),
    "cifar100": CifarFormat(
        "cifar-100-python", "train", "test", b"fine_labels", 100,
        (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762),
    ),
}


def dataset_format(name: str) -> CifarFormat:
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    return DATASETS[name]


def find_batches(name: str, data_dir: Path) -> Path | None:
    """The folder holding the batch files: DATA_DIR/<official folder> or DATA_DIR itself."""
    fmt = dataset_format(name)
    for folder in (data_dir / fmt.folder, data_dir):
        if (folder / fmt.test_file).is_file() and any(folder.glob(fmt.train_files)):
            return folder
    return None


def read_batch(path: Path, fmt: CifarFormat) -> tuple[np.ndarray, np.ndarray]:
    """One batch file as (N, 3, 32, 32) uint8 images and int64 labels; UsageError if unreadable."""
    try:
        with open(path, "rb") as f:
            batch = safe_pickle.load(f, encoding="bytes")
        data, labels = np.asarray(batch[b"data"]), np.asarray(batch[fmt.label_key], dtype=np.int64)
    except Exception as err:  # truncated, corrupted, not a pickle, wrong keys: all one answer
        raise UsageError(f"cannot read CIFAR batch {path}: truncated or corrupted ({type(err).__name__}: {err})")
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise UsageError(f"CIFAR batch {path} is malformed: expected N x 3072 uint8 images with N labels")
    if len(labels) and not (0 <= labels.min() and labels.max() < fmt.num_classes):
        raise UsageError(f"CIFAR batch {path} has labels outside 0..{fmt.num_classes - 1}")
    return data.reshape(-1, 3, 32, 32), labels


