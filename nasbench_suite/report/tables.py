"""The leaderboard as Markdown, CSV, HTML and LaTeX (booktabs): one table per space and dataset.

Every format shows the same cells; published rows come after the measured ones and are marked
as published, with their sources.
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import dataclass, field
from typing import Callable

from nasbench_suite.report.collect import Skipped
from nasbench_suite.report.comparisons import Comparison, against_darts, compare
from nasbench_suite.report.family import Family, Outcome
from nasbench_suite.report.standings import CELL_STATS, Row, Section, Stat
from nasbench_suite.search.movement import MIN_MOVEMENT

ACCURACY_HEADERS = {
    "cifar10_valid_acc": "C10 valid (%)",
    "cifar10_test_acc": "C10 test (%)",
    "cifar100_test_acc": "C100 test (%)",
    "imagenet16_test_acc": "IN16-120 test (%)",
}
SPACE_NAMES = {"nb201": "NAS-Bench-201", "darts": "DARTS space"}
MISSING = "—"
BARELY_MOVED = "†"


@dataclass
class Board:
    sections: list[Section]
    skipped: list[Skipped]
    coverage: str  # one line: how many runs, which data, when
    figures: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (space, dataset) -> paths under out
    family: Family | None = None  # --family: hypotheses stated before their runs
    outcomes: list[Outcome] = field(default_factory=list)


@dataclass
class Column:
    header: str
    cell: Callable[[Row], str]


def fmt(stat: Stat | None, digits: int, seeds: int | None = None) -> str:
    """'mean ± std', with (n=k) when fewer seeds than the row's have the value."""
    if stat is None or stat.mean is None:
        return MISSING
    text = f"{stat.mean:.{digits}f}"
    if stat.std is not None:
        text += f" ± {stat.std:.{digits}f}"
    if seeds is not None and 0 < stat.n < seeds:
        text += f" (n={stat.n})"
    return text


def columns(section: Section) -> list[Column]:
    def metric(name, digits):
        return lambda row: fmt(row.metrics.get(name), digits, row.seeds)

    def per_cell(name):
        return lambda row: " / ".join(fmt(row.cells.get(name, {}).get(t), 1) for t in section.cell_types) if row.cells.get(name) else MISSING

    vs_darts = against_darts(section, compare(section))
    cols = [
        Column("method", label),
        Column("seeds", lambda row: MISSING if row.seeds is None else str(row.seeds)),
    ]
    if section.benchmark:
        cols += [Column(ACCURACY_HEADERS[m], metric(m, 2)) for m in section.accuracies if m in ACCURACY_HEADERS]
    else:
        cols.append(Column("test error (%)", metric("test_error", 2)))
        cols.append(Column("trained", training_budget))  # a 1-epoch check must not pass for a full training
    cell_note = f" ({' / '.join(section.cell_types)})" if len(section.cell_types) > 1 else ""
    cols += [
        Column(f"skip{cell_note}", per_cell("skip_count")),
        Column(f"depth{cell_note}", per_cell("depth")),
        Column(f"conv depth{cell_note}", per_cell("conv_depth")),
        Column("α moved", movement),
        Column("vs darts", lambda row: difference(vs_darts.get(id(row)))),
        Column("params (M)", metric("params_mb", 2)),
        Column("search (s)", metric("search_seconds", 1)),
        Column("search (GPU-h)", metric("gpu_hours", 2)),
    ]
    return cols


def training_budget(row: Row) -> str:
    """The trainings' budgets: '600 epochs, all images'; several where the row's trainings differ."""
    budgets = []
    for t in row.trainings:
        epochs, subset = t.record.get("epochs"), (t.record.get("config") or {}).get("train_subset")
        text = f"{epochs} epoch{'s' * (epochs != 1)}, " + ("all images" if subset is None else f"{subset} images")
        budgets += [text] if text not in budgets else []
    return "; ".join(budgets) or MISSING


def label(row: Row) -> str:
    return f"{row.label} (published)" if row.published else row.label


def movement(row: Row) -> str:
    """Largest α change, mean ± std over seeds to 2 significant digits (they span 1e-4 to 10),
    marked where some of the row's searches barely moved α."""
    stat = row.metrics.get("alpha_moved")
    if stat is None or stat.mean is None:
        return MISSING
    text = f"{stat.mean:.2g}" + (f" ± {stat.std:.2g}" if stat.std is not None else "")
    text += f" (n={stat.n})" if row.seeds is not None and 0 < stat.n < row.seeds else ""
    return f"{text} {BARELY_MOVED}" if row.barely_moved else text


