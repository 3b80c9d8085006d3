"""What `--genotype G` may be: a published cell's name, a finished search run directory, or
the genotype's text."""

from __future__ import annotations

import json
from pathlib import Path

from nasbench_suite import records
from nasbench_suite.errors import UsageError
from spaces.base import SpaceError


def resolve(space, value: str) -> tuple[object, dict]:
    """(genotype, source) where source = {"run_id": search run or None, "name": published name or None}."""
    known = getattr(space, "known_genotypes", {})
    if value.strip().lower() in known:
        name = value.strip().lower()
        return known[name], {"run_id": None, "name": name}
    if _is_dir(value):
        return _from_run(space, Path(value))
    if ("/" in value or value.startswith(".")) and not any(c in value for c in "(|[,"):  # a path, not a genotype text
        raise UsageError(f"--genotype {value}: no such run directory")
    try:
        return space.parse(value), {"run_id": None, "name": None}
    except SpaceError as err:
        names = ", ".join(sorted(known)) or "none"
        raise UsageError(
            f"--genotype {value[:60]!r} is not a published cell ({names}), a run directory or a {space.name} genotype: {err}"
        )


def _is_dir(value: str) -> bool:
    try:
        return Path(value).is_dir()
    except OSError:  # a genotype text longer than a file name may be
        return False


def _from_run(space, run_dir: Path) -> tuple[object, dict]:
    record_path = run_dir / records.RECORD
    if not record_path.is_file():
        raise UsageError(f"{run_dir} has no {records.RECORD}: an unfinished search (finish it with `nasbench-suite run --resume {run_dir}`)")
    try:
        record = json.loads(record_path.read_text())
        kind, run_space, text = record.get("kind", "search"), record["space"], record["genotype"]
    except (OSError, ValueError, KeyError, AttributeError) as err:
        raise UsageError(f"cannot read the search record {record_path}: {err}")
    if kind != "search":
        raise UsageError(f"{run_dir} is a {kind} run, not a search: pass the search run it came from")
    if run_space != space.name:
        raise UsageError(f"{run_dir} searched the {run_space} space, not {space.name}")
    return space.parse(text), {"run_id": record.get("run_id", run_dir.name), "name": None}
