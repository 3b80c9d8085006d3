"""How hard does a gate method's regulariser pull on α, next to the validation loss? For the
first epochs of a search under the comparison's protocol (scripts/nb201_cpu.py), every α
step's gradient is split into the loss's part and the regulariser's part, and their norms
are compared. The regulariser is linear in its weights λ, so the median ratio
‖∇α L_val‖ / ‖∇α R‖ is the factor by which the λ would have to grow for the two to pull
equally hard.

    python scripts/regularizer_pull.py --method pr_darts [--seed 1] [--epochs 1] [--lambda3 0 ...]

Used to fix, before their runs, the λ of the comparison's "strong" rows. Writes nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nb201_cpu import PROTOCOL  # noqa: E402

from nasbench_suite.search import command, lifecycle  # noqa: E402
from nasbench_suite.search.loop import epoch_seed  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="pr_darts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=1, help="how many of the search's first epochs to measure")
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args, flags = parser.parse_known_args()  # the rest: method flags beyond the protocol
    args.flags = flags
    run_parser = argparse.ArgumentParser()
    command.add_arguments(run_parser)
    config = command.config_from_args(
        run_parser.parse_args(["--method", args.method, "--seed", str(args.seed), *PROTOCOL, "--data-dir", args.data_dir, *args.flags])
    )
    p = lifecycle.prepare(config)
    s, method = p.searcher, p.method
    alphas = list(method.alpha.values())
    ratios = []
    for epoch in range(args.epochs):
        torch.manual_seed(epoch_seed(s.settings.seed, epoch))
        method.start_epoch(epoch, s.settings.epochs)
        w_order = torch.randperm(len(s.weight_half))
        a_order = torch.randperm(len(s.arch_half))
        for step in range(s.steps_per_epoch):
            train_batch, (x, y) = s._batch(s.weight_half, w_order, step), s._batch(s.arch_half, a_order, step)
            mix = method.mix()
            loss = F.cross_entropy(s.model(x, mix), y)
            reg, _ = method.regularizer(mix)
            g_loss = torch.autograd.grad(loss, alphas, retain_graph=True)
            g_reg = torch.autograd.grad(reg, alphas, allow_unused=True)
            norm = lambda gs: torch.cat([g.flatten() for g in gs if g is not None]).norm().item()  # noqa: E731
            ratios.append(norm(g_loss) / max(norm(g_reg), 1e-12))
            # then the search's own steps, so later measurements see a search in progress
            s.arch_step(train_batch, (x, y))
            s.weight_step(train_batch)
        print(f"epoch {epoch + 1}: median ‖∇L_val‖/‖∇R‖ {statistics.median(ratios):.1f} over {len(ratios)} α steps")
    quartiles = statistics.quantiles(ratios, n=4)
    print(f"{args.method} {' '.join(args.flags)}: ‖∇L_val‖/‖∇R‖ median {statistics.median(ratios):.1f} "
          f"(quartiles {quartiles[0]:.1f}, {quartiles[2]:.1f}) over {len(ratios)} α steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