def difference(c: Comparison | None) -> str:
    """'+1.23 [−0.40, 2.86] p=0.012 (Holm 0.2)': mean difference, its 95% interval, Welch's p
    and the same p Holm-adjusted over the table's tests."""
    if c is None:
        return MISSING
    if c.p is None:
        return f"{c.diff:+.2f} (no test)"
    return f"{c.diff:+.2f} [{c.low:.2f}, {c.high:.2f}] p={c.p:.2g} (Holm {c.p_holm:.2g})"


def moved_note(section: Section) -> str | None:
    """The sentence under a table with a row whose searches barely moved α."""
    marked = [row for row in section.rows if row.barely_moved]
    if not marked:
        return None
    which = "; ".join(f"{row.label}: {row.barely_moved} of {row.seeds}" for row in marked)
    return (
        f"{BARELY_MOVED} α barely moved in these searches ({which}): their largest change of α from its initial "
        f"value stayed below {MIN_MOVEMENT:g}, so their derived cells reflect the initialisation and noise, "
        "not the method, and their accuracies compare nothing."
    )


def comparison_lines(section: Section, exploratory: bool = False) -> list[str]:
    """Markdown: every pair of rows with the same search budget."""
    found = compare(section)
    if not found:
        return []
    lines = [
        ("Exploratory, every seed: these pairs were not stated before the runs; only the confirmatory table "
         "above tests hypotheses. " if exploratory else "") +
        f"Differences in mean {found[0].metric} over seeds (first row − second), with the 95% interval and the "
        "two-sided p-value of Welch's t-test; rows are compared only at the same search budget (epochs, batch, images). "
        f"Holm's p is the same p adjusted for the {sum(c.p is not None for c in found)} tests of this table: below 0.05, "
        "a difference stands even after every pair has been looked at.",
        "", "| comparison | difference | 95% interval | p | Holm's p |", "|---|---|---|---|---|",
    ]
    for c in found:
        interval = MISSING if c.low is None else f"[{c.low:.2f}, {c.high:.2f}]"
        p, holm = (MISSING, MISSING) if c.p is None else (f"{c.p:.2g}", f"{c.p_holm:.2g}")
        lines.append(f"| {c.a.label} vs {c.b.label} | {c.diff:+.2f} | {interval} | {p} | {holm} |")
    return lines + [""]


CONFIRMATORY_HEADERS = ("", "contrast", "metric", "expected", "first", "second", "difference", "95% interval",
                        "p", "Holm's p", "verdict")


def confirmatory_intro(family: Family) -> str:
    seeds = ", ".join(map(str, family.seeds))
    return (
        f"Hypotheses stated in {family.path.name} before the runs that test them; only seeds {seeds} count. "
        f"Each contrast is Welch's t, two-sided (first row − second, mean ± sample std over seeds, n in brackets); "
        f"Holm's adjustment runs over the family's {len(family.contrasts)} contrasts at {family.alpha:g}, "
        "a contrast still pending entering it as p = 1."
    )


def confirmatory_cells(o: Outcome) -> list[str]:
    def side(values):
        stat = Stat.of(values)
        return f"{fmt(stat, 2)} ({stat.n})" if values else MISSING

    c = o.contrast
    interval = MISSING if o.low is None else f"[{o.low:.2f}, {o.high:.2f}]"
    return [c.id, f"{c.first} vs {c.second}", c.metric, c.expected, side(o.first), side(o.second),
            MISSING if o.diff is None else f"{o.diff:+.2f}", interval,
            MISSING if o.p is None else f"{o.p:.2g}", f"{o.p_holm:.2g}", o.verdict]


def confirmatory_lines(board: Board) -> list[str]:
    if board.family is None:
        return []
    lines = [f"## Confirmatory: {board.family.name}", "", confirmatory_intro(board.family), "",
             "| " + " | ".join(CONFIRMATORY_HEADERS) + " |", "|" + "|".join("---" for _ in CONFIRMATORY_HEADERS) + "|"]
    lines += ["| " + " | ".join(confirmatory_cells(o)) + " |" for o in board.outcomes]
    return lines + [""]


def render_confirmatory_csv(board: Board) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["family", "id", "first", "second", "metric", "expected", "first_values", "second_values",
                     "diff", "ci_low", "ci_high", "p", "p_holm", "verdict"])
    for o in board.outcomes:
        c = o.contrast
        writer.writerow([board.family.name, c.id, c.first, c.second, c.metric, c.expected,
                         " ".join(map(repr, o.first)), " ".join(map(repr, o.second)),
                         *(_num(v) for v in (o.diff, o.low, o.high, o.p, o.p_holm)), o.verdict])
    return out.getvalue()


