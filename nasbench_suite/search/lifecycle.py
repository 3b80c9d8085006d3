"""The life of a run directory: prepare everything, then epochs with a checkpoint after each,
then the record. Nothing is written before every input has been checked."""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
from pathlib import Path

import torch
from rich.console import Console

from nasbench_suite import records, registry

from nasbench_suite.data import cifar

from nasbench_suite.nb201.table import EMBEDDED, Table, load_table, resolve_table

from nasbench_suite.nb201.columns import is_headline
from nasbench_suite.devices import device_name, resolve_device
from nasbench_suite.errors import UsageError
from nasbench_suite.progress import step_progress
from nasbench_suite.search import movement
from nasbench_suite.search.settings import RunConfig
from nasbench_suite.search.loop import NonFiniteLoss, Searcher
from nasbench_suite.search.settings import SearchSettings

console = Console(highlight=False, soft_wrap=True)


@dataclasses.dataclass
class Prepared:
    config: RunConfig
    space: object
    method: object
    searcher: Searcher
    table: Table | None
    device: torch.device
    data: dict  # what identifies the images and the table wherever they lie (the record's "data")


def prepare(config: RunConfig) -> Prepared:
    space = registry.get_space(config.space)
    method_cls = registry.get_method(config.method)
    settings = SearchSettings(**config.settings)
    settings.validate()
    device = resolve_device(config.device)
    table = None
    if getattr(space, "has_benchmark", False):
        table = load_table(resolve_table(config.benchmark))
    elif config.benchmark:
        raise UsageError(f"--benchmark applies to nb201 only; the {config.space} space has no table")
    fmt = cifar.dataset_format(config.dataset)
    train = cifar.load_cifar(config.dataset, Path(config.data_dir))
    weight_half, arch_half = cifar.search_split(train, fmt.num_classes, config.train_subset)
    data = {**cifar.split_identity(config.dataset, config.train_subset, weight_half, arch_half),
            "benchmark_sha256": table.sha256 if table else None}
    torch.manual_seed(settings.seed)  # α and the supernet's weights start from the seed
    method = method_cls(space.spec, method_cls.Config(**config.method_config))
    space_config = space.Config(**config.space_config)
    searcher = Searcher(space, space_config, method, settings, device, weight_half, arch_half, fmt, compile=config.compile,
                        say=console.print)
    return Prepared(config, space, method, searcher, table, device, data)


def start_run(config: RunConfig, out: Path, on_epoch=None, on_start=None) -> dict:
    """A new run under `out`; returns its record. on_epoch(row) may raise to stop early;
    on_start(run_dir) is told the new directory before the first epoch (a sweep keeps it, so
    another worker can resume the run)."""
    prepared = prepare(config)
    run_dir = records.new_run_dir(out, f"{config.method}-{config.space}-s{config.settings['seed']}")
    records.write_json(run_dir / records.CONFIG, dataclasses.asdict(config))
    if on_start:
        on_start(run_dir)
    return execute(prepared, run_dir, on_epoch=on_epoch)


def resume_run(run_dir: Path, on_epoch=None) -> dict:
    run_dir = Path(run_dir)
    if (run_dir / records.RECORD).exists():
        raise UsageError(f"{run_dir} is a finished run (it has {records.RECORD}); nothing to resume")
    try:
        config = RunConfig(**json.loads((run_dir / records.CONFIG).read_text()))
    except (OSError, ValueError, TypeError) as err:
        raise UsageError(f"{run_dir} is not a resumable run: cannot read its {records.CONFIG} ({err})")
    records.remove_stale_temporaries(run_dir)  # a killed run may have died mid-write
    return execute(prepare(config), run_dir, on_epoch=on_epoch, resume=True)


def execute(p: Prepared, run_dir: Path, on_epoch=None, resume: bool = False) -> dict:
    rows, start, seconds = [], 0, 0.0
    checkpoint_path = run_dir / records.CHECKPOINT
    if resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=p.device, weights_only=True)
        p.searcher.load_state_dict(state["searcher"])
        start, seconds = state["epoch"], state["search_seconds"]
        rows = records.read_jsonl(run_dir / records.METRICS)[:start]
    epochs = p.searcher.settings.epochs
    _announce(p, run_dir, start)
    try:
        for epoch in range(start, epochs):
            stats = _run_epoch_with_progress(p.searcher, epoch, epochs)
            seconds += stats["seconds"]
            rows.append(epoch_row(p, epoch, stats))
            records.write_jsonl(run_dir / records.METRICS, rows)
            _save_checkpoint(checkpoint_path, p.searcher, epoch + 1, seconds)
            console.print(_epoch_line(rows[-1], epochs))
            if on_epoch:
                on_epoch(rows[-1])
    except NonFiniteLoss as err:
        raise UsageError(f"{err}; stopped, the last good checkpoint (epoch {len(rows)}) is kept in {run_dir}")
    except KeyboardInterrupt:
        console.print(f"interrupted; continue with: nasbench-suite run --resume {run_dir}")
        raise
    record = make_record(p, rows, seconds, run_dir)
    records.write_json(run_dir / records.RECORD, record)
    _report(record, run_dir)
    return record


def _run_epoch_with_progress(searcher: Searcher, epoch: int, epochs: int) -> dict:
    with step_progress(console, epoch, epochs, searcher.steps_per_epoch, searcher.settings.batch_size) as advance:
        return searcher.run_epoch(epoch, on_step=advance)


