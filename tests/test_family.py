"""The confirmatory family: rows matched by their flags, only the family's seeds, Welch's t and
Holm's adjustment over the family alone, computed here by hand."""

import argparse
import json
import math

import pytest
from scipy import stats

from handmade_records import search_record, write_run
from nasbench_suite.cli import main as cli
from nasbench_suite.report import family as fam
from nasbench_suite.report.collect import collect
from nasbench_suite.search import command

PROTOCOL = ["--space", "nb201", "--epochs", "3", "--train-subset", "500", "--arch-lr", "5e-3"]
X10 = ["--lambda1", "0.1", "--lambda2", "0.05", "--lambda3", "0.05"]
# (method, flags, {seed: cifar10 test accuracy}); skip counts follow the accuracy's tenths
RUNS = [
    ("darts", [], {0: 50.0, 3: 92.1, 4: 92.6, 5: 92.4}),
    ("darts", ["--cells-per-stage", "1"], {3: 99.0, 4: 99.0, 5: 99.0}),  # another row: must not join darts
    ("pr_darts", X10, {1: 10.0, 3: 93.0, 4: 93.4, 5: 93.5, 9: 10.0}),    # seeds 1 and 9 are not the family's
    ("pr_darts", [], {3: 92.0, 4: 92.2, 5: 92.1}),                       # the paper's λ: another row
]


def real_config(method, flags, seed):
    """The config `run` writes for these flags (the family must match what runs really record)."""
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    config = command.config_from_args(parser.parse_args(["--method", method, "--seed", str(seed), *PROTOCOL, *flags]))
    return {"method": method, "space": "nb201", "dataset": "cifar10", "train_subset": config.train_subset,
            "settings": config.settings, "method_config": config.method_config, "space_config": config.space_config}


@pytest.fixture
def runs_dir(tmp_path):
    root = tmp_path / "runs"
    for i, (method, flags, accuracies) in enumerate(RUNS):
        for seed, acc in accuracies.items():
            record = search_record(method, seed=seed, test_acc=acc, skip=round(acc * 10) % 3, run_id=f"{method}-{i}-s{seed}")
            record["config"] = real_config(method, flags, seed)
            write_run(root, record)
    return root


def family_file(tmp_path, contrasts, seeds=(3, 4, 5), rows=None):
    rows = rows or {"darts": {"method": "darts", "flags": []}, "x10": {"method": "pr_darts", "flags": X10},
                    "tuned": {"method": "pr_darts", "flags": None}}
    path = tmp_path / "family.json"
    path.write_text(json.dumps({"family": "test family", "seeds": list(seeds), "alpha": 0.05, "protocol": PROTOCOL,
                                "rows": rows, "contrasts": contrasts}))
    return path


def contrast(id, first, second, metric="cifar10_test_acc", expected="higher"):
    return {"id": id, "first": first, "second": second, "metric": metric, "expected": expected}


def welch_by_hand(a, b):
    """t, Welch–Satterthwaite degrees of freedom and the two-sided p."""
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1) / len(a)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1) / len(b)
    t = (ma - mb) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return ma - mb, 2 * stats.t.sf(abs(t), df)


def test_rows_match_by_flags_and_only_the_familys_seeds_count(runs_dir, tmp_path):
    family = fam.load(family_file(tmp_path, [contrast("H1", "x10", "darts")]))
    found = collect(runs_dir, None)
    darts = fam.members(family.rows["darts"], family, found.runs)
    x10 = fam.members(family.rows["x10"], family, found.runs)
    assert [r.run_id for r in darts] == ["darts-0-s3", "darts-0-s4", "darts-0-s5"]  # not the 1-cell row, not seed 0
    assert [r.run_id for r in x10] == ["pr_darts-2-s3", "pr_darts-2-s4", "pr_darts-2-s5"]  # not the paper's λ, not 1 or 9
    assert fam.members(family.rows["tuned"], family, found.runs) == []  # flags not fixed yet


