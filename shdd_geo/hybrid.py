"""Deprecated: :mod:`shdd_geo.baselines.hybrid`."""

from ._moved import reexport

__all__ = ["RetrievalHybrid"]
reexport(__name__, __all__, globals())