def _save_checkpoint(path: Path, searcher: Searcher, next_epoch: int, seconds: float) -> None:
    buffer = io.BytesIO()
    torch.save({"searcher": searcher.state_dict(), "epoch": next_epoch, "search_seconds": seconds}, buffer)
    records.write_atomic(path, buffer.getvalue())


def epoch_row(p: Prepared, epoch: int, stats: dict) -> dict:
    """One metrics.jsonl line: losses, accuracies, the current genotype and what it implies."""
    weights = p.method.op_weights()
    genotype = p.space.derive(weights)
    text = p.space.format(genotype)
    row = {"epoch": epoch + 1, **stats, "genotype": text, **p.space.describe(genotype)}
    row["op_weights"] = {t: w.cpu() for t, w in weights.items()}
    row["alpha_movement"] = movement.alpha_movement(p.method.alpha, p.searcher.alpha_init, movement.centred(p.config.method))
    row.update(p.method.log_state())
    if p.table is not None:
        looked_up = p.table.lookup(text)
        row["benchmark"] = looked_up and {k: v for k, v in looked_up.items() if is_headline(k)}
    return row


def make_record(p: Prepared, rows: list[dict], seconds: float, run_dir: Path) -> dict:
    last = rows[-1]
    genotype = p.space.parse(last["genotype"])
    num_classes = cifar.dataset_format(p.config.dataset).num_classes
    record = {
        "kind": "search",
        "run_id": run_dir.name,
        "method": p.config.method,
        "space": p.config.space,
        "dataset": p.config.dataset,
        "seed": p.config.settings["seed"],
        "genotype": last["genotype"],
        "skip_count": last["skip_count"],
        "depth": last["depth"],
        "conv_depth": last["conv_depth"],
        "params_mb": p.space.params_mb(genotype, num_classes),
        "epochs": len(rows),
        "search_seconds": seconds,
        "gpu_hours": seconds / 3600 if p.device.type == "cuda" else None,
        "device": device_name(p.device),
        "compile": p.searcher.compile,  # the mode that ran (config.compile is what was asked)
        "versions": records.versions(),
        "config": dataclasses.asdict(p.config),
        "benchmark": last.get("benchmark"),
        "benchmark_table": str(p.table.path) if p.table else None,
        "data": p.data,
        "alpha": {t: a.detach().cpu() for t, a in p.method.alpha.items()},
        "alpha_init": {t: a.cpu() for t, a in p.searcher.alpha_init.items()},
        "alpha_movement": last["alpha_movement"],
        "op_weights": last["op_weights"],
        "op_weights_meaning": p.method.weights_meaning,
        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    record.update(p.method.log_state())
    return record


def _announce(p: Prepared, run_dir: Path, start: int) -> None:
    s = p.searcher
    what = f"{p.config.method} on {p.config.space}, {p.config.dataset} ({len(s.weight_half)}+{len(s.arch_half)} images)"
    verb = f"resuming at epoch {start + 1}" if start else "starting"
    compiled = f", compiled ({s.compile})" if s.compile != "off" else ""
    console.print(f"{verb} {run_dir}: {what}, {device_name(p.device)}{compiled}, {s.settings.epochs} epochs of {s.steps_per_epoch} steps")


def per_cell(values: dict) -> str:
    """`2` for a space with one cell type, `normal 2, reduce 1` for several."""
    if len(values) == 1:
        return str(next(iter(values.values())))
    return ", ".join(f"{cell_type} {v}" for cell_type, v in values.items())


def _epoch_line(row: dict, epochs: int) -> str:
    moved = movement.largest_movement(row["alpha_movement"])
    line = (
        f"epoch {row['epoch']:>3}/{epochs}  train {row['train_loss']:.3f} {row['train_acc']:5.1f}%  "
        f"val {row['val_loss']:.3f} {row.get('val_acc', float('nan')):5.1f}%  skip {per_cell(row['skip_count'])}  "
        f"depth {per_cell(row['depth'])}  α moved {moved:.3f}  {row['seconds']:.1f}s"
    )
    bench = row.get("benchmark")
    if bench and bench.get("cifar10_test_acc") is not None:
        line += f"  nb201 cifar10 test {bench['cifar10_test_acc']:.2f}%"
    return line + f"\n    {row['genotype']}"


def _report(record: dict, run_dir: Path) -> None:
    console.print(f"finished {run_dir}")
    console.print(f"genotype: {record['genotype']}")
    console.print(f"params of the derived network: {record['params_mb']:.3f}M; search {record['search_seconds']:.1f}s")
    if record.get("benchmark"):
        b = record["benchmark"]
        shown = {k: v for k, v in b.items() if k.endswith("_acc") and v is not None}
        console.print("benchmark: " + ", ".join(f"{k} {v:.2f}" for k, v in shown.items()))
        table = record["benchmark_table"]
        console.print(f"  looked up in {'the embedded table ' if Path(table) == EMBEDDED else ''}{table}")
    elif record.get("benchmark_table"):
        console.print(f"the derived cell is not in {record['benchmark_table']}: nothing was looked up")
    if movement.barely_moved(record["alpha_movement"]):
        console.print(movement.warning(record["alpha_movement"]))
