"""Deprecated: :mod:`shdd_geo.datasets.gazetteer` (``Namesakes`` is now ``Gazetteer``)."""

from ._moved import reexport

__all__ = ["Gazetteer", "Namesakes", "check_namesake_weight", "fold_name", "mix_namesakes"]
reexport(__name__, __all__, globals())
