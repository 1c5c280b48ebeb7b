"""LocDiffusion + retrieval hybrid (paper appendix A.4).

LocDiffusion proposes candidate locations (``n_samples`` decoded samples per
condition); the retrieval model then searches only the gallery entries within
``radius_km`` of a candidate.  Diffusion supplies the coarse answer (its
strength at 200-2500 km), retrieval the fine one (its strength at 1-25 km).

See :class:`RetrievalHybrid` for an example.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._validation import check_int

__all__ = ["RetrievalHybrid"]


class RetrievalHybrid:
    """Retrieval restricted to the neighbourhood of LocDiffusion's samples.

    Parameters
    ----------
    diffusion : LocDiffusion
        Fitted; provides ``predict_samples(X, n_samples, **sample_kwargs) -> (lat, lon)``
        of shape ``(n, n_samples)``.
    retriever : object, optional
        Fitted retrieval model with ``predict_near(X, cand_lat, cand_lon, radius_km=...)``
        (e.g. :class:`~shdd_geo.baselines.KNNRetrieval`,
        :class:`~shdd_geo.baselines.geoclip.GeoCLIPAdapter`); by default the
        retrieval gallery that a retrieval-conditioned LocDiffusion carries
        (``diffusion.retrieval_``: no second copy of the training embeddings).  Queries with no
        gallery entry near any candidate fall back to the retriever's own
        top-1 (its documented behaviour).
    radius_km : float
        Search radius around each candidate (paper: 200 km).
    n_samples : int
        Diffusion samples per condition (paper: 16).
    sample_kwargs : dict, optional
        Passed to ``predict_samples`` (``steps``, ``sampler``, ``generator``...).

    Examples
    --------
    >>> import numpy as np
    >>> class Diffusion:            # stands in for a fitted LocDiffusion
    ...     def predict_samples(self, X, n_samples, **kw):
    ...         return np.full((len(X), n_samples), 49.0), np.zeros((len(X), n_samples))
    >>> from shdd_geo.baselines import KNNRetrieval
    >>> knn = KNNRetrieval().fit(np.eye(2), [0.0, 50.0], [0.0, 0.0])
    >>> hyb = RetrievalHybrid(Diffusion(), knn, n_samples=4)
    >>> float(hyb.predict([[1.0, 0.2]])[0][0])   # top-1 alone would say 0.0
    50.0
    """

    def __init__(self, diffusion, retriever=None, *, radius_km: float = 200.0, n_samples: int = 16,
                 sample_kwargs: Mapping[str, Any] | None = None) -> None:
        if not (isinstance(radius_km, (int, float)) and math.isfinite(radius_km) and radius_km > 0):
            raise ValueError(f"`radius_km` must be a positive number, got {radius_km!r}")
        check_int(n_samples, "n_samples", low=1, what="a positive integer")
        if retriever is None:
            retriever = getattr(diffusion, "retrieval_", None)
            if retriever is None:
                raise ValueError("pass a `retriever`: `diffusion` carries no retrieval gallery "
                                 "(fit LocDiffusion with `retrieval_k` > 0, or give e.g. a fitted KNNRetrieval)")
        if not hasattr(retriever, "predict_near"):
            raise TypeError(f"`retriever` must have a `predict_near` method, got {type(retriever).__name__}")
        self.diffusion, self.retriever = diffusion, retriever
        self.radius_km, self.n_samples = float(radius_km), int(n_samples)
        self.sample_kwargs = dict(sample_kwargs or {})

    def candidates(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Decoded diffusion samples ``(n, n_samples)`` [deg]: the search centres."""
        return self.diffusion.predict_samples(X, self.n_samples, **self.sample_kwargs)

    def predict(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Retrieval top-1 among gallery entries within ``radius_km`` of a candidate."""
        cl, co = self.candidates(X)
        return self.retriever.predict_near(X, cl, co, radius_km=self.radius_km)
