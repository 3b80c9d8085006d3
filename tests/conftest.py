"""Shared fixtures: the real data in ../shared/data, tiny CIFAR-format files made on the spot,
and one throwaway PostgreSQL server for the whole session."""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
NB201_TABLE = SHARED_DATA / "nb201" / "nb201.csv.gz"

# Tests never download: a missing dataset must fail with its one line, not fetch 140 MB.
os.environ["NASBENCH_OFFLINE"] = "1"
# Under pytest-xdist (pyproject's addopts: two workers, a file each) every worker, and every
# process it starts, computes on one thread: two processes of two threads each on two cores
# stall each other's spin-waits, and tiny models gain nothing from a second thread.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"


@pytest.fixture
def one_thread():
    """Tiny models run faster on one thread: a second only adds waiting on a 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "cifar-10-batches-py" / "data_batch_1").is_file():
        pytest.fail(f"the real data is missing: expected {SHARED_DATA} (the project's ../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def nb201_table(shared_data) -> Path:
    return NB201_TABLE


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for every test that needs one (started once: initdb and start take
    seconds); under CI a server that cannot start fails those tests, elsewhere it skips them."""
    from pg_server import Server, ServerError

    try:
        server = Server().start()
    except (ServerError, OSError, subprocess.SubprocessError) as err:
        if os.environ.get("CI"):
            pytest.fail(f"cannot start the PostgreSQL test server: {err}", pytrace=False)
        pytest.skip(f"no PostgreSQL test server here (under CI this fails): {err}")
    yield server
    server.stop()


_databases = iter(range(10**6))


@pytest.fixture
def pg(pg_server) -> str:
    """A fresh database on the session's server: its URL."""
    return pg_server.create_database(f"t{next(_databases)}")


def write_cifar10(folder: Path, n_train: int = 200, n_test: int = 50, seed: int = 0) -> Path:
    """A tiny dataset in the official CIFAR-10 python format (random pixels, balanced labels)."""
    rng = np.random.default_rng(seed)
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    for name, n in (("data_batch_1", n_train), ("test_batch", n_test)):
        batch = {
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": [i % 10 for i in range(n)],
            b"batch_label": b"tiny",
        }
        (batches / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder


@pytest.fixture
def tiny_cifar(tmp_path) -> Path:
    return write_cifar10(tmp_path / "data")


def cli(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    """Run the real command line in a fresh interpreter."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "nasbench_suite", *map(str, args)],
        capture_output=True, text=True, cwd=cwd or ROOT, env=full_env, timeout=600,
    )
