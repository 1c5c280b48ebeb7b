"""Deprecated: :mod:`shdd_geo.baselines.geoclip`."""

from ._moved import reexport

__all__ = ["GeoCLIPAdapter", "geoclip_available", "load_geoclip_gallery"]
reexport(__name__, __all__, globals())
