"""`nasbench-suite plot-cell GENOTYPE`: draw a derived cell as a graph with labelled edges (PNG)."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from nasbench_suite.errors import UsageError

SPACES = ("nb201", "darts")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "genotype", metavar="GENOTYPE",
        help="nb201: the official string '|op~0|+|op~0|op~1|+|...|' or an index 0..15624; "
        "darts: \"Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[...])\"",
    )
    parser.add_argument("--space", choices=SPACES, help="default: told from the genotype's form")
    parser.add_argument("--out", type=Path, metavar="FILE", help="PNG file to write (default results/plots/cell-<space>-<hash>.png)")
    parser.add_argument("--title", help="figure title (default: the cell's skip count and depth)")


def main(args: argparse.Namespace) -> int:
    from nasbench_suite.report.drawing import draw_genotype, guess_space
    from nasbench_suite.report.plots import save_png

    space = args.space or guess_space(args.genotype)
    out = args.out or Path("results/plots") / f"cell-{space}-{hashlib.sha1(args.genotype.encode()).hexdigest()[:8]}.png"
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out must be a .png file, not {out}")
    fig = draw_genotype(args.genotype, space, args.title)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_png(fig, out)
    except OSError as err:
        raise UsageError(f"cannot write {out}: {err.strerror or err}")
    print(f"wrote {out}")
    return 0
