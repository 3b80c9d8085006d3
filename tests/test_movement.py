"""Did the search search? α's movement from α_0 in every record and metrics line, the
regulariser terms α_0 would give under the same τ, the leaderboard's mark for searches that
barely moved α, and its Welch comparisons between rows."""

import json
import math

import pytest
import torch
from conftest import cli
from handmade_records import search_record, write_run
from scipy import stats
from test_leaderboard import board_of, csv_rows, table_line
from test_search import make_searcher

from nasbench_suite.report.comparisons import compare, holm
from nasbench_suite.report.tables import render_markdown
from nasbench_suite.search.movement import MIN_MOVEMENT, alpha_movement


def test_movement_is_measured_from_alpha0(tiny_cifar, one_thread):
    searcher = make_searcher("darts", tiny_cifar)
    start = {t: a.detach().clone() for t, a in searcher.method.alpha.items()}
    searcher.run_epoch(0)
    moved = alpha_movement(searcher.method.alpha, searcher.alpha_init)
    change = (searcher.method.alpha["cell"].detach() - start["cell"]).abs()
    assert moved["cell"]["max"] == pytest.approx(change.max().item())
    assert moved["cell"]["mean"] == pytest.approx(change.mean().item())
    assert moved["cell"]["max"] > 0


def test_terms_at_alpha0_are_the_schedule_alone_and_change_nothing(tiny_cifar, one_thread):
    """With α frozen (arch-lr 0, no decay) the actual terms equal the α_0 terms exactly; with α
    moving they part. Computing them does not change the search."""
    frozen = make_searcher("pr_darts", tiny_cifar)
    frozen.a_opt.param_groups[0].update(lr=0.0, weight_decay=0.0)
    still = frozen.run_epoch(0)
    for name in ("skip", "pool", "param", "path"):
        assert still[f"reg_{name}"] == still[f"reg_{name}_at_alpha0"]

    def final_alpha(with_terms):
        searcher = make_searcher("pr_darts", tiny_cifar)
        searcher.a_opt.param_groups[0]["lr"] = 0.5  # large, so that the terms visibly part
        if not with_terms:
            searcher._terms_at_alpha0 = lambda mix: {}
        out = [searcher.run_epoch(e) for e in range(2)]
        return searcher.method.alpha["cell"].detach(), out[-1]

    alpha, last = final_alpha(True)
    assert any(abs(last[f"reg_{n}"] - last[f"reg_{n}_at_alpha0"]) > 1e-3 for n in ("skip", "pool", "param", "path"))
    assert torch.equal(alpha, final_alpha(False)[0])


