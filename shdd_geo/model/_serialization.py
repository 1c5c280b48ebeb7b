"""LocDiffusion model files: the estimator's state to and from one checkpoint file.

A model file is a checkpoint (:mod:`shdd_geo.model.checkpoint`: safetensors
tensors and a JSON header).  This module decides what goes in it:

* tensors ``net.*`` -- the CS-UNet weights (float16 with ``half=True``);
* tensors ``retrieval.*`` -- the retrieval gallery of a retrieval-conditioned
  model (float16 embeddings, float32 locations);
* the tensor ``prior.log_density`` -- the location prior (float32, RING);
* the header ``params`` (hyper-parameters), ``n_features_in``,
  ``temperature``, ``prior_weight``, ``conformal``, ``seeds`` and ``history``;
  a training checkpoint adds ``train`` and the trainer's tensors.

Parameters added after models were first saved get the value older files
imply (``ADDED_LATER``).  Private to :mod:`shdd_geo.model`: users call
``LocDiffusion.save`` and ``LocDiffusion.load``.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import validate_params
from .checkpoint import read_checkpoint
from .training import nonfinite_tensors

__all__ = ["ADDED_LATER", "check_resumable", "fitted_attributes", "jsonable", "model_state", "net_weights",
           "read_model", "stored_params"]

_NET_TENSOR = "net."
_PRIOR_TENSOR = "prior.log_density"
_RETRIEVAL_TENSOR = "retrieval."
#: parameters added after models were first saved, with the value older files imply
ADDED_LATER = {"prediction": "sample", "timestep_power": 1.0, "retrieval_k": 0, "retrieval_temperature": 0.05}


def jsonable(params: dict) -> dict:
    """``params`` with tuples as lists (as JSON gives them back)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


def model_state(est, *, train: tuple[dict, dict] | None = None, half: bool = False) -> tuple[dict, dict]:
    """The header and tensors of a fitted estimator's model file (``train``: the trainer's state)."""
    tensors = {_NET_TENSOR + k: (v.half() if half and v.is_floating_point() else v)
               for k, v in est.net_.state_dict().items()}
    meta = {"params": jsonable(est.get_params()), "n_features_in": est.n_features_in_,
            "temperature": float(getattr(est, "temperature_", 1.0)),
            "prior_weight": float(getattr(est, "prior_weight_", 0.0)),
            "seeds": est.seeds_, "history": est.history_}
    if getattr(est, "conformal_", None) is not None:
        meta["conformal"] = est.conformal_.to_dict()
    if getattr(est, "retrieval_", None) is not None:  # the gallery: float16 embeddings, float32 locations
        tensors.update({_RETRIEVAL_TENSOR + k: torch.from_numpy(v) for k, v in est.retrieval_.to_arrays().items()})
    prior = getattr(est, "prior_", None)
    if prior is not None:  # float32 log-density, RING order, always full precision
        tensors[_PRIOR_TENSOR] = torch.from_numpy(prior.reorder(False).log_density.astype(np.float32))
    if train is not None:  # the trainer's optimiser, schedule, counters and generator states
        meta["train"], train_tensors = train
        tensors.update(train_tensors)
    return meta, tensors


def net_weights(tensors: dict) -> dict:
    """The network's state dict from a model file's tensors."""
    return {k[len(_NET_TENSOR):]: v for k, v in tensors.items() if k.startswith(_NET_TENSOR)}


def fitted_attributes(meta: dict, tensors: dict, *, retrieval_k: int, retrieval_temperature: float) -> dict:
    """The fitted attributes (``seeds_``, ``history_``, ``temperature_``...) stored in a model file.

    ``conformal_``, ``retrieval_`` and ``prior_`` only where the file holds them.
    """
    out = {"seeds_": meta["seeds"], "history_": list(meta.get("history", [])),
           "temperature_": float(meta.get("temperature", 1.0)),
           "prior_weight_": float(meta.get("prior_weight", 0.0))}
    if meta.get("conformal") is not None:
        from ..calibration import ConformalLevels

        out["conformal_"] = ConformalLevels.from_dict(meta["conformal"])
    if retrieval_k:
        from ..baselines.gallery import RetrievalGallery

        arrays = {k[len(_RETRIEVAL_TENSOR):]: v.numpy() for k, v in tensors.items()
                  if k.startswith(_RETRIEVAL_TENSOR)}
        if set(arrays) != {"X", "lat", "lon"}:
            raise ValueError("the model file has `retrieval_k` > 0 but no retrieval gallery tensors; it is damaged")
        out["retrieval_"] = RetrievalGallery.from_arrays(arrays, k=int(retrieval_k),
                                                         temperature=float(retrieval_temperature))
    if _PRIOR_TENSOR in tensors:
        from ..fields import SphericalField

        out["prior_"] = SphericalField(tensors[_PRIOR_TENSOR].double().numpy(), kind="log_density")
    return out


def stored_params(meta: dict, path, names: list[str]) -> dict:
    """Hyper-parameters from a model file's header, with a clear error for a damaged header."""
    params = meta.get("params")
    if not isinstance(params, dict):
        raise ValueError(f"the model file {str(path)!r} has no hyper-parameters in its header (`params`)")
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ValueError(f"the model file {str(path)!r} names unknown hyper-parameters {unknown}; "
                         "it was written by another version of shdd_geo or edited")
    params = dict(params)
    if isinstance(params.get("betas"), list):
        params["betas"] = tuple(params["betas"])
    return params


def read_model(path, names: list[str], constraints: dict, device=None) -> tuple[dict, dict, dict]:
    """``(params, meta, tensors)`` of a model file, its parameters checked against ``constraints``.

    ``names`` are the estimator's parameter names; ``device``, if given,
    replaces the stored one.  Raises ``ValueError`` for a damaged header or
    NaN/inf weights.
    """
    meta, tensors = read_checkpoint(path)
    params = {**ADDED_LATER, **stored_params(meta, path, names)}  # older files: implied values
    if device is not None:
        params["device"] = device
    validate_params(params, constraints, caller=f"the model file {str(path)!r}")
    bad = nonfinite_tensors({k: v for k, v in tensors.items() if k.startswith(_NET_TENSOR)})
    if bad:
        raise ValueError(f"the model file {str(path)!r} holds NaN/inf weights ({', '.join(bad[:3])}); "
                         "it is corrupt or was saved from a diverged training run")
    return params, meta, tensors


def check_resumable(meta: dict, params: dict, resume) -> None:
    """Raise unless the checkpoint ``resume`` (header ``meta``) continues a run with these ``params``."""
    stored = {**ADDED_LATER, **meta["params"]}
    diff = {k: (stored.get(k), v) for k, v in jsonable(params).items()
            if k not in ("verbose", "device") and stored.get(k) != v}
    if diff:
        raise ValueError(f"`resume` checkpoint was made with other hyper-parameters "
                         f"(name: (stored, now)) {diff}; use LocDiffusion(**stored params)")
    if "train" not in meta:
        raise ValueError(f"`resume`={str(resume)!r} holds no training state (written by `save`?)")