def title(section: Section) -> str:
    return f"{SPACE_NAMES.get(section.space, section.space)}, {section.dataset}"


def explanation(section: Section) -> str:
    where = (
        "the NAS-Bench-201 table's numbers for each seed's derived cell"
        if section.benchmark else "test error of each seed's derived cell trained from scratch"
    )
    return (
        f"Sorted by {section.main_metric} ({where}); mean ± sample std over seeds. Rows marked "
        "(published) are numbers from the papers, not measured here; their search GPU-days are shown ×24."
    )


def best_genotypes(section: Section) -> list[tuple[str, str]]:
    out = []
    for row in section.rows:
        if row.best:
            note = f"seed {row.best['seed']}" + ("" if row.best["ranked"] else ", nothing measured yet to rank seeds by")
            out.append((f"{row.label} ({note})", row.best["genotype"]))
    return out


def render_markdown(board: Board) -> str:
    lines = ["# Leaderboard", "", board.coverage, ""] + confirmatory_lines(board)
    for section in board.sections:
        cols = columns(section)
        lines += [f"## {title(section)}", "", explanation(section), ""]
        lines.append("| " + " | ".join(c.header for c in cols) + " |")
        lines.append("|" + "|".join("---" for _ in cols) + "|")
        lines += ["| " + " | ".join(c.cell(row).replace("|", "\\|") for c in cols) + " |" for row in section.rows]
        note = moved_note(section)
        lines += ["", note] if note else []
        if differences := comparison_lines(section, exploratory=board.family is not None):
            lines += [""] + differences
        lines += ["", "Sources of the published rows:", ""]
        lines += [f"- {row.label}: {row.source}" for row in section.rows if row.published] or ["- none"]
        lines += ["", "Genotype of the best seed:", ""]
        lines += [f"- {label}: `{genotype}`" for label, genotype in best_genotypes(section)]
        lines += [""] + [f"![{path}]({path})" for path in board.figures.get((section.space, section.dataset), [])]
        lines.append("")
    lines += [f"## Skipped ({len(board.skipped)})", ""]
    lines += [f"- `{s.path}`: {s.reason}" for s in board.skipped] or ["None."]
    return "\n".join(lines) + "\n"


def render_csv(board: Board) -> str:
    """One line per row of every table, every number (all looked-up accuracies) with its std and n."""
    lines = []
    for section in board.sections:
        vs_darts = against_darts(section, compare(section))  # every pair's test once per table, not per row
        lines += [_csv_line(section, row, vs_darts.get(id(row))) for row in section.rows]
    names = list(dict.fromkeys(name for line in lines for name in line))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    return out.getvalue()


def _csv_line(section: Section, row: Row, vs: Comparison | None) -> dict:
    line = {
        "space": section.space, "dataset": section.dataset, "label": row.label, "method": row.method or "",
        "kind": "published" if row.published else "measured", "seeds": "" if row.seeds is None else row.seeds,
        "source": row.source,
    }
    for name, stat in sorted(row.metrics.items()):
        line.update({f"{name}_mean": _num(stat.mean), f"{name}_std": _num(stat.std), f"{name}_n": stat.n})
    for name in CELL_STATS:
        for cell_type, stat in row.cells.get(name, {}).items():
            line.update({f"{name}_{cell_type}_mean": _num(stat.mean), f"{name}_{cell_type}_std": _num(stat.std)})
    if row.kind == "search":
        line["barely_moved"] = row.barely_moved
    if row.trainings:
        line["trained"] = training_budget(row)
    if vs is not None:
        line.update({"vs_darts_diff": _num(vs.diff), "vs_darts_ci_low": _num(vs.low), "vs_darts_ci_high": _num(vs.high),
                     "vs_darts_p": _num(vs.p), "vs_darts_p_holm": _num(vs.p_holm)})
    best = row.best or {}
    line.update({"best_seed": best.get("seed", ""), "best_genotype": best.get("genotype", ""),
                 "settings": json.dumps(row.settings, sort_keys=True) if row.settings else "",
                 "run_ids": " ".join(r.run_id for r in row.runs)})
    return line


def _num(value: float | None):
    """10 significant digits: a mean's float noise (93.66000000000001) goes, the table's digits stay."""
    return "" if value is None else repr(float(f"{value:.10g}"))


