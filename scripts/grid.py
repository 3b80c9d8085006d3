"""What the CPU comparisons' scripts (nb201_cpu.py, darts_cpu.py) share: seed ranges, a claim
on a grid cell so that one process per core can share a grid, finding a search cell's run
directory, and running one command at one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def seeds(text: str) -> list[int]:
    """'3-7' -> [3, 4, 5, 6, 7]; '2' -> [2]."""
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def search_config(method: str, seed: int, flags: list[str]) -> dict:
    """The parts of the configuration `run` would write for this search (defaults included)
    that make two searches the same search."""
    from nasbench_suite.search import command

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    config = command.config_from_args(parser.parse_args(["--method", method, "--seed", str(seed), *flags]))
    return {"method_config": config.method_config, "space_config": config.space_config, "settings": config.settings}


def search_dir(out: Path, space: str, method: str, seed: int, flags: list[str]) -> Path | None:
    """The run directory of this search, finished or not: the same method and resolved settings."""
    wanted = search_config(method, seed, flags)
    for config_path in sorted(out.glob(f"{method}-{space}-s{seed}-*/config.json")):
        config = json.loads(config_path.read_text())
        if all(config[k] == v for k, v in wanted.items()):
            return config_path.parent
    return None


def claim(claims: Path, cell: str) -> bool:
    """Take the cell unless a live process of the same script holds it (O_EXCL: one winner)."""
    path = claims / cell
    path.parent.mkdir(parents=True, exist_ok=True)
    script = Path(sys.argv[0]).name
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            return True
        except FileExistsError:
            try:
                owner = int(path.read_text() or 0)
                alive = owner == os.getpid() or script in Path(f"/proc/{owner}/cmdline").read_text()
            except (OSError, ValueError):
                alive = False
            if alive:
                return owner == os.getpid()
            path.unlink(missing_ok=True)  # its process died: take it over
    return False


def search(out: Path, name: str, method: str, seed: int, flags: list[str], new_run: list[str]) -> None:
    """Run one search cell (row `name`, `seed`) unless it has finished or another process has
    it; an unfinished run directory is resumed. flags: the protocol's and the row's (the first
    of them --space); new_run: where a new run reads its data and writes (--data-dir, ...)."""
    space = flags[flags.index("--space") + 1]
    try:
        existing = search_dir(out, space, method, seed, flags)
    except Exception as err:  # a method this checkout does not have yet: its cells wait for a later pass
        print(f"{name} seed {seed}: skipped ({err})", flush=True)
        return
    if existing and (existing / "record.json").exists() or not claim(out.parent / ".claims", f"{name}-s{seed}"):
        return
    print(f"{name} seed {seed}: {'resume' if existing else 'start'}", flush=True)
    run(["run", "--resume", str(existing)] if existing else
        ["run", "--method", method, "--seed", str(seed), *flags, *new_run, "--out", str(out)], f"{name} seed {seed}")


def run(command: list[str], what: str) -> bool:
    """One `nasbench-suite` command at one thread (one process per core); False if it failed."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ok = subprocess.run([sys.executable, "-m", "nasbench_suite", *command], env=env).returncode == 0
    if not ok:
        print(f"{what} failed; going on", flush=True)
    return ok
