"""One cell's columns from its official records, by the rules the official readers apply.

A record (ResultsCount state) holds one training run: per-epoch `train_acc1es`
{epoch: %}, `eval_acc1es` {"x-valid@199": %, ...}, `epochs`, and the costs `params`,
`flop`, `latency` (a list of seconds). Like the readers' get_metrics / get_cost_info:

- an accuracy is the one after the last epoch; the mean runs over every seed the file
  has for that dataset, and is missing where one of those seeds lacks the number;
- params and FLOPs are the mean over seeds, except where the seeds disagree (a known fault
  of the official files, fixed in nats_bench 1.6): then seed 888's value;
- latency is the mean of the positive per-seed latencies, missing where none is.

Costs come from the 200-epoch records (the network is the same at 12 epochs).
"""

from __future__ import annotations

from nasbench_suite.nb201.columns import ACCURACY_STEMS, COST_COLUMNS, accuracy_column

COST_HP = "200"
LEGACY_SEED = 888


def cell_values(records_by_hp: dict[str, dict]) -> dict[str, float]:
    """{column: value} of every number the cell's records hold (absent numbers are left out)."""
    values = {}
    for hp, arch in records_by_hp.items():
        for dataset, setname in ACCURACY_STEMS:
            values.update(_accuracies(arch, dataset, setname, hp))
    if COST_HP in records_by_hp:
        for (dataset, key), column in COST_COLUMNS.items():
            value = _cost(records_by_hp[COST_HP], dataset, key)
            if value is not None:
                values[column] = value
    return values


def _runs(arch: dict, dataset: str) -> dict[int, dict]:
    return {seed: arch["all_results"][(dataset, seed)] for seed in arch["dataset_seed"].get(dataset, ())}


def _accuracies(arch: dict, dataset: str, setname: str, hp: str) -> dict[str, float]:
    per_seed = {seed: _final_accuracy(run, setname) for seed, run in _runs(arch, dataset).items()}
    found = {accuracy_column(dataset, setname, hp, seed): v for seed, v in per_seed.items() if v is not None}
    if per_seed and len(found) == len(per_seed):
        found[accuracy_column(dataset, setname, hp)] = _mean(per_seed.values())
    return found


def _final_accuracy(run: dict, setname: str) -> float | None:
    last = run["epochs"] - 1
    try:
        if setname == "train":
            return float(run["train_acc1es"][last])
        return float(run["eval_acc1es"][f"{setname}@{last}"])
    except (KeyError, IndexError):
        return None


def _cost(arch: dict, dataset: str, key: str) -> float | None:
    runs = _runs(arch, dataset)
    if not runs:
        return None
    if key == "latency":
        latencies = [_mean(run["latency"]) for run in runs.values() if run["latency"]]
        positive = [x for x in latencies if x > 0]
        return _mean(positive) if positive else None
    field = {"params": "params", "flops": "flop"}[key]
    per_seed = {seed: float(run[field]) for seed, run in runs.items()}
    if len({f"{v:.5f}" for v in per_seed.values()}) > 1 and LEGACY_SEED in per_seed:
        return per_seed[LEGACY_SEED]
    return _mean(per_seed.values())


def _mean(values) -> float:
    # left to right, as the readers' numpy / Python means add a handful of numbers
    values = [float(v) for v in values]
    total = 0.0
    for v in values:
        total += v
    return total / len(values)