def render_html(board: Board) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>Leaderboard</title>',
        "<style>body{font-family:sans-serif;max-width:80em;margin:auto}table{border-collapse:collapse}"
        "td,th{padding:.2em .6em;border-bottom:1px solid #ccc;text-align:right}td:first-child,th:first-child"
        "{text-align:left}tr.published{font-style:italic;color:#555}code{font-size:85%}img{max-width:100%}</style>",
        "</head><body>", "<h1>Leaderboard</h1>", f"<p>{e(board.coverage)}</p>",
    ]
    if board.family is not None:
        parts += [f"<h2>Confirmatory: {e(board.family.name)}</h2>", f"<p>{e(confirmatory_intro(board.family))}</p>", "<table>",
                  "<tr>" + "".join(f"<th>{e(h)}</th>" for h in CONFIRMATORY_HEADERS) + "</tr>"]
        parts += ["<tr>" + "".join(f"<td>{e(v)}</td>" for v in confirmatory_cells(o)) + "</tr>" for o in board.outcomes]
        parts.append("</table>")
    for section in board.sections:
        cols = columns(section)
        parts += [f"<h2>{e(title(section))}</h2>", f"<p>{e(explanation(section))}</p>", "<table>"]
        parts.append("<tr>" + "".join(f"<th>{e(c.header)}</th>" for c in cols) + "<th>source</th></tr>")
        for row in section.rows:
            cells = "".join(f"<td>{e(c.cell(row))}</td>" for c in cols) + f"<td>{e(row.source)}</td>"
            parts.append(f'<tr class="{"published" if row.published else "measured"}">{cells}</tr>')
        parts.append("</table>")
        if note := moved_note(section):
            parts.append(f"<p>{e(note)}</p>")
        parts += [ "<p>Genotype of the best seed:</p>", "<ul>"]
        parts += [f"<li>{e(label)}: <code>{e(g)}</code></li>" for label, g in best_genotypes(section)]
        parts.append("</ul>")
        parts += [f'<p><img src="{e(p)}" alt="{e(p)}"></p>' for p in board.figures.get((section.space, section.dataset), [])]
    parts += [f"<h2>Skipped ({len(board.skipped)})</h2>", "<ul>"]
    parts += [f"<li><code>{e(str(s.path))}</code>: {e(s.reason)}</li>" for s in board.skipped]
    parts += ["</ul>", "</body></html>"]
    return "\n".join(parts) + "\n"


TEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                "±": r"$\pm$", "—": "--", "×": r"$\times$", "·": r"$\cdot$"}


def tex_escape(text: str) -> str:
    return "".join(TEX_SPECIALS.get(ch, ch) for ch in text)


def render_tex(board: Board) -> str:
    """One booktabs table per section; needs \\usepackage{booktabs}. Published rows below a rule, numbered to their sources."""
    parts = ["% Generated by `nasbench-suite leaderboard`; needs \\usepackage{booktabs}.",
             f"% {tex_escape(board.coverage)}".replace("\n", " ")]
    if board.family is not None:
        parts += ["\\begin{table}[t]", "\\centering", "\\small",
                  f"\\caption{{Confirmatory: {tex_escape(board.family.name)}. {tex_escape(confirmatory_intro(board.family))}}}",
                  f"\\begin{{tabular}}{{ll{'r' * (len(CONFIRMATORY_HEADERS) - 3)}l}}", "\\toprule",
                  " & ".join(tex_escape(h) for h in CONFIRMATORY_HEADERS) + r" \\", "\\midrule"]
        parts += [" & ".join(tex_escape(v) for v in confirmatory_cells(o)) + r" \\" for o in board.outcomes]
        parts += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    for section in board.sections:
        cols = columns(section)
        published = [row for row in section.rows if row.published]
        parts += ["\\begin{table}[t]", "\\centering", "\\small",
                  f"\\caption{{{tex_escape(title(section))}: {tex_escape(explanation(section))}}}",
                  f"\\begin{{tabular}}{{l{'r' * (len(cols) - 1)}}}", "\\toprule",
                  " & ".join(tex_escape(c.header) for c in cols) + r" \\", "\\midrule"]
        for row in section.rows:
            if row.published and row is published[0]:
                parts += ["\\midrule", f"\\multicolumn{{{len(cols)}}}{{l}}{{\\emph{{Published, not measured here}}}} \\\\"]
            cells = [tex_escape(c.cell(row)) for c in cols]
            if row.published:
                cells[0] = f"{tex_escape(row.label)}$^{{{published.index(row) + 1}}}$"
            parts.append(" & ".join(cells) + r" \\")
        parts += ["\\bottomrule", "\\end{tabular}"]
        if note := moved_note(section):
            parts += [f"\\par\\smallskip\\footnotesize {tex_escape(note)}"]
        if published:
            notes = "; ".join(f"$^{{{i}}}${tex_escape(row.source)}" for i, row in enumerate(published, start=1))
            parts += [f"\\par\\smallskip\\footnotesize {notes}"]
        parts += ["\\end{table}", ""]
    return "\n".join(parts)
