"""Deprecated: :mod:`shdd_geo.fields` (``SphericalField``, ``open_field``, ``CredibleRegion``)."""

from ._moved import reexport

__all__ = ["CredibleRegion", "SphericalField", "open_field"]
reexport(__name__, __all__, globals())
