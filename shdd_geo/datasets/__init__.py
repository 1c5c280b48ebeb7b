"""Datasets: GeoNames text-to-location tables, the gazetteer, country polygons, Blue Marble tiles, embedding cache, splits.

* :mod:`~shdd_geo.datasets.geonames` -- GeoNames place-name tables;
* :mod:`~shdd_geo.datasets.gazetteer` -- :class:`Gazetteer`: places by name
  (namesakes) and by location;
* :mod:`~shdd_geo.datasets.bluemarble` -- NASA Blue Marble image tiles (loaded
  on first use: ``from shdd_geo.datasets import bluemarble``);
* :mod:`~shdd_geo.datasets.naturalearth` -- :func:`countries`: Natural Earth
  admin-0 country polygons (public domain, shipped with the package);
* :mod:`~shdd_geo.datasets.embedding_cache`, :mod:`~shdd_geo.datasets.splits`.

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
from .gazetteer import Gazetteer
from .splits import Split, random_split, spatial_split

__all__ = [
    "GAZETTEER_SIZES",
    "Gazetteer",
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
