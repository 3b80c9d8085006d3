"""The NAS-Bench-201 comparison at CPU scale (results/nb201-cpu): every row, every seed, one
protocol fixed before the runs, resumable.

    python scripts/nb201_cpu.py [--seeds 0-4] [--rows darts,...]    (once per core)
    nasbench-suite leaderboard --runs results/nb201-cpu/runs --out results/nb201-cpu

Each cell of the grid (row x seed) is one `nasbench-suite run` in its own process, one
thread each. A cell with a finished run is skipped, an unfinished one is resumed, so the
same command continues after any stop. Start it once per core: each process claims the next
free cell (a claim file naming its pid; a dead process's claim is taken over). Cells run
seed by seed, so whatever has finished is a balanced table.

The protocol (README, "NAS-Bench-201 at CPU scale"), the same for every row: the real
CIFAR-10 subset (5,000 images: 2,500 per half), C=8 with 5 cells per stage, batch 64,
20 epochs of 39 steps (780 α steps), α Adam at lr 5e-3 (780 x 5e-3 = 3.9, so α can move
well past the 0.1 the leaderboard asks of a search), everything else the suite's defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "nb201-cpu" / "runs"
PROTOCOL = ["--space", "nb201", "--epochs", "20", "--batch-size", "64", "--train-subset", "5000",
            "--arch-lr", "5e-3", "--init-channels", "8", "--cells-per-stage", "5"]
# (row name, method, flags beyond the protocol); a later flag overrides the protocol's.
ROWS = [
    ("darts", "darts", []),
    ("pr_darts", "pr_darts", []),
    ("independent_gate", "independent_gate", []),
    ("pr_darts_no_path", "pr_darts", ["--lambda3", "0"]),
    ("darts_shallow", "darts", ["--cells-per-stage", "1"]),
    # The gate methods at the paper's λ barely moved their regulariser terms (the validation
    # loss pulls on α about 13x harder, scripts/regularizer_pull.py). These rows multiply the
    # λ by that ratio, rounded to one significant figure, so that at the start of the search
    # the regulariser pulls on α as hard as the loss: x10 for pr_darts (its ablation keeps
    # λ1, λ2), x80 for independent_gate. Fixed from gradients alone, before their runs.
    ("pr_darts_x10", "pr_darts", ["--lambda1", "0.1", "--lambda2", "0.05", "--lambda3", "0.05"]),
    ("pr_darts_x10_no_path", "pr_darts", ["--lambda1", "0.1", "--lambda2", "0.05", "--lambda3", "0"]),
    ("independent_gate_x80", "independent_gate", ["--lambda", "0.4"]),
    ("gdas", "gdas", []),
    ("drnas", "drnas", []),
    ("beta_darts", "beta_darts", []),
    ("fair_darts", "fair_darts", []),
    ("darts_minus", "darts_minus", []),
]


def seeds(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def expected_config(method: str, seed: int, flags: list[str]) -> dict:
    """The resolved configuration `run` would write for this cell (defaults included)."""
    from nasbench_suite.search import command

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    config = command.config_from_args(parser.parse_args(["--method", method, "--seed", str(seed), *flags]))
    return {"method_config": config.method_config, "space_config": config.space_config, "settings": config.settings}


def run_dir_of(method: str, seed: int, flags: list[str]) -> Path | None:
    """The run directory of this cell, finished or not: the same method and resolved settings."""
    wanted = expected_config(method, seed, flags)
    for config_path in sorted(OUT.glob(f"{method}-nb201-s{seed}-*/config.json")):
        config = json.loads(config_path.read_text())
        if all(config[k] == v for k, v in wanted.items()):
            return config_path.parent
    return None


def claim(cell: str) -> bool:
    """Take the cell unless a live process of this script holds it (O_EXCL: one winner)."""
    path = OUT.parent / ".claims" / cell
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            return True
        except FileExistsError:
            try:
                owner = int(path.read_text() or 0)
                alive = owner == os.getpid() or "nb201_cpu" in Path(f"/proc/{owner}/cmdline").read_text()
            except (OSError, ValueError):
                alive = False
            if alive:
                return owner == os.getpid()
            path.unlink(missing_ok=True)  # its process died: take it over
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--benchmark", default=str(ROOT.parent / "shared" / "data" / "nb201" / "nb201.csv.gz"))
    parser.add_argument("--rows", help="comma-separated row names (default: all)")
    args = parser.parse_args()
    rows = [r for r in ROWS if not args.rows or r[0] in args.rows.split(",")]
    cells = [(seed, row) for seed in seeds(args.seeds) for row in rows]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for seed, (name, method, flags) in cells:
        try:
            existing = run_dir_of(method, seed, [*PROTOCOL, *flags])
        except Exception as err:  # a method this checkout does not have yet: its cells wait for a later pass
            print(f"{name} seed {seed}: skipped ({err})", flush=True)
            continue
        if existing and (existing / "record.json").exists() or not claim(f"{name}-s{seed}"):
            continue
        base = [sys.executable, "-m", "nasbench_suite", "run"]
        if existing:
            command = [*base, "--resume", str(existing)]
        else:
            command = [*base, "--method", method, "--seed", str(seed), *PROTOCOL, *flags,
                       "--data-dir", args.data_dir, "--benchmark", args.benchmark, "--out", str(OUT)]
        print(f"{name} seed {seed}: {'resume' if existing else 'start'}", flush=True)
        if subprocess.run(command, env=env).returncode != 0:
            print(f"{name} seed {seed} failed; going on", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
