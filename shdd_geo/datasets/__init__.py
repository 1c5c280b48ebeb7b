"""Datasets: GeoNames text-to-location tables, embedding cache, splits and country polygons.

Examples
--------
>>> from shdd_geo.datasets import load_geonames, random_split
>>> t = load_geonames(15000)
>>> s = random_split(t, seed=0, groups="geonameid")
>>> len(s.train) > len(s.test) > 0
True
"""

from __future__ import annotations

from .naturalearth import countries
from .embedding_cache import cached_embeddings, default_cache_dir, embedding_key
from .geonames import (
    GAZETTEER_SIZES,
    embed_table,
    geonames_version,
    load_geonames,
    multimodal_mask,
    multimodal_names,
    population_copies,
)
from .splits import Split, random_split, spatial_split

__all__ = [
    "GAZETTEER_SIZES",
    "Split",
    "cached_embeddings",
    "countries",
    "default_cache_dir",
    "embed_table",
    "embedding_key",
    "geonames_version",
    "load_geonames",
    "multimodal_mask",
    "multimodal_names",
    "population_copies",
    "random_split",
    "spatial_split",
]
