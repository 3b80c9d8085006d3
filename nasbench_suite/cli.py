"""The `nasbench-suite` command: a table of subcommands, each a module with
`add_arguments(parser)` and `main(args) -> exit code`, imported only when it runs (so
`lookup` never loads torch). Bad input ends in one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from nasbench_suite import __version__

COMMANDS = {
    "run": ("nasbench_suite.search.command", "search an architecture with one method on one space"),
    "lookup": ("nasbench_suite.nb201.lookup", "print a NAS-Bench-201 cell's benchmark results"),
    "benchmark": ("nasbench_suite.nb201.importer", "import the official NAS-Bench-201 / NATS-Bench files (benchmark import PATH)"),
    "bench": ("nasbench_suite.bench", "time search and training steps, fast path against the plain one"),
    "leaderboard": ("nasbench_suite.report.leaderboard", "tables (md, csv, html, tex) and plots from the finished runs"),
    "plot-cell": ("nasbench_suite.report.plot_cell", "draw a derived cell (nb201 or darts genotype) as a PNG graph"),
    "tune": ("nasbench_suite.tune.command", "tune the regulariser weights with Optuna (one machine or many)"),
    "sweep": ("nasbench_suite.sweep.command", "a grid of searches (methods x seeds x spaces), each cell once, over many machines"),
    "sweep-train": ("nasbench_suite.sweep.train_command", "a grid of evaluation trainings (genotypes x seeds), each cell once, over many machines"),
    "train": ("nasbench_suite.train.command", "train a genotype's network from scratch and record its test error"),
    "describe": ("nasbench_suite.train.describe", "skip counts, depths and parameters of a genotype's network"),
}


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _top_help() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: nasbench-suite COMMAND [options]   (nasbench-suite COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:<{width}}  {help}" for name, (_, help) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from nasbench_suite.errors import USER_ERRORS

    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_top_help())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"nasbench-suite {__version__}")
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print(f"nasbench-suite: error: unknown command {name!r}; choose from {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module_name, help = COMMANDS[name]
    parser = Parser(prog=f"nasbench-suite {name}", description=help)
    try:
        module = importlib.import_module(module_name)
        module.add_arguments(parser)
        args = parser.parse_args(argv[1:])
        return module.main(args)
    except USER_ERRORS as err:
        print(f"nasbench-suite {name}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a read-only or missing directory: the environment, not a bug
        where = f" ({err.filename})" if err.filename else ""
        print(f"nasbench-suite {name}: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nasbench-suite {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
