"""A short training of a derived network, scored on held-out images: the tuning objective
where no benchmark table exists (the darts space).

The split is the search's own: the network trains on the weight half of the training
images and is scored on the architecture half, so the test set never steers tuning.
Protocol: the search's batch size and seed, SGD (momentum 0.9, the space's weight decay
and Nesterov setting) with the learning rate cosine-annealed from 0.025 to 0 over the
epochs, gradient clipping 5, random crop and flip; the step is the evaluation training's.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from pathlib import Path

import torch

from nasbench_suite.data import cifar
from nasbench_suite.errors import UsageError
from nasbench_suite.devices import resolve_device
from nasbench_suite.train.settings import TrainSettings
from nasbench_suite.train.trainer import train_step

LR, MOMENTUM = 0.025, 0.9
# The evaluation protocol's step (trainer.train_step) without its auxiliary head or cutout.
STEP = TrainSettings(grad_clip=5.0, auxiliary_weight=0.0, label_smoothing=0.0)


def proxy_accuracy(space, genotype, config, epochs: int) -> float:
    """Validation accuracy (%) on the architecture half after `epochs` on the weight half.

    `space.network(genotype, num_classes)` is the only thing asked of the space; a network
    returning (logits, auxiliary logits) is scored on the logits.
    """
    device = resolve_device(config.device)
    fmt = cifar.dataset_format(config.dataset)
    train = cifar.load_cifar(config.dataset, Path(config.data_dir))
    fit, held_out = (s.to(device) for s in cifar.search_split(train, fmt.num_classes, config.train_subset))
    settings = config.settings
    torch.manual_seed(settings["seed"])
    model = space.network(genotype, fmt.num_classes).to(device)
    augment = cifar.Augment(fmt, device)
    weight_decay = space.weight_decay if settings["weight_decay"] is None else settings["weight_decay"]
    optimizer = torch.optim.SGD(model.parameters(), LR, momentum=MOMENTUM, weight_decay=weight_decay, nesterov=space.nesterov)
    batch = settings["batch_size"]
    steps = max(1, len(fit) // batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps)
    model.train()
    for epoch in range(epochs):
        order, total = torch.randperm(len(fit), device=device), 0.0
        for step in range(steps):
            idx = order[step * batch : (step + 1) * batch]
            loss, _ = train_step(model, optimizer, augment(fit.images[idx]), fit.labels[idx], STEP, nullcontext())
            schedule.step()
            total = total + loss.detach()  # checked once per epoch: no device sync every step
        if not math.isfinite(float(total)):
            raise UsageError(f"the proxy training's loss became NaN or infinite in epoch {epoch + 1}")
    return _accuracy(model, held_out, augment, batch)


@torch.no_grad()
def _accuracy(model, split: cifar.Split, augment: cifar.Augment, batch: int) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(split), batch):
        logits = _logits(model(augment(split.images[start : start + batch], train=False)))
        correct += (logits.argmax(1) == split.labels[start : start + batch]).sum().item()
    return 100.0 * correct / len(split)


def _logits(output):
    return output[0] if isinstance(output, tuple) else output
