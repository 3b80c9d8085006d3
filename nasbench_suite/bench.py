"""`nasbench-suite bench`: time search and training steps, fast path against the plain one.

Each measurement runs in a fresh process, so its peak memory is its own (peak RSS on the
CPU, peak allocated memory on a GPU). Images per second count the images the weights are
trained on: a search step trains on `batch_size` images of the weight half (and steps α
on as many of the other half), so an epoch over N weight-half images takes
N / images_per_second seconds. `full_run_hours` is what that rate implies for the standard
budget: a 50-epoch search over CIFAR-10's 25,000-image weight half, or a 600-epoch
training on its 50,000 images. Each figure is written to the machine's file as soon as it
is measured (a bench killed at its time limit keeps what it measured), with what it ran on:
the GPU, the CPU's model, the thread count and the torch build.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
from pathlib import Path

from nasbench_suite import records, registry
from nasbench_suite.errors import UsageError

# Standard sizes (DESIGN.md): the search supernets and the evaluation network.
SEARCH_SIZES = {"nb201": {"init_channels": 16, "cells_per_stage": 5}, "darts": {"init_channels": 16, "layers": 8}}
SEARCH_BATCH = 64
# --tiny: the smallest networks with every cell type, to rehearse a script (figures meaningless)
TINY_SEARCH_SIZES = {"nb201": {"init_channels": 4, "cells_per_stage": 1}, "darts": {"init_channels": 4, "layers": 3}}
TINY_TRAIN = {"init_channels": 4, "layers": 3, "batch_size": 8}
# Training is timed on the published DARTS (2nd order) cell: C=36, 20 cells, batch 96, with the
# auxiliary head, drop-path and cutout of the DARTS protocol. Fast: the trainer's defaults
# (channels-last on the CPU); plain: float32 in the default layout.
TRAIN_SPACE, TRAIN_CELL = "darts", "darts_v2"
PATHS = ("plain", "fast", "compiled")  # compiled: the fast path under torch.compile (--compile-mode)
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")
WARMUP = {"cpu": 1, "cuda": 3}
FULL_RUN_IMAGES = {"search": 50 * 25_000, "train": 600 * 50_000}  # epochs x images per epoch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", action="append", help="only this space (repeatable)")
    parser.add_argument("--method", action="append", help="only this method (repeatable)")
    parser.add_argument("--phase", choices=("search", "train"), action="append", help="only this phase")
    parser.add_argument("--path", choices=PATHS, action="append", help="only this path")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per measurement, after one warm-up (default 5)")
    parser.add_argument("--compile-mode", choices=COMPILE_MODES, default="default",
                        help="torch.compile mode of the compiled path (default: default; reduce-overhead uses CUDA graphs)")
    parser.add_argument("--bf16", action="store_true", help="fast and compiled paths under bfloat16 autocast")
    parser.add_argument("--layout", choices=("auto", "channels-last", "contiguous"), default="auto",
                        help="memory layout of the fast and compiled paths (auto: channels-last on the CPU, NCHW on CUDA)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--tiny", action="store_true",
                        help="the smallest networks, batch 8: rehearses a script in seconds (its figures say nothing)")
    parser.add_argument("--json", action="store_true", help="print the measurements as a JSON list")
    parser.add_argument("--out", type=Path, default=Path("results/bench"), help="folder of <machine>.json (default results/bench)")


def plan(args) -> list[dict]:
    spaces = args.space or [s for s in registry.space_names() if s in SEARCH_SIZES]
    methods = args.method or registry.method_names()
    for name in spaces:
        registry.get_space(name)
    for name in methods:
        registry.get_method(name)
    if args.steps < 1:
        raise UsageError("--steps must be at least 1")
    phases, paths = args.phase or ["search", "train"], args.path or ("plain", "fast")
    jobs = []
    if "search" in phases:
        jobs += [{"space": s, "method": m, "phase": "search", "path": p} for s in spaces for m in methods for p in paths]
    if "train" in phases and TRAIN_SPACE in spaces:
        jobs += [{"space": TRAIN_SPACE, "method": TRAIN_CELL, "phase": "train", "path": p} for p in paths]
    return [{**job, **_variant(job, args)} for job in jobs]


def _variant(job: dict, args) -> dict:
    """What else a measurement depends on beyond its path: the compile mode, bf16, the layout
    (recorded only where they apply and differ from the path's own choice, so the rows of
    earlier runs keep their keys)."""
    found = {}
    if job["path"] == "compiled":
        found["compile_mode"] = getattr(args, "compile_mode", "default")
    if getattr(args, "tiny", False):
        found["tiny"] = True
    if job["path"] != "plain":
        if getattr(args, "bf16", False):
            found["bf16"] = True
        if getattr(args, "layout", "auto") != "auto":
            found["layout"] = args.layout
    return found


def measure(job: dict, steps: int, device_flag: str) -> dict:
    """One measurement, in the calling process."""
    import resource
    import time

    import torch

    from nasbench_suite.devices import device_name, machine_facts, resolve_device

    device = resolve_device(device_flag)
    torch.manual_seed(0)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step, batch_size = (_search_step if job["phase"] == "search" else _train_step)(job, device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=job.get("bf16", False))
    plain_step = step

    def step():
        with autocast:
            plain_step()

    compile_start = time.perf_counter()
    step()  # the first step compiles (compiled path); timed on its own
    compile_seconds = time.perf_counter() - compile_start
    for _ in range(WARMUP[device.type]):  # allocator, kernels, cuDNN's choice of algorithms
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    seconds = (time.perf_counter() - start) / steps
    rate = batch_size / seconds
    return {**job, "batch_size": batch_size, "images_per_second": rate, "ms_per_step": 1000 * seconds,
            "peak_memory_mb": peak_mb, "full_run_hours": FULL_RUN_IMAGES[job["phase"]] / rate / 3600,
            "first_step_seconds": compile_seconds, "device": device_name(device), **machine_facts(device)}


def _layout(job: dict, device) -> bool:
    """channels-last or not, for this job's path and device."""
    if job["path"] == "plain":
        return False
    return {"channels-last": True, "contiguous": False}.get(job.get("layout", "auto"), device.type != "cuda")


