"""Evaluation training: one process or several (DDP), an epoch at a time, a checkpoint after
each, the record last. Only the main process writes files and prints.

Per epoch: SGD steps with the main loss plus the auxiliary head's (weighted), gradient
clipping, drop-path rising linearly; then the test set (every --test-every epochs and after
the last), evaluated with the main process's BatchNorm statistics on every process. Each
epoch reseeds from (seed, epoch, rank), so a resumed run draws what an unbroken one would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import io
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from rich.console import Console

from nasbench_suite import compiling, records, registry
from nasbench_suite.train.ddp import Processes
from nasbench_suite.devices import device_name
from nasbench_suite.errors import UsageError
from nasbench_suite.progress import step_progress
from nasbench_suite.search.loop import epoch_seed
from nasbench_suite.train.settings import TrainConfig, TrainSettings, create_run_dir
from nasbench_suite.train.batches import CifarBatches, FolderBatches

console = Console(highlight=False, soft_wrap=True)
LOCK = ".lock"


class Trainer:
    """Built from a configuration (data, network, optimiser: every input is checked before
    anything is written), then `fit` into a run directory."""

    def __init__(self, config: TrainConfig, procs: Processes):
        self.config, self.procs = config, procs
        self.settings = s = TrainSettings(**config.settings)
        s.validate(procs.world)
        cuda = procs.device.type == "cuda"
        torch.backends.cudnn.benchmark = cuda  # fixed input sizes: let cuDNN pick its fastest kernels
        self.channels_last = not cuda if s.channels_last is None else s.channels_last
        self.autocast = torch.autocast(procs.device.type, dtype=torch.bfloat16, enabled=s.bf16)
        self.data = self._data()
        self.space = registry.get_space(config.space)
        self.genotype = self.space.parse(config.genotype)
        torch.manual_seed(s.seed)  # the same initial weights on every process
        self.model = self.space.network(
            self.genotype, self.data.num_classes, s.init_channels, s.layers,
            auxiliary=s.auxiliary_weight > 0, imagenet=config.dataset == "imagenet",
        ).to(procs.device, memory_format=torch.channels_last if self.channels_last else torch.preserve_format)
        self.params_mb = sum(p.numel() for n, p in self.model.named_parameters() if not n.startswith("auxiliary.")) / 1e6
        # fused on CUDA: one kernel per step instead of a few per parameter
        self.opt = torch.optim.SGD(self.model.parameters(), s.lr, momentum=s.momentum, weight_decay=s.weight_decay,
                                   fused=cuda or None)
        self.compile = compiling.resolve(config.compile, procs.device.type)
        if self.compile != "off":  # drop-path's probability a tensor, so one graph serves every epoch
            compiling.compile_modules(self.model.cells, self.compile)
            self.model.drop_path_prob = torch.zeros((), device=procs.device)
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, s.epochs)
        self.start_epoch, self.seconds, self.rows = 0, 0.0, []
        self.run_dir = self.step_model = None
        self._compile_checked = False

    def _data(self):
        """The main process reads (and, if missing, fetches) the data first, then the others."""
        c = self.config
        if not self.procs.main:
            self.procs.barrier()
        if c.dataset == "imagenet":
            batches = FolderBatches(Path(c.data_dir), self.procs, self.channels_last, c.workers)
        else:
            batches = CifarBatches(c.dataset, Path(c.data_dir), self.procs, self.settings.cutout, self.channels_last,
                                   c.train_subset, c.test_subset)
        if self.procs.main:
            self.procs.barrier()
        return batches

    def fit(self, run_dir: Path, on_epoch=None) -> dict:
        """Train the remaining epochs in run_dir (created if new); returns the record.
        on_epoch(row) may raise to stop."""
        self.run_dir = Path(run_dir)
        if self.procs.main:  # the only process that writes here, and it has not started yet
            create_run_dir(self.config, self.run_dir)
            records.remove_stale_temporaries(self.run_dir)  # a killed training may have died mid-write
        self.procs.barrier()  # the directory exists before any process looks inside
        self.load_checkpoint(self.run_dir)
        self.step_model = self.model
        if self.procs.world > 1:  # after loading: DDP starts every process from the main one's weights
            device_ids = [self.procs.device] if self.procs.device.type == "cuda" else None
            self.step_model = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=device_ids)
        with self._lock():
            self._announce()
            try:
                for epoch in range(self.start_epoch, self.settings.epochs):
                    row = self.run_epoch(epoch)
                    self.rows.append(row)
                    self.seconds += row["seconds"]
                    if self.procs.main:
                        records.write_jsonl(self.run_dir / records.METRICS, self.rows)
                        self._save_checkpoint(epoch + 1)
                        console.print(_epoch_line(row, self.settings.epochs))
                    if on_epoch:
                        on_epoch(row)
            except KeyboardInterrupt:
                if self.procs.main:
                    console.print(f"interrupted; the same command continues, or: nasbench-suite train --resume {self.run_dir}")
                raise
            record = self.make_record()
            if self.procs.main:
                records.write_json(self.run_dir / records.RECORD, record)
                console.print(f"finished {self.run_dir}: test error {record['test_error']:.2f}%, "
                              f"{record['params_mb']:.2f}M parameters, {record['train_seconds']:.0f}s")
            self.procs.barrier()
            return record

    def run_epoch(self, epoch: int) -> dict:
        s, procs = self.settings, self.procs
        start = time.perf_counter()
        torch.manual_seed(epoch_seed(s.seed, epoch) * 1000 + procs.rank)  # augmentation and drop-path
        drop_path = s.drop_path * epoch / s.epochs
        if torch.is_tensor(self.model.drop_path_prob):
            self.model.drop_path_prob.fill_(drop_path)
        else:
            self.model.drop_path_prob = drop_path
        lr = self.opt.param_groups[0]["lr"]
        train = self._train_epoch(epoch)
        self.schedule.step()
        tested = (epoch + 1) % self.config.test_every == 0 or epoch + 1 == s.epochs
        test = self.evaluate() if tested else {"test_loss": None, "test_acc": None}
        if not all(math.isfinite(v) for v in (*train.values(), *test.values()) if v is not None):
            raise UsageError(f"the loss became NaN or infinite in epoch {epoch + 1}; stopped, the last good "
                             f"checkpoint (epoch {epoch}) is kept in {self.run_dir}")
        return {"epoch": epoch + 1, **train, **test, "lr": lr, "drop_path": drop_path,
                "seconds": time.perf_counter() - start}

    def _train_epoch(self, epoch: int) -> dict:
        s = self.settings
        self.step_model.train()
        totals, images = torch.zeros(2, device=self.procs.device), 0  # loss x images, correct; images
        steps = self.data.steps(s.batch_size)
        with self._progress(epoch, steps) as advance:
            for x, y in self.data.train_batches(epoch_seed(s.seed, epoch), s.batch_size):
                loss, logits = self._step(x, y)
                totals += torch.stack([loss.detach().float() * len(y), (logits.argmax(1) == y).sum().float()])
                images += len(y)
                advance()
        loss_sum, correct, count = self._sum(totals, images)
        return {"train_loss": loss_sum / count, "train_acc": 100 * correct / count}

    def _step(self, x, y):
        """One training step; the first of a compiled run guarded (compiling.first_step)."""
        def step():
            if self.compile == "reduce-overhead":  # CUDA graphs may reuse the last step's outputs
                torch.compiler.cudagraph_mark_step_begin()
            return train_step(self.step_model, self.opt, x, y, self.settings, self.autocast)

        if self.compile == "off" or self._compile_checked:
            return step()
        found = compiling.first_step(step, self._state, self._load_state, self._go_eager, self.compile, self._say)
        self._compile_checked = True
        return found

    def _state(self) -> dict:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict()}

    def _load_state(self, state):
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])

    def _go_eager(self):
        compiling.uncompile(self.model.cells)
        self.compile = "off"
        self.model.drop_path_prob = float(self.model.drop_path_prob)  # as an eager run has it

    def _say(self, line):
        if self.procs.main:
            console.print(line)

    @torch.no_grad()
    def evaluate(self) -> dict:
        """Test loss and accuracy of the main process's network, over the whole test set."""
        self.procs.sync_buffers(self.model)
        self.model.eval()
        totals, images = torch.zeros(2, device=self.procs.device), 0
        for x, y in self.data.test_batches():
            with self.autocast:
                logits = self.model(x)
            totals += torch.stack([F.cross_entropy(logits.float(), y, reduction="sum"), (logits.argmax(1) == y).sum().float()])
            images += len(y)
        loss_sum, correct, count = self._sum(totals, images)
        return {"test_loss": loss_sum / count, "test_acc": 100 * correct / count}

    def _sum(self, totals: torch.Tensor, images: int) -> list[float]:
        """Per-epoch sums over every process, fetched from the device once."""
        return self.procs.sum(torch.cat([totals, totals.new_tensor([images])])).tolist()

    def make_record(self) -> dict:
        last, c = self.rows[-1], self.config
        cuda = self.procs.device.type == "cuda"
        return {
            "kind": "train",
            "run_id": self.run_dir.name,
            "space": c.space,
            "dataset": c.dataset,
            "seed": self.settings.seed,
            "genotype": c.genotype,
            "source": c.source,
            **self.space.describe(self.genotype),
            "epochs": len(self.rows),
            "test_acc": last["test_acc"],
            "test_error": 100 - last["test_acc"],
            "test_images": len(self.data.test),
            "params_mb": self.params_mb,
            "train_seconds": self.seconds,
            "gpu_hours": self.seconds * self.procs.world / 3600 if cuda else None,
            "device": _device_name(self.procs),
            "compile": self.compile,  # the mode that ran (config.compile is what was asked)
            "processes": self.procs.world,
            "versions": records.versions(),
            "config": dataclasses.asdict(c),
            "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }

    def _save_checkpoint(self, next_epoch: int) -> None:
        buffer = io.BytesIO()
        torch.save({
            "model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "schedule": self.schedule.state_dict(),
            "epoch": next_epoch, "train_seconds": self.seconds,
        }, buffer)
        records.write_atomic(self.run_dir / records.CHECKPOINT, buffer.getvalue())

    def load_checkpoint(self, run_dir: Path) -> None:
        """Continue from run_dir's last finished epoch, if it has one."""
        path = run_dir / records.CHECKPOINT
        if not path.is_file():
            return
        try:
            state = torch.load(path, map_location=self.procs.device, weights_only=True)
            self.model.load_state_dict(state["model"])
            self.opt.load_state_dict(state["optimizer"])
            self.schedule.load_state_dict(state["schedule"])
            self.rows = records.read_jsonl(run_dir / records.METRICS)[: state["epoch"]]
        except (OSError, RuntimeError, KeyError, ValueError) as err:
            raise UsageError(f"cannot resume {run_dir}: its checkpoint is unreadable ({err})")
        self.start_epoch, self.seconds = state["epoch"], state["train_seconds"]

    @contextlib.contextmanager
    def _lock(self):
        """Only one training per run directory at a time (the lock dies with its process)."""
        if not self.procs.main:
            yield
            return
        with open(self.run_dir / LOCK, "w") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UsageError(f"{self.run_dir} is being trained by another process")
            yield

    @contextlib.contextmanager
    def _progress(self, epoch: int, steps: int):
        if not self.procs.main:
            yield lambda: None
            return
        with step_progress(console, epoch, self.settings.epochs, steps, self.settings.batch_size) as advance:
            yield advance

    def _announce(self) -> None:
        if not self.procs.main:
            return
        c, s = self.config, self.settings
        cell = c.source["name"] or c.source["run_id"] or "the given genotype"
        verb = f"resuming at epoch {self.start_epoch + 1}" if self.start_epoch else "starting"
        console.print(f"{verb} {self.run_dir}: {cell} on {c.dataset}, C={s.init_channels}, {s.layers} cells, "
                      f"{self.params_mb:.2f}M parameters, {s.epochs} epochs of {self.data.steps(s.batch_size)} steps, "
                      f"{_device_name(self.procs)}")


def train_step(model, opt, x, y, s: TrainSettings, autocast) -> tuple[torch.Tensor, torch.Tensor]:
    """One SGD step on the main loss plus the weighted auxiliary loss; returns (loss, logits)."""
    with autocast:
        out = model(x)
        logits, aux = out if isinstance(out, tuple) else (out, None)
        loss = F.cross_entropy(logits, y, label_smoothing=s.label_smoothing)
        if aux is not None:
            loss = loss + s.auxiliary_weight * F.cross_entropy(aux, y, label_smoothing=s.label_smoothing)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
    opt.step()
    return loss, logits


def _device_name(procs: Processes) -> str:
    name = device_name(procs.device)
    return name if procs.world == 1 else f"{procs.world} x {name}"


def _epoch_line(row: dict, epochs: int) -> str:
    return (f"epoch {row['epoch']:>3}/{epochs}  train {row['train_loss']:.3f} {row['train_acc']:5.1f}%  "
            f"{_test_text(row)}  lr {row['lr']:.4f}  drop-path {row['drop_path']:.3f}  "
            f"{row['seconds']:.1f}s")


def _test_text(row: dict) -> str:
    if row["test_acc"] is None:
        return "test —"  # --test-every: not this epoch
    return f"test {row['test_loss']:.3f} {row['test_acc']:5.2f}%"


def report_finished(run_dir: Path) -> None:
    record = json.loads((run_dir / records.RECORD).read_text())
    console.print(f"{run_dir} is finished: test error {record['test_error']:.2f}% after {record['epochs']} epochs, "
                  f"{record['params_mb']:.2f}M parameters (nothing was rerun)")
