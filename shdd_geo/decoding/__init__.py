"""Decoding: from SHDD coefficients and decoded samples back to points.

* :mod:`~shdd_geo.decoding.decoders` -- :func:`decode` (the paper's
  mode-seeking cap decoder, KL and argmax decoders, Newton refinement);
* :mod:`~shdd_geo.decoding.points` -- one point from many decoded samples
  (:func:`predict_from_samples`: centre, median, densest by KDE;
  :func:`densest_sample`: densest under the samples' own densities);
* ``_caps`` (private) -- cap sums and ``f_e`` on anchor sets, used by the
  decoders.

Examples
--------
>>> from shdd_geo.codec import encode
>>> e = encode([40.0, 41.0, 39.5], [-3.0, -2.0, -4.0], L=23)   # three samples near Madrid
>>> lat, lon = decode(e)
>>> [round(float(v), 1) for v in predict_from_samples(lat, lon, how="median")]
[40.0, -3.0]
"""

from . import decoders, points
from .decoders import METHODS, SYNTHESIS, decode, default_anchors, default_rho_km, kernel_hwhm, refine_points
from .points import HOW, check_point, densest_sample, predict_from_samples

__all__ = sorted(decoders.__all__ + points.__all__)