def _search_step(job: dict, device):
    """A closure doing one α step and one weight step of the standard search on random images."""
    import torch

    from nasbench_suite.data.cifar import Split
    from nasbench_suite.data.files import DATASETS
    from nasbench_suite.search.loop import Searcher
    from nasbench_suite.search.settings import SearchSettings

    space, cls = registry.get_space(job["space"]), registry.get_method(job["method"])
    method = cls(space.spec, cls.Config())
    batch = 8 if job.get("tiny") else SEARCH_BATCH
    images = torch.randint(0, 256, (2 * batch, 3, 32, 32), dtype=torch.uint8)
    halves = [Split(images[i::2], torch.randint(0, 10, (batch,))) for i in (0, 1)]
    settings = SearchSettings(epochs=50, batch_size=batch)
    sizes = (TINY_SEARCH_SIZES if job.get("tiny") else SEARCH_SIZES)[job["space"]]
    searcher = Searcher(space, space.Config(**sizes), method, settings, device, *halves,
                        DATASETS["cifar10"], fast=job["path"] != "plain", compile=job.get("compile_mode", "off"),
                        channels_last=_layout(job, device))
    order = torch.arange(batch, device=device)
    method.start_epoch(0, settings.epochs)

    def step():
        train = searcher._batch(searcher.weight_half, order, 0)
        searcher.step(train, searcher._batch(searcher.arch_half, order, 0))

    return step, batch


def _train_step(job: dict, device):
    """A closure doing one training step of the evaluation network on random images."""
    import contextlib

    import torch

    from nasbench_suite import compiling
    from nasbench_suite.data.cifar import Augment
    from nasbench_suite.data.files import DATASETS
    from nasbench_suite.train.settings import TrainSettings
    from nasbench_suite.train.trainer import train_step

    settings = TrainSettings(**(TINY_TRAIN if job.get("tiny") else {}))
    channels_last = _layout(job, device)
    space = registry.get_space(job["space"])
    model = space.network(space.known_genotypes[job["method"]], 10, settings.init_channels, settings.layers, auxiliary=True)
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format).train()
    model.drop_path_prob = settings.drop_path
    opt = torch.optim.SGD(model.parameters(), settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay,
                          fused=device.type == "cuda" or None)
    if job["path"] == "compiled":  # as `train --compile` does: the cells, drop-path's probability a tensor
        compiling.compile_modules(model.cells, job["compile_mode"])
        model.drop_path_prob = torch.tensor(settings.drop_path, device=device)
    augment = Augment(DATASETS["cifar10"], device, cutout=settings.cutout, channels_last=channels_last)
    images = torch.randint(0, 256, (settings.batch_size, 3, 32, 32), dtype=torch.uint8, device=device)
    labels = torch.randint(0, 10, (settings.batch_size,), device=device)

    def step():
        if job.get("compile_mode") == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()
        train_step(model, opt, augment(images), labels, settings, contextlib.nullcontext())

    return step, settings.batch_size


