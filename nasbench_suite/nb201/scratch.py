"""Cells already read from an official benchmark, so that an interrupted import resumes.

A NATS-Bench -simple directory is 15,625 compressed pickles: minutes of work. Each cell's
columns are appended as one JSON line to a scratch file beside the output table; a rerun of
the same import skips the cells found there. The first line names the source (its path,
and the size and time of the file that stamps it: the directory's meta file, or the file
itself): a scratch file of another source, or of an older extraction, is started afresh.
A torn last line (the process was killed mid-write) is ignored. The importer removes the
file once the table is written. (A .pth must be loaded whole again on a rerun; only the
per-cell work is skipped.)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from nasbench_suite.errors import UsageError

EXTRACTION_VERSION = 1  # bump when nb201_metrics changes what a cell's columns are


class Scratch:
    def __init__(self, source: Path, stamp_file: Path, output: Path):
        stat = stamp_file.stat()
        self.identity = {"source": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                         "version": EXTRACTION_VERSION}
        digest = hashlib.sha1(self.identity["source"].encode()).hexdigest()[:10]
        self.path = output.parent / f".{output.name}.{digest}.partial.jsonl"
        self._file = None

    def load(self) -> dict[int, dict]:
        """The cells a previous run of this import finished, {index: {column: value}}."""
        try:
            lines = self.path.read_text().splitlines()
        except (OSError, UnicodeDecodeError):  # none yet, or unreadable: start afresh
            return {}
        if not lines or _json(lines[0]) != self.identity:
            return {}
        done = {}
        for line in lines[1:]:
            cell = _json(line)
            if isinstance(cell, dict) and "index" in cell and "values" in cell:
                done[int(cell["index"])] = cell["values"]
        return done

    def open(self, done: dict[int, dict]) -> None:
        """Start the file again with the identity and the cells kept (drops a torn last line)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w")
            self._write(self.identity)
            for index, values in done.items():
                self._write({"index": index, "values": values})
        except OSError as err:
            raise UsageError(f"cannot write the resume file {self.path}: {err.strerror or err}")

    def add(self, index: int, values: dict) -> None:
        self._write({"index": index, "values": values})

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)

    def _write(self, obj) -> None:
        self._file.write(json.dumps(obj) + "\n")
        self._file.flush()


def _json(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None
