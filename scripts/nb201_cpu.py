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

from grid import ROOT, SHARED_DATA, search, seeds

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
    # The best trials' weights of the Optuna studies (results/nb201-cpu/tune/<method>/best.json,
    # run_flags), fixed at 20 complete trials, before these rows' runs.
    ("pr_darts_tuned", "pr_darts", ["--lambda1", "0.00180673", "--lambda2", "0.000814859", "--lambda3", "0.0137246"]),
    ("independent_gate_tuned", "independent_gate", ["--lambda", "0.00292456"]),
    ("gdas", "gdas", []),
    ("drnas", "drnas", []),
    ("beta_darts", "beta_darts", []),
    ("fair_darts", "fair_darts", []),
    ("darts_minus", "darts_minus", []),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--data-dir", default=str(SHARED_DATA))
    parser.add_argument("--benchmark", default=str(SHARED_DATA / "nb201" / "nb201.csv.gz"))
    parser.add_argument("--rows", help="comma-separated row names (default: all)")
    args = parser.parse_args()
    rows = [r for r in ROWS if not args.rows or r[0] in args.rows.split(",")]
    cells = [(seed, row) for seed in seeds(args.seeds) for row in rows]
    for seed, (name, method, flags) in cells:
        search(OUT, name, method, seed, [*PROTOCOL, *flags], ["--data-dir", args.data_dir, "--benchmark", args.benchmark])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
