"""Which worker runs which cell, decided by the database: exactly once, even under races.

A worker that wants a cell first opens an Optuna trial, then claims (cell, attempt) for it
by inserting a row into one small table beside Optuna's, nasbench_sweep_claims, whose
primary key is (study, cell, attempt). Two workers that pick the same cell at the same
moment insert the same key: the database lets one row in and refuses the other (an
IntegrityError, on SQLite as on PostgreSQL), so one of them runs the cell and the other
looks for another. (Optuna's own ways of handing out a trial are not enough here: a
GridSampler hands the same point to two workers that ask at once, and popping an enqueued
trial locks its row only where the database supports SELECT ... FOR UPDATE, which SQLite
does not.)

The attempt number makes a retry a claim like any other: attempt n+1 of a cell can be
claimed only by a worker that saw attempt n's trial end (its worker died: the heartbeat
went stale), and only once. A cell's state is its last attempt's trial: running,
complete (done), or failed; failed with an error of the run itself (a NaN loss: it would
fail again) ends the cell, failed because its worker died makes it claimable again, up to
the sweep's --max-attempts.
"""

from __future__ import annotations

import dataclasses
import random
import time

import sqlalchemy as sa
from optuna.trial import FrozenTrial, TrialState

TABLE = "nasbench_sweep_claims"
_metadata = sa.MetaData()
CLAIMS = sa.Table(
    TABLE, _metadata,
    sa.Column("study_id", sa.Integer, primary_key=True),
    sa.Column("cell", sa.String(500), primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("trial_number", sa.Integer, nullable=False),
)
CREATE_RETRIES = 20


def ensure_table(engine: sa.engine.Engine) -> None:
    """Create the claims table if missing; several processes may try at once."""
    for attempt in range(CREATE_RETRIES):
        try:
            _metadata.create_all(engine, checkfirst=True)
            return
        except (sa.exc.OperationalError, sa.exc.IntegrityError, sa.exc.ProgrammingError):
            if attempt == CREATE_RETRIES - 1:  # another process was creating it; now it exists
                raise
            time.sleep(random.uniform(0.05, 0.3))


def claim(engine: sa.engine.Engine, study_id: int, cell: str, attempt: int, trial_number: int) -> bool:
    """True when this trial now owns the cell's attempt; False when another got it first."""
    try:
        with engine.begin() as connection:
            connection.execute(CLAIMS.insert().values(study_id=study_id, cell=cell, attempt=attempt, trial_number=trial_number))
        return True
    except sa.exc.IntegrityError:
        return False


def attempts(engine: sa.engine.Engine, study_id: int) -> dict[str, list[int]]:
    """{cell key: the trial numbers of its attempts, in order}."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(CLAIMS.c.cell, CLAIMS.c.attempt, CLAIMS.c.trial_number)
            .where(CLAIMS.c.study_id == study_id).order_by(CLAIMS.c.cell, CLAIMS.c.attempt)
        ).all()
    found: dict[str, list[int]] = {}
    for cell, _, number in rows:
        found.setdefault(cell, []).append(number)
    return found


@dataclasses.dataclass(frozen=True)
class CellState:
    status: str  # pending, running, done, retry (its worker died), failed (for good)
    trials: tuple[FrozenTrial, ...]  # its attempts' trials, in order

    @property
    def attempt(self) -> int:
        """The number the next claim of this cell takes."""
        return len(self.trials)

    @property
    def claimable(self) -> bool:
        return self.status in ("pending", "retry")

    @property
    def last(self) -> FrozenTrial | None:
        return self.trials[-1] if self.trials else None


def state_of(trials: list[FrozenTrial], max_attempts: int) -> CellState:
    """A cell's state from its attempts' trials."""
    if not trials:
        return CellState("pending", ())
    last = trials[-1]
    if last.state == TrialState.COMPLETE:
        status = "done"
    elif last.state in (TrialState.RUNNING, TrialState.WAITING):
        status = "running"
    elif "error" in last.user_attrs or len(trials) >= max_attempts:
        status = "failed"
    else:
        status = "retry"
    return CellState(status, tuple(trials))


def states(engine: sa.engine.Engine, study_id: int, study, keys: list[str], max_attempts: int) -> dict[str, CellState]:
    """Every cell's state in an optuna.Study (the claims are read first, then the trials, so
    every claimed trial is among them)."""
    claimed = attempts(engine, study_id)
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    return {key: state_of([by_number[n] for n in claimed.get(key, []) if n in by_number], max_attempts) for key in keys}
