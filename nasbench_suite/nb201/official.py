"""The official NAS-Bench-201 / NATS-Bench topology files, read without running anything in them.

Three layouts hold the same per-cell records (the official readers' ArchResults state:
`arch_index`, `arch_str`, `dataset_seed` {dataset: [seeds]}, `all_results`
{(dataset, seed): ResultsCount state}):

    NAS-Bench-201-v1_0-e61699.pth,     torch.save of {"meta_archs": [15,625 strings],
    NAS-Bench-201-v1_1-096897.pth      "arch2infos": {index: {"less": hp 12, "full": hp 200}},
                                       "evaluated_indexes": ...}
    NATS-tss-v1_0-3ffb9-simple/        meta.pickle.pbz2 ({"meta_archs": [...], ...}) and one
                                       bz2 pickle per cell, 000123.pickle.pbz2 =
                                       {"12": hp 12, "200": hp 200}
    NATS-tss-v1_0-3ffb9.pickle.pbz2    one bz2 pickle, laid out like the .pth with "12"/"200"

Files are untrusted: a .pth goes through torch's weights-only loader, a pickle through
nasbench_suite.safe_pickle. Anything that names code is refused in one line.
"""

from __future__ import annotations

import bz2
import os
import pickle
import re
from pathlib import Path

from nasbench_suite import safe_pickle
from nasbench_suite.errors import UsageError

META_FILE = "meta.pickle.pbz2"
CELL_SUFFIX = ".pickle.pbz2"
# The official hp keys of a cell's records, as the budget they stand for.
HP_KEYS = {"less": "12", "full": "200", "12": "12", "200": "200"}


class OfficialFile:
    """The cell strings of a file and, for each cell it has results for, its records by budget."""

    def __init__(self, path: Path, kind: str, meta_archs, cells: dict, load_cell=None):
        self.path, self.kind, self.meta_archs = path, kind, meta_archs
        self._cells, self._load_cell = cells, load_cell

    @property
    def indexes(self) -> list[int]:
        return sorted(self._cells)

    def cell(self, index: int) -> dict[str, dict]:
        """{"12": ArchResults state, "200": ...} of one cell (hp keys other than 12/200 dropped)."""
        records = self._load_cell(self._cells[index]) if self._load_cell else self._cells[index]
        if not isinstance(records, dict):
            raise UsageError(f"{self.path}: cell {index} is a {type(records).__name__}, not the official {{hp: results}} dict")
        return {HP_KEYS[k]: v for k, v in records.items() if k in HP_KEYS}


def sniff(path: Path) -> str:
    """'nats-dir', 'pickle-bz2', 'pth' or 'csv', from what the file is, not its name."""
    if path.is_dir():
        if not (path / META_FILE).is_file():
            raise UsageError(f"{path} is a directory without {META_FILE}: not a NATS-Bench topology -simple directory")
        return "nats-dir"
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}")
    if head[:3] == b"BZh":
        return "pickle-bz2"
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80":  # torch's zip format, or its legacy pickle
        return "pth"
    return "csv"


def open_official(path: Path, kind: str) -> OfficialFile:
    if kind == "nats-dir":
        return _open_nats_dir(path)
    content = load_pth(path) if kind == "pth" else load_pickle_bz2(path)
    if not isinstance(content, dict) or not {"meta_archs", "arch2infos"} <= set(content):
        raise UsageError(f"{path} is not a NAS-Bench-201 / NATS-Bench benchmark: no meta_archs and arch2infos")
    if not isinstance(content["arch2infos"], dict):
        raise UsageError(f"{path}: arch2infos is a {type(content['arch2infos']).__name__}, not a dict of cells")
    name = "NAS-Bench-201 .pth" if kind == "pth" else "NATS-Bench topology .pickle.pbz2"
    return OfficialFile(path, name, content["meta_archs"], content["arch2infos"])


def _open_nats_dir(path: Path) -> OfficialFile:
    meta = load_pickle_bz2(path / META_FILE)
    if not isinstance(meta, dict) or "meta_archs" not in meta:
        raise UsageError(f"{path / META_FILE} has no meta_archs: not a NATS-Bench topology meta file")
    names = set(os.listdir(path))
    cells = {}
    for index in range(len(meta["meta_archs"])):
        # the official reader looks for 000123.pickle.pbz2, then 123.pickle.pbz2
        for name in (f"{index:06d}{CELL_SUFFIX}", f"{index}{CELL_SUFFIX}"):
            if name in names:
                cells[index] = path / name
                break
    return OfficialFile(path, "NATS-Bench topology directory", meta["meta_archs"], cells, load_pickle_bz2)


def load_pickle_bz2(path: Path):
    try:
        with bz2.open(path, "rb") as f:
            return safe_pickle.load(f)
    except safe_pickle.UnsafePickleError as err:
        hint = " (a -full directory holds trained weights: import the -simple one)" if "torch" in str(err) else ""
        raise UsageError(f"{path}: {err}{hint}")
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}")
    except Exception as err:  # whatever a corrupt stream raises, it is a bad file, not a bug here
        raise UsageError(f"cannot read {path} as a bz2-compressed pickle: {type(err).__name__}: {_first_line(err)}")


def load_pth(path: Path):
    import torch  # only here: `benchmark import` of a CSV or a NATS directory stays torch-free

    try:
        with torch.serialization.safe_globals(numpy_scalar_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        named = re.search(r"GLOBAL ([\w.]+)", str(err)) or re.search(r"got <class '([\w.]+)'>", str(err))
        if named:
            raise UsageError(f"refusing to load {path}: it needs {named[1]}, which is not plain data (weights-only loading)")
        reason = re.search(r"WeightsUnpickler error: (.*)", str(err))
        raise UsageError(f"cannot read {path} as a .pth file: {reason[1] if reason else _first_line(err)}")
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}")
    except Exception as err:  # torch reports a corrupt archive with RuntimeError, EOFError, ValueError...
        raise UsageError(f"cannot read {path} as a .pth file: {type(err).__name__}: {_first_line(err)}")


def numpy_scalar_globals() -> list:
    """The globals a weights-only load allows beyond torch's own: numpy float64 and int64 scalars.

    The authors counted parameters and FLOPs with numpy (np.sum(...) / 1e6), so those numbers
    may be stored as numpy scalars: `scalar` rebuilds one from its dtype and raw bytes, and the
    dtype is rebuilt from `numpy.dtype` plus its class. Files written with numpy 1.x name the
    module numpy.core, numpy 2.x numpy._core; both names map to the same function.
    """
    import numpy as np

    scalar = (np._core if hasattr(np, "_core") else np.core).multiarray.scalar
    return [
        (scalar, "numpy.core.multiarray.scalar"),
        (scalar, "numpy._core.multiarray.scalar"),
        np.dtype,
        np.dtypes.Float64DType,
        np.dtypes.Int64DType,
    ]


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
