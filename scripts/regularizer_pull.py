"""How hard does a gate method's regulariser pull on α, next to the validation loss? For the
first epochs of a search under the comparison's protocol (scripts/nb201_cpu.py), every α
step's gradient is split into the loss's part and the regulariser's part, and their norms
are compared. The regulariser is linear in its weights λ, so the median ratio
‖∇α L_val‖ / ‖∇α R‖ is the factor by which the λ would have to grow for the two to pull
equally hard.

    python scripts/regularizer_pull.py --method pr_darts [--space darts] [--seed 1] [--epochs 1] [--lambda3 0 ...]

--space picks the comparison whose protocol the search runs under: nb201 (scripts/nb201_cpu.py,
the default) or darts (scripts/darts_cpu.py).

Float sums depend on the thread count: the committed figures ran with OMP_NUM_THREADS=1.

Used to fix, before their runs, the λ of the comparison's equal-pull rows (x10, x80). Writes nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import darts_cpu  # noqa: E402
import nb201_cpu  # noqa: E402
from grid import SHARED_DATA  # noqa: E402

from nasbench_suite.search import command, lifecycle  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="pr_darts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=1, help="how many of the search's first epochs to measure")
    parser.add_argument("--space", choices=("nb201", "darts"), default="nb201", help="whose comparison's protocol")
    parser.add_argument("--data-dir", default=str(SHARED_DATA))
    args, flags = parser.parse_known_args()  # the rest: method flags beyond the protocol
    protocol = {"nb201": nb201_cpu.PROTOCOL, "darts": darts_cpu.SEARCH}[args.space]
    run_parser = argparse.ArgumentParser()
    command.add_arguments(run_parser)
    config = command.config_from_args(
        run_parser.parse_args(["--method", args.method, "--seed", str(args.seed), *protocol, "--data-dir", args.data_dir, *flags])
    )
    p = lifecycle.prepare(config)
    searcher, method = p.searcher, p.method
    alphas = list(method.alpha.values())
    ratios = []
    arch_step = searcher.arch_step

    def measured_arch_step(train_batch, val_batch, diagnose=True):
        """The search's own α step, after splitting this batch's α gradient into its two parts."""
        x, y = val_batch
        mix = method.mix()
        g_loss = torch.autograd.grad(F.cross_entropy(searcher.model(x, mix), y), alphas)
        g_reg = torch.autograd.grad(method.regularizer(mix)[0], alphas, allow_unused=True)
        ratios.append(norm(g_loss) / max(norm(g_reg), 1e-12))
        return arch_step(train_batch, val_batch, diagnose)

    searcher.arch_step = measured_arch_step  # the loop itself runs the epochs, so they are the search's
    for epoch in range(args.epochs):
        searcher.run_epoch(epoch)
        print(f"epoch {epoch + 1}: median ‖∇L_val‖/‖∇R‖ {statistics.median(ratios):.1f} over {len(ratios)} α steps")
    quartiles = statistics.quantiles(ratios, n=4)
    print(f"{args.method} {' '.join(flags)}: ‖∇L_val‖/‖∇R‖ median {statistics.median(ratios):.1f} "
          f"(quartiles {quartiles[0]:.1f}, {quartiles[2]:.1f}) over {len(ratios)} α steps")
    return 0


def norm(grads) -> float:
    return torch.cat([g.flatten() for g in grads if g is not None]).norm().item()


if __name__ == "__main__":
    sys.exit(main())
