"""Baselines on the same embeddings as LocDiffusion.

All share ``fit(X, lat, lon) -> self`` and ``predict(X) -> (lat, lon)``:

- :class:`KNNRetrieval`: cosine k-nearest-neighbour retrieval from the
  training gallery (top-1, weighted centre or mode of the top-k).
- :class:`KNNVote`: the similarity-weighted vote of the k nearest training
  examples (answer: the neighbour with the most weight within a radius).
- :class:`GeoCLIPRetrieval`: GeoCLIP-style contrastive model (Equal Earth +
  random Fourier features at σ ∈ {2⁰, 2⁴, 2⁸}, InfoNCE with a GPS queue)
  retrieving from a GPS gallery.
- :class:`CellClassifier`: PlaNet-style classification over HEALPix cells.
- :class:`UnitVectorRegression`: MLP regression to unit vectors.
- :class:`GeoCLIPAdapter` (:mod:`~shdd_geo.baselines.geoclip`): the released
  GeoCLIP weights as a retrieval partner.
- :class:`RetrievalHybrid` (:mod:`~shdd_geo.baselines.hybrid`): LocDiffusion
  candidates + retrieval near them (paper appendix A.4), searching with
  :func:`shdd_geo.baselines.retrieval.top1_near`.

Examples
--------
>>> import numpy as np
>>> from shdd_geo.baselines import KNNRetrieval
>>> knn = KNNRetrieval().fit(np.eye(2), [48.86, -33.87], [2.35, 151.21])
>>> [round(float(v), 2) for v in knn.predict([[0.1, 0.9]])[0]]
[-33.87]
"""

from __future__ import annotations

from .classification import CellClassifier
from .contrastive import GeoCLIPRetrieval, equal_earth
from .geoclip import GeoCLIPAdapter
from .hybrid import RetrievalHybrid
from .gallery import RetrievalGallery
from .knn import KNNRetrieval
from .regression import UnitVectorRegression
from .vote import KNNVote

__all__ = [
    "CellClassifier",
    "GeoCLIPAdapter",
    "GeoCLIPRetrieval",
    "KNNRetrieval",
    "KNNVote",
    "RetrievalGallery",
    "RetrievalHybrid",
    "UnitVectorRegression",
    "equal_earth",
]
