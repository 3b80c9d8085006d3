"""The one place that imports every method and space, so their registries are complete.

Names, settings classes, cell specs and a space's genotype text form come from
methods.configs and spaces.configs without torch, so `run`, `train` and `describe` check their
flags before loading it; get_method and get_space load the modules.
"""

import importlib

from methods import configs as method_configs
from methods.base import METHODS
from nasbench_suite.errors import UsageError
from spaces import configs as space_configs
from spaces.base import SPACES

METHOD_MODULES = (
    "methods.darts", "methods.independent_gate", "methods.pr_darts",
    "methods.fair_darts", "methods.darts_minus",
    "methods.gdas", "methods.drnas", "methods.beta_darts",
)
SPACE_MODULES = ("spaces.nb201", "spaces.darts")


def _load():
    for module in METHOD_MODULES + SPACE_MODULES:
        importlib.import_module(module)


def method_names() -> list[str]:
    return sorted(method_configs.CONFIGS)


def space_names() -> list[str]:
    return sorted(space_configs.CONFIGS)


def method_config(name: str) -> type:
    """A method's settings class, torch-free."""
    if name not in method_configs.CONFIGS:
        raise UsageError(f"unknown method {name!r}; choose from {', '.join(method_names())}")
    return method_configs.CONFIGS[name]


def space_config(name: str) -> tuple[type, object]:
    """A space's settings class and the CellSpec methods see, torch-free."""
    if name not in space_configs.CONFIGS:
        raise UsageError(f"unknown search space {name!r}; choose from {', '.join(space_names())}")
    return space_configs.CONFIGS[name], space_configs.SPECS[name]


def space_info(name: str):
    """A space without its networks (name, text form, published cells), torch-free."""
    space_config(name)  # an unknown name: the same one line
    return space_configs.INFO[name]()


def get_method(name: str):
    _load()
    if name not in METHODS:
        raise UsageError(f"unknown method {name!r}; choose from {', '.join(sorted(METHODS))}")
    return METHODS[name]


def get_space(name: str):
    _load()
    if name not in SPACES:
        raise UsageError(f"unknown search space {name!r}; choose from {', '.join(sorted(SPACES))}")
    return SPACES[name]()
