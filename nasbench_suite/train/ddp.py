"""One process or several (torchrun): which rank this is, its device, and the few collectives
training needs. Under torchrun (WORLD_SIZE > 1) the process group starts from the
environment: NCCL on CUDA, gloo on the CPU."""

from __future__ import annotations

import dataclasses
import os

import torch
import torch.distributed as dist

from nasbench_suite.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Processes:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        """The process that writes files and prints."""
        return self.rank == 0

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The element-wise sum over every process."""
        if self.world > 1:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def sync_buffers(self, module: torch.nn.Module) -> None:
        """Every process takes the main process's BatchNorm statistics (each ran its own batches)."""
        if self.world > 1:
            for buffer in module.buffers():
                dist.broadcast(buffer, src=0)

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def start(device_name: str) -> Processes:
    from nasbench_suite.devices import resolve_device

    device = resolve_device(device_name)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Processes(0, 1, device)
    if device.type == "cuda":
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if local_rank >= torch.cuda.device_count():
            raise UsageError(f"process {local_rank} has no GPU: only {torch.cuda.device_count()} are visible")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Processes(dist.get_rank(), dist.get_world_size(), device)


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
