"""A retrieval gallery: the located training embeddings, searched by cosine similarity.

The shared retrieval step of the k-NN vote (:class:`~shdd_geo.baselines.KNNVote`)
and of retrieval-conditioned LocDiffusion (``LocDiffusion(retrieval_k=...)``):
for a query embedding, the ``k`` most similar gallery rows, their
similarity-softmax weights and the **retrieval prior** -- the weighted mean of
the neighbours' SHDD vectors,

.. math:: p(q) = \\sum_{j \\in N_k(q)} w_j\\, Y(x_j), \\qquad
          w_j = \\operatorname{softmax}_j(s_j / \\tau),

which, read as SHDD coefficients, is the band-limited kernel estimate of the
neighbours' locations (SPEC §2).  During training a row must not retrieve
itself or another copy of its own place (an alternate name of the same
town): with ``exclude`` given, neighbours closer than ``exclude_km`` to the
query's own location are skipped (leave-one-out).

The gallery embeddings are rounded to float16 (and the locations to float32)
when it is built, so that what :meth:`RetrievalGallery.to_arrays` stores
(``n * (2 d + 8)`` bytes) is exactly what was used: a saved and reloaded
gallery retrieves the same neighbours with the same weights.

Examples
--------
>>> import numpy as np
>>> g = RetrievalGallery(k=2).fit(np.eye(3), [0.0, 10.0, 20.0], [0.0, 0.0, 0.0])
>>> sim, idx = g.neighbours([[1.0, 0.1, 0.0]])
>>> idx.tolist()
[[0, 1]]
>>> g.neighbours([[1.0, 0.1, 0.0]], exclude=([0.0], [0.0]))[1].tolist()   # leave-one-out
[[1, 2]]
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

from .._validation import Interval, check_int, validate_params
from ..coords import as_latlon, km_to_rad, latlon_to_xyz

__all__ = ["RetrievalGallery", "top_k", "unit_rows"]

#: Extra candidates fetched for leave-one-out (copies of a place beyond this many count as neighbours).
_LOO_SPARE = 16


def unit_rows(X: np.ndarray, name: str = "X") -> np.ndarray:
    """Rows scaled to unit length (float32), for cosine similarity; all-zero rows are refused.

    Examples
    --------
    >>> unit_rows(np.array([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """
    X = np.asarray(X, dtype=np.float32)
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError(f"`{name}` has all-zero rows; cosine similarity is undefined for them")
    return X / norm


class RetrievalGallery:
    """Cosine-similarity neighbours, softmax weights and the SHDD retrieval prior.

    Parameters
    ----------
    k : int
        Neighbours per query.
    temperature : float
        Softmax temperature on cosine similarities (> 0).
    exclude_km : float
        Leave-one-out radius [km]: with ``exclude``, gallery rows closer than
        this to the query's own location are not retrieved.
    batch_size : int
        Queries per similarity block (memory: ``batch_size * n`` floats).

    Attributes
    ----------
    X_ : numpy.ndarray
        ``(n, d)`` unit-norm float32 gallery embeddings.
    lat_, lon_ : numpy.ndarray
        Gallery locations [deg].

    Examples
    --------
    >>> g = RetrievalGallery(k=2, temperature=0.1).fit(np.eye(3), [0.0, 10.0, 20.0], [0.0, 0.0, 0.0])
    >>> sim, idx = g.neighbours([[1.0, 0.5, 0.0]])
    >>> idx.tolist(), float(g.weights(sim).sum().round(6))
    ([[0, 1]], 1.0)
    >>> g.prior([[1.0, 0.5, 0.0]], L=3).shape
    (1, 16)
    """

    _parameter_constraints = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "exclude_km": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, k: int = 32, temperature: float = 0.05, *, exclude_km: float = 1.0,
                 batch_size: int = 256) -> None:
        self.k, self.temperature, self.exclude_km, self.batch_size = k, temperature, exclude_km, batch_size
        validate_params({"k": k, "temperature": temperature, "exclude_km": exclude_km, "batch_size": batch_size},
                        self._parameter_constraints, caller="RetrievalGallery")

    def __repr__(self) -> str:
        n = f", n={len(self.lat_)}" if hasattr(self, "lat_") else ""
        return f"RetrievalGallery(k={self.k}, temperature={self.temperature}{n})"

    # -- building -------------------------------------------------------------
    def fit(self, X: Any, lat: Any, lon: Any) -> "RetrievalGallery":
        """Store the gallery: embeddings ``X`` (n, d) located at ``lat``, ``lon`` [deg]."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"`X` must be a non-empty 2-D array (n, d), got shape {X.shape}")
        lat, lon = as_latlon(lat, lon)
        if lat.shape[0] != X.shape[0]:
            raise ValueError(f"`X` has {X.shape[0]} rows but `lat`/`lon` have {lat.shape[0]}")
        # rounded as stored (float16 embeddings, float32 locations): a loaded gallery is this one
        self.X_ = np.ascontiguousarray(unit_rows(X, "X").astype(np.float16).astype(np.float32))
        self.lat_ = lat.astype(np.float32).astype(np.float64)
        self.lon_ = lon.astype(np.float32).astype(np.float64)
        self._xyz = latlon_to_xyz(self.lat_, self.lon_)
        return self

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The gallery as arrays for a model file: embeddings float16, locations float32."""
        return {"X": self.X_.astype(np.float16), "lat": self.lat_.astype(np.float32),
                "lon": self.lon_.astype(np.float32)}

    @classmethod
    def from_arrays(cls, arrays: dict, **params) -> "RetrievalGallery":
        """Inverse of :meth:`to_arrays` (``params`` go to the constructor)."""
        out = cls(**params)
        out.X_ = np.ascontiguousarray(np.asarray(arrays["X"], dtype=np.float32))
        out.lat_ = np.asarray(arrays["lat"], dtype=np.float64)
        out.lon_ = np.asarray(arrays["lon"], dtype=np.float64)
        out._xyz = latlon_to_xyz(out.lat_, out.lon_)
        return out

    @property
    def nbytes_stored(self) -> int:
        """Bytes of :meth:`to_arrays` (what the gallery adds to a model file)."""
        return int(sum(a.nbytes for a in self.to_arrays().values()))

    # -- retrieval ------------------------------------------------------------
    def neighbours(self, Q: Any, k: int | None = None, *, exclude=None) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarities and gallery rows of the ``k`` nearest neighbours, best first.

        Parameters
        ----------
        Q : array_like
            ``(m, d)`` query embeddings.
        k : int, optional
            Neighbours (default ``self.k``; at most the gallery size).
        exclude : (lat, lon), optional
            The queries' own locations [deg]: gallery rows within
            ``exclude_km`` of them are skipped (leave-one-out; among the
            ``k + 16`` most similar rows, so a place with more than 16 copies
            keeps the surplus).  Where fewer than ``k`` rows remain, the
            missing slots have similarity ``-inf`` and index ``-1``.

        Returns
        -------
        sim : numpy.ndarray
            ``(m, k)`` float32.
        idx : numpy.ndarray
            ``(m, k)`` int64 (ties: lower index first).
        """
        if not hasattr(self, "X_"):
            raise ValueError("this RetrievalGallery is empty: call `fit(X, lat, lon)` first")
        Q = unit_rows(np.atleast_2d(np.asarray(Q, dtype=np.float32)), "Q")
        if Q.shape[1] != self.X_.shape[1]:
            raise ValueError(f"queries have {Q.shape[1]} features, the gallery {self.X_.shape[1]}")
        k = min(check_int(self.k if k is None else k, "k", low=1), self.X_.shape[0])
        own = None
        if exclude is not None:
            own = latlon_to_xyz(*as_latlon(*exclude, names=("exclude lat", "exclude lon")))
            if own.shape[0] != Q.shape[0]:
                raise ValueError(f"`exclude` has {own.shape[0]} locations for {Q.shape[0]} queries")
        sims = np.empty((Q.shape[0], k), dtype=np.float32)
        idxs = np.empty((Q.shape[0], k), dtype=np.int64)
        extra = 0 if own is None else min(_LOO_SPARE, self.X_.shape[0] - k)
        cos_r = math.cos(float(km_to_rad(self.exclude_km))) if own is not None else 0.0
        for lo in range(0, Q.shape[0], self.batch_size):
            s, j = top_k(Q[lo : lo + self.batch_size] @ self.X_.T, k + extra)
            if own is not None:  # leave-one-out: drop candidates at the query's own place, keep the order
                near = np.einsum("mkd,md->mk", self._xyz[j], own[lo : lo + self.batch_size]) >= cos_r - 1e-12
                s = np.where(near, -np.inf, s).astype(np.float32)
                order = np.argsort(near, axis=1, kind="stable")[:, :k]
                s, j = np.take_along_axis(s, order, axis=1), np.take_along_axis(j, order, axis=1)
            sims[lo : lo + len(s)], idxs[lo : lo + len(s)] = s, j
        idxs[~np.isfinite(sims)] = -1
        return sims, idxs

    def weights(self, sim: np.ndarray) -> np.ndarray:
        """Softmax of ``sim / temperature`` per row (``-inf`` slots get weight 0)."""
        z = np.asarray(sim, dtype=np.float64) / float(self.temperature)
        top = np.max(z, axis=1, keepdims=True)
        top[~np.isfinite(top)] = 0.0
        w = np.exp(z - top)
        total = w.sum(axis=1, keepdims=True)
        return np.divide(w, total, out=np.zeros_like(w), where=total > 0)

    def prior(self, Q: Any, L: int, *, exclude=None) -> np.ndarray:
        """The retrieval prior ``sum_j w_j Y(x_j)``: ``(m, (L+1)**2)`` float32 SHDD coefficients.

        Examples
        --------
        >>> g = RetrievalGallery(k=1).fit(np.eye(2), [10.0, 50.0], [0.0, 0.0])
        >>> from shdd_geo.codec import encode
        >>> bool(np.allclose(g.prior([[1.0, 0.0]], 3), encode([10.0], [0.0], 3), atol=1e-6))
        True
        """
        from ..codec import encode

        sim, idx = self.neighbours(Q, exclude=exclude)
        w = self.weights(sim)
        L = check_int(L, "L", low=0)
        out = np.zeros((idx.shape[0], (L + 1) ** 2), dtype=np.float64)
        for lo in range(0, idx.shape[0], 4096):
            i, ww = idx[lo : lo + 4096], w[lo : lo + 4096]
            ok = i >= 0
            basis = encode(self.lat_[np.where(ok, i, 0)].ravel(), self.lon_[np.where(ok, i, 0)].ravel(), L)
            basis = np.asarray(basis, dtype=np.float64).reshape(i.shape[0], i.shape[1], -1)
            out[lo : lo + 4096] = np.einsum("mk,mkd->md", ww * ok, basis)
        return out.astype(np.float32)

    def predict_near(self, Q: Any, cand_lat: Any, cand_lon: Any, *, radius_km: float = 200.0
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Most similar gallery row within ``radius_km`` of one of each query's candidates: ``(lat, lon)``.

        The search half of :class:`~shdd_geo.RetrievalHybrid`; a query with no
        gallery row in range gets its unrestricted top-1.

        Examples
        --------
        >>> g = RetrievalGallery().fit(np.eye(2), [0.0, 50.0], [0.0, 0.0])
        >>> float(g.predict_near([[1.0, 0.2]], [[49.0]], [[0.0]])[0][0])
        50.0
        """
        from .retrieval import top1_near

        Q = unit_rows(np.atleast_2d(np.asarray(Q, dtype=np.float32)), "Q")
        out = top1_near(lambda i, idx: self.X_[idx] @ Q[i], self._xyz, cand_lat, cand_lon, radius_km,
                        n_queries=Q.shape[0])
        miss = np.flatnonzero(out < 0)
        if miss.size:
            out[miss] = self.neighbours(Q[miss], 1)[1][:, 0]
        return self.lat_[out].copy(), self.lon_[out].copy()

    def vote(self, sim: np.ndarray, idx: np.ndarray, radius_km: float) -> np.ndarray:
        """Per query, the neighbour with the most weight within ``radius_km`` of it (a gallery row).

        The weight of neighbour ``j`` is ``sum_i w_i [d(x_i, x_j) <= radius]``;
        ties go to the better-ranked neighbour.
        """
        w = self.weights(sim)
        ok = idx >= 0
        xyz = self._xyz[np.where(ok, idx, 0)]  # (m, k, 3)
        near = np.einsum("mid,mjd->mij", xyz, xyz) >= math.cos(float(km_to_rad(radius_km)))
        support = np.einsum("mij,mj->mi", near, w * ok)
        support[~ok] = -1.0
        best = np.argmax(support, axis=1)
        return idx[np.arange(idx.shape[0]), best]


def top_k(sim: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` columns per row, best first; ties broken by the lower index.

    Examples
    --------
    >>> top_k(np.array([[0.1, 0.9, 0.5]]), 2)[1].tolist()
    [[1, 2]]
    """
    k = min(k, sim.shape[1])
    if k < sim.shape[1]:
        part = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(sim.shape[1]), sim.shape).copy()
    vals = np.take_along_axis(sim, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return np.take_along_axis(sim, idx, axis=1), idx
