"""The k-NN vote: a strong, training-free retrieval baseline.

For a query, the ``k`` most similar training embeddings (cosine similarity)
vote with weights ``softmax(sim / temperature)``; the answer is the neighbour
with the most weight within ``radius_km`` of it (the densest neighbour under a
great-circle disk kernel), and the density is the weighted kernel density of
the neighbours.  With the defaults (32 neighbours, temperature 0.05, 500 km)
this is the vote that issue 25 measured against LocDiffusion.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from .._validation import Interval, StrOptions
from ._base import BaseGeolocator
from .gallery import RetrievalGallery

__all__ = ["KNNVote"]

#: Default weight of the graded tail of the vote's maps: the best mean log-likelihood on the validation rows of
#: the vs_retrieval random split (0 / 0.01 / 0.03 / 0.1 / 0.3 / 0.5 / 0.7 / 0.9: -9.55 / 0.38 / 0.46 / 0.57 / 0.63 / 0.59 /
#: 0.45 / 0.06; python -m benchmarks.studies.vote_tail), calibrated 90 % regions covering 90-92 % there.
TAIL_WEIGHT = 0.3


class KNNVote(BaseGeolocator):
    """Similarity-weighted vote of the ``k`` nearest training examples.

    Parameters
    ----------
    k : int
        Neighbours that vote.
    temperature : float
        Softmax temperature on cosine similarities (> 0).
    radius_km : float
        A neighbour's support is the weight of the neighbours within this
        great-circle distance of it [km]; the answer is the best-supported one.
    field : {"kde", "shdd"}
        :meth:`predict_field`: ``"kde"`` -- von Mises-Fisher kernel density of
        the neighbours (``bandwidth_km``); ``"shdd"`` -- the field of the
        weighted mean of their SHDD vectors at degree ``L`` (the retrieval
        prior of retrieval-conditioned LocDiffusion).
    L : int
        SH degree of ``field="shdd"`` and of the tail.
    tail_weight : float
        ``field="kde"`` only: weight ``w`` of a graded tail, the ``"shdd"``
        field of the same neighbours: the map is ``(1 - w) kde + w shdd``.
        The narrow kernel density underflows a few bandwidths away from the
        neighbours, where a truth can then not be covered at any credible
        level (conformal calibration fails there); the band-limited tail
        decays smoothly instead.  0: the plain kernel density.
    batch_size : int
        Queries per similarity block.

    Attributes
    ----------
    gallery_ : RetrievalGallery
        The training embeddings and locations.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    >>> vote = KNNVote(k=3).fit(X, [48.85, 48.80, -33.9], [2.35, 2.30, 151.2])
    >>> lat, lon = vote.predict([[1.0, 0.05]])
    >>> round(float(lat[0]), 2)
    48.85
    """

    _fitted_attr = "gallery_"

    def __init__(self, *, k: int = 32, temperature: float = 0.05, radius_km: float = 500.0,
                 field: str = "kde", L: int = 23, tail_weight: float = TAIL_WEIGHT, batch_size: int = 256) -> None:
        self.k, self.temperature, self.radius_km = k, temperature, radius_km
        self.field, self.L, self.tail_weight, self.batch_size = field, L, tail_weight, batch_size

    _parameter_constraints = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "radius_km": [Interval(Real, 0, None, closed="neither")],
        "field": [StrOptions({"kde", "shdd"})],
        "L": [Interval(Integral, 1, 200, closed="both")],
        "tail_weight": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def _fit(self, X: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        self.gallery_ = RetrievalGallery(self.k, self.temperature, batch_size=self.batch_size).fit(X, lat, lon)

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sim, idx = self.gallery_.neighbours(X)
        best = self.gallery_.vote(sim, idx, float(self.radius_km))
        return self.gallery_.lat_[best].copy(), self.gallery_.lon_[best].copy()

    def predict_near(self, X: Any, cand_lat: Any, cand_lon: Any, *, radius_km: float = 200.0
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Top-1 retrieval among training rows near given candidates (see :meth:`RetrievalGallery.predict_near`)."""
        return self.gallery_.predict_near(self._check_X(X), cand_lat, cand_lon, radius_km=radius_km)

    def predict_proba(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Vote weights and gallery rows of the ``k`` neighbours: ``(weights, idx)``, each ``(n, k)``.

        Examples
        --------
        >>> vote = KNNVote(k=2).fit(np.eye(2), [0.0, 1.0], [0.0, 1.0])
        >>> w, idx = vote.predict_proba([[1.0, 1.0]])
        >>> w.sum(axis=1).round(6).tolist()
        [1.0]
        """
        sim, idx = self.gallery_.neighbours(self._check_X(X))
        return self.gallery_.weights(sim), idx

    def predict_field(self, X: Any, nside: int = 64, *, bandwidth_km: float | None = None) -> Any:
        """Batch :class:`~shdd_geo.fields.SphericalField`: the weighted density of the neighbours.

        Parameters
        ----------
        X : array_like
            ``(n, d)`` query embeddings.
        nside : int
            HEALPix resolution.
        bandwidth_km : float, optional
            Kernel bandwidth of ``field="kde"`` [km]; default ``max(100 km, pixel size)``.

        Examples
        --------
        >>> vote = KNNVote(k=2).fit(np.eye(2), [0.0, 40.0], [0.0, 40.0])
        >>> f = vote.predict_field([[1.0, 0.0]], nside=16)
        >>> f.is_batch, round(float(f.integral()[0]), 6)
        (True, 1.0)
        """
        from ..fields import SphericalField

        Q = self._check_X(X)
        if self.field == "shdd" or self.tail_weight > 0:
            out = SphericalField.from_shdd(self.gallery_.prior(Q, int(self.L)).astype(np.float64), nside=nside)
            tail = SphericalField(out.log_density, kind="log_density", attrs={"source": "baseline:knn_vote"})
            if self.field == "shdd":
                return tail
        from ._fields import points_field

        w, idx = self.predict_proba(Q)
        safe = np.where(idx >= 0, idx, 0)
        kde = points_field(self.gallery_.lat_[safe], self.gallery_.lon_[safe], w, nside, bandwidth_km)
        return kde.mixture(tail, 1.0 - float(self.tail_weight)) if self.tail_weight > 0 else kde
