"""A finished record kept with its Optuna trial, so that one storage holds what many machines ran.

The payload is {"record": record.json as written, "curves": per epoch, the epoch, skip count,
depth and conv depth of metrics.jsonl} (what the leaderboard's tables and per-epoch plots
read; the rest of metrics.jsonl, α per epoch, stays in the run directory). Optuna keeps a
user attribute as JSON text: PostgreSQL's and SQLite's TEXT have no practical limit, MySQL's
holds 64 KiB, so the text is cut into parts of at most PART_CHARS characters (record_part_0,
record_part_1, ...) and record_parts, their count, is written last: a reader that sees the
count sees every part. Torch-free.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from nasbench_suite import records

PART_CHARS = 60_000
PARTS = "record_parts"
PART = "record_part_"  # + its number
CURVE_KEYS = ("epoch", "skip_count", "depth", "conv_depth")


def payload(record: dict, run_dir: Path) -> str:
    """The JSON text stored for a finished run (tensors as lists, as record.json has them)."""
    try:
        rows = records.read_jsonl(Path(run_dir) / records.METRICS)
    except (OSError, ValueError):
        rows = []  # a training without per-epoch skip counts, or a lost metrics file: tables only
    curves = [{k: row[k] for k in CURVE_KEYS if k in row} for row in rows if isinstance(row, dict)]
    curves = [c for c in curves if "skip_count" in c]
    return json.dumps({"record": json.loads(records.to_json(record)), "curves": curves or None}, allow_nan=False)


def _prefix(index: int) -> str:
    """A trial's first record keeps the plain names; a tune trial's further seeds are numbered."""
    return "" if index == 0 else f"run{index}_"


# Every attribute name store() writes: a part or the count, after _prefix's "" or "run<n>_".
RECORD_ATTR = re.compile(rf"(run\d+_)?({PARTS}|{PART}\d+)")


def store(trial, record: dict, run_dir: Path, index: int = 0) -> None:
    """Keep the record with the trial (an optuna.Trial of the running study); `index` numbers
    the records of a trial that runs several searches (tune --seeds)."""
    text = payload(record, run_dir)
    parts = [text[i:i + PART_CHARS] for i in range(0, len(text), PART_CHARS)]
    for i, part in enumerate(parts):
        trial.set_user_attr(f"{_prefix(index)}{PART}{i}", part)
    trial.set_user_attr(_prefix(index) + PARTS, len(parts))


def without_records(attrs: dict) -> dict:
    """A trial's user attributes less the stored records' text, which the study and the run
    directories keep: what a summary (best.json) shows of the trial."""
    return {k: v for k, v in attrs.items() if not RECORD_ATTR.fullmatch(k)}


def read_all(attrs: dict) -> list[dict]:
    """Every stored {"record", "curves"} of a trial, in the order they were stored."""
    found = []
    while (payload := read(attrs, len(found))) is not None:
        found.append(payload)
    return found


def read(attrs: dict, index: int = 0) -> dict | None:
    """The stored {"record", "curves"} of a trial's user attributes; None when it holds none.
    ValueError when its parts do not make a JSON object."""
    prefix = _prefix(index)
    count = attrs.get(prefix + PARTS)
    if not isinstance(count, int) or isinstance(count, bool):
        return None
    parts = [attrs.get(f"{prefix}{PART}{i}") for i in range(count)]
    if not all(isinstance(p, str) for p in parts):
        raise ValueError(f"{count} record parts announced, some missing")
    found = json.loads("".join(parts), parse_constant=_reject_constant)
    if not isinstance(found, dict) or not isinstance(found.get("record"), dict):
        raise ValueError("the stored record is not a JSON object")
    return found


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number a record may hold")
