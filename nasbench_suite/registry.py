"""The one place that imports every method and space, so their registries are complete."""

import importlib

from methods.base import METHODS
from nasbench_suite.errors import UsageError
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
    _load()
    return sorted(METHODS)


def space_names() -> list[str]:
    _load()
    return sorted(SPACES)


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
