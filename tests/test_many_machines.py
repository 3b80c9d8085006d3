"""Many machines on one real PostgreSQL server: `sweep` and `tune` processes, each with its own
results directory as if on separate machines, share one study; every cell or trial runs
once, a SIGKILLed worker's cell is taken over and resumed; `leaderboard --storage` equals
`leaderboard --runs` over the union of the directories; bad input is one line.

One server per test session (conftest.py's `pg_server`, tests/pg_server.py), each test on a
fresh database. Where it cannot start, the tests fail with the reason under CI (the CI
variable set) and are skipped, with the reason, elsewhere.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from conftest import NB201_TABLE, ROOT, SHARED_DATA
from nasbench_suite import cli
from nasbench_suite.sweep import claims
from nasbench_suite.tune import storage as tune_storage
from nasbench_suite.tune import stored

TINY = ["--space", "nb201", "--init-channels", "4", "--cells-per-stage", "1", "--train-subset", "40", "--batch-size", "8",
        "--data-dir", SHARED_DATA, "--benchmark", NB201_TABLE]




def start(machine: Path, *argv) -> subprocess.Popen:
    """The real command line in a fresh interpreter, in its own folder (its own "machine")."""
    machine.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "NASBENCH_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "nasbench_suite", *map(str, argv)], cwd=machine, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(*procs, timeout=240) -> list[str]:
    outs = [p.communicate(timeout=timeout)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out
    return outs


def sweep_argv(url: str, machine: Path, *extra, methods="darts,pr_darts", seeds="0-1", epochs=1) -> list:
    return ["sweep", "--method", methods, "--seed", seeds, "--epochs", epochs, *TINY, "--storage", url,
            "--out", machine / "runs", "--sweep-dir", machine / "sweeps", *extra]


def load(url: str, name: str | None = None) -> optuna.Study:
    rdb = tune_storage.open_storage(url)
    name = name or rdb.get_all_studies()[0].study_name
    return optuna.load_study(study_name=name, storage=rdb)


def records_under(*machines: Path) -> dict[str, dict]:
    """{run id: record} of every finished run directory on these machines."""
    found = {}
    for machine in machines:
        for path in sorted((machine / "runs").glob("*/record.json")):
            assert path.parent.name not in found
            found[path.parent.name] = json.loads(path.read_text())
    return found


def cell_key(record: dict) -> str:
    return f"method={record['method']} space={record['space']} dataset={record['dataset']} seed={record['seed']}"


def test_two_sweeps_share_the_grid_and_the_leaderboard_from_the_storage_equals_the_union(pg, tmp_path, capsys):
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"
    finish(start(a, *sweep_argv(pg, a)), start(b, *sweep_argv(pg, b)))
    study = load(pg)
    trials = [t for t in study.get_trials() if "cell" in t.user_attrs]  # a trial that lost every race holds none
    assert sorted(t.user_attrs["cell"] for t in trials) == sorted(
        f"method={m} space=nb201 dataset=cifar10 seed={s}" for m in ("darts", "pr_darts") for s in range(2))
    assert all(t.state == TrialState.COMPLETE and t.user_attrs["attempt"] == 1 for t in trials)
    found = records_under(a, b)
    assert sorted(cell_key(r) for r in found.values()) == sorted(t.user_attrs["cell"] for t in trials)  # each once
    for t in trials:  # the stored record is the run directory's
        assert stored.read(t.user_attrs)["record"] == found[t.user_attrs["run_id"]]
    print("cells per machine:", [len(list((m / "runs").glob("*/record.json"))) for m in (a, b)])

    capsys.readouterr()
    assert cli.main([str(x) for x in sweep_argv(pg, a)]) == 0  # the same command again runs nothing
    out = capsys.readouterr().out
    assert "4 done" in out and "starting" not in out and len(records_under(a, b)) == 4

    union = tmp_path / "union"
    for machine in (a, b):
        shutil.copytree(machine / "runs", union, dirs_exist_ok=True)
    assert cli.main(["leaderboard", "--runs", str(union), "--out", str(tmp_path / "once"), "--format", "csv", "--no-plots"]) == 0
    # A cell with two records, as a worker leaves it that died after writing its record and before
    # its trial was marked done, the next attempt running elsewhere: a copy of a finished run under
    # a new run id, in the directories and with a trial of its own in the storage.
    original = union / trials[0].user_attrs["run_id"]
    copy = union / f"{original.name}-again"
    shutil.copytree(original, copy)
    record = {**json.loads((copy / "record.json").read_text()), "run_id": copy.name}
    (copy / "record.json").write_text(json.dumps(record))
    study = load(pg)
    trial = study.ask()
    stored.store(trial, record, copy)
    study.tell(trial, state=TrialState.FAIL)  # its heartbeat stopped
    assert cli.main(["leaderboard", "--runs", str(union), "--out", str(tmp_path / "from-runs")]) == 0
    assert cli.main(["leaderboard", "--storage", pg, "--out", str(tmp_path / "from-storage")]) == 0
    assert (tmp_path / "from-runs" / "leaderboard.csv").read_text() == (tmp_path / "once" / "leaderboard.csv").read_text()
    for folder in ("from-runs", "from-storage"):  # the same finished time: the smaller run id counts
        (line,) = [line for line in (tmp_path / folder / "leaderboard.md").read_text().splitlines() if copy.name in line]
        assert f"the same cell as {original.name}, which finished first: each cell counts once" in line, line
    same_leaderboards(tmp_path / "from-runs", tmp_path / "from-storage", differing=copy.name)


def same_leaderboards(x: Path, y: Path, differing: str | None = None) -> None:
    """The same leaderboards, but for the line that says where the records came from and when,
    and any that names `differing` (a skipped run: by its directory, or its study)."""
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.html", "leaderboard.tex"):
        def body(folder):
            lines = (folder / name).read_text().splitlines()
            return [line for line in lines if "Compiled" not in line and not (differing and differing in line)]
        assert body(x) == body(y), name
    plots = sorted(p.name for p in (x / "plots").iterdir())
    assert plots == sorted(p.name for p in (y / "plots").iterdir()) and any(p.startswith("skip-count") for p in plots)
    for plot in plots:
        assert (x / "plots" / plot).read_bytes() == (y / "plots" / plot).read_bytes(), plot


def test_two_tune_commands_share_one_study_and_store_their_records(pg, tmp_path):
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"

    def argv(machine):
        return ["tune", "--method", "pr_darts", "--epochs", 1, *TINY, "--trials", 1, "--storage", pg, "--study", "shared",
                "--out", machine / "runs", "--tuning-dir", machine / "tuning"]

    finish(start(a, *argv(a)), start(b, *argv(b)))
    trials = load(pg, "shared").get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    found = records_under(a, b)
    assert sorted(found) == sorted(t.user_attrs["run_id"] for t in trials)  # two runs, each once
    for t in trials:
        assert stored.read(t.user_attrs)["record"] == found[t.user_attrs["run_id"]]
        assert t.value == found[t.user_attrs["run_id"]]["benchmark"]["cifar10_valid_acc"]


def running_cell_with_a_checkpoint(url: str, procs, timeout=120):
    """A running trial whose run has finished an epoch (so it is surely mid-search)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(p.poll() is None for p in procs):
        try:
            running = load(url).get_trials(states=(TrialState.RUNNING,))
        except (IndexError, KeyError, ValueError):
            running = []  # no study yet
        for t in running:
            run_dir = t.user_attrs.get("run_dir")
            if run_dir and (Path(run_dir) / "checkpoint.pt").exists():
                return t
        time.sleep(0.05)
    for p in procs:
        p.kill()
    pytest.fail("no cell got to its first checkpoint:\n" + "\n".join(p.communicate()[0] for p in procs))


