"""Run directories and their files: unique ids, atomic writes, the environment of a run.

A run is results/runs/<run-id>/ with config.json (written first), metrics.jsonl (one line
per epoch, rewritten whole each epoch), checkpoint.pt (the last finished epoch) and
record.json (written last: a directory with record.json is a finished run).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import secrets
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from nasbench_suite.errors import UsageError

RECORD, CONFIG, METRICS, CHECKPOINT = "record.json", "config.json", "metrics.jsonl", "checkpoint.pt"
# What a configuration says of the machine a run ran on (its paths, its device, how its steps
# were compiled) or of who asked for it, not of what it computed.
MACHINE_FIELDS = ("data_dir", "benchmark", "device", "compile", "tuning", "workers")


def cell_identity(record: dict) -> str:
    """What makes two finished records the same cell, whichever machine or directory ran them:
    the kind, method, space, dataset and seed, what a training trained (its genotype and
    source), and the resolved configuration without its machine fields. JSON, keys sorted."""
    kind, config = record.get("kind", "search"), record.get("config")
    if isinstance(config, dict):
        config = {k: v for k, v in config.items() if k not in MACHINE_FIELDS}
    keys = ("method", "space", "dataset", "seed") + (("genotype", "source") if kind == "train" else ())
    return json.dumps({"kind": kind, **{k: record.get(k) for k in keys}, "config": config}, sort_keys=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename over `path`.

    A reader sees the old file or the new one, never half of either; on any failure
    (a full disk) the old file is left untouched, the temporary one removed, and the
    error is one UsageError line naming the file.
    """
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would outlive the rename: give the file the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror or err}; its previous version, if any, is untouched")
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def remove_stale_temporaries(run_dir: Path) -> None:
    """Delete what write_atomic left in run_dir when its writer was killed before the rename
    (SIGKILL, a lost machine). Call it only where nothing else writes in run_dir."""
    for tmp in Path(run_dir).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def to_json(obj) -> bytes:
    return (json.dumps(obj, indent=2, default=_jsonable, allow_nan=False) + "\n").encode()


def write_json(path: Path, obj) -> None:
    write_atomic(path, to_json(obj))


def write_jsonl(path: Path, rows: list[dict]) -> None:
    write_atomic(path, b"".join(json.dumps(r, default=_jsonable, allow_nan=False).encode() + b"\n" for r in rows))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _jsonable(obj):
    if hasattr(obj, "tolist"):  # tensors and numpy arrays
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def new_run_dir(root: Path, prefix: str) -> Path:
    """Create results/runs/<prefix>-<UTC time>-<random>; mkdir fails rather than share a directory."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
            path = root / f"{prefix}-{stamp}-{secrets.token_hex(3)}"
            try:
                path.mkdir()
                return path
            except FileExistsError:
                continue
    except OSError as err:
        raise UsageError(f"cannot create a run directory under {root}: {err.strerror or err}")
    raise UsageError(f"cannot find a free run directory name under {root}")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("nasbench-suite", "torch", "torchvision", "numpy", "optuna"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    commit = _git_commit()
    if commit:
        found["git_commit"] = commit
    return found


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def command_line() -> str:
    return " ".join(sys.argv)
