"""Decoding: from SHDD coefficients and decoded samples back to points.

* :mod:`~shdd_geo.decoding.decoders` -- :func:`decode` (the paper's
  mode-seeking cap decoder, KL and argmax decoders, Newton refinement);
* :mod:`~shdd_geo.decoding.points` -- one point from many decoded samples
  (:func:`predict_from_samples`: centre, median, densest by KDE);
* ``_caps`` (private) -- cap sums and ``f_e`` on anchor sets, used by the
  decoders.

Examples
--------
>>> from shdd_geo.codec import encode
>>> lat, lon = decode(encode([48.8566], [2.3522], L=23)[0])
>>> round(float(lat), 4), round(float(lon), 4)
(48.8566, 2.3522)
"""

from .decoders import METHODS, SYNTHESIS, decode, default_anchors, default_rho_km, kernel_hwhm, refine_points
from .points import HOW, predict_from_samples

__all__ = [
    "HOW",
    "METHODS",
    "SYNTHESIS",
    "decode",
    "default_anchors",
    "default_rho_km",
    "kernel_hwhm",
    "predict_from_samples",
    "refine_points",
]
