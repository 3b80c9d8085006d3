"""`tune` on real CIFAR-10 images, the real NAS-Bench-201 table and real SQLite storage:
trial values against the table, rerunning, parallel workers, killed workers and commands."""

import csv
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nasbench_suite import cli
from nasbench_suite.tune import report as tune_report
from nasbench_suite.tune import storage as tune_storage
from nasbench_suite.tune import stored as tune_stored
from conftest import NB201_TABLE, ROOT, SHARED_DATA

TINY = ["--init-channels", "4", "--cells-per-stage", "1", "--train-subset", "20", "--batch-size", "10"]


def tune_argv(tmp: Path, *extra, epochs=2) -> list[str]:
    return [
        "tune", "--method", "pr_darts", "--space", "nb201", "--epochs", str(epochs), *TINY,
        "--data-dir", SHARED_DATA, "--benchmark", NB201_TABLE, "--out", tmp / "runs", "--tuning-dir", tmp / "tuning",
        *map(str, extra),
    ]


def only_study(tmp: Path) -> optuna.Study:
    """The one study under tmp, opened as tune opens it (a command may be creating it now)."""
    (db,) = (tmp / "tuning").glob("*/study.db")
    return optuna.load_study(study_name=db.parent.name, storage=tune_storage.open_storage(f"sqlite:///{db}"))


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def table() -> dict:
    with gzip.open(NB201_TABLE, "rt") as f:
        return {row["arch"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def three_trials(tmp_path_factory, shared_data):
    """A three-trial study, run in this process; (folder, argv, its trials as they were)."""
    tmp = tmp_path_factory.mktemp("tune")
    argv = tune_argv(tmp, "--tune-threshold", "--trials", 3)
    assert cli.main([str(a) for a in argv]) == 0
    return tmp, argv, only_study(tmp).get_trials()


def check_against_table(tmp: Path, trial, table: dict) -> dict:
    """The trial's value is the table's validation accuracy of the genotype its run derived."""
    record = json.loads((tmp / "runs" / trial.user_attrs["run_id"] / "record.json").read_text())
    row = table[record["genotype"]]
    assert trial.value == pytest.approx(float(row["cifar10_valid_acc"]), abs=1e-6)
    assert trial.user_attrs["cifar10_test_acc"] == pytest.approx(float(row["cifar10_test_acc"]), abs=1e-6)
    assert all(record["config"]["method_config"][name] == value for name, value in trial.params.items())
    return record


def test_each_trial_is_worth_the_tables_validation_accuracy_of_its_genotype(three_trials, table):
    tmp, _, trials = three_trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert len({t.params["lambda3"] for t in trials}) == 3
    for trial in trials:
        record = check_against_table(tmp, trial, table)
        assert record["config"]["tuning"]["trial"] == trial.number
        assert 1e-3 <= trial.params["lambda1"] <= 1e-1 and 0.05 <= trial.params["threshold"] <= 0.5
        # intermediate values: the table's validation accuracy of every epoch's genotype
        rows = [json.loads(line) for line in (tmp / "runs" / record["run_id"] / "metrics.jsonl").read_text().splitlines()]
        expected = {r["epoch"]: float(table[r["genotype"]]["cifar10_valid_acc"]) for r in rows}
        assert trial.intermediate_values == pytest.approx(expected, abs=1e-6)


def test_best_json_holds_the_best_trials_weights(three_trials):
    tmp, _, trials = three_trials
    (path,) = (tmp / "tuning").glob("*/best.json")
    best = json.loads(path.read_text())
    winner = max(trials, key=lambda t: t.value)
    assert best["value"] == winner.value and best["weights"] == winner.params
    assert best["run_flags"].split() == [x for n, v in winner.params.items() for x in (f"--{n}", f"{v:.6g}")]
    assert best["importance"] is None and "at least 10" in best["importance_note"]
    # the summary shows the trial's attributes, not its stored records' text (the study keeps those)
    assert best["trial_attrs"]["run_id"] == winner.user_attrs["run_id"] and tune_stored.read(winner.user_attrs)
    assert not [k for k in best["trial_attrs"] if "record_part" in k]


def test_rerunning_the_command_adds_trials_to_the_same_study(three_trials, table):
    tmp, argv, before = three_trials
    assert cli.main([str(a) for a in argv[:-1]] + ["1"]) == 0
    trials = only_study(tmp).get_trials()
    assert [t.number for t in trials] == [0, 1, 2, 3] and trials[3].state == TrialState.COMPLETE
    assert trials[3].params not in [t.params for t in before]  # the sampler does not start over
    check_against_table(tmp, trials[3], table)


def test_a_study_refuses_a_command_with_other_settings(three_trials, capsys):
    tmp, argv, _ = three_trials
    name = only_study(tmp).study_name
    argv = [str(a) for a in argv] + ["--study", name, "--lambda3", "0"]
    assert cli.main(argv) == 2
    assert f"study {name} was made with other settings (method_config, searched differ)" in capsys.readouterr().err


def study_of_five_trials_at_99(tmp_path, epochs: int):
    """A pruned study's command and its study, holding five earlier trials at 99% every epoch."""
    from nasbench_suite.tune import command as tune

    argv = [str(a) for a in tune_argv(tmp_path, "--trials", 1, "--pruner", "median", epochs=epochs)]
    parser = cli.Parser()
    tune.add_arguments(parser)
    plan = tune.make_plan(parser.parse_args(argv[1:]))
    study = tune_storage.load(plan.ref)
    dists = {s.name: optuna.distributions.FloatDistribution(s.low, s.high, log=True) for s in plan.searched}
    for _ in range(5):
        study.add_trial(optuna.trial.create_trial(
            params={s.name: s.low for s in plan.searched}, distributions=dists, value=99.0,
            intermediate_values={e: 99.0 for e in range(1, epochs + 1)},
        ))
    return argv, study


def test_median_pruner_stops_a_trial_below_the_median(tmp_path, shared_data):
    """Five earlier trials at 99% every epoch: the first epoch of a new one is below, so it stops."""
    argv, study = study_of_five_trials_at_99(tmp_path, epochs=3)
    assert cli.main(argv) == 0
    pruned = study.get_trials()[-1]
    assert pruned.state == TrialState.PRUNED and list(pruned.intermediate_values) == [1]
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert not (run_dir / "record.json").exists() and len((run_dir / "metrics.jsonl").read_text().splitlines()) == 1


def test_proxy_objective_scores_the_derived_network_on_the_held_out_half(tmp_path, shared_data):
    from nasbench_suite import registry
    from nasbench_suite.tune import proxy
    from nasbench_suite.search.settings import RunConfig

    argv = tune_argv(tmp_path, "--trials", 1, "--objective", "proxy", "--proxy-epochs", 1, "--lambda3", 0, epochs=1)
    assert cli.main([str(a) for a in argv]) == 0
    (trial,) = only_study(tmp_path).get_trials()
    record = json.loads((tmp_path / "runs" / trial.user_attrs["run_id"] / "record.json").read_text())
    assert set(trial.params) == {"lambda1", "lambda2"} and record["config"]["method_config"]["lambda3"] == 0
    space = registry.get_space("nb201")
    again = proxy.proxy_accuracy(space, space.parse(record["genotype"]), RunConfig(**record["config"]), 1)
    assert trial.value == again and 0 <= again <= 100 and trial.user_attrs["proxy_epochs"] == 1
    assert "cifar10_test_acc" not in trial.user_attrs  # the proxy never looks at the table


def test_on_the_darts_space_the_objective_is_the_proxy(tmp_path, shared_data):
    """No table there: --objective auto picks the short training of the derived network."""
    from nasbench_suite import registry
    from nasbench_suite.tune import proxy
    from nasbench_suite.search.settings import RunConfig

    argv = ["tune", "--method", "pr_darts", "--space", "darts", "--trials", "1", "--epochs", "1", "--train-subset", "20",
            "--batch-size", "4", "--init-channels", "4", "--layers", "3", "--proxy-epochs", "1",
            "--data-dir", SHARED_DATA, "--out", tmp_path / "runs", "--tuning-dir", tmp_path / "tuning"]
    assert cli.main([str(a) for a in argv]) == 0
    (trial,) = only_study(tmp_path).get_trials()
    record = json.loads((tmp_path / "runs" / trial.user_attrs["run_id"] / "record.json").read_text())
    assert record["space"] == "darts" and record["benchmark"] is None
    space = registry.get_space("darts")
    again = proxy.proxy_accuracy(space, space.parse(record["genotype"]), RunConfig(**record["config"]), 1)
    assert trial.value == again and trial.user_attrs["proxy_epochs"] == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--method", "darts"], "method darts has no regulariser weights to tune"),
        (["--tune-k", "--k", "3"], "--k 3 fixes what --tune-k / --k-range would tune: choose one"),
        (["--lambda2", "0.01", "--lambda2-range", "0.001", "0.1"], "--lambda2 0.01 fixes what"),
        (["--lambda-range", "0.1", "1"], "method pr_darts has no --lambda"),
        (["--lambda1-range", "0", "1"], "log-uniform: LOW must be positive"),
        (["--k-range", "1", "9"], "--k must be between 1 and the 5 operations"),
        (["--objective", "proxy", "--pruner", "median"], "the proxy objective has none"),
        (["--dataset", "cifar100"], "a cifar100 search has no validation number in the table"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--storage", "nosuchdb://x"], "cannot open storage nosuchdb://x"),
    ],
)
def test_bad_tuning_input_is_one_line(tmp_path, capsys, extra, message):
    assert cli.main([str(a) for a in tune_argv(tmp_path, "--trials", 1)] + extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_importance_ranks_the_weight_the_value_depends_on(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", direction="maximize")
    dists = {n: optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True) for n in ("lambda1", "lambda2")}
    for i in range(12):
        l1, l2 = 1e-3 * 1.5**i, 1e-3 * 1.5 ** ((7 * i) % 12)
        study.add_trial(optuna.trial.create_trial(params={"lambda1": l1, "lambda2": l2}, distributions=dists, value=-abs(l1 - 0.02)))
    importance, _ = tune_report.importances(study, ["lambda1", "lambda2"], complete=12)
    assert max(importance, key=importance.get) == "lambda1"
    assert tune_report.importances(study, ["lambda1", "lambda2"], complete=9)[0] is None


def start(tmp: Path, *extra, epochs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "nasbench_suite", *map(str, tune_argv(tmp, "--heartbeat", 1, *extra, epochs=epochs))]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp)


def first_trial_mid_run(tmp: Path, proc: subprocess.Popen, timeout=120):
    """The first running trial once it has finished an epoch (so it is surely mid-search)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            running = only_study(tmp).get_trials(states=(TrialState.RUNNING,))
        except (ValueError, KeyError):  # no database file, or no study in it, yet
            running = []
        for t in running:
            if t.intermediate_values and "worker" in t.user_attrs:
                return t
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"no trial got to its first epoch:\n{proc.communicate()[0]}")


def test_two_workers_share_the_study_and_a_killed_ones_trial_fails(tmp_path, shared_data, table):
    proc = start(tmp_path, "--trials", 4, "--workers", 2, epochs=25)
    victim = first_trial_mid_run(tmp_path, proc)
    killed = victim.user_attrs["worker"]
    os.kill(int(killed.rsplit(":", 1)[1]), signal.SIGKILL)
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode == 1, out
    trials = only_study(tmp_path).get_trials()
    (failed,) = [t for t in trials if t.state != TrialState.COMPLETE]
    assert failed.state == TrialState.FAIL and failed.user_attrs["worker"] == killed
    assert f"its trial {failed.number} is marked failed" in out and "database is locked" not in out
    survivors = [t for t in trials if t.number != failed.number]
    assert sum(t.user_attrs["worker"] != killed for t in survivors) == 2  # the other worker's whole share
    for trial in survivors:
        check_against_table(tmp_path, trial, table)


def test_a_killed_command_leaves_a_trial_the_next_run_declares_failed(tmp_path, shared_data, table):
    # 100 short epochs: a window the poll cannot miss even on a loaded machine
    proc = start(tmp_path, "--trials", 1, epochs=100)
    victim = first_trial_mid_run(tmp_path, proc)
    proc.kill()
    proc.wait()
    assert only_study(tmp_path).get_trials()[victim.number].state == TrialState.RUNNING
    rerun = start(tmp_path, "--trials", 1, epochs=100)
    out = rerun.communicate(timeout=300)[0]
    assert rerun.returncode == 0, out
    trials = only_study(tmp_path).get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
    check_against_table(tmp_path, trials[1], table)


def test_a_trial_of_several_seeds_scores_their_mean_and_keeps_every_record(tmp_path, shared_data, table):
    """--seeds 5,6: two searches a trial, its value their mean validation accuracy, each
    record stored with the trial (the storage's leaderboard sees both), and the pruner sees
    the second seed's epochs after the first's."""
    argv = [str(a) for a in tune_argv(tmp_path, "--seeds", "5,6", "--trials", 1)]
    assert cli.main(argv) == 0
    (trial,) = only_study(tmp_path).get_trials()
    runs = trial.user_attrs["seeds"]
    assert [r["seed"] for r in runs] == [5, 6]
    valid = []
    for r in runs:
        record = json.loads((tmp_path / "runs" / r["run_id"] / "record.json").read_text())
        assert record["seed"] == r["seed"]
        valid.append(float(table[record["genotype"]]["cifar10_valid_acc"]))
        assert r["value"] == pytest.approx(valid[-1], abs=1e-6)
    assert trial.value == pytest.approx(sum(valid) / 2, abs=1e-6)
    assert sorted(trial.intermediate_values) == [1, 2, 3, 4]  # 2 epochs of seed 5, then 2 of seed 6
    (study_dir,) = (tmp_path / "tuning").iterdir()
    url = f"sqlite:///{study_dir / 'study.db'}"
    out = tmp_path / "board"
    assert cli.main(["leaderboard", "--storage", url, "--out", str(out), "--no-plots", "--format", "csv"]) == 0
    (row,) = [r for r in csv.DictReader((out / "leaderboard.csv").open()) if r["kind"] == "measured"]
    assert row["seeds"] == "2" and sorted(row["run_ids"].split()) == sorted(r["run_id"] for r in runs)
    for name in ("optimization_history", "slice"):  # Optuna's own figures, beside best.json
        assert (study_dir / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (study_dir / "contour.png").exists()  # one trial: a contour would be empty axes


def test_the_median_pruner_waits_for_half_the_epochs(tmp_path, shared_data):
    """Earlier trials at 99% every epoch: a new trial below them runs on until half its
    epochs (a cell derived in the first epochs says little), then stops."""
    argv, study = study_of_five_trials_at_99(tmp_path, epochs=4)
    assert cli.main(argv) == 0
    pruned = study.get_trials()[-1]
    assert pruned.state == TrialState.PRUNED and list(pruned.intermediate_values) == [1, 2]


def test_optunas_figures_lie_beside_best_json(three_trials):
    tmp, _, _ = three_trials
    (study_dir,) = (tmp / "tuning").iterdir()
    for name in ("optimization_history", "slice", "contour"):  # three trials of four weights
        assert (study_dir / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (study_dir / "param_importances.png").exists()  # below 10 complete trials there are none
