"""Throughput of `benchmark import` on files in the official structures, to estimate a full import.

    python scripts/measure_import.py [--cells 200]

Builds, in a temporary folder, a NATS-tss -simple directory and a NAS-Bench-201 .pth
(legacy torch format) with CELLS cells each, made like the test files (tests/nb201_files.py:
every epoch of every run, 1 to 3 seeds at 200 epochs), imports each with --allow-partial
in a fresh interpreter, and prints seconds per cell and the extrapolation to 15,625 cells.
The real files may hold more per cell; the figure is an estimate, nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import nb201_files as files  # noqa: E402
from spaces import nb201_arch  # noqa: E402


def import_seconds(source: Path, output: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nasbench_suite", "benchmark", "import", str(source), "--output", str(output),
                    "--allow-partial"], check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=200)
    cells = parser.parse_args().cells
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        indexes = range(cells)
        nats, pth = tmp / "NATS-tss-v1_0-3ffb9-simple", tmp / "NAS-Bench-201-v1_1-096897.pth"
        files.write_nats_dir(nats, files.nats_cells(indexes))
        files.write_nb201_pth(pth, files.nb201_cells(indexes))
        size = sum(p.stat().st_size for p in nats.iterdir() if p.name != "meta.pickle.pbz2")
        print(f"{cells} cells; NATS cell files {size / cells / 1e3:.0f} kB each, .pth {pth.stat().st_size / 1e6:.1f} MB")
        empty = tmp / "empty-simple"
        files.write_nats_dir(empty, {})
        base = import_seconds(empty, tmp / "base.csv.gz")  # interpreter, meta file and checks, no cell
        for name, source in (("NATS -simple directory", nats), ("NAS-Bench-201 .pth", pth)):
            per_cell = (import_seconds(source, tmp / "out.csv.gz") - base) / cells
            print(f"{name:<24} {per_cell * 1e3:6.1f} ms per cell -> {per_cell * nb201_arch.NUM_CELLS / 60:5.1f} min "
                  f"for {nb201_arch.NUM_CELLS:,} cells (+ {base:.1f} s fixed)")


if __name__ == "__main__":
    main()
