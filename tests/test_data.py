import pickle

import numpy as np
import pytest
import torch

from nasbench_suite.data.files import DATASETS
from nasbench_suite.data.cifar import Augment, Split, balanced_subset, cutout, load_cifar, random_crop, search_split, split_identity
from nasbench_suite.errors import UsageError


def test_reads_the_real_cifar10_subset(shared_data):
    train = load_cifar("cifar10", shared_data)
    test = load_cifar("cifar10", shared_data, train=False)
    assert train.images.shape == (5000, 3, 32, 32) and train.images.dtype == torch.uint8
    assert len(test) == 10000
    assert torch.bincount(train.labels).tolist() == [500] * 10
    # Known first pixels of the official training image 0 and test image 0 (red plane).
    assert train.images[0, 0, 0, :3].tolist() == [59, 43, 50]
    assert test.images[0, 0, 0, :3].tolist() == [158, 159, 165]


def test_subset_takes_the_first_images_of_each_class():
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 2, 2, 2, 2])
    assert balanced_subset(labels, 6, 3).tolist() == [0, 1, 2, 3, 6, 7]
    with pytest.raises(UsageError):
        balanced_subset(labels, 11, 3)


def test_search_split_halves_every_class(shared_data):
    train = load_cifar("cifar10", shared_data)
    w, a = search_split(train, 10, subset=256)
    assert len(w) + len(a) == 256
    assert torch.bincount(w.labels, minlength=10).tolist() == [13] * 10  # 26 or 25 per class, halved up
    assert abs(len(w) - len(a)) <= 10
    # The halves are disjoint images.
    assert not any(torch.equal(x, y) for x in w.images[:20] for y in a.images[:20])


def test_the_split_identity_changes_with_any_image_label_or_half(shared_data):
    train = load_cifar("cifar10", shared_data)
    w, a = search_split(train, 10, subset=100)
    same = split_identity("cifar10", 100, *search_split(train, 10, subset=100))
    assert split_identity("cifar10", 100, w, a) == same
    assert same["weight_images"] == same["arch_images"] == 50
    changed_pixel, changed_label = w.images.clone(), w.labels.clone()
    changed_pixel[7, 1, 2, 3] ^= 1
    changed_label[0] = (changed_label[0] + 1) % 10
    others = [split_identity("cifar10", 100, Split(changed_pixel, w.labels), a),
              split_identity("cifar10", 100, Split(w.images, changed_label), a),
              split_identity("cifar10", 100, a, w),  # the halves swapped
              split_identity("cifar10", 120, *search_split(train, 10, subset=120))]
    assert len({same["images_sha256"], *(o["images_sha256"] for o in others)}) == 5


def test_crop_moves_the_image_by_at_most_the_padding():
    torch.manual_seed(0)
    images = torch.randint(1, 256, (16, 3, 32, 32), dtype=torch.uint8)
    cropped = random_crop(images, padding=4)
    for orig, out in zip(images, cropped):
        nonzero = out.nonzero()
        rows, cols = nonzero[:, 1], nonzero[:, 2]
        dy, dx = rows.min().item(), cols.min().item()  # where the original's top-left landed (or 0)
        assert out.shape == orig.shape
        # the visible part is an exact translate of the original by at most 4 pixels
        h, w = rows.max().item() - dy + 1, cols.max().item() - dx + 1
        assert h >= 28 and w >= 28
        window = out[:, dy : dy + h, dx : dx + w]
        assert any(torch.equal(window, orig[:, sy : sy + h, sx : sx + w]) for sy in range(32 - h + 1) for sx in range(32 - w + 1))


def test_augment_normalises_and_flips_only_in_training():
    fmt = DATASETS["cifar10"]
    aug = Augment(fmt, "cpu", crop=False, flip=True)
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    plain = aug(images, train=False)
    expected = (images.float() / 255 - torch.tensor(fmt.mean).view(1, 3, 1, 1)) / torch.tensor(fmt.std).view(1, 3, 1, 1)
    torch.testing.assert_close(plain, expected)
    torch.manual_seed(0)
    flipped = aug(images, train=True)
    same = [torch.equal(f, p) for f, p in zip(flipped, plain)]
    mirrored = [torch.equal(f, p.flip(2)) for f, p in zip(flipped, plain)]
    assert all(s or m for s, m in zip(same, mirrored)) and 10 < sum(mirrored) < 54


def test_cutout_zeroes_one_square_per_image():
    torch.manual_seed(0)
    x = torch.ones(50, 3, 32, 32)
    out = cutout(x, 16)
    zeros = (out[:, 0] == 0).sum(dim=(1, 2))
    assert (zeros <= 256).all() and (zeros >= 64).all()  # 16x16, cut by the border at worst to 8x8
    assert (out[:, 0] == out[:, 2]).all()  # the same hole in every channel


def test_missing_directory_names_the_directory(tmp_path):
    with pytest.raises(UsageError, match=str(tmp_path / "nowhere")):
        load_cifar("cifar10", tmp_path / "nowhere")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_shape"])
def test_damaged_batches_are_refused_in_one_line(tiny_cifar, damage):
    batch = tiny_cifar / "cifar-10-batches-py" / "data_batch_1"
    data = batch.read_bytes()
    if damage == "truncate":
        batch.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        batch.write_bytes(b"\x00" * 1000)
    else:
        batch.write_bytes(pickle.dumps({b"data": np.zeros((5, 100), np.uint8), b"labels": [0] * 5}, protocol=2))
    with pytest.raises(UsageError, match="data_batch_1"):
        load_cifar("cifar10", tiny_cifar)


def test_a_batch_that_would_run_code_is_refused(tiny_cifar, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tiny_cifar / "cifar-10-batches-py" / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil()}, protocol=2))
    with pytest.raises(UsageError, match="refusing"):
        load_cifar("cifar10", tiny_cifar)
    assert not marker.exists()
