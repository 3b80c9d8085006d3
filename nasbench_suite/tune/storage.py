"""Opening a study in its storage so that many processes and machines can share it.

What was found to matter on SQLite: several processes opening the same new file at once
race on creating the schema ("table studies already exists", a unique-constraint failure on
alembic_version: 3 to 8 of 30 such openings failed in a test of 6 processes); a retry
after a short random pause sees the finished schema (0 of 70 failed). Trials themselves
never hit "database is locked" in that test (12 processes, 300 short trials, heartbeats
every second), since pysqlite begins a transaction only at the first write; the busy
timeout is still raised from pysqlite's 5 s to 60 s, so that a long read of a big study
on a loaded machine delays a writer instead of failing it. A killed worker's trial is found
by its heartbeat going stale and marked failed (optuna's fail_stale_trials) when any worker
next starts a trial, and at the end of every command.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import socket
import time
import warnings
from pathlib import Path

import optuna
import sqlalchemy.exc
from optuna.trial import TrialState

from nasbench_suite.errors import UsageError

SQLITE_BUSY_TIMEOUT_S = 60
DEFAULT_HEARTBEAT_S = 60  # a trial without a heartbeat for twice this is declared dead
SCHEMA_RACE_RETRIES = 20


@dataclasses.dataclass(frozen=True)
class StudyRef:
    """Everything a worker process needs to open the study itself."""

    url: str
    name: str
    heartbeat_s: int


def shown_url(url: str) -> str:
    """The URL with any password hidden, for messages and best.json."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def with_driver(url: str) -> str:
    """postgresql:// (and the common postgres://) through psycopg 3, the driver the suite
    installs, whichever SQLAlchemy picks by default."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def open_storage(url: str, heartbeat_s: int | None = None) -> optuna.storages.RDBStorage:
    """An RDBStorage for any SQLAlchemy URL; UsageError where it cannot be opened."""
    engine_kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}} if url.startswith("sqlite") else {}
    heartbeat = {"heartbeat_interval": heartbeat_s, "grace_period": 2 * heartbeat_s} if heartbeat_s else {}
    for attempt in range(SCHEMA_RACE_RETRIES):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(with_driver(url), engine_kwargs=engine_kwargs, **heartbeat)
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as err:
            # another process is creating the same schema (PostgreSQL: "relation already
            # exists", a ProgrammingError), or the server is unreachable
            last = err
            time.sleep(random.uniform(0.05, 0.3))
        except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.DatabaseError, ImportError, ValueError) as err:
            raise UsageError(f"cannot open storage {shown_url(url)}: {_first_line(err)}")
    raise UsageError(f"cannot open storage {shown_url(url)}: {_first_line(last)}")


def _first_line(err: Exception) -> str:
    text = str(getattr(err, "orig", None) or err)
    return text.splitlines()[0] if text else type(err).__name__


def create_or_load(url: str, name: str, identity: dict, heartbeat_s: int | None, command: str = "tune") -> tuple[StudyRef, int]:
    """Create the study, or check that the existing one searches the same thing; its
    reference and how many trials it already has.

    `identity` (the run settings that are not tuned, the searched ranges, the objective) is
    stored with a new study; a later command whose identity differs is refused, so one
    study never mixes trials of different budgets. The heartbeat is the study's too: a
    machine with a shorter one would declare another machine's healthy trials dead. The
    command that made it (`tune`, `sweep`; a study from before this was kept is tune's) is
    stored too, and no other command adds to it.
    """
    identity = json.loads(json.dumps(identity))  # as it reads back from the storage
    storage = open_storage(url)
    try:
        study = optuna.create_study(storage=storage, study_name=name, direction="maximize", load_if_exists=True)
    except sqlalchemy.exc.SQLAlchemyError as err:
        raise UsageError(f"cannot open study {name} in {shown_url(url)}: {_first_line(err)}")
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise UsageError(f"study {name} in {shown_url(url)} minimises; it was not made by `tune`")
    attrs = study.user_attrs
    if "identity" not in attrs and study.get_trials(deepcopy=False):
        raise UsageError(f"study {name} in {shown_url(url)} has trials but was not made by `{command}`")
    if "identity" not in attrs:
        study.set_user_attr("command", command)  # identity last: whoever sees it sees the others
        study.set_user_attr("heartbeat_s", heartbeat_s or DEFAULT_HEARTBEAT_S)
        study.set_user_attr("identity", identity)
        attrs = study.user_attrs
    made_by = attrs.get("command", "tune")
    if made_by != command:
        raise UsageError(f"study {name} in {shown_url(url)} was made by `{made_by}`; `{command}` cannot add to it: choose another --study")
    differs = sorted(k for k in set(identity) | set(attrs["identity"]) if identity.get(k) != attrs["identity"].get(k))
    if differs:
        raise UsageError(
            f"study {name} was made with other settings ({', '.join(differs)} differ); "
            f"choose another --study, or repeat the command that made it"
        )
    if heartbeat_s and heartbeat_s != attrs["heartbeat_s"]:
        raise UsageError(f"study {name} runs with --heartbeat {attrs['heartbeat_s']} (set when it was made)")
    return StudyRef(url, name, attrs["heartbeat_s"]), len(study.get_trials(deepcopy=False))


def load(ref: StudyRef, sampler=None, pruner=None) -> optuna.Study:
    storage = open_storage(ref.url, ref.heartbeat_s)
    return optuna.load_study(study_name=ref.name, storage=storage, sampler=sampler, pruner=pruner)


def worker_id(pid: int | None = None) -> str:
    """Who runs a trial, stored with it: a killed local worker's trial is found by it."""
    return f"{socket.gethostname()}:{pid or os.getpid()}"


def fail_trials_of(study: optuna.Study, worker: str) -> list[int]:
    """Mark the running trials of a worker known to be dead as failed; their numbers."""
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get("worker") == worker:
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            failed.append(trial.number)
    return failed


def fail_stale(study: optuna.Study) -> None:
    """Fail the trials whose heartbeat stopped (a worker killed here or on another machine)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def default_url(study_dir: Path) -> str:
    """A SQLite file in study_dir: one machine, any number of worker processes."""
    try:
        study_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create {study_dir}: {err.strerror or err}")
    return f"sqlite:///{(study_dir / 'study.db').resolve()}"
