"""Did α move the regularisers? For each finished search of a method with regulariser terms,
their expectation under the final temperature with α as it ended (α_T) and as it started
(α_0), each over fresh samples of the method's mix (kept operations drawn anew).

    python scripts/regularizer_at_init.py results/nb201-cpu/runs [--samples 256]

The records' own `reg_<term>_at_alpha0` keep each step's kept operations and swap only α, so
they show what α's values did on the operations the search kept; this script also lets the
choice of operations follow α_0, so its α_0 column is the search that never moved α.
Deterministic (a fixed seed per run); reads records, writes nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

import torch

from nasbench_suite import registry


def expected_terms(method, alpha: dict, samples: int) -> dict[str, float]:
    with torch.no_grad():
        for name, a in method.alpha.items():
            a.copy_(torch.tensor(alpha[name]))
        sums: dict[str, float] = defaultdict(float)
        for _ in range(samples):
            for key, value in method.regularizer(method.mix())[1].items():
                sums[key] += float(value) / samples
    return dict(sums)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    parser.add_argument("--samples", type=int, default=256)
    args = parser.parse_args()
    groups = defaultdict(list)
    for path in sorted(args.runs.glob("*/record.json")):
        record = json.loads(path.read_text())
        config = record["config"]
        cls, space = registry.get_method(record["method"]), registry.get_space(record["space"])
        method = cls(space.spec, cls.Config(**config["method_config"]))
        last = json.loads((path.parent / "metrics.jsonl").read_text().splitlines()[-1])
        method.start_epoch(record["epochs"] - 1, record["epochs"])  # the final τ (or weight)
        torch.manual_seed(record["seed"])
        moved = expected_terms(method, record["alpha"], args.samples)
        if not moved:
            continue
        torch.manual_seed(record["seed"])
        start = expected_terms(method, record["alpha_init"], args.samples)
        label = f"{record['method']} {json.dumps(config['method_config'], sort_keys=True)} N={config['space_config'].get('cells_per_stage')}"
        groups[label].append((moved, start, last))
    for label, runs in groups.items():
        print(f"{label}: {len(runs)} runs (mean over runs)")
        for term in runs[0][0]:
            at_t = statistics.mean(r[0][term] for r in runs)
            at_0 = statistics.mean(r[1][term] for r in runs)
            print(f"  {term:10s} α_T {at_t:.3f}   α_0 {at_0:.3f}   difference {at_t - at_0:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
