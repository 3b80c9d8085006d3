"""Did a search search? How far α moved from its initial value, and the rule that says a
search barely moved it.

The rule (DESIGN.md, "Comparisons that mean something"): a search whose largest α change,
over every edge and operation of every cell type, stays below MIN_MOVEMENT = 0.1 did not
search. Below it, no softmax weight has moved by more than a factor e^0.2 (about 20%)
relative to any other on its edge, and no gate's activation probability by more than
0.025: the derived cell is the argmax of the initialisation plus the last batches' noise,
and it differs between seeds for that reason alone. With Adam, α moves at most about
arch-lr per step, so 150 steps at 3e-4 cannot reach it; 1,000 steps at 3e-3 can.
"""

from __future__ import annotations

MIN_MOVEMENT = 0.1


def alpha_movement(alpha, alpha_init) -> dict[str, dict[str, float]]:
    """{cell_type: {"max": max |α_t − α_0|, "mean": mean |α_t − α_0|}} (plain floats)."""
    moved = {}
    for cell_type, a in alpha.items():
        change = (a.detach() - alpha_init[cell_type].to(a.device)).abs()
        moved[cell_type] = {"max": change.max().item(), "mean": change.mean().item()}
    return moved


def largest_movement(movement: dict[str, dict[str, float]]) -> float:
    return max(m["max"] for m in movement.values())


def barely_moved(movement: dict[str, dict[str, float]] | None, threshold: float = MIN_MOVEMENT) -> bool:
    return movement is not None and largest_movement(movement) < threshold


def warning(movement: dict[str, dict[str, float]], threshold: float = MIN_MOVEMENT) -> str:
    return (
        f"warning: α barely moved (largest change {largest_movement(movement):.3g} < {threshold:g}): the derived "
        "cell reflects the initialisation and noise, not the method; give the search more α steps or a larger --arch-lr"
    )
