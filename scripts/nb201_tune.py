"""The tuning half of the NAS-Bench-201 comparison (results/nb201-cpu/tune): pr_darts' λ1, λ2,
λ3 and independent_gate's λ, tuned as the suite's users would, under the comparison's protocol.

    python scripts/nb201_tune.py --method pr_darts            (one process per core)
    python scripts/nb201_tune.py --method independent_gate

Each call runs `nasbench-suite tune` one trial at a time, at one thread, until its study holds
--complete finished (not pruned) trials, so it resumes after any stop: a trial cut short is
declared failed by its heartbeat and the next call goes on. Fixed before any trial ran
(results/README.md, "The tuning"):

- the protocol of scripts/nb201_cpu.py (C = 8, N = 5, 20 epochs, arch-lr 5e-3, 5,000 images);
- each trial searches seeds 100 and 101, which no row of the comparison uses, and scores the
  mean NAS-Bench-201 cifar10_valid_acc of their cells (never a test column);
- TPE, the median pruner on the per-epoch looked-up validation accuracy (from epoch 10 on);
- log-uniform ranges from a decade below the paper's weight to a decade above the equal-pull
  weight (x10 for pr_darts, x80 for independent_gate): λ1 in [1e-3, 1], λ2 and λ3 in
  [5e-4, 0.5]; independent_gate's λ in [5e-4, 4]. The same trial budget for both methods.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from grid import ROOT, SHARED_DATA
from nb201_cpu import PROTOCOL

OUT = ROOT / "results" / "nb201-cpu" / "tune"
SEEDS = "100,101"
RANGES = {
    "pr_darts": ["--lambda1-range", "1e-3", "1", "--lambda2-range", "5e-4", "0.5", "--lambda3-range", "5e-4", "0.5"],
    "independent_gate": ["--lambda-range", "5e-4", "4"],
}


def complete_trials(method: str) -> int:
    best = OUT / method / "best.json"  # tune rewrites it, with the study's counts, after every call
    return json.loads(best.read_text())["trials"].get("complete", 0) if best.exists() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=sorted(RANGES), required=True)
    parser.add_argument("--complete", type=int, default=20, help="finished trials the study should hold (default 20)")
    parser.add_argument("--data-dir", default=str(SHARED_DATA))
    parser.add_argument("--benchmark", default=str(SHARED_DATA / "nb201" / "nb201.csv.gz"))
    args = parser.parse_args()
    command = [sys.executable, "-m", "nasbench_suite", "tune", "--method", args.method, *PROTOCOL, *RANGES[args.method],
               "--seeds", SEEDS, "--pruner", "median", "--objective", "benchmark", "--trials", "1",
               "--study", args.method, "--tuning-dir", str(OUT), "--out", str(OUT / "runs"),
               "--data-dir", args.data_dir, "--benchmark", args.benchmark]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    failures = 0
    while (done := complete_trials(args.method)) < args.complete:
        print(f"{args.method}: {done} of {args.complete} trials complete; one more", flush=True)
        code = subprocess.run(command, env=env).returncode
        failures = failures + 1 if code != 0 else 0  # 1: the trial failed or nothing has completed yet
        if code not in (0, 1) or failures == 3:
            print(f"{args.method}: tune exited {code}{' three times running' if failures == 3 else ''}; stopping", flush=True)
            return 2
    print(f"{args.method}: {complete_trials(args.method)} trials complete", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
