"""shdd_geo: locations on Earth as probability densities on the sphere.

The light core (coordinates, spherical harmonics, the SHDD codec, anchors and
metrics) needs only NumPy; everything that needs torch, healpy, xarray,
cartopy or geopandas is imported on first use, so ``import shdd_geo`` stays
fast.

Examples
--------
>>> import shdd_geo as sg
>>> e = sg.encode([48.8566], [2.3522], L=23)
>>> e.shape
(1, 576)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from . import anchors, coords, metrics, sh
from .codec import encode, evaluate, shdd_kl
from .decoding import decode, predict_from_samples
from .filters import lowpass
from .coords import EARTH_RADIUS_KM
from .errors import NotFittedError, OptionalDependencyError, ShddGeoError, TrainingDivergedError
from .metrics import (
    accuracy_within,
    geographic_centre,
    geometric_median,
    geoscore,
    great_circle_km,
)
from .sh import sh_basis

__version__ = "0.1.0.dev0"

# Public names whose modules import heavy libraries: loaded on first access.
_LAZY = {
    "SphericalField": ("shdd_geo.fields", "SphericalField"),
    "open_field": ("shdd_geo.fields", "open_field"),
    "fields": ("shdd_geo.fields", None),
    "LocDiffusion": ("shdd_geo.model", "LocDiffusion"),
    "pretrained": ("shdd_geo.pretrained", None),
    "locate": ("shdd_geo.pretrained.geocode", "locate"),
    "namesakes": ("shdd_geo.datasets.gazetteer", None),
    "datasets": ("shdd_geo.datasets", None),
    "baselines": ("shdd_geo.baselines", None),
    "calibration": ("shdd_geo.calibration", None),
    "defaults": ("shdd_geo.defaults", None),
    "encoders": ("shdd_geo.encoders", None),
    "evaluation": ("shdd_geo.evaluation", None),
    "io": ("shdd_geo.io", None),
    "bluemarble": ("shdd_geo.datasets.bluemarble", None),
    "plotting": ("shdd_geo.plotting", None),
    "GeoCLIPAdapter": ("shdd_geo.baselines.geoclip", "GeoCLIPAdapter"),
    "RetrievalHybrid": ("shdd_geo.baselines.hybrid", "RetrievalHybrid"),
    "scale": ("shdd_geo.scale", None),
}

if TYPE_CHECKING:  # pragma: no cover
    from . import baselines, datasets, pretrained
    from .fields import SphericalField, open_field
    from .model import LocDiffusion


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        value = mod if attr is None else getattr(mod, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'shdd_geo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = sorted(
    [
        "EARTH_RADIUS_KM",
        "GeoCLIPAdapter",
        "LocDiffusion",
        "NotFittedError",
        "RetrievalHybrid",
        "OptionalDependencyError",
        "ShddGeoError",
        "SphericalField",
        "TrainingDivergedError",
        "__version__",
        "accuracy_within",
        "anchors",
        "baselines",
        "bluemarble",
        "calibration",
        "coords",
        "datasets",
        "decode",
        "defaults",
        "encoders",

        "encode",
        "evaluate",
        "evaluation",
        "fields",
        "geographic_centre",
        "geometric_median",
        "geoscore",
        "great_circle_km",
        "io",
        "locate",
        "lowpass",

        "metrics",
        "namesakes",
        "open_field",
        "plotting",
        "predict_from_samples",
        "pretrained",
        "scale",
        "sh",
        "sh_basis",
        "shdd_kl",
    ]
)