def test_a_sigkilled_workers_cell_is_taken_over_and_resumed_from_its_checkpoint(pg, tmp_path):
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"
    extra = ("--heartbeat", 1)
    # 40 short epochs: the victim must still be mid-cell when the kill lands, on a fast machine too
    epochs = 40
    procs = [start(a, *sweep_argv(pg, a, *extra, methods="pr_darts", epochs=epochs)),
             start(b, *sweep_argv(pg, b, *extra, methods="pr_darts", epochs=epochs))]
    victim = running_cell_with_a_checkpoint(pg, procs)
    pid = int(victim.user_attrs["worker"].rsplit(":", 1)[1])
    killed = next(p for p in procs if p.pid == pid)
    os.kill(pid, signal.SIGKILL)
    killed.wait()
    survivor = next(p for p in procs if p is not killed)
    (out,) = finish(survivor)

    trials = [t for t in load(pg).get_trials() if "cell" in t.user_attrs]
    cell = victim.user_attrs["cell"]
    attempts = [t for t in trials if t.user_attrs["cell"] == cell]
    assert [(t.state, t.user_attrs["attempt"]) for t in attempts] == [(TrialState.FAIL, 1), (TrialState.COMPLETE, 2)]
    assert attempts[1].user_attrs["run_dir"] == victim.user_attrs["run_dir"]  # the same directory, continued
    assert "resuming at epoch" in out
    assert sorted(t.user_attrs["cell"] for t in trials if t.state == TrialState.COMPLETE) == [
        f"method=pr_darts space=nb201 dataset=cifar10 seed={s}" for s in range(2)]
    found = records_under(a, b)  # nothing counted twice: one finished run per cell, on either machine
    assert sorted(cell_key(r) for r in found.values()) == [f"method=pr_darts space=nb201 dataset=cifar10 seed={s}" for s in range(2)]
    rows = [json.loads(line) for line in (Path(victim.user_attrs["run_dir"]) / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, epochs + 1))


