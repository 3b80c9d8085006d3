"""What a tuning trial maximises, chosen per space.

benchmark (spaces with a table: nb201): the NAS-Bench-201 validation accuracy of the derived
    cell (cifar10_valid_acc), also looked up after every epoch so a pruner can stop a
    hopeless trial. The table's test accuracies are kept with the trial, for the report only.
proxy (spaces without one: darts): the validation accuracy of the derived network on the
    architecture half of the training split after a short training on the weight half
    (nasbench_suite/tune/proxy.py). No per-epoch value: a pruner has nothing to go on.
"""

from __future__ import annotations

from nasbench_suite import registry

from nasbench_suite.nb201.table import load_table, resolve_table
from nasbench_suite.errors import UsageError
from nasbench_suite.search.settings import RunConfig

NAMES = ("auto", "benchmark", "proxy")


class BenchmarkObjective:
    name = "benchmark"
    metric = "cifar10_valid_acc"
    per_epoch_values = True

    def describe(self) -> dict:
        return {"objective": self.name, "metric": self.metric}

    def check(self, config: RunConfig) -> None:
        if not getattr(registry.get_space(config.space), "has_benchmark", False):
            raise UsageError(f"the {config.space} space has no benchmark table; use --objective proxy")
        if config.dataset != "cifar10":
            raise UsageError(
                f"the benchmark objective is CIFAR-10's validation accuracy; a {config.dataset} search "
                "has no validation number in the table (use --objective proxy)"
            )
        load_table(resolve_table(config.benchmark))  # a table that cannot be read fails here, not in every trial

    def per_epoch(self, row: dict) -> float | None:
        return (row.get("benchmark") or {}).get(self.metric)

    def measure(self, record: dict) -> tuple[float, dict]:
        """The objective and the table's other numbers (kept with the trial, never optimised)."""
        row = record.get("benchmark") or {}
        if row.get(self.metric) is None:
            raise UsageError(f"the table has no {self.metric} for {record['genotype']}")
        return row[self.metric], {k: v for k, v in row.items() if k not in (self.metric, "arch")}


class ProxyObjective:
    name = "proxy"
    metric = "proxy_valid_acc"
    per_epoch_values = False

    def __init__(self, epochs: int):
        if epochs < 1:
            raise UsageError(f"--proxy-epochs must be at least 1, not {epochs}")
        self.epochs = epochs

    def describe(self) -> dict:
        return {"objective": self.name, "metric": self.metric, "proxy_epochs": self.epochs}

    def check(self, config: RunConfig) -> None:
        pass

    def per_epoch(self, row: dict) -> None:
        return None

    def measure(self, record: dict) -> tuple[float, dict]:
        from nasbench_suite.tune.proxy import proxy_accuracy

        config = RunConfig(**record["config"])
        space = registry.get_space(config.space)
        value = proxy_accuracy(space, space.parse(record["genotype"]), config, self.epochs)
        return value, {"proxy_epochs": self.epochs}


def choose(name: str, space: str, proxy_epochs: int):
    """--objective auto: the benchmark where the space has a table, else the proxy."""
    if name == "auto":
        name = "benchmark" if getattr(registry.get_space(space), "has_benchmark", False) else "proxy"
    return BenchmarkObjective() if name == "benchmark" else ProxyObjective(proxy_epochs)
