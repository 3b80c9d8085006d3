"""Each space's own run settings and the description methods see of it, free of torch.

A space module imports its Config and spec from here, so that `run` checks every flag
before torch is loaded: a typo is answered at once.
"""

from __future__ import annotations

import dataclasses

from spaces import genotypes as g
from spaces import nb201_arch as arch
from spaces.base import CellSpec, SpaceError

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