@pytest.mark.parametrize("engine", ["postgresql", "sqlite"])
def test_two_workers_racing_for_one_cell_get_it_once(request, tmp_path, engine):
    """Sixteen threads claim the same attempt of the same cell at the same moment: one wins."""
    url = request.getfixturevalue("pg") if engine == "postgresql" else f"sqlite:///{tmp_path / 'race.db'}"
    rdb = tune_storage.open_storage(url)
    claims.ensure_table(rdb.engine)
    go, won = threading.Barrier(16), []

    def race(i):
        go.wait()
        if claims.claim(rdb.engine, 1, "method=darts seed=0", 0, i):
            won.append(i)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert claims.attempts(rdb.engine, 1) == {"method=darts seed=0": won}
    assert claims.claim(rdb.engine, 1, "method=darts seed=0", 1, 99)  # the retry is a claim of its own


def one_line_error(capsys, argv, message):
    assert cli.main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_a_study_made_by_another_command_or_grid_is_refused(pg, tmp_path, capsys):
    tune_storage.create_or_load(pg, "tuning", {"method": "pr_darts"}, None)  # as `tune` makes it
    one_line_error(capsys, sweep_argv(pg, tmp_path, "--study", "tuning"), "was made by `tune`; `sweep` cannot add to it")
    tune_storage.create_or_load(pg, "grid", {"cells": ["x"], "settings": "y"}, None, command="sweep")
    one_line_error(capsys, sweep_argv(pg, tmp_path, "--study", "grid"), "study grid was made with other settings (cells, settings differ)")
    tune = ["tune", "--method", "pr_darts", "--epochs", 1, *TINY, "--trials", 1, "--storage", pg, "--study", "grid",
            "--out", tmp_path / "runs", "--tuning-dir", tmp_path / "tuning"]
    one_line_error(capsys, tune, "was made by `sweep`; `tune` cannot add to it")
    assert not (tmp_path / "runs").exists()


def test_a_wrong_url_or_a_server_that_is_down_is_one_line(pg_server, tmp_path, capsys):
    down = pg_server.url().replace(f":{pg_server.port}/", f":{free_port()}/")
    one_line_error(capsys, sweep_argv("nosuchdb://x", tmp_path), "cannot open storage nosuchdb://x")
    one_line_error(capsys, sweep_argv(down, tmp_path), "Connection refused")
    one_line_error(capsys, ["leaderboard", "--storage", pg_server.url("no_such_database"), "--out", tmp_path / "lb"],
                   'database "no_such_database" does not exist')
    one_line_error(capsys, ["leaderboard", "--storage", pg_server.url(), "--study", "nope", "--out", tmp_path / "lb"], "no study nope in")
    assert not (tmp_path / "runs").exists()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_stored_record_is_split_into_parts_a_reader_joins(tmp_path):
    class Trial:
        user_attrs = {}

        def set_user_attr(self, key, value):
            self.user_attrs[key] = value

    trial, big = Trial(), {"run_id": "r", "alpha": {"normal": [[0.123456789] * 8] * 2000}}
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "skip_count": {"normal": 2}, "depth": {"normal": 3}, "loss": 1.0}) + "\n")
    stored.store(trial, big, tmp_path)
    assert trial.user_attrs[stored.PARTS] > 1 and all(len(v) <= stored.PART_CHARS for k, v in trial.user_attrs.items() if k.startswith("record_part_"))
    assert stored.read(trial.user_attrs) == {"record": big, "curves": [{"epoch": 1, "skip_count": {"normal": 2}, "depth": {"normal": 3}}]}


def test_sweep_train_keeps_each_trainings_record_with_its_trial(tmp_path, shared_data, one_thread):
    """The default storage (SQLite under --sweep-dir), one worker: the training's record is
    stored with its trial, and the leaderboard reads the same row from either place."""
    argv = ["sweep-train", "--space", "darts", "--genotype", "pr_darts", "--seed", "0", "--epochs", "1",
            "--train-subset", "20", "--test-subset", "20", "--batch-size", "4", "--init-channels", "4", "--layers", "3",
            "--data-dir", SHARED_DATA, "--out", tmp_path / "train", "--sweep-dir", tmp_path / "sweeps"]
    assert cli.main([str(a) for a in argv]) == 0
    (db,) = (tmp_path / "sweeps").glob("*/study.db")
    (trial,) = load(f"sqlite:///{db}").get_trials()
    (record_path,) = (tmp_path / "train").glob("*/record.json")
    assert stored.read(trial.user_attrs)["record"] == json.loads(record_path.read_text())
    (tmp_path / "runs").mkdir()
    assert cli.main(["leaderboard", "--runs", str(tmp_path / "runs"), "--train", str(tmp_path / "train"), "--out", str(tmp_path / "a"), "--no-plots"]) == 0
    assert cli.main(["leaderboard", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "b"), "--no-plots"]) == 0
    csv = [(tmp_path / x / "leaderboard.csv").read_text() for x in "ab"]
    assert csv[0] == csv[1] and "pr_darts" in csv[0]
