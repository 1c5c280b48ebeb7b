"""Built-in models that ship inside the package, ready to geolocate raw inputs.

``load("geonames-minilm")`` returns a :class:`Geolocator`: the offline MiniLM
text encoder plus a LocDiffusion model trained on every GeoNames place name
with at least 1,000 inhabitants.  ``load("bluemarble-effnet")`` takes images
instead: the bundled EfficientNet-lite0 plus a LocDiffusion trained on tiles
of NASA's Blue Marble (10 deg field of view, 128 px; see
``python -m benchmarks.accuracy --task bluemarble``).  Weights ship as float16 package data;
nothing is downloaded.

* :mod:`~shdd_geo.pretrained.registry` -- :class:`ModelCard`, :func:`available`, :func:`load`;
* :mod:`~shdd_geo.pretrained.geolocator` -- :class:`Geolocator` (``locate`` as a
  pipeline of named steps, ``locate_many`` for batches);
* :mod:`~shdd_geo.pretrained.geocode` -- :func:`locate` (``sg.locate``: names or a
  table column in, a GeoDataFrame of modes out), :func:`read_names`, :func:`write_table`.

Examples
--------
>>> from shdd_geo import pretrained
>>> "geonames-minilm" in pretrained.available()
True
"""

from __future__ import annotations

from .geocode import locate, read_names, results_frame, write_table
from .geolocator import Geolocator
from .registry import ModelCard, available, load, model_card_json

__all__ = ["Geolocator", "ModelCard", "available", "load", "locate", "model_card_json", "read_names",
           "results_frame", "write_table"]


def __getattr__(name: str):
    if name == "Gazetteer":  # pretrained.Gazetteer merged into shdd_geo.datasets.gazetteer.Gazetteer
        import warnings

        warnings.warn("`shdd_geo.pretrained.Gazetteer` is now `shdd_geo.datasets.Gazetteer`; the old name "
                      "goes away in shdd_geo 0.2", DeprecationWarning, stacklevel=2)
        from ..datasets.gazetteer import Gazetteer

        return Gazetteer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
