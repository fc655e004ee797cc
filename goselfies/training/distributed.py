"""DistributedDataParallel under ``torchrun``: gloo on CPU, NCCL on GPUs; a no-op otherwise."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class Dist:
    enabled: bool
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def setup(cls) -> "Dist":
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls(False)
        import torch.distributed as td

        cuda = torch.cuda.is_available()
        if not td.is_initialized():
            td.init_process_group("nccl" if cuda else "gloo")
        rank = td.get_rank()
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device(f"cuda:{local}") if cuda else torch.device("cpu")
        if cuda:
            torch.cuda.set_device(device)
        return cls(True, rank, world, device)

    def wrap(self, model, find_unused: bool = False):
        """``find_unused``: some parameters get no gradient (a frozen encoder while fine-tuning)."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                                       find_unused_parameters=find_unused)

    def sampler(self, dataset, seed: int):
        from torch.utils.data.distributed import DistributedSampler

        return DistributedSampler(dataset, self.world, self.rank, shuffle=True, seed=seed)

    def close(self) -> None:
        if self.enabled:
            import torch.distributed as td

            td.barrier()
            td.destroy_process_group()
