"""Wall time of `lookup` from a cold start: one cell, and every cell as CSV and JSON.

    python scripts/measure_lookup.py [--repeat 10]

Each call is a fresh interpreter (`python -m nasbench_suite ...`), as a user runs it. Two
tables: the real one in ../shared/data (9 columns), and one as wide as an import of the
official NAS-Bench-201-v1_1 file writes (every column of nb201_columns with 3 seeds at 200
epochs and 2 at 12; the values are random, the width and the number formats are real).
Prints median and best seconds; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench_suite.nb201 import columns as nb201_columns  # noqa: E402
from nasbench_suite.nb201 import table as benchmark  # noqa: E402
from spaces import nb201_arch  # noqa: E402

REAL_TABLE = ROOT.parent / "shared" / "data" / "nb201" / "nb201.csv.gz"


def wide_table(path: Path) -> int:
    rng = random.Random(0)
    columns = list(nb201_columns.COST_COLUMNS.values())
    for dataset, setname in nb201_columns.ACCURACY_STEMS:
        for hp, seeds in (("200", (777, 888, 999)), ("12", (111, 777))):
            columns += [nb201_columns.accuracy_column(dataset, setname, hp, s) for s in (None, *seeds)]
    columns.sort(key=nb201_columns.sort_key)
    rows = [{"index": i, "arch": a, **{c: rng.uniform(10, 95) for c in columns}} for i, a in enumerate(nb201_arch.all_archs())]
    benchmark.write_table(path, columns, rows)
    return len(columns)


def seconds(args: list[str], repeat: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as tmp:
        wide = Path(tmp) / "wide.csv.gz"
        width = wide_table(wide)
        out = Path(tmp) / "out"
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; median / best of {repeat} cold starts")
        print(f"{'interpreter start (python -c pass)':<58} " + _fmt(seconds(["-c", "pass"], repeat)))
        for name, table in ((f"real table, 9 columns ({REAL_TABLE.stat().st_size:,} B)", REAL_TABLE),
                            (f"import-wide table, {width} columns ({wide.stat().st_size:,} B)", wide)):
            print(name)
            lookup = ["-m", "nasbench_suite", "lookup", "--benchmark", str(table)]
            print(f"  {'lookup 9930':<56} " + _fmt(seconds([*lookup, "9930"], repeat)))
            for fmt in ("csv", "json"):
                print(f"  {'lookup --all --format ' + fmt + ' --output FILE':<56} "
                      + _fmt(seconds([*lookup, "--all", "--format", fmt, "--output", str(out)], repeat)))


def _fmt(times: list[float]) -> str:
    return f"{statistics.median(times):.3f} s / {min(times):.3f} s"


if __name__ == "__main__":
    main()
