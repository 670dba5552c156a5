"""Multi-process runs through Hugging Face Accelerate (DDP; FSDP/DeepSpeed via its config).

``unlearn-gui run`` started by ``accelerate launch`` sees WORLD_SIZE > 1 and builds an
``Accelerator``: the model and optimizer are prepared by it (gradient synchronisation is
Accelerate's, not ours), each rank takes a disjoint slice of every global batch, and only the
main process writes files and prints. A single process uses no Accelerator at all, so the GUI's
repeated in-process runs never touch Accelerate's process-global state.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


# launchers' names for the number of processes: torchrun, then MPI (Intel MPI/MPICH, Open MPI, MVAPICH)
WORLD_SIZE_VARS = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def world_size_from_env() -> int:
    for name in WORLD_SIZE_VARS:
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return 1


@dataclass
class Dist:
    world: int = 1
    rank: int = 0
    accelerator: object = None

    @classmethod
    def from_env(cls, device: str = "auto") -> "Dist":
        """An Accelerator when launched with several processes: by torchrun (``WORLD_SIZE``; what
        ``accelerate launch --multi_gpu`` uses) or by MPI (``accelerate launch --cpu
        --num_processes N --mpirun_hostfile FILE`` runs ``mpirun``; its ranks see only the MPI
        variables). ``device`` "cpu" (or no CUDA) makes it a gloo MULTI_CPU job. Without a hostfile,
        accelerate 1.x starts one process for ``--cpu`` whatever ``--num_processes`` says; the
        torchrun path then gives a CPU job: ``--multi_gpu --num_processes 2 ... --device cpu``."""
        if world_size_from_env() <= 1:
            return cls()
        import torch
        from accelerate import Accelerator

        acc = Accelerator(cpu=device == "cpu" or not torch.cuda.is_available())
        return cls(acc.num_processes, acc.process_index, acc)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def device(self) -> str | None:
        return None if self.accelerator is None else str(self.accelerator.device)

    def shard(self, idx: list[int]) -> list[int]:
        """This rank's part of a global batch (the sampler is seeded alike on every rank)."""
        return idx[self.rank::self.world]

    def prepare(self, model, optimizer):
        """Returns (module for training forwards, optimizer)."""
        if self.accelerator is None:
            return model, optimizer
        return self.accelerator.prepare(model, optimizer)

    def backward(self, loss) -> None:
        if self.accelerator is None:
            loss.backward()
        else:
            self.accelerator.backward(loss)

    def clip(self, params, max_norm: float):
        import torch

        limit = max_norm if max_norm > 0 else float("inf")
        if self.accelerator is None:
            return torch.nn.utils.clip_grad_norm_(params, limit)
        return self.accelerator.clip_grad_norm_(params, limit)

    def mean(self, value):
        """Average a logged scalar tensor over ranks so the main process logs the global loss."""
        if self.accelerator is None:
            return value
        return self.accelerator.reduce(value.detach().clone(), reduction="mean")

    def wait(self) -> None:
        if self.accelerator is not None:
            self.accelerator.wait_for_everyone()
