"""The method contract: what the search harness calls, when, and what it must return.

A method turns its architecture parameters α into per-edge operation weights, adds its
own term to the architecture loss, and ranks operations for the genotype. Everything
else (data, optimisers, the bilevel loop, logging, records) is the harness's.

A method is its module plus its settings dataclass, `Config`, which lives in
methods/configs.py (listed in its CONFIGS), free of torch: `run` checks every flag against
it before torch loads, so a typo is answered at once.

Lifecycle, in the order the harness calls it:

    method = Method(spec, config)      # α: one (edges x ops) tensor per cell type, 1e-3·N(0,1)
    for epoch in range(epochs):
        method.start_epoch(epoch, epochs)          # annealing (e.g. the gate temperature)
        for each batch:
            mix = method.mix()                     # {cell_type: EdgeMix} for the α step
            loss = CE(supernet(x_val, mix)) + method.regularizer(mix)[0]; α steps
            mix = method.mix()                     # a fresh one for the weight step
            CE(supernet(x_train, mix)); w steps
        method.op_weights()                        # {cell_type: (edges x ops)}: what the
                                                   # genotype ranks and the log records
        method.log_state()                         # extra per-epoch values (τ, probabilities)

`regularizer` returns the loss term (a tensor, 0 when the method has none) and a dict of
its named pieces as detached 0-d tensors (the harness averages them per epoch without
waiting on the device every step). Methods hold no state the harness must
checkpoint besides α (`alpha`, saved with the model) and what `start_epoch` recomputes.

A method whose mix sets `EdgeMix.aux_skip` (DARTS-'s auxiliary skip) says so with
`aux_skip = True`: the harness then builds the supernet with aux_skip=True, which adds the
skip's own weights on stride-2 edges. They are network weights (the SGD step trains them, the
checkpoint saves them, a resume rebuilds them from the method), and no other method's
supernet holds them, so the others' runs stay as they were, parameter for parameter.

A sparse mix may set `EdgeMix.offsets`, one 0-d value per edge added to its output. GDAS
needs it: its authors' NAS-Bench-201 cell adds the zero-valued hard weights of the operations
it did not sample as scalars, so their α get a gradient without those operations running;
no weight or column of α can carry that term (a weight multiplies an operation's output).

This module stays free of torch at import time (the CLI imports MethodError everywhere).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import torch

    from spaces.base import CellSpec, EdgeMix


class MethodError(ValueError):
    """A method setting that cannot work (negative weight, k above the operation count...)."""


@dataclasses.dataclass
class MethodConfig:
    """Base of each method's own settings. Field metadata: help text, and `flag` where the
    flag is not the field name with dashes (e.g. --lambda, a Python keyword).

    `shift_invariant`: the method's operation weights ignore a shift of an edge's α (a
    softmax does), so how far α moved is measured after centring each edge's change."""

    shift_invariant: ClassVar[bool] = False

    def validate(self, spec: "CellSpec") -> None:
        """Raise MethodError for settings that cannot work on this space."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and value != value:
                raise MethodError(f"{flag_name(f)} is NaN")


def flag_name(field: dataclasses.Field) -> str:
    return field.metadata.get("flag", "--" + field.name.replace("_", "-"))


class Method:
    """Base class; see the module docstring for the contract."""

    name: ClassVar[str]
    Config: ClassVar[type[MethodConfig]]
    # True where the α step needs the unrolled (second-order) gradient of DARTS.
    unrolled: bool = False
    # True where mix() sets EdgeMix.aux_skip: the supernet must hold the auxiliary skip.
    aux_skip: ClassVar[bool] = False
    # What op_weights() holds, said in the record.
    weights_meaning: ClassVar[str]

    def __init__(self, spec: "CellSpec", config: MethodConfig):
        import torch

        config.validate(spec)
        self.spec, self.config = spec, config
        self.alpha = torch.nn.ParameterDict(
            {t: torch.nn.Parameter(1e-3 * torch.randn(spec.num_edges, spec.num_ops)) for t in spec.cell_types}
        )

    def start_epoch(self, epoch: int, epochs: int) -> None:
        pass

    def mix(self) -> dict[str, "EdgeMix"]:
        raise NotImplementedError

    def regularizer(self, mix: dict[str, "EdgeMix"]) -> tuple["torch.Tensor", dict[str, float]]:
        raise NotImplementedError

    def op_weights(self) -> dict[str, "torch.Tensor"]:
        raise NotImplementedError

    def log_state(self) -> dict:
        """Method-specific values for the per-epoch log and the record (JSON-able)."""
        return {}


METHODS: dict[str, type[Method]] = {}


def register_method(cls):
    """Class decorator: make a method available under its `name`; a clash is a bug."""
    if cls.name in METHODS:
        raise ValueError(f"two methods are named {cls.name!r}")
    METHODS[cls.name] = cls
    return cls
