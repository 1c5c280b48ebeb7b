"""Retrieval conditioning of LocDiffusion: the retrieval prior as extra condition columns.

With ``retrieval_k > 0`` the denoiser sees, beside each embedding, the
similarity-weighted mean SHDD vector of its ``k`` most similar training rows
(:class:`~shdd_geo.baselines.RetrievalGallery`), in *condition units*:
``scale * prior / sqrt(D)``, so that one point's prior has a norm near 1.
At training each row's prior leaves out the row's own place
(:func:`prior_table`, appended to the training data by
:func:`retrieval_data`); at prediction it uses the whole gallery
(:func:`prior_condition`).
"""

from __future__ import annotations

import math

import numpy as np

from .._progress import progress_bar
from .data import RetrievalData, read_all

__all__ = ["prior_condition", "prior_table", "retrieval_data"]


def prior_condition(gallery, X: np.ndarray, L: int, scale: float, exclude=None) -> np.ndarray:
    """Retrieval priors of the rows of ``X`` in condition units: ``scale * prior / sqrt(D)``, ``D = (L + 1)**2``.

    ``exclude``: ``(lat, lon)`` per row, whose place the row may not retrieve
    (leave-one-out; see ``RetrievalGallery.prior``).

    Examples
    --------
    >>> from shdd_geo.baselines import RetrievalGallery
    >>> g = RetrievalGallery(k=2, temperature=0.1).fit(np.eye(3), [0.0, 10.0, 20.0], [0.0, 0.0, 0.0])
    >>> prior_condition(g, np.eye(3)[:2], L=3, scale=1.0).shape
    (2, 16)
    """
    D = (L + 1) ** 2
    prior = gallery.prior(X, L, exclude=exclude)
    return prior * np.float32(scale / math.sqrt(D))


def prior_table(gallery, X: np.ndarray, lat: np.ndarray, lon: np.ndarray, L: int, scale: float, *,
                progress: bool | None = None, step: int = 8192) -> np.ndarray:
    """Every training row's leave-one-out retrieval prior (float16, ``(n, D)``), ``step`` rows at a time.

    ``progress``: a bar over the rows (see :ref:`progress-bars`).

    Examples
    --------
    >>> from shdd_geo.baselines import RetrievalGallery
    >>> X, lat, lon = np.eye(3), np.array([0.0, 10.0, 20.0]), np.zeros(3)
    >>> g = RetrievalGallery(k=2, temperature=0.1).fit(X, lat, lon)
    >>> t = prior_table(g, X, lat, lon, L=3, scale=1.0)
    >>> t.shape, t.dtype
    ((3, 16), dtype('float16'))
    """
    table = np.empty((X.shape[0], (L + 1) ** 2), dtype=np.float16)
    with progress_bar(X.shape[0], "retrieval prior", unit="row", progress=progress) as bar:
        for lo in range(0, X.shape[0], step):
            sl = slice(lo, lo + step)
            table[sl] = prior_condition(gallery, X[sl], L, scale, exclude=(lat[sl], lon[sl]))
            bar.update(len(X[sl]))
    return table


def retrieval_data(data, L: int, scale: float, *, gallery=None, k: int = 32, temperature: float = 0.05,
                   progress: bool | None = None):
    """``(data with each row's leave-one-out prior appended, gallery)`` for training a retrieval-conditioned model.

    ``data`` is a training source (:mod:`shdd_geo.model.data`); without a
    ``gallery`` (a fresh run, not a resumed one) a
    :class:`~shdd_geo.baselines.RetrievalGallery` of ``k`` neighbours and
    softmax ``temperature`` is fitted on all of its rows.

    Examples
    --------
    >>> from shdd_geo.model.data import ArrayData
    >>> X, lat, lon = np.eye(3, dtype=np.float32), np.array([0.0, 10.0, 20.0]), np.zeros(3)
    >>> data, g = retrieval_data(ArrayData(X, lat, lon), L=3, scale=1.0, k=2, progress=False)
    >>> data.n_features, len(g.neighbours(X[:1])[1][0])
    (19, 2)
    """
    X, lat, lon = read_all(data)
    if gallery is None:
        from ..baselines.gallery import RetrievalGallery

        gallery = RetrievalGallery(int(k), float(temperature)).fit(X, lat, lon)
    return RetrievalData(data, prior_table(gallery, X, lat, lon, L, scale, progress=progress)), gallery
