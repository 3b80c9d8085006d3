"""The finished records of an Optuna storage, read into the same Collection that collect.py
builds from run directories: `leaderboard --storage URL` gives the tables and plots that
`leaderboard --runs` gives over the union of every machine's directories.

Every trial of every study (or of --study NAME) that holds a stored record counts (sweep,
sweep-train and tune trials alike), checked as a record.json is; one run is counted once
even where two trials hold it (a worker died after its record was stored, and the next
attempt found the finished directory), and one cell once even where two runs hold it (the
next attempt could not reach the directory: collect.count_once). The per-epoch plots draw
the skip counts and depths stored beside each record.
"""

from __future__ import annotations

from pathlib import Path

from nasbench_suite.errors import UsageError
from nasbench_suite.report.collect import (Collection, RecordError, SearchRun, Skipped, Training, check_search, check_training,
                                           count_once)
from nasbench_suite.tune import storage, stored


def collect(url: str, study: str | None = None) -> Collection:
    import sqlalchemy.exc

    rdb = storage.open_storage(url)
    try:
        names = sorted(s.study_name for s in rdb.get_all_studies())
        if study is not None and study not in names:
            raise UsageError(f"no study {study} in {storage.shown_url(url)} (it has {', '.join(names) or 'none'})")
        found, seen = Collection(), set()
        for name in [study] if study else names:
            for trial in rdb.get_all_trials(rdb.get_study_id_from_name(name), deepcopy=False):
                _add(found, seen, name, trial)
    except sqlalchemy.exc.SQLAlchemyError as err:
        first = str(getattr(err, "orig", None) or err).splitlines()
        raise UsageError(f"cannot read {storage.shown_url(url)}: {first[0] if first else type(err).__name__}")
    return count_once(found)


def _add(found: Collection, seen: set, study: str, trial) -> None:
    where = Path(study) / f"trial-{trial.number}"
    try:
        payloads = stored.read_all(trial.user_attrs)  # none: no finished run (running, pruned, failed)
    except ValueError as err:
        found.skipped.append(Skipped(where, f"corrupt stored record: {err}"))
        return
    for payload in payloads:  # a tune trial of several seeds holds one record each
        _add_record(found, seen, study, where, payload)


def _add_record(found: Collection, seen: set, study: str, where: Path, payload: dict) -> None:
    record = payload["record"]
    key = (record.get("kind", "search"), record.get("run_id"))
    if key in seen:
        return
    seen.add(key)
    path = Path(study) / str(record.get("run_id") or where.name)  # .name is the run id, as a directory's is
    try:
        if record.get("kind") == "train":
            found.trainings.append(Training(path, check_training(record)))
        else:
            found.runs.append(SearchRun(path, check_search(record), _curves(payload.get("curves"))))
    except RecordError as err:
        found.skipped.append(Skipped(where, str(err)))


def _curves(curves) -> list[dict] | None:
    if not isinstance(curves, list) or not all(isinstance(c, dict) and isinstance(c.get("epoch"), int) for c in curves):
        return None
    return curves
