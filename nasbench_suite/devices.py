"""Which device a command runs on, and how records name it."""

from __future__ import annotations

import platform

import torch

from nasbench_suite.errors import UsageError


def resolve_device(name: str) -> torch.device:
    """--device auto|cpu|cuda; asking for CUDA where there is none is one line, not a crash later."""
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for, but no CUDA device is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def device_name(device: torch.device) -> str:
    """e.g. 'cuda (NVIDIA H200)' or 'cpu (x86_64, 2 threads)'."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"
