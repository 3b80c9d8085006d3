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


def machine_facts(device: torch.device) -> dict:
    """What a measurement ran on, for every bench figure: the GPU, the CPU's model, the threads
    torch uses, and the torch build (its CUDA, and the CPU kernels it picked: AVX2, AVX512...)."""
    return {
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The first 'model name' of /proc/cpuinfo, else what platform knows."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
