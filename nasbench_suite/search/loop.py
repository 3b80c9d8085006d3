"""The bilevel search loop every method shares.

Every batch: α steps on a batch of the architecture half (Adam), then the network weights
step on a batch of the weight half (SGD, cosine schedule, clipping). The method decides
only how α becomes per-edge operation weights and what it adds to the α loss.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time

import torch
import torch.nn.functional as F

from nasbench_suite import compiling
from nasbench_suite.data.cifar import Augment, CifarFormat, Split
from nasbench_suite.search.settings import SearchSettings
from nasbench_suite.search.unrolled import unrolled_arch_backward
from spaces.base import op_parameters, unkept_parameters


class NonFiniteLoss(Exception):
    def __init__(self, epoch: int, step: int):
        super().__init__(f"the loss became NaN or infinite in epoch {epoch + 1} (step {step + 1})")


# The regulariser-at-α_0 diagnostic runs on a fixed sample of about this many α steps an epoch
# (every step of an epoch this short or shorter): it draws no random numbers, so which steps
# carry it leaves the search itself unchanged.
ALPHA0_SAMPLES = 8


def epoch_seed(seed: int, epoch: int) -> int:
    """Every epoch reseeds from (seed, epoch), so a resumed run draws what an unbroken one would."""
    return seed * 1_000_003 + epoch


class Searcher:
    """`fast` picks the supernet's fast path (grouped per source node) and the memory layout and
    precision measured fastest on each device; the plain path is the reference: each operation
    of each edge on its own, in float32 and the default layout, as the original DARTS and
    NAS-Bench-201 code runs.

    Measured (nasbench-suite bench): on a 2-core CPU channels-last pays (1.8x for the nb201
    supernet); on an H200 these small supernets are bound by kernel launches, and bf16
    autocast and channels-last each made a step slower (nb201 darts 216 ms in float32 NCHW,
    252 ms with bf16, 223 ms channels-last), so CUDA keeps float32 and NCHW.

    `compile` (auto, off, default, reduce-overhead, max-autotune: torch.compile's modes; auto is
    resolved here by compiling.resolve, and `self.compile` is the mode that runs) compiles the
    supernet's search cells, forward and backward (`compile_cells`); the α step and the weight
    step each get graphs of their own (the α step's compute α's gradient alone). A compiled
    supernet takes every mix densely (EdgeMix.dense), so gate methods and GDAS, whose kept
    operations change every step, keep one graph; the operations they did not keep run with
    weight 0 and their network weights' zero gradients are dropped before the SGD step, so the
    step is the sparse one. `run` refuses --compile with the unrolled (second-order) α step,
    which calls the network functionally. Compiling happens in the first step; where it fails,
    that step is undone (weights, α, optimisers, random state) and the search goes on eager
    from there, the same as an uncompiled one, after `say` is told one line. `channels_last`
    None: the layout above; `backend` is torch.compile's (the tests use a cheap one). On CUDA
    the optimisers are the fused ones (one kernel per step instead of a few per parameter).
    """

    def __init__(self, space, space_config, method, settings: SearchSettings, device, weight_half: Split,
                 arch_half: Split, fmt: CifarFormat, fast: bool = True, compile: str = "off",
                 channels_last: bool | None = None, backend: str | None = None, say=print):
        self.method, self.settings, self.device, self.say = method, settings, device, say
        cuda = torch.device(device).type == "cuda"
        channels_last = fast and not cuda if channels_last is None else channels_last
        self.augment = Augment(fmt, device, channels_last=channels_last)
        self.weight_half, self.arch_half = weight_half.to(device), arch_half.to(device)
        layout = torch.channels_last if channels_last else torch.contiguous_format
        model = space.supernet(space_config, fmt.num_classes, fast=fast, aux_skip=method.aux_skip)
        self.model = model.to(device, memory_format=layout)
        self.compile, self.num_ops = compiling.resolve(compile, torch.device(device).type, method.unrolled), space.spec.num_ops
        self._compile_checked = self.compile == "off"  # until a compiled step has run
        if self.compile != "off":
            compile_cells(self.model, self.compile, backend)
            self.op_params = op_parameters(self.model)
            self._aux_skip = (None, None)
        self.method.alpha.to(device)
        # α_0: how far α moved, and what the regulariser would be had it stayed, are measured against it
        self.alpha_init = {k: a.detach().clone() for k, a in method.alpha.items()}
        wd = space.weight_decay if settings.weight_decay is None else settings.weight_decay
        self.w_opt = torch.optim.SGD(
            self.model.parameters(), settings.lr, momentum=settings.momentum, weight_decay=wd,
            nesterov=space.nesterov and settings.momentum > 0, fused=cuda or None,
        )
        self.a_opt = torch.optim.Adam(
            method.alpha.parameters(), settings.arch_lr, betas=(0.5, 0.999), weight_decay=settings.arch_weight_decay,
            fused=cuda or None,
        )
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(self.w_opt, settings.epochs, eta_min=settings.lr_min)
        torch.backends.cudnn.benchmark = cuda  # a handful of fixed shapes: let cuDNN pick its kernels

    @property
    def steps_per_epoch(self) -> int:
        return max(1, len(self.weight_half) // self.settings.batch_size)

    def run_epoch(self, epoch: int, on_step=lambda step: None) -> dict:
        """One epoch; returns its mean losses, accuracies, regulariser terms and seconds."""
        start = time.perf_counter()
        torch.manual_seed(epoch_seed(self.settings.seed, epoch))
        self.method.start_epoch(epoch, self.settings.epochs)
        self.model.train()
        w_order = torch.randperm(len(self.weight_half), device=self.device)
        a_order = torch.randperm(len(self.arch_half), device=self.device)
        sums: dict[str, torch.Tensor] = {}  # on the device: nothing waits for the GPU inside the epoch
        counts: dict[str, int] = {}
        lr = self.w_opt.param_groups[0]["lr"]
        every = max(1, self.steps_per_epoch // ALPHA0_SAMPLES)
        for step in range(self.steps_per_epoch):
            train_batch = self._batch(self.weight_half, w_order, step)
            val_batch = self._batch(self.arch_half, a_order, step)
            for key, value in self.step(train_batch, val_batch, diagnose=step % every == 0).items():
                sums[key] = sums.get(key, 0) + value.detach().float()
                counts[key] = counts.get(key, 0) + 1
            on_step(step)
        stats = {k: v.item() / counts[k] for k, v in sums.items()}
        if not all(math.isfinite(v) for v in stats.values()):
            raise NonFiniteLoss(epoch, self.steps_per_epoch - 1)
        self.schedule.step()
        return {**stats, "lr": lr, "seconds": time.perf_counter() - start}

    def _batch(self, split: Split, order: torch.Tensor, step: int):
        size = min(self.settings.batch_size, len(split))
        idx = order[(torch.arange(size, device=self.device) + step * size) % len(split)]
        return self.augment(split.images[idx]), split.labels[idx]

    def step(self, train_batch, val_batch, diagnose: bool = False) -> dict[str, torch.Tensor]:
        """An α step, then a weight step; their outputs. `diagnose`: with the α_0 terms."""
        def both():
            return {**self.arch_step(train_batch, val_batch, diagnose), **self.weight_step(train_batch)}

        if self._compile_checked:
            return both()
        out = compiling.first_step(both, self.state_dict, self.load_state_dict, self._go_eager, self.compile, self.say)
        self._compile_checked = True
        return out

    def _go_eager(self):
        compiling.uncompile(m for m in self.model.modules() if hasattr(m, "cell_type"))
        self.compile = "off"

    def arch_step(self, train_batch, val_batch, diagnose: bool = True) -> dict[str, torch.Tensor]:
        self.a_opt.zero_grad(set_to_none=True)
        x, y = val_batch
        if self.method.unrolled:
            loss = unrolled_arch_backward(self.model, self.method, self.w_opt, train_batch, val_batch, F.cross_entropy)
            terms, correct = {}, None
        else:
            mix = self.method.mix()
            if self.compile == "off":
                logits = self.model(x, mix)
            else:  # params frozen: the α step's graph computes no weight gradient at all
                with _frozen(self.model):
                    logits = self._compiled(x, mix)
            loss = F.cross_entropy(logits, y)
            reg, terms = self.method.regularizer(mix)
            # Only α's gradient: the weights' gradients (half of every conv's backward) are not needed.
            (loss + reg).backward(inputs=list(self.method.alpha.values()))
            correct = (logits.argmax(1) == y).float().mean()
            if terms and diagnose:
                terms = {**terms, **{f"{k}_at_alpha0": v for k, v in self._terms_at_alpha0(mix).items()}}
        self.a_opt.step()
        # detached: the loss's graph would stay alive through the weight step (+370 MB peak RSS, nb201 darts)
        out = {"val_loss": loss.detach(), **{f"reg_{k}": v for k, v in terms.items()}}
        if correct is not None:
            out["val_acc"] = 100 * correct
        return out

    @torch.no_grad()
    def _terms_at_alpha0(self, mix) -> dict[str, torch.Tensor]:
        """The regulariser's terms on this step's kept operations had α stayed at α_0, under the
        same τ: what the schedule alone does to them. α is swapped in place, so nothing else
        (the graph is already spent, the optimiser holds the same tensors) sees it."""
        current = {k: a.data for k, a in self.method.alpha.items()}
        try:
            for k, a in self.method.alpha.items():
                a.data = self.alpha_init[k]
            return self.method.regularizer(mix)[1]
        finally:
            for k, a in self.method.alpha.items():
                a.data = current[k]

    def weight_step(self, train_batch) -> dict[str, torch.Tensor]:
        x, y = train_batch
        mix = {t: m.detach() for t, m in self.method.mix().items()}
        self.w_opt.zero_grad(set_to_none=True)
        logits = self.model(x, mix) if self.compile == "off" else self._compiled(x, mix)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        if self.compile != "off":  # what the sparse form never ran has no gradient, as there
            for p in unkept_parameters(self.op_params, mix):
                p.grad = None
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip)
        self.w_opt.step()
        return {"train_loss": loss, "train_acc": 100 * (logits.argmax(1) == y).float().mean()}

    def _compiled(self, x, mix):
        """The compiled supernet on the dense form of the mix, its aux_skip (DARTS-'s β, a float
        that changes every epoch, which a compiled graph would be specialised on) a 0-d tensor
        on the device, made once per value."""
        if self.compile == "reduce-overhead":  # a new step: CUDA graphs may reuse the last one's outputs
            torch.compiler.cudagraph_mark_step_begin()
        static = {}
        for t, m in mix.items():
            m = m.dense(self.num_ops)
            if isinstance(m.aux_skip, float):
                if self._aux_skip[0] != m.aux_skip:
                    self._aux_skip = (m.aux_skip, torch.tensor(m.aux_skip, dtype=m.weights.dtype, device=m.weights.device))
                m = dataclasses.replace(m, aux_skip=self._aux_skip[1])
            static[t] = m
        return self.model(x, static)

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "alpha": self.method.alpha.state_dict(),
            "alpha_init": self.alpha_init,
            "w_opt": self.w_opt.state_dict(),
            "a_opt": self.a_opt.state_dict(),
            "schedule": self.schedule.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.method.alpha.load_state_dict(state["alpha"])
        self.alpha_init = state.get("alpha_init", self.alpha_init)
        self.w_opt.load_state_dict(state["w_opt"])
        self.a_opt.load_state_dict(state["a_opt"])
        self.schedule.load_state_dict(state["schedule"])


@contextlib.contextmanager
def _frozen(model):
    """The model's parameters without requires_grad for the block (a forward that needs α's gradient alone)."""
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def compile_cells(model, mode: str, backend: str | None = None) -> None:
    """torch.compile each search cell of a supernet in place (the stem and the classifier, a few
    kernels, stay eager). Cells of one shape share their compiled code, so an nb201 supernet
    compiles 3 cells (one per stage) instead of 15, and the darts one 7 instead of 8 cells in
    one graph: measured on a 2-core CPU, the whole tiny nb201 supernet took 14 s to compile
    (aot_eager), its cells 5 s. Shapes are static (one graph per cell shape and step kind)."""
    compiling.compile_modules([cell for cell in model.modules() if hasattr(cell, "cell_type")], mode, backend)