def test_welch_and_holm_over_the_family_alone_match_the_hand_computation(runs_dir, tmp_path):
    contrasts = [contrast("H1", "x10", "darts"), contrast("H2", "x10", "darts", "skip_count", "lower"),
                 contrast("H3", "darts", "x10")]  # the same pair the other way: the expected sign is wrong
    family = fam.load(family_file(tmp_path, contrasts))
    found = collect(runs_dir, None)
    outcomes = fam.test(family, found.runs, found.trainings)

    acc_x10, acc_darts = [93.0, 93.4, 93.5], [92.1, 92.6, 92.4]
    skip = lambda accs: [float(round(a * 10) % 3) for a in accs]  # noqa: E731
    diff1, p1 = welch_by_hand(acc_x10, acc_darts)
    diff2, p2 = welch_by_hand(skip(acc_x10), skip(acc_darts))
    assert [o.first for o in outcomes] == [acc_x10, skip(acc_x10), acc_darts]
    assert outcomes[0].diff == pytest.approx(diff1) and outcomes[0].p == pytest.approx(p1)
    assert outcomes[1].diff == pytest.approx(diff2) and outcomes[1].p == pytest.approx(p2)
    assert outcomes[2].p == pytest.approx(p1) and outcomes[2].diff == pytest.approx(-diff1)
    # Holm by hand over three p-values: sorted, times 3, 2, 1, never falling, capped at 1
    ps = sorted([(p1, 0), (p2, 1), (p1, 2)])
    running, expected = 0.0, {}
    for rank, (p, i) in enumerate(ps):
        running = max(running, min(1.0, (3 - rank) * p))
        expected[i] = running
    assert [o.p_holm for o in outcomes] == pytest.approx([expected[0], expected[1], expected[2]])
    assert p1 * 2 < 0.05  # the data make H1 pass even after Holm, so the verdicts below mean something
    assert outcomes[0].verdict == "supported"
    assert outcomes[2].verdict == "opposite of the expected sign"


def test_a_pending_contrast_shows_its_seeds_and_counts_as_p_one(runs_dir, tmp_path):
    contrasts = [contrast("H1", "x10", "darts"), contrast("H5", "tuned", "darts")]
    family = fam.load(family_file(tmp_path, contrasts, seeds=(3, 4, 5, 6)))  # seed 6 has not run
    found = collect(runs_dir, None)
    h1, h5 = fam.test(family, found.runs, found.trainings)
    assert h1.verdict == "pending (3 and 3 of 4 seeds)" and h5.verdict == "pending (0 and 3 of 4 seeds)"
    assert h1.p is not None and h1.p_holm == 1.0  # partial looks never pass, nor ease the others


def test_a_complete_contrast_not_rejected_says_so_only_for_now_while_others_pend(runs_dir, tmp_path):
    contrasts = [contrast("H1", "x10", "darts"), contrast("H2", "x10", "darts", "skip_count", "lower"),
                 contrast("H5", "tuned", "darts")]
    family = fam.load(family_file(tmp_path, contrasts))
    found = collect(runs_dir, None)
    h1, h2, h5 = fam.test(family, found.runs, found.trainings)
    assert h5.verdict.startswith("pending") and h2.p_holm >= 0.05
    assert h1.verdict == "supported"  # its Holm p can only fall when H5 comes in
    assert h2.verdict == "not supported while 1 contrast pends"
    final = fam.load(family_file(tmp_path, contrasts[:2]))
    assert fam.test(final, found.runs, found.trainings)[1].verdict == "not supported"


def test_leaderboard_puts_the_confirmatory_table_first_and_labels_the_pairs_exploratory(runs_dir, tmp_path):
    path = family_file(tmp_path, [contrast("H1", "x10", "darts")])
    out = tmp_path / "board"
    assert cli(["leaderboard", "--runs", str(runs_dir), "--out", str(out), "--no-plots", "--family", str(path)]) == 0
    md = (out / "leaderboard.md").read_text()
    assert md.index("## Confirmatory: test family") < md.index("## NAS-Bench-201") < md.index("Exploratory, every seed")
    assert "| H1 | x10 vs darts | cifar10_test_acc | higher | 93.30 ± 0.26 (3) | 92.37 ± 0.25 (3) | +0.93 |" in md
    lines = (out / "confirmatory.csv").read_text().splitlines()
    assert lines[1].startswith("test family,H1,x10,darts,cifar10_test_acc,higher,93.0 93.4 93.5,92.1 92.6 92.4,")
    for fmt in ("html", "tex"):
        assert "Confirmatory: test family" in (out / f"leaderboard.{fmt}").read_text()


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["contrasts"][0].update(first="nobody"), "names row 'nobody'"),
    (lambda d: d["contrasts"][0].update(expected="bigger"), "expected must be one of higher, lower"),
    (lambda d: d["contrasts"][0].update(metric="speed"), "unknown metric 'speed'"),
    (lambda d: d["rows"]["x10"].update(flags=["--lambda9", "1"]), "row x10:"),
    (lambda d: d.pop("seeds"), "missing or malformed field 'seeds'"),
])
def test_a_bad_family_file_is_one_line_and_writes_nothing(runs_dir, tmp_path, capsys, edit, message):
    path = family_file(tmp_path, [contrast("H1", "x10", "darts")])
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    out = tmp_path / "board"
    assert cli(["leaderboard", "--runs", str(runs_dir), "--out", str(out), "--family", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()
