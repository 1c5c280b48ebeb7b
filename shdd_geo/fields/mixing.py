"""Mixing two densities: the one function behind every prior and namesake mixture.

``SphericalField.mixture`` (and, through it, ``LocDiffusion.mix_prior``) and
:func:`shdd_geo.datasets.gazetteer.mix_namesakes` all mix log-densities with
:func:`mix_log_densities`, in log space.

Examples
--------
>>> import numpy as np
>>> np.exp(mix_log_densities(np.log([0.8, 0.2]), np.log([0.4, 0.6]), 0.25)).round(12).tolist()
[0.7, 0.3]
"""

from __future__ import annotations

import numpy as np

__all__ = ["mix_log_densities"]


def mix_log_densities(log_a, log_b, weight: float) -> np.ndarray:
    """``log((1 - w) exp(log_a) + w exp(log_b))``, elementwise, for a weight ``w`` in [0, 1].

    Both inputs should be normalised the same way (the result is a density if
    they are).  ``w = 0`` gives ``log_a`` and ``w = 1`` gives ``log_b`` (zero
    weights contribute ``-inf`` terms, without warnings).

    Examples
    --------
    >>> a, b = np.log([0.5, 0.5]), np.log([0.9, 0.1])
    >>> np.exp(mix_log_densities(a, b, 0.5)).round(12).tolist()
    [0.7, 0.3]
    """
    w = float(weight)
    if not (0.0 <= w <= 1.0):
        raise ValueError(f"`weight` must be in [0, 1], got {weight}")
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log1p(-w) + np.asarray(log_a), np.log(w) + np.asarray(log_b))
