"""Direct regression of a location as a unit vector on the sphere.

An MLP maps the embedding to ℝ³; the output is normalised to a unit vector
and compared with the true location's unit vector.  Regression to a single
point averages over ambiguous inputs (a name shared by Paris, France and
Paris, Texas lands in the Atlantic), which is exactly the failure a density
avoids.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import StrOptions, check_bool
from ..coords import latlon_to_xyz, xyz_to_latlon
from ._base import (
    BaseGeolocator,
    TRAINING_CONSTRAINTS,
    check_hidden,
    mlp,
    seed_of,
    torch_seeded,
)
from ._torchfit import forward_numpy, train_supervised

__all__ = ["UnitVectorRegression"]

_LOSSES = ("angle", "cosine", "chord")


def _loss(kind: str):
    import torch
    import torch.nn.functional as F

    def loss(out: Any, target: Any) -> Any:
        u = F.normalize(out, dim=-1)
        cos = (u * target).sum(-1)
        if kind == "cosine":
            return (1.0 - cos).mean()
        if kind == "chord":
            return ((u - target) ** 2).sum(-1).mean()
        chord = torch.sqrt(((u - target) ** 2).sum(-1) + 1e-12)
        return (2.0 * torch.asin(torch.clamp(0.5 * chord, max=1.0))).mean()

    return loss


class UnitVectorRegression(BaseGeolocator):
    """MLP regression to unit vectors (normalised 3-D output).

    Parameters
    ----------
    loss : {"angle", "cosine", "chord"}
        The great-circle angle γ between prediction and truth (the default: it
        minimises the mean error in km and keeps a useful gradient near the
        answer), ``1 - cos γ``, or the squared chord ``|u - v|²`` (=
        ``2 - 2 cos γ``); the last two flatten out (∝ γ²) close to the answer
        and converge slowly to fine accuracy.
    hidden : tuple of int
        Hidden layer widths.
    epochs, batch_size, lr, weight_decay, dropout, random_state, device, verbose
        Training settings (AdamW); ``random_state`` seeds init and shuffling
        without touching the global RNG.

    Attributes
    ----------
    net_ : torch.nn.Module
        The fitted MLP.
    loss_history_ : list of float
        Mean training loss per epoch.

    Examples
    --------
    >>> X = np.repeat(np.eye(3, dtype=np.float32), 8, axis=0)
    >>> lat, lon = np.repeat([[-30.0, 10.0, 50.0], [-60.0, 20.0, 120.0]], 8, axis=1)
    >>> m = UnitVectorRegression(hidden=(32,), epochs=60, lr=1e-2, random_state=0).fit(X, lat, lon)
    >>> bool(np.all(np.abs(m.predict(np.eye(3, dtype=np.float32))[0] - [-30, 10, 50]) < 2))
    True
    """

    _fitted_attr = "net_"

    def __init__(
        self,
        *,
        loss: str = "angle",
        hidden: tuple[int, ...] = (512, 512),
        epochs: int = 20,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        dropout: float = 0.1,
        random_state: int | None = 0,
        device: str = "cpu",
        verbose: bool = False,
    ) -> None:
        self.loss = loss
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    _parameter_constraints = {**TRAINING_CONSTRAINTS, "loss": [StrOptions(set(_LOSSES))]}

    def _fit(self, X: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        import torch

        target = torch.from_numpy(latlon_to_xyz(lat, lon).astype(np.float32))
        with torch_seeded(seed_of(self.random_state)) as gen:
            net = mlp(X.shape[1], check_hidden(self.hidden), 3, float(self.dropout))
            self.loss_history_ = train_supervised(net, X, target, _loss(self.loss), self, gen)
        self.net_ = net
        self._fit_kappa(X, lat, lon)

    def calibrate(self, X: Any, lat: Any, lon: Any, *, conformal: bool = True, **field_kwargs: Any
                  ) -> UnitVectorRegression:
        """Set ``kappa_``, the vMF concentration of :meth:`predict_field`, from held-out data; then conformal levels.

        ``fit`` sets ``kappa_`` on the training data (optimistic: too peaked);
        this sets it again from held-out rows: the maximum-likelihood
        concentration given the mean cosine between the predicted and the
        true unit vectors.  With ``conformal=True`` (the default) the same
        rows then fit the conformal credible levels of the maps at that
        ``kappa_`` (see :meth:`BaseGeolocator.calibrate`; ``field_kwargs``
        such as ``nside`` go to :meth:`predict_field`); ``conformal=False``
        sets ``kappa_`` only (the behaviour before 0.1).

        Examples
        --------
        >>> m = UnitVectorRegression(hidden=(4,), epochs=1).fit(np.eye(2), [0.0, 9.0], [0.0, 9.0])
        >>> m.calibrate(np.eye(2), [0.0, 9.0], [0.0, 9.0], nside=8).kappa_ > 0, m.conformal_.n
        (True, 2)
        """
        check_bool(conformal, "conformal")
        self._fit_kappa(X, lat, lon)
        self.conformal_ = None
        return super().calibrate(X, lat, lon, **field_kwargs) if conformal else self

    def _fit_kappa(self, X: Any, lat: Any, lon: Any) -> None:
        from ..coords import as_latlon
        from ._fields import kappa_from_mean_cos

        xyz = self.predict_xyz(X)
        lat_a, lon_a = as_latlon(lat, lon)
        if lat_a.shape[0] != xyz.shape[0]:
            raise ValueError(f"`X` has {xyz.shape[0]} rows but `lat`/`lon` have {lat_a.shape[0]}")
        self.mean_cos_ = float(np.mean(np.sum(xyz * latlon_to_xyz(lat_a, lon_a), axis=1)))
        self.kappa_ = kappa_from_mean_cos(self.mean_cos_)

    def predict_field(self, X: Any, nside: int = 64) -> Any:
        """Batch :class:`~shdd_geo.fields.SphericalField`: a von Mises-Fisher density per row.

        Centred on the predicted unit vector with concentration ``kappa_``
        (see :meth:`calibrate`): unimodal by construction.

        Examples
        --------
        >>> m = UnitVectorRegression(hidden=(4,), epochs=1).fit(np.eye(2), [0.0, 9.0], [0.0, 9.0])
        >>> round(float(m.predict_field(np.eye(2), nside=8).integral()[0]), 6)
        1.0
        """
        from ._fields import vmf_field

        return vmf_field(self.predict_xyz(X), self.kappa_, nside)

    def predict_xyz(self, X: Any) -> np.ndarray:
        """Predicted unit vectors ``(n, 3)`` float64 (normalised in float64)."""
        X = self._check_X(X)
        z = forward_numpy(self.net_, X).astype(np.float64)
        norm = np.linalg.norm(z, axis=1, keepdims=True)
        return z / np.where(norm > 0, norm, 1.0)

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return xyz_to_latlon(self.predict_xyz(X))
