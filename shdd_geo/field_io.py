"""Deprecated: :mod:`shdd_geo.io.netcdf` (xarray, NetCDF) and :mod:`shdd_geo.io.geojson`."""

from ._moved import reexport

__all__ = ["FieldAccessor", "open_field", "to_geojson", "to_netcdf", "to_xarray"]
reexport(__name__, __all__, globals(), {"to_geojson": "shdd_geo.io.geojson"})