def _measure_in_child(job, steps, device_flag, queue):
    try:
        queue.put(measure(job, steps, device_flag))
    except Exception as err:  # reported by the parent as one line
        queue.put({"error": f"{type(err).__name__}: {err}"})


def run_isolated(job: dict, steps: int, device_flag: str) -> dict:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure_in_child, args=(job, steps, device_flag, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if "error" in result:
        raise UsageError(f"measuring {job}: {result['error']}")
    return result


def main(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from nasbench_suite.devices import device_name, resolve_device

    jobs = plan(args)
    machine = _slug(device_name(resolve_device(args.device)))
    saved = args.out / f"{machine}.json"
    earlier = _earlier(saved)  # before the long part: an unreadable file stops the run, untouched
    console = Console(stderr=args.json, width=140)
    results = []
    versions = records.versions()
    args.out.mkdir(parents=True, exist_ok=True)
    with console.status("measuring") as status:
        for i, job in enumerate(jobs, 1):
            status.update(f"measuring {i}/{len(jobs)}: {job['phase']} {job['space']} {job['method']} ({job['path']})")
            results.append({**run_isolated(job, args.steps, args.device), "git_commit": versions.get("git_commit")})
            _add_speedups(results)
            # each figure saved as it comes: a bench killed or failing later keeps what it measured
            records.write_json(saved, {"machine": machine, "versions": versions, "measurements": _merged(earlier, results)})
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    table = Table(title=f"{machine}: {args.steps} timed steps each (results in {saved})")
    for column in ("phase", "space", "method", "path", "batch", "images/s", "ms/step", "peak MB", "vs plain", "vs fast",
                   "full run h", "1st step s"):
        table.add_column(column, justify="right" if column not in ("phase", "space", "method", "path") else "left")
    for r in results:
        speedups = [f"{r[k]:.2f}x" if k in r else "-" for k in ("speedup_vs_plain", "speedup_vs_fast")]
        table.add_row(r["phase"], r["space"], r["method"], _path_label(r), str(r["batch_size"]), f"{r['images_per_second']:.1f}",
                      f"{r['ms_per_step']:.1f}", f"{r['peak_memory_mb']:.0f}", *speedups,
                      f"{r['full_run_hours']:.2f}", f"{r['first_step_seconds']:.1f}")
    console.print(table)
    return 0


def _key(r: dict) -> tuple:
    return (r["phase"], r["space"], r["method"], r["path"], r.get("compile_mode"), r.get("bf16", False),
            r.get("layout", "auto"), r.get("tiny", False))


def _merged(earlier: list[dict], results: list[dict]) -> list[dict]:
    """The machine's file after this run: a narrowed run replaces only what it measured again."""
    measured = {_key(r) for r in results}
    return [r for r in earlier if _key(r) not in measured] + results


def _earlier(path: Path) -> list[dict]:
    if not path.exists():
        return []
    try:
        rows = json.loads(path.read_text())["measurements"]
        for r in rows:
            _key(r)  # each names what it measured
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UsageError(f"{path} holds earlier measurements this run cannot read ({type(err).__name__}); "
                         "move it away to start the file anew") from None
    return rows


def _path_label(r: dict) -> str:
    """e.g. `compiled (reduce-overhead, bf16)`."""
    extras = [r[k] for k in ("compile_mode", "layout") if k in r] + (["bf16"] if r.get("bf16") else [])
    return r["path"] + (f" ({', '.join(extras)})" if extras else "")


def _add_speedups(results: list[dict]) -> None:
    """Against this run's plain and fast measurements of the same step (in their own layout and precision)."""
    for base_path in ("plain", "fast"):
        base = {(r["phase"], r["space"], r["method"]): r["ms_per_step"] for r in results
                if r["path"] == base_path and not {"bf16", "layout"} & set(r)}
        for r in results:
            ms = base.get((r["phase"], r["space"], r["method"]))
            if ms:
                r[f"speedup_vs_{base_path}"] = ms / r["ms_per_step"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
