"""`nasbench-suite sweep-train`: a grid of evaluation trainings (genotypes x seeds x datasets),
shared by every machine that runs it with the same --storage; see command.py."""

from __future__ import annotations

import argparse

from nasbench_suite.sweep import command

COMMAND = "sweep-train"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    command.add_arguments(parser, COMMAND)


def main(args: argparse.Namespace) -> int:
    return command.main(args, COMMAND)
