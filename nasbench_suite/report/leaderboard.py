"""`nasbench-suite leaderboard`: finished run records -> leaderboard tables and figures.

Writes <out>/leaderboard.{md,csv,html,tex} and <out>/plots/*.png. Never imports torch
(records are JSON; matplotlib is imported only when plotting). Corrupt or unfinished runs
are listed as skipped with the reason, never fatal; every file is written atomically, so an
interrupted call leaves the previous leaderboard whole.
"""

from __future__ import annotations

import argparse
import datetime
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from nasbench_suite import __version__, records

from nasbench_suite.report import published
from nasbench_suite.report.collect import Collection, collect
from nasbench_suite.errors import UsageError
from nasbench_suite.report.standings import build_sections
from nasbench_suite.report.family import load as load_family, test as test_family
from nasbench_suite.report.tables import Board, render_confirmatory_csv, render_csv, render_html, render_markdown, render_tex

RENDERERS = {"md": render_markdown, "csv": render_csv, "html": render_html, "tex": render_tex}
console = Console(highlight=False, soft_wrap=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=Path, metavar="DIR", default=Path("results/runs"), help="search run directories (default results/runs)")
    parser.add_argument("--train", type=Path, metavar="DIR", help="evaluation-training directories (default: train/ beside --runs)")
    parser.add_argument("--out", type=Path, metavar="DIR", default=Path("results"), help="where leaderboard.* and plots/ go (default results)")
    parser.add_argument("--format", metavar="LIST", default=",".join(RENDERERS), help=f"comma-separated, of {', '.join(RENDERERS)} (default all)")
    parser.add_argument("--no-plots", action="store_true", help="tables only (skips matplotlib)")
    parser.add_argument("--storage", metavar="URL", help="read the records stored with the trials of a sweep, sweep-train or tune storage (SQLAlchemy URL) instead of --runs/--train")
    parser.add_argument("--study", metavar="NAME", help="with --storage: only this study (default every study in it)")
    parser.add_argument("--family", type=Path, metavar="FILE", help="a confirmatory family (JSON: rows, seeds, contrasts, stated before their runs): tested apart, with its own Holm adjustment, above the exploratory tables")


def parse_formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in RENDERERS]
    if unknown or not formats:
        raise UsageError(f"--format takes a comma-separated list of {', '.join(RENDERERS)}, not {text!r}")
    return list(dict.fromkeys(formats))


def main(args: argparse.Namespace) -> int:
    formats = parse_formats(args.format)
    if args.train is not None and not args.train.is_dir():
        raise UsageError(f"--train {args.train} is not a directory")
    train_dir = args.train if args.train is not None else args.runs.parent / "train"
    if args.study and not args.storage:
        raise UsageError("--study names a study of --storage URL; pass both")
    family = load_family(args.family) if args.family else None
    if args.storage:
        from nasbench_suite.report import from_storage
        from nasbench_suite.tune.storage import shown_url

        found, source = from_storage.collect(args.storage, args.study), shown_url(args.storage) + (f", study {args.study}" if args.study else "")
    else:
        found, source = collect(args.runs, train_dir), None
    sections, unlinked = build_sections(found, published.load())
    board = Board(sections, found.skipped + unlinked, coverage(found, args.runs, train_dir, len(found.skipped + unlinked), source))
    if family is not None:
        board.family, board.outcomes = family, test_family(family, found.runs, found.trainings)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        if not args.no_plots:
            board.figures = _plot(board, args.out)
        written = []
        for fmt in formats:
            written.append(args.out / f"leaderboard.{fmt}")
            records.write_atomic(written[-1], RENDERERS[fmt](board).encode())
        if family is not None and "csv" in formats:
            written.append(args.out / "confirmatory.csv")
            records.write_atomic(written[-1], render_confirmatory_csv(board).encode())
    except OSError as err:
        raise UsageError(f"cannot write the leaderboard under {args.out}: {err.strerror or err}")
    _report(board, found, written)
    return 0


def _plot(board: Board, out: Path) -> dict[tuple[str, str], list[str]]:
    from nasbench_suite.report.plots import write_section_plots  # matplotlib: only when plotting

    figures = {}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("plots", total=len(board.sections))
        for section in board.sections:
            paths = write_section_plots(section, out / "plots")
            figures[(section.space, section.dataset)] = [p.relative_to(out).as_posix() for p in paths]
            progress.advance(task)
    return figures


def coverage(found: Collection, runs_dir: Path, train_dir: Path, skipped: int, source: str | None = None) -> str:
    """The one line that says what a leaderboard covers: how many runs, which data, when."""
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    data = Counter((r.record["space"], r.record["dataset"], _subset(r.record), _table(r.record)) for r in found.runs)
    # the run count is said once above; per part only where the runs split into several
    parts = [f"{space} on {dataset}, {subset}{table}" + (f" ({plural(n, 'run')})" if len(data) > 1 else "")
             for (space, dataset, subset, table), n in sorted(data.items())]
    trainings = f"{plural(len(found.trainings), 'evaluation training')} ({train_dir})" if train_dir.is_dir() else f"no evaluation trainings (no {train_dir})"
    if source:  # --storage: runs and trainings from one database
        runs_dir, trainings = source, f"{len(found.trainings)} evaluation trainings ({source})"
    return (
        f"Compiled {when} by nasbench-suite {__version__} from {plural(len(found.runs), 'finished search run')} ({runs_dir}) "
        f"and {trainings}; {skipped} skipped (listed at the end). Data: {'; '.join(parts) or 'no finished runs'}."
    )


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _subset(record: dict) -> str:
    """The search budget: epochs, and how many training images."""
    subset = record["config"].get("train_subset")
    images = "all training images" if subset is None else f"a training subset of {subset} images"
    return f"{record['config']['settings']['epochs']}-epoch searches on {images}"


def _table(record: dict) -> str:
    table = record.get("benchmark_table")
    return f", benchmark table {Path(table).name}" if isinstance(table, str) else ""


def _report(board: Board, found: Collection, written: list[Path]) -> None:
    rows = sum(len(s.rows) for s in board.sections)
    console.print(f"{plural(len(found.runs), 'finished run')}, {plural(len(found.trainings), 'training')} -> "
                  f"{plural(rows, 'row')} in {plural(len(board.sections), 'table')}")
    for o in board.outcomes:
        console.print(f"{o.contrast.id} {o.contrast.first} vs {o.contrast.second} ({o.contrast.metric}): {o.verdict}"
                      + ("" if o.p is None else f", p={o.p:.2g}, Holm {o.p_holm:.2g}"))
    for skipped in board.skipped:
        console.print(f"skipped {skipped.path}: {skipped.reason}")
    for path in written:
        console.print(f"wrote {path}")
    figures = sum(len(v) for v in board.figures.values())
    if figures:
        console.print(f"wrote {figures} figures under {written[0].parent / 'plots' if written else 'plots'}")