def test_record_and_metrics_hold_movement_and_run_warns(tiny_cifar, nb201_table, tmp_path):
    out = tmp_path / "runs"
    result = cli("run", "--method", "pr_darts", "--space", "nb201", "--epochs", "2", "--train-subset", "40",
                 "--batch-size", "8", "--init-channels", "4", "--cells-per-stage", "1", "--data-dir", tiny_cifar,
                 "--benchmark", nb201_table, "--out", out, env={"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    (run_dir,) = out.iterdir()
    record = json.loads((run_dir / "record.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    alpha, alpha0 = torch.tensor(record["alpha"]["cell"]), torch.tensor(record["alpha_init"]["cell"])
    assert record["alpha_movement"]["cell"]["max"] == pytest.approx((alpha - alpha0).abs().max().item())
    assert rows[-1]["alpha_movement"] == record["alpha_movement"]
    assert all("alpha_movement" in row and "reg_skip_at_alpha0" in row for row in rows)
    assert record["alpha_movement"]["cell"]["max"] < MIN_MOVEMENT  # 10 α steps at 3e-4
    assert "α barely moved" in result.stdout


@pytest.fixture
def moved_runs(tmp_path):
    """darts moved α, pr_darts barely did (one seed of two)."""
    runs = tmp_path / "runs"
    for seed, acc in [(0, 90.0), (1, 91.0), (2, 93.5)]:
        write_run(runs, {**search_record("darts", seed=seed, test_acc=acc), "alpha_movement": {"cell": {"max": 0.8, "mean": 0.3}}})
    for seed, acc, moved in [(0, 93.0, 0.02), (1, 94.5, 0.5)]:
        write_run(runs, {**search_record("pr_darts", seed=seed, test_acc=acc), "alpha_movement": {"cell": {"max": moved, "mean": 0.01}}})
    return runs


def test_rows_that_barely_moved_alpha_are_marked(moved_runs):
    board = board_of(moved_runs)
    markdown = render_markdown(board)
    header = table_line(markdown, "method")
    moved = header.index("α moved")
    assert table_line(markdown, "pr_darts")[moved] == "0.26 ± 0.34 †"
    assert table_line(markdown, "darts")[moved] == "0.8 ± 0"
    assert "α barely moved in these searches (pr_darts: 1 of 2)" in markdown
    rows = csv_rows(board)
    assert rows["pr_darts"]["barely_moved"] == "1" and rows["darts"]["barely_moved"] == "0"
    assert float(rows["pr_darts"]["alpha_moved_mean"]) == pytest.approx(0.26)


def test_rows_are_compared_with_welch_over_seeds(moved_runs):
    (section,) = board_of(moved_runs).sections
    (c,) = compare(section)
    a = [93.0, 94.5] if c.a.method == "pr_darts" else [90.0, 91.0, 93.5]
    b = [90.0, 91.0, 93.5] if c.a.method == "pr_darts" else [93.0, 94.5]
    # Welch by hand: t, Welch–Satterthwaite df, the t distribution's two-sided p and 95% interval.
    va, vb = (sum((x - sum(s) / len(s)) ** 2 for x in s) / (len(s) - 1) / len(s) for s in (a, b))
    diff = sum(a) / len(a) - sum(b) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert c.diff == pytest.approx(diff)
    assert c.p == pytest.approx(2 * stats.t.sf(abs(diff) / math.sqrt(va + vb), df))
    assert (c.low, c.high) == (pytest.approx(diff - half), pytest.approx(diff + half))
    rows = csv_rows(board_of(moved_runs))
    assert float(rows["pr_darts"]["vs_darts_diff"]) == pytest.approx(93.75 - 91.5)
    assert float(rows["pr_darts"]["vs_darts_p"]) == pytest.approx(c.p)
    assert "| pr_darts vs darts | +2.25 |" in render_markdown(board_of(moved_runs))


def test_holm_adjusts_by_rank_and_never_reorders():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 -> kept at 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0]) and holm([]) == []


def test_every_test_of_a_table_is_holm_adjusted_over_the_table(tmp_path):
    runs = tmp_path / "runs"
    for seed in (0, 1, 2):
        for method, base, settings in [("darts", 90.0, {}), ("pr_darts", 93.0, {}), ("pr_darts", 91.0, {"lambda3": 0.0})]:
            write_run(runs, search_record(method, seed=seed, test_acc=base + 0.5 * seed * (1 + (method == "darts")),
                                          **settings))
    board = board_of(runs)
    found = compare(board.sections[0])
    assert len(found) == 3 and all(c.p is not None for c in found)
    ranked = sorted(found, key=lambda c: c.p)
    expected = [min(1.0, max((3 - k) * c.p for k, c in enumerate(ranked[: i + 1]))) for i in range(3)]
    assert [c.p_holm for c in ranked] == pytest.approx(expected)
    rows = csv_rows(board)
    vs = next(c for c in found if {c.a.method, c.b.method} == {"darts"} | {"pr_darts"} and "lambda3=0.005" in c.a.label + c.b.label)
    assert float(rows["pr_darts (lambda3=0.005)"]["vs_darts_p_holm"]) == pytest.approx(vs.p_holm)
    assert f"(Holm {vs.p_holm:.2g})" in render_markdown(board) and "adjusted for the 3 tests of this table" in render_markdown(board)


def test_rows_of_different_budgets_are_not_compared(tmp_path):
    runs = tmp_path / "runs"
    for seed in (0, 1):
        write_run(runs, search_record("darts", seed=seed, test_acc=90.0 + seed))
        long = search_record("pr_darts", seed=seed, test_acc=93.0 + seed)
        long["config"]["settings"]["epochs"] = 50
        write_run(runs, long)
    (section,) = board_of(runs).sections
    assert compare(section) == []


def test_a_softmax_methods_movement_is_centred_per_edge_and_a_gates_is_raw():
    """A shift of a whole edge leaves a softmax unchanged: it must not read as movement for
    darts, gdas and beta_darts, and must for the gate methods, whose gates see α itself."""
    from nasbench_suite.search.movement import centred, record_movement

    init = torch.zeros(3, 5, dtype=torch.float64)
    shifted = init + torch.tensor([[3.0], [-2.0], [0.5]], dtype=torch.float64)  # one shift per edge
    shifted[0, 1] += 0.25  # and one real change: 0.25 against the edge's mean shift of 0.05
    for method in ("darts", "gdas", "beta_darts", "darts_minus"):
        assert centred(method)
        moved = alpha_movement({"cell": shifted}, {"cell": init}, centre=True)["cell"]
        assert moved["max"] == pytest.approx(0.25 - 0.05)
        from_lists = record_movement({"method": method, "alpha": {"cell": shifted.tolist()}, "alpha_init": {"cell": init.tolist()}})
        assert from_lists["cell"] == pytest.approx(moved)
    for method in ("pr_darts", "independent_gate", "fair_darts", "drnas"):
        assert not centred(method)
        from_lists = record_movement({"method": method, "alpha": {"cell": shifted.tolist()}, "alpha_init": {"cell": init.tolist()}})
        assert from_lists["cell"]["max"] == pytest.approx(3.25)


def test_the_leaderboard_reads_old_records_by_the_centred_measure(tmp_path):
    """Records written before the centred measure hold the raw one; the leaderboard re-reads
    movement from α and α_0, so a softmax search that only shifted its edges is marked."""
    init = [[0.0] * 5 for _ in range(6)]
    shifted = [[6.0 + (0.05 if i == 0 else 0.0) for i in range(5)] for _ in range(6)]
    record = search_record("darts", seed=0, test_acc=90.0, run_id="darts-old")
    record.update(alpha={"cell": shifted}, alpha_init={"cell": init}, alpha_movement={"cell": {"max": 6.05, "mean": 6.01}})
    write_run(tmp_path / "runs", record)
    row = board_of(tmp_path / "runs").sections[0].rows[0]
    assert row.metrics["alpha_moved"].mean == pytest.approx(0.04)
    assert row.barely_moved == 1
