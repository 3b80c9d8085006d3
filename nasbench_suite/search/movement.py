"""Did a search search? How far α moved from its initial value, and the rule that says a
search barely moved it.

The rule (DESIGN.md, "Comparisons that mean something"): a search whose largest α change,
over every edge and operation of every cell type, stays below MIN_MOVEMENT = 0.1 did not
search. Below it, no softmax weight has moved by more than a factor e^0.2 (about 20%)
relative to any other on its edge, and no gate's activation probability by more than
0.025: the derived cell is the argmax of the initialisation plus the last batches' noise,
and it differs between seeds for that reason alone. With Adam, α moves at most about
arch-lr per step, so 150 steps at 3e-4 cannot reach it; 1,000 steps at 3e-3 can.

For a method whose weights are a softmax of each edge's α (darts, gdas, beta_darts,
darts_minus: `shift_invariant` in methods/configs.py), a shift of a whole edge changes
nothing, so the change is centred per edge before it is measured: β-DARTS's loss pushes
every α of an edge down together, which the raw measure counts and the softmax ignores.
Gates, sigmoids and DrNAS's concentrations see every α itself: their change stays raw.
"""

from __future__ import annotations

import math

from nasbench_suite import registry

MIN_MOVEMENT = 0.1


def centred(method: str) -> bool:
    """Is this method's α measured after centring each edge (a softmax ignores a shift)?"""
    return registry.method_config(method).shift_invariant


def alpha_movement(alpha, alpha_init, centre: bool = False) -> dict[str, dict[str, float]]:
    """{cell_type: {"max": max |Δα|, "mean": mean |Δα|}} (plain floats), Δα = α_t − α_0, its
    per-edge mean taken off where `centre`."""
    moved = {}
    for cell_type, a in alpha.items():
        change = a.detach() - alpha_init[cell_type].to(a.device)
        if centre:
            change = change - change.mean(dim=-1, keepdim=True)
        moved[cell_type] = {"max": change.abs().max().item(), "mean": change.abs().mean().item()}
    return moved


def record_movement(record: dict) -> dict[str, dict[str, float]] | None:
    """The movement of a finished record by its method's measure, from its α and α_0 (lists),
    so records written before the centred measure read the same as new ones. Torch-free;
    None where the record holds no α_0."""
    alpha, init = record.get("alpha"), record.get("alpha_init")
    if not isinstance(alpha, dict) or not isinstance(init, dict):
        return record.get("alpha_movement")
    centre = record.get("method") in registry.method_names() and centred(record["method"])
    moved = {}
    for cell_type, rows in alpha.items():
        changes = []
        for row, row0 in zip(rows, init[cell_type]):
            change = [a - a0 for a, a0 in zip(row, row0)]
            shift = math.fsum(change) / len(change) if centre else 0.0
            changes += [abs(c - shift) for c in change]
        moved[cell_type] = {"max": max(changes), "mean": math.fsum(changes) / len(changes)}
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
