"""Retrieval near candidates: the top-1 gallery item within a radius of a query's candidates.

The search half of the LocDiffusion + retrieval hybrid (paper, appendix A.4):
a coarse model proposes candidate locations, and a retrieval model answers
with its best-scoring gallery item among those within ``radius_km`` of any
candidate.  :meth:`KNNRetrieval.predict_near
<shdd_geo.baselines.KNNRetrieval.predict_near>`,
:meth:`GeoCLIPAdapter.predict_near <shdd_geo.baselines.geoclip.GeoCLIPAdapter.predict_near>`
and the snapping step of :meth:`Geolocator.locate
<shdd_geo.pretrained.Geolocator.locate>` all search with :func:`top1_near`.

Examples
--------
>>> import numpy as np
>>> from shdd_geo.coords import latlon_to_xyz
>>> gallery = latlon_to_xyz([0.0, 0.5, 50.0], [0.0, 0.5, 0.0])
>>> scores = np.array([[0.9, 0.1, 0.5]])        # one query
>>> top1_near(lambda i, idx: scores[i, idx], gallery, [[49.0]], [[0.0]], 200.0).tolist()
[2]
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..coords import as_latlon, km_to_rad, latlon_to_xyz

__all__ = ["check_candidates", "gallery_tree", "top1_near", "within_any"]


def check_candidates(cand_lat, cand_lon, n_queries: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Candidate locations as ``(n, m)`` arrays [deg]; a 1-D input is one candidate per query.

    Examples
    --------
    >>> cl, co = check_candidates([10.0, 20.0], [0.0, 0.0])
    >>> cl.shape
    (2, 1)
    """
    cl, co = as_latlon(cand_lat, cand_lon, names=("cand_lat", "cand_lon"), ndim=None)
    if cl.ndim == 1:
        cl, co = cl[:, None], co[:, None]
    if cl.ndim != 2 or (n_queries is not None and cl.shape[0] != n_queries):
        want = "n" if n_queries is None else n_queries
        raise ValueError(f"`cand_lat`/`cand_lon` must have shape ({want}, m), got {cl.shape}")
    return cl, co


def gallery_tree(gallery):
    """A KD-tree on gallery unit vectors ``(G, 3)`` (a tree passed in is returned as it is).

    Examples
    --------
    >>> gallery_tree(latlon_to_xyz([0.0, 1.0], [0.0, 1.0])).n
    2
    """
    if hasattr(gallery, "query_ball_point"):
        return gallery
    from scipy.spatial import cKDTree

    return cKDTree(np.asarray(gallery, dtype=np.float64))


def within_any(tree, cand_xyz: np.ndarray, radius_km: float) -> np.ndarray:
    """Sorted indices of the gallery items within ``radius_km`` of any candidate ``(m, 3)``.

    Examples
    --------
    >>> t = gallery_tree(latlon_to_xyz([0.0, 0.0, 0.0], [0.0, 1.0, 5.0]))
    >>> within_any(t, latlon_to_xyz([0.0, 0.0], [0.0, 4.5]), 150.0).tolist()
    [0, 1, 2]
    """
    chord = 2.0 * math.sin(min(float(km_to_rad(radius_km)), math.pi) / 2.0)
    hits = tree.query_ball_point(np.atleast_2d(cand_xyz), chord)
    return np.unique(np.concatenate([np.asarray(h, dtype=np.int64) for h in hits]))


def top1_near(score: Callable, gallery, cand_lat, cand_lon, radius_km: float, *,
              n_queries: int | None = None, min_score: float = -np.inf) -> np.ndarray:
    """Per query, the best-scoring gallery item within ``radius_km`` of one of its candidates.

    Parameters
    ----------
    score : callable
        ``score(i, idx)`` -> the scores of gallery items ``idx`` (sorted
        indices) for query ``i``; called only for the items in range.
    gallery : array_like (G, 3) or scipy.spatial.cKDTree
        Unit vectors of the gallery items (or a KD-tree on them).
    cand_lat, cand_lon : array_like, shape (n, m) or (n,)
        Candidate locations per query [deg].
    radius_km : float
        Search radius around each candidate [km].
    n_queries : int, optional
        Expected number of queries ``n`` (checked).
    min_score : float
        The best item must score at least this much.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        Gallery index per query; -1 where no item is in range or none scores
        ``>= min_score``.  Ties go to the lowest index.

    Examples
    --------
    >>> gallery = latlon_to_xyz([0.0, 50.0], [0.0, 0.0])
    >>> top1_near(lambda i, idx: np.ones(idx.size), gallery, [[0.5], [20.0]], [[0.0], [0.0]], 100.0).tolist()
    [0, -1]
    """
    r = float(radius_km) if isinstance(radius_km, (int, float, np.number)) else math.nan
    if not (math.isfinite(r) and r > 0) or isinstance(radius_km, bool):
        raise ValueError(f"`radius_km` must be a finite number > 0, got {radius_km!r}")
    cl, co = check_candidates(cand_lat, cand_lon, n_queries)
    tree = gallery_tree(gallery)
    cxyz = latlon_to_xyz(cl, co)
    best = np.full(cl.shape[0], -1, dtype=np.int64)
    for i in range(cl.shape[0]):
        idx = within_any(tree, cxyz[i], r)
        if idx.size:
            s = np.asarray(score(i, idx))
            j = int(np.argmax(s))
            if s[j] >= min_score:
                best[i] = idx[j]
    return best
