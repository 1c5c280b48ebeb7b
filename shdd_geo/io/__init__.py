"""Reading and writing the field's data formats.

- :mod:`shdd_geo.io.images`: MP16 / Im2GPS3k / YFCC-style CSVs
  (``IMG_ID, LAT, LON``) paired with image folders, bad rows reported.
- :mod:`shdd_geo.io.embeddings`: memory-mapped ``.npy`` embeddings with their
  metadata, written atomically and resumable.

Importing this package is light; pandas is imported by the functions that
need it.

Examples
--------
>>> from shdd_geo.io import LoadReport
>>> LoadReport(n_rows=0).n_ok
0
"""

from __future__ import annotations

from .embeddings import EmbeddingFile, embed_to_disk, open_embeddings
from .images import ImageDataset, LoadReport, load_image_csv, read_locations_csv, scan_image_folder
from . import healpix_nc, naming, raster, vector  # GIS formats of fields (issue 26); light: no IO library at import

__all__ = [
    "EmbeddingFile",
    "ImageDataset",
    "LoadReport",
    "embed_to_disk",
    "load_image_csv",
    "open_embeddings",
    "read_locations_csv",
    "scan_image_folder",
]
