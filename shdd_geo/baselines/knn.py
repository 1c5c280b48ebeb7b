"""k-nearest-neighbour retrieval from a gallery of embedded, located examples.

The GeoCLIP-style inductive bias in its simplest form: a query's location is
read off the training examples whose embeddings are most similar (cosine
similarity).  It can only ever answer with gallery locations.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from ..coords import km_to_rad, latlon_to_xyz
from ..metrics import geographic_centre
from .._validation import Interval, StrOptions
from ._base import BaseGeolocator, check_int
from .gallery import top_k, unit_rows

__all__ = ["KNNRetrieval"]

_AGGREGATES = ("top1", "centre", "mode")


class KNNRetrieval(BaseGeolocator):
    """Cosine-similarity k-nearest-neighbour geolocation.

    Parameters
    ----------
    k : int
        Neighbours used by ``"centre"``/``"mode"`` and by :meth:`predict_proba`.
    aggregate : {"top1", "centre", "mode"}
        ``"top1"``: location of the most similar gallery item.  ``"centre"``:
        geographic centre of the top-k weighted by ``softmax(sim / temperature)``.
        ``"mode"``: the top-k candidate with the most weight within
        ``mode_radius_km``, refined to the weighted centre of that cluster.
    temperature : float
        Softmax temperature on cosine similarities (> 0).
    mode_radius_km : float
        Cluster radius of ``"mode"`` [km].
    batch_size : int
        Queries per similarity block (memory: ``batch_size * n_gallery`` floats).

    Attributes
    ----------
    gallery_ : numpy.ndarray
        ``(n, d)`` L2-normalised float32 gallery embeddings.
    lat_, lon_ : numpy.ndarray
        Gallery locations [deg].

    Examples
    --------
    >>> X = np.eye(3, dtype=np.float32)
    >>> knn = KNNRetrieval(k=1).fit(X, [10.0, 20.0, 30.0], [0.0, 5.0, 9.0])
    >>> lat, lon = knn.predict(X[[2]])
    >>> float(lat[0]), float(lon[0])
    (30.0, 9.0)
    """

    _fitted_attr = "gallery_"

    def __init__(
        self,
        *,
        k: int = 10,
        aggregate: str = "top1",
        temperature: float = 0.05,
        mode_radius_km: float = 200.0,
        batch_size: int = 1024,
    ) -> None:
        self.k = k
        self.aggregate = aggregate
        self.temperature = temperature
        self.mode_radius_km = mode_radius_km
        self.batch_size = batch_size

    _parameter_constraints = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "aggregate": [StrOptions(set(_AGGREGATES))],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "mode_radius_km": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def _fit(self, X: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        self.gallery_ = unit_rows(X)
        self.lat_, self.lon_ = lat, lon
        self.xyz_ = latlon_to_xyz(lat, lon)

    # -- retrieval -----------------------------------------------------------------
    def kneighbors(self, X: Any, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarities and gallery indices of the ``k`` nearest neighbours.

        Returns
        -------
        sim : numpy.ndarray
            ``(n, k)`` float32, best first.
        idx : numpy.ndarray
            ``(n, k)`` int64 rows of the gallery (ties: lower index first).

        Examples
        --------
        >>> knn = KNNRetrieval().fit(np.eye(2), [0.0, 1.0], [0.0, 1.0])
        >>> knn.kneighbors([[0.0, 2.0]], k=2)[1].tolist()
        [[1, 0]]
        """
        Q = unit_rows(self._check_X(X))
        k = check_int(self.k if k is None else k, "k")
        sims, idxs = [], []
        for i in range(0, Q.shape[0], self.batch_size):
            s, j = top_k(Q[i : i + self.batch_size] @ self.gallery_.T, k)
            sims.append(s)
            idxs.append(j.astype(np.int64))
        return np.concatenate(sims), np.concatenate(idxs)

    def candidates(self, X: Any, k: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-``k`` candidate locations ``(lat, lon, weight)``, each ``(n, k)``.

        ``weight`` is the softmax of the similarities over the ``k`` candidates
        (rows sum to 1), e.g. for a retrieval + density hybrid.

        Examples
        --------
        >>> knn = KNNRetrieval(k=2).fit(np.eye(2), [0.0, 1.0], [0.0, 1.0])
        >>> lat, lon, w = knn.candidates([[1.0, 0.0]])
        >>> lat.tolist(), bool(w[0, 0] > w[0, 1])
        ([[0.0, 1.0]], True)
        """
        sim, idx = self.kneighbors(X, k)
        return self.lat_[idx], self.lon_[idx], self._weights(sim)

    def predict_proba(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Softmax weights over the top-``k`` gallery items: ``(weights, idx)``, each ``(n, k)``.

        Examples
        --------
        >>> knn = KNNRetrieval(k=2).fit(np.eye(2), [0.0, 1.0], [0.0, 1.0])
        >>> w, idx = knn.predict_proba([[1.0, 1.0]])
        >>> w.sum(axis=1).round(6).tolist()
        [1.0]
        """
        sim, idx = self.kneighbors(X)
        return self._weights(sim), idx

    def predict_field(self, X: Any, nside: int = 64, *, bandwidth_km: float | None = None) -> Any:
        """Batch :class:`~shdd_geo.fields.SphericalField`: a kernel density of the top-``k`` neighbours.

        Row ``i`` is a von Mises-Fisher kernel density estimate over the
        locations of query ``i``'s ``k`` nearest neighbours, weighted by
        :meth:`predict_proba`.

        Parameters
        ----------
        X : array_like
            ``(n, d)`` query embeddings.
        nside : int
            HEALPix resolution of the field.
        bandwidth_km : float, optional
            Kernel bandwidth [km]; default ``max(100 km, pixel size)``.

        Returns
        -------
        SphericalField
            A normalised batch of ``n`` fields (``field[i]`` for one).

        Examples
        --------
        >>> knn = KNNRetrieval(k=2).fit(np.eye(2), [0.0, 40.0], [0.0, 40.0])
        >>> f = knn.predict_field([[1.0, 0.0]], nside=16)
        >>> f.is_batch, round(float(f.integral()[0]), 6)
        (True, 1.0)
        """
        from ._fields import points_field

        lat, lon, w = self.candidates(X)
        return points_field(lat, lon, w, nside, bandwidth_km)

    def _weights(self, sim: np.ndarray) -> np.ndarray:
        z = sim.astype(np.float64) / float(self.temperature)
        z -= z.max(axis=1, keepdims=True)
        w = np.exp(z)
        return w / w.sum(axis=1, keepdims=True)

    # -- prediction ----------------------------------------------------------------
    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = 1 if self.aggregate == "top1" else int(self.k)
        sim, idx = self.kneighbors(X, k)
        if self.aggregate == "top1":
            return self.lat_[idx[:, 0]].copy(), self.lon_[idx[:, 0]].copy()
        w = self._weights(sim)
        if self.aggregate == "centre":
            return geographic_centre(self.lat_[idx], self.lon_[idx], w)
        return self._mode(idx, w)

    def _mode(self, idx: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted centre of the candidate cluster with the most weight."""
        xyz = self.xyz_[idx]  # (n, k, 3)
        near = np.einsum("nid,njd->nij", xyz, xyz) >= np.cos(km_to_rad(float(self.mode_radius_km)))
        support = np.einsum("nij,nj->ni", near, w)
        best = np.argmax(support, axis=1)
        members = near[np.arange(len(best)), best]  # (n, k)
        return geographic_centre(self.lat_[idx], self.lon_[idx], w * members)

    def predict_near(
        self, X: Any, cand_lat: Any, cand_lon: Any, *, radius_km: float = 200.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-1 retrieval restricted to gallery items near given candidates.

        For query ``i``, only gallery items within ``radius_km`` of at least one
        of ``(cand_lat[i, j], cand_lon[i, j])`` compete (the LocDiffusion +
        retrieval hybrid of the paper's appendix A.4).  Queries with no gallery
        item in range fall back to the unrestricted top-1.

        Parameters
        ----------
        X : array_like
            ``(n, d)`` query embeddings.
        cand_lat, cand_lon : array_like
            ``(n, m)`` candidate locations [deg] per query.
        radius_km : float
            Search radius around each candidate [km].

        Examples
        --------
        >>> knn = KNNRetrieval().fit(np.eye(2), [0.0, 50.0], [0.0, 0.0])
        >>> lat, _ = knn.predict_near([[1.0, 0.2]], [[49.0]], [[0.0]])
        >>> float(lat[0])
        50.0
        """
        from .retrieval import top1_near

        Q = unit_rows(self._check_X(X))
        out = top1_near(lambda i, idx: self.gallery_[idx] @ Q[i], self.xyz_, cand_lat, cand_lon, radius_km,
                        n_queries=Q.shape[0])
        miss = np.flatnonzero(out < 0)  # no gallery item in range: the unrestricted top-1
        for i in range(0, miss.size, self.batch_size):
            rows = miss[i : i + self.batch_size]
            out[rows] = np.argmax(Q[rows] @ self.gallery_.T, axis=1)
        return self.lat_[out].copy(), self.lon_[out].copy()
