"""Multi-process training with ``torchrun`` and DistributedDataParallel.

:meth:`LocDiffusion.fit <shdd_geo.model.LocDiffusion.fit>` calls
:func:`setup`: when the environment says ``WORLD_SIZE > 1`` (``torchrun``
sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``) it joins the process group -- NCCL when CUDA is available,
gloo on CPU -- and wraps the network in ``DistributedDataParallel``.  Each
global mini-batch is drawn identically on every rank (same seeds) and split
into equal contiguous slices, so the gradient averaged by DDP equals the
1-process gradient of the same global batch (up to floating-point reduction
order).  Only rank 0 shows progress, runs validation and writes checkpoints.

Launch, e.g. on 4 GPUs of one machine::

    torchrun --standalone --nproc_per_node 4 train.py

where ``train.py`` builds the data and calls ``LocDiffusion(...).fit(...)``
then ``model.save(...)`` on rank 0 only (``if int(os.environ.get("RANK", 0)) == 0:``):
``save`` itself does not check the rank.  Dropout masks come from the same
seeded stream on every rank, so each rank's rows reuse the masks of the
matching rows on rank 0; training is still correct, and with ``dropout=0`` a
multi-process run matches the 1-process run up to reduction order.

Examples
--------
>>> ctx = setup()          # a plain single process
>>> ctx.world_size, ctx.rank
(1, 0)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

__all__ = ["DistContext", "local_slice", "setup", "teardown", "wrap"]


@dataclass(frozen=True)
class DistContext:
    """Where this process sits: ``rank`` of ``world_size``, its ``device``, and the backend.

    Examples
    --------
    >>> ctx = DistContext(rank=1, world_size=2)
    >>> ctx.is_main, ctx.distributed
    (False, True)
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the process that logs and writes)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable `{name}` must be an integer, got {value!r}") from None


def setup(device: str | torch.device | None = None) -> DistContext:
    """Join the process group described by the ``torchrun`` environment, if any.

    Parameters
    ----------
    device : str or torch.device, optional
        Requested device.  Default: ``cuda:LOCAL_RANK`` when CUDA is available,
        else CPU.

    Returns
    -------
    DistContext
        A 1-process context when ``WORLD_SIZE`` is unset or 1.

    Examples
    --------
    Outside ``torchrun`` (no ``WORLD_SIZE`` in the environment) there is one process:

    >>> ctx = setup("cpu")
    >>> ctx.rank, ctx.world_size, ctx.device.type
    (0, 1, 'cpu')
    >>> teardown(ctx)              # nothing to leave
    """
    import torch.distributed as dist

    world = _env_int("WORLD_SIZE", 1)
    rank, local = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if device is None:
        device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local)
    if world <= 1:
        return DistContext(device=dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    owns = False
    if not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
        owns = True
    return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local,
                       device=dev, backend=dist.get_backend(), owns_group=owns)


def wrap(net: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    """``DistributedDataParallel(net)`` in a distributed context, ``net`` otherwise.

    Examples
    --------
    >>> net = torch.nn.Linear(2, 2)
    >>> wrap(net, DistContext()) is net          # one process: unchanged
    True
    """
    if not ctx.distributed:
        return net
    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(net, device_ids=ids)


def local_slice(n: int, ctx: DistContext) -> slice:
    """This rank's contiguous slice of a global batch of ``n`` rows (equal sizes; ``n % world == 0``).

    Examples
    --------
    >>> local_slice(8, DistContext(rank=1, world_size=2))
    slice(4, 8, None)
    >>> local_slice(7, DistContext(rank=0, world_size=2))
    Traceback (most recent call last):
    ...
    ValueError: a global batch of 7 rows cannot be split evenly over 2 processes
    """
    if n % ctx.world_size:
        raise ValueError(f"a global batch of {n} rows cannot be split evenly over {ctx.world_size} processes")
    k = n // ctx.world_size
    return slice(ctx.rank * k, (ctx.rank + 1) * k)


def barrier(ctx: DistContext) -> None:
    """Wait for every rank (no-op in a single process)."""
    if ctx.distributed:
        import torch.distributed as dist

        dist.barrier()


def teardown(ctx: DistContext) -> None:
    """Leave the process group if :func:`setup` created it.

    Examples
    --------
    >>> teardown(DistContext())    # a group this process did not create is left alone
    """
    if ctx.owns_group:
        import torch.distributed as dist

        # Leave together: a rank that tears its gloo pairs down while a peer is still
        # using them can abort the peer ("terminate called without an active exception").
        dist.barrier()
        dist.destroy_process_group()
