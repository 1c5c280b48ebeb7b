"""The defaults every door shares: samples per answer, how samples become a point, map resolution.

:class:`~shdd_geo.model.LocDiffusion` (``predict``, ``predict_samples``,
``predict_field``), the built-in models' :class:`~shdd_geo.pretrained.Geolocator`
(``predict``, ``predict_field``, ``locate``), :func:`shdd_geo.locate` and the
``shdd-geo`` commands all default to these values, so the cost and the answer do
not depend on which door a user came in by.

How they were chosen (commands and result files on the results page):

* ``DEFAULT_SAMPLES = 32``.  The built-in ``geonames-minilm`` pipeline's maps,
  calibrated on 800 held-out places and scored on 800 others
  (``python -m benchmarks.recipes.calibrate_geonames_conformal --samples K``),
  are as good with 16 or 32 samples as with 64: calibrated 90 % regions cover
  89.1 / 89.1 / 89.5 % with mean areas 0.102 / 0.105 / 0.103 M km², and the
  top mode of ``locate`` lands within 25 km of the most populous namesake as
  often (``benchmarks/perf/locate.py``, ``locate_samples`` rows).  But 16
  samples make close contests a coin toss: "San José" put the Philippines
  first for 2 of 4 seeds (masses 0.34 vs 0.32 for California), 32 samples for
  0 of 10 seeds, 64 for 0 of 4.  32 samples cost about half of 64.  The
  shipped conformal levels of both built-in models are fitted on 32-sample
  maps.
* ``DEFAULT_POINT = "densest"``: the decoded sample where the mixture of the
  samples' densities is highest, never the empty middle between two
  namesakes.  On 1,000 validation names (``vs_retrieval`` task, random split)
  it beat the paper's geographic centre by 0.6 / 2.0 / 0.2 points within
  200 / 750 / 2,500 km (median 748 vs 837 km).  ``LocDiffusion.paper()``'s
  reproduction uses ``point="centre"``.
* ``DEFAULT_NSIDE = 64``: maps of 49,152 pixels of 0.84 deg² (about 100 km
  across), finer than the model's band limit (L = 23, about 800 km).

Examples
--------
>>> from shdd_geo import defaults
>>> defaults.DEFAULT_SAMPLES, defaults.DEFAULT_POINT, defaults.DEFAULT_NSIDE
(32, 'densest', 64)
"""

from __future__ import annotations

__all__ = ["DEFAULT_NSIDE", "DEFAULT_POINT", "DEFAULT_SAMPLES"]

#: Diffusion samples per answer (points, maps, ``locate``).
DEFAULT_SAMPLES = 32
#: How samples become one point: the densest sample (see the module docstring).
DEFAULT_POINT = "densest"
#: HEALPix nside of density maps.
DEFAULT_NSIDE = 64
