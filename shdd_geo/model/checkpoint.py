"""Checkpoints: one safetensors file holding weights, optimizer, counters and RNG states.

A checkpoint is a single ``.safetensors`` file (no pickle, so loading an
untrusted file cannot run code):

* tensors ``net.<name>`` -- the network weights;
* tensors ``optim.<param index>.<key>`` -- AdamW moments and step counts;
* tensors ``rng.<name>`` -- torch generator states (CPU/CUDA, the global ones
  used by dropout and the explicit ones used for noise, timesteps and anchors);
* the header metadata ``shdd_geo.checksum`` -- a SHA-256 of the tensors,
  verified on reading (files written before it existed load without one);
* the header metadata ``shdd_geo`` -- JSON with the format version, the
  estimator's hyper-parameters, its fitted attributes, the optimizer's
  param-groups, the LR-scheduler state, the step/epoch counters and the
  NumPy generator state of the data order.

Files are written atomically: to a temporary file in the same folder, flushed
and fsynced, then moved over the target with :func:`os.replace`, so a killed
run leaves either the previous checkpoint or the new one, never a torn file.

Examples
--------
>>> import tempfile, os, torch
>>> path = os.path.join(tempfile.mkdtemp(), "c.safetensors")
>>> _ = write_checkpoint(path, {"hello": 1}, {"net.w": torch.ones(2)})
>>> meta, tensors = read_checkpoint(path)
>>> meta["hello"], tensors["net.w"].tolist()
(1, [1.0, 1.0])
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from .._atomic import atomic_write

__all__ = [
    "FORMAT",
    "flatten_optimizer",
    "read_checkpoint",
    "tensor_checksum",
    "unflatten_optimizer",
    "write_checkpoint",
]

#: Format tag written into every checkpoint header.
FORMAT = "shdd_geo.locdiffusion/1"
_META_KEY = "shdd_geo"
_SUM_KEY = "shdd_geo.checksum"


def write_checkpoint(path: str | os.PathLike, meta: dict, tensors: dict[str, torch.Tensor]) -> Path:
    """Write ``tensors`` and JSON ``meta`` to ``path`` atomically; return the path.

    Examples
    --------
    >>> import tempfile, pathlib, torch
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ck.safetensors"
    >>> write_checkpoint(path, {"step": 3}, {"w": torch.ones(2)}).name
    'ck.safetensors'
    >>> meta, tensors = read_checkpoint(path)
    >>> meta["step"], tensors["w"].tolist()
    (3, [1.0, 1.0])
    """
    from safetensors.torch import save

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"`path` must be a file path, got the directory {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, **meta}
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    blob = save(tensors, metadata={_META_KEY: json.dumps(meta), _SUM_KEY: tensor_checksum(tensors)})
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(blob))
    return path


def read_checkpoint(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read a checkpoint; ``ValueError`` for a missing, corrupt or foreign file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> _ = bad.write_text("not a checkpoint")
    >>> read_checkpoint(bad)
    Traceback (most recent call last):
    ...
    ValueError: ...notes.txt' is not a readable shdd_geo checkpoint (...)

    The round trip is shown under :func:`write_checkpoint`.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"`path`={str(path)!r} is a directory; pass the checkpoint file inside it")
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at `path`={str(path)!r}")
    data = path.read_bytes()
    try:
        tensors = load(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + header_len])
        meta = json.loads(header["__metadata__"][_META_KEY])
    except (SafetensorError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{str(path)!r} is not a readable shdd_geo checkpoint ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(f"{str(path)!r} has format {got!r}; expected {FORMAT!r}")
    stored = header["__metadata__"].get(_SUM_KEY)
    if stored is not None and stored != tensor_checksum(tensors):  # files from before 0.x carry none
        raise ValueError(f"{str(path)!r} is corrupt: its tensors do not match the checksum in its header "
                         "(damaged on disk or edited); restore it or write it again")
    return meta, tensors


def tensor_checksum(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of ``tensors`` (sorted by name).

    Stored in the header of every file :func:`write_checkpoint` writes and
    checked by :func:`read_checkpoint`, so damaged tensor bytes are found.

    Examples
    --------
    >>> import torch
    >>> a = tensor_checksum({"w": torch.zeros(2)})
    >>> a == tensor_checksum({"w": torch.zeros(2)}), a == tensor_checksum({"w": torch.ones(2)})
    (True, False)
    """
    import hashlib

    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(memoryview(t.reshape(-1).view(torch.uint8).numpy()))
    return "sha256:" + h.hexdigest()


def flatten_optimizer(state: dict) -> tuple[dict, dict[str, torch.Tensor]]:
    """Split an optimizer ``state_dict`` into JSON-able meta and named tensors.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(2, 1)
    >>> opt = torch.optim.AdamW(net.parameters())
    >>> net(torch.ones(1, 2)).sum().backward()
    >>> opt.step()
    >>> meta, tensors = flatten_optimizer(opt.state_dict())
    >>> sorted(tensors)
    ['optim.0.exp_avg', 'optim.0.exp_avg_sq', 'optim.0.step', 'optim.1.exp_avg', 'optim.1.exp_avg_sq', 'optim.1.step']
    >>> back = unflatten_optimizer(meta, tensors)
    >>> torch.equal(back["state"][1]["exp_avg"], opt.state_dict()["state"][1]["exp_avg"])
    True
    """
    tensors, scalars = {}, {}
    for idx, per_param in state["state"].items():
        for key, val in per_param.items():
            if torch.is_tensor(val):
                tensors[f"optim.{idx}.{key}"] = val
            else:
                scalars[f"{idx}.{key}"] = val
    return {"param_groups": state["param_groups"], "scalars": scalars}, tensors


def unflatten_optimizer(meta: dict, tensors: dict[str, torch.Tensor]) -> dict:
    """Inverse of :func:`flatten_optimizer`.

    Examples
    --------
    >>> import torch
    >>> state = {"state": {0: {"step": torch.tensor(1.0)}}, "param_groups": [{"lr": 0.1, "params": [0]}]}
    >>> unflatten_optimizer(*flatten_optimizer(state))["param_groups"][0]["lr"]
    0.1
    """
    state: dict[int, dict] = {}
    for name, val in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = val
    for name, val in meta.get("scalars", {}).items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = val
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def numpy_rng_state(rng: np.random.Generator) -> dict:
    """JSON-able state of a NumPy generator."""
    return rng.bit_generator.state


def numpy_rng_from_state(state: dict) -> np.random.Generator:
    """A NumPy generator restored from :func:`numpy_rng_state`."""
    bitgen = getattr(np.random, state["bit_generator"])()
    bitgen.state = state
    return np.random.Generator(bitgen)
