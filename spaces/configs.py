"""Each space's own run settings, the description methods see of it and its genotype text
form, free of torch.

A space module imports its Config and spec from here, and its class extends the torch-free
one here (INFO), so that `run`, `train` and `describe` check every flag and genotype before
torch is loaded: a typo is answered at once.
"""

from __future__ import annotations

import dataclasses

from spaces import genotypes as g
from spaces import nb201_arch as arch
from spaces.base import CellSpec, SpaceError, longest_path

SPECS = {
    "nb201": CellSpec(ops=arch.OPS, edges=arch.EDGES, chain=arch.CHAIN, cell_types=("cell",)),
    "darts": CellSpec(ops=g.OPS, edges=g.EDGES, chain=g.CHAIN, cell_types=g.CELL_TYPES),
}


@dataclasses.dataclass
class NB201Config:
    init_channels: int = dataclasses.field(default=16, metadata={"help": "channels of the first stage (C)"})
    cells_per_stage: int = dataclasses.field(default=5, metadata={"help": "cells per stage (N)"})

    def validate(self):
        if self.init_channels < 1 or self.cells_per_stage < 1:
            raise SpaceError("--init-channels and --cells-per-stage must be at least 1")


@dataclasses.dataclass
class DartsConfig:
    init_channels: int = dataclasses.field(default=16, metadata={"help": "channels of the first cells (C)"})
    layers: int = dataclasses.field(default=8, metadata={"help": "cells of the search network (reductions at 1/3 and 2/3)"})

    def validate(self):
        if self.init_channels < 1 or self.layers < 1:
            raise SpaceError("--init-channels and --layers must be at least 1")


CONFIGS = {"nb201": NB201Config, "darts": DartsConfig}


class NB201Info:
    """The nb201 space without its networks: names, text form, cell statistics."""

    name = "nb201"
    spec = SPECS["nb201"]
    Config = NB201Config
    has_benchmark = True  # a derived cell is looked up in the NAS-Bench-201 table

    def parse(self, text: str) -> tuple[str, ...]:
        return arch.parse_arch(text)

    def format(self, genotype: tuple[str, ...]) -> str:
        return arch.format_arch(genotype)

    def describe(self, genotype: tuple[str, ...]) -> dict:
        """Skip count, depth and conv depth (edges on the longest 0->3 path; none removed)."""
        edges = [(s, d, op) for (s, d), op in zip(arch.EDGES, genotype) if op != "none"]
        return {
            "skip_count": {"cell": sum(op == "skip_connect" for op in genotype)},
            "depth": {"cell": longest_path(edges, [0], [3], lambda op: 1)},
            "conv_depth": {"cell": longest_path(edges, [0], [3], lambda op: int(op in arch.PARAMETRIC))},
        }


class DartsInfo:
    """The darts space without its networks: names, text form, published cells, cell statistics."""

    name = "darts"
    spec = SPECS["darts"]
    Config = DartsConfig
    known_genotypes = g.PUBLISHED  # names `train` and `describe` accept for --genotype
    evaluates_on_imagenet = True

    def parse(self, text: str) -> g.Genotype:
        return g.parse_genotype(text)

    def format(self, genotype: g.Genotype) -> str:
        return g.format_genotype(genotype)

    def describe(self, genotype: g.Genotype) -> dict:
        return g.describe(genotype)


INFO = {"nb201": NB201Info, "darts": DartsInfo}
