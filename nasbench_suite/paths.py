"""Where the suite keeps what it fetches or imports: one per-user cache directory."""

import os
from pathlib import Path


def cache_dir() -> Path:
    """$NASBENCH_CACHE, else $XDG_CACHE_HOME/nasbench-suite, else ~/.cache/nasbench-suite."""
    if os.environ.get("NASBENCH_CACHE"):
        return Path(os.environ["NASBENCH_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg).expanduser() / "nasbench-suite"


def data_dir() -> Path:
    """Default --data-dir: $NASBENCH_DATA, else <cache>/data."""
    if os.environ.get("NASBENCH_DATA"):
        return Path(os.environ["NASBENCH_DATA"]).expanduser()
    return cache_dir() / "data"


def default_benchmark() -> Path:
    """Where `benchmark import` writes the compact NAS-Bench-201 table, and where runs look for it."""
    return cache_dir() / "benchmarks" / "nb201.csv.gz"
