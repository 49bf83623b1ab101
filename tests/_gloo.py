"""The one set-up of the two-process tests' workers: a gloo process group over a file store,
one torch thread per process (the machine is shared), torn down however the worker ends."""

from __future__ import annotations

import contextlib

import torch
import torch.distributed as dist


@contextlib.contextmanager
def gloo_group(rank: int, world_size: int, init_file: str):
    """Join the gloo group of ``world_size`` processes rendezvousing at ``init_file``."""
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size
    )
    try:
        yield
    finally:
        dist.destroy_process_group()
