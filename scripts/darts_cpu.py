"""The DARTS-space comparison at CPU scale (results/darts-cpu): every row searched under one
protocol, every derived cell and the published DARTS_V2 and PR-DARTS cells trained under one
short protocol, resumable.

    python scripts/darts_cpu.py [--seeds 0-2]          (once per core)
    nasbench-suite leaderboard --runs results/darts-cpu/runs --out results/darts-cpu   (trainings: train/ beside runs/)

Each cell of the grid is one `nasbench-suite run` or `train` in its own process, one thread
each; finished cells are skipped and unfinished ones resumed, so the same command continues
after any stop. Start it once per core: each process claims the next free cell. Searches run
seed by seed first; a search's training waits until it has finished (a later pass, or the
process that ran it, takes it); the published cells' trainings come after the searches.

The protocols below were fixed from the pilot before the grid's first run (results/README.md,
"darts-cpu"); test accuracies steer nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grid import ROOT, SHARED_DATA, claim, run, search, search_dir, seeds

OUT = ROOT / "results" / "darts-cpu"
# The search: the real CIFAR-10 subset, 2,500 images per half; the standard 8-cell network
# (reductions at 1/3 and 2/3) at C = 8; α Adam at 5e-3 for every method.
SEARCH = ["--space", "darts", "--epochs", "12", "--batch-size", "64", "--train-subset", "5000",
          "--arch-lr", "5e-3", "--init-channels", "8", "--layers", "8"]
# (row name, method, flags beyond the protocol)
ROWS = [
    ("darts", "darts", []),
    ("pr_darts", "pr_darts", []),
    # The paper's λ times the loss-to-regulariser gradient ratio, rounded to one significant
    # figure, so the regulariser pulls on α as hard as the loss at the start: measured before
    # its runs, `python scripts/regularizer_pull.py --space darts --method pr_darts --epochs 3`
    # (seed 1, one thread): median 216.7 (quartiles 166.1, 275.3) over 117 α steps, so x200.
    ("pr_darts_pull", "pr_darts", ["--lambda1", "2", "--lambda2", "1", "--lambda3", "1"]),
    ("drnas", "drnas", []),
]
# The training: 5,000 images, the full 10,000-image test set, C = 16 with 8 cells, otherwise
# the DARTS protocol (batch 96, SGD 0.025 cosine, cutout 16, drop-path 0.2 rising over the
# epochs, auxiliary head at 0.4); the test set every 5 epochs and after the last.
TRAIN = ["--space", "darts", "--epochs", "20", "--train-subset", "5000", "--init-channels", "16", "--layers", "8",
         "--test-every", "5", "--seed", "0"]
PUBLISHED = ["darts_v2", "pr_darts"]
PUBLISHED_SEEDS = "0-2"  # training seeds of each published cell: the protocol's own noise


def train_args(genotype: str, flags: list[str], data_dir: str) -> list[str]:
    """`train`'s flags for this genotype under the protocol."""
    return ["--genotype", genotype, *TRAIN, *flags, "--data-dir", data_dir, "--out", str(OUT / "train")]


def training_dir(args: list[str]) -> Path:
    """Where `train` keeps this training (its name is a function of the configuration)."""
    from nasbench_suite.train import command

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return command.prepare(parser.parse_args(args))[1]


def training_claim(name: str, seed: int, published: bool = False) -> str:
    """A training's claim. Published cells' stand apart: a searched row may share a cell's
    name (pr_darts), and one claim for both made a second process skip the published cell."""
    return f"train-{'published-' if published else ''}{name}-s{seed}"


def train_cell(name: str, genotype: str, flags: list[str], data_dir: str) -> None:
    """Train one genotype under the protocol unless it is finished or another process has it."""
    args = train_args(genotype, flags, data_dir)
    if (training_dir(args) / "record.json").exists() or not claim(OUT / ".claims", name):
        return
    print(f"{name}: train", flush=True)
    run(["train", *args], name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--data-dir", default=str(SHARED_DATA))
    parser.add_argument("--rows", help="comma-separated row names (default: all)")
    args = parser.parse_args()
    rows = [r for r in ROWS if not args.rows or r[0] in args.rows.split(",")]
    runs = OUT / "runs"
    for seed in seeds(args.seeds):
        for name, method, flags in rows:
            search(runs, name, method, seed, [*SEARCH, *flags], ["--data-dir", args.data_dir])
    for seed in seeds(args.seeds):  # every finished search's cell, trained once
        for name, method, flags in rows:
            found = search_dir(runs, "darts", method, seed, [*SEARCH, *flags])
            if found and (found / "record.json").exists():
                train_cell(training_claim(name, seed), str(found), [], args.data_dir)
    for cell in PUBLISHED:
        for train_seed in seeds(PUBLISHED_SEEDS):
            train_cell(training_claim(cell, train_seed, published=True), cell, ["--seed", str(train_seed)], args.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
