"""One point from many decoded samples: the samples-to-point choices.

A generative model answers a condition with ``K`` samples; a point
prediction combines them.  The choices, by name (one meaning each):

``"centre"``
    Geographic centre: the normalised mean of the samples' unit vectors
    (the paper's choice, §5.1).
``"median"``
    Spherical geometric median (robust to a few far samples).
``"kde"``
    The densest sample under a Gaussian kernel density of the samples'
    *points*: ``argmax_i sum_j exp(-d_ij^2 / 2 h^2)`` with ``h =
    bandwidth_km`` (:func:`predict_from_samples`; needs points only).
``"densest"``
    The densest sample under the mixture of the samples' own SHDD
    *densities*: ``argmax_j sum_k q_{e_k}(u_j)``
    (``LocDiffusion.predict(point="densest")``, through
    :func:`shdd_geo.model.densest_sample`; needs the coefficients).

The word *mode* is kept for the maxima of a density: the ``"mode"`` decoder
of :func:`~shdd_geo.decoding.decode` and
:meth:`SphericalField.modes <shdd_geo.fields.SphericalField.modes>`.  The
old spelling ``how="mode"`` of :func:`predict_from_samples` (= ``"kde"``) and
``point="mode"`` of ``LocDiffusion.predict`` (= ``"densest"``) still work,
with a :class:`DeprecationWarning`.

Examples
--------
>>> lat, lon = predict_from_samples([10.0, 10.0, 12.0], [0.0, 2.0, 1.0])
>>> round(float(lat), 2), round(float(lon), 2)
(10.67, 1.0)
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["HOW", "check_point", "predict_from_samples"]

#: Choices of :func:`predict_from_samples`.
HOW = ("centre", "median", "kde")


def check_point(value: str, choices, name: str = "point") -> str:
    """Validate a samples-to-point choice; map the deprecated ``"mode"`` to its new name.

    ``"mode"`` becomes ``"kde"`` where ``choices`` has it (:func:`predict_from_samples`),
    else ``"densest"`` (``LocDiffusion.predict``), with a :class:`DeprecationWarning`.

    Examples
    --------
    >>> check_point("densest", ("centre", "densest", "median"))
    'densest'
    """
    if value == "mode":
        new = "kde" if "kde" in choices else "densest"
        warnings.warn(
            f"`{name}='mode'` is deprecated (the word now means a maximum of a density only); "
            f"use {name}={new!r}, the same densest-sample choice (see shdd_geo.decoding.points)",
            DeprecationWarning,
            stacklevel=3,
        )
        return new
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}, got {value!r}")
    return value


def _kde_densest(lat, lon, bandwidth_km: float):
    """The sample with the largest Gaussian kernel density of the samples' points."""
    from ..coords import wrap_lon
    from ..metrics import geographic_centre, great_circle_km

    if not (np.isscalar(bandwidth_km) and np.isfinite(bandwidth_km) and bandwidth_km > 0):
        raise ValueError(f"`bandwidth_km` must be a finite number > 0, got {bandwidth_km!r}")
    geographic_centre(lat, lon)  # validates shapes and values
    la, lo = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    d = great_circle_km(la[..., :, None], lo[..., :, None], la[..., None, :], lo[..., None, :])
    best = np.argmax(np.exp(-0.5 * (d / bandwidth_km) ** 2).sum(-1), -1)
    pick = lambda a: np.take_along_axis(a, np.asarray(best)[..., None], -1)[..., 0]
    return pick(la), wrap_lon(pick(lo))


def predict_from_samples(lat, lon, how: str = "centre", *, bandwidth_km: float = 250.0):
    """One prediction from K decoded samples per condition (paper §5.1).

    Parameters
    ----------
    lat, lon : array_like, shape (K,) or (B, K)
        Decoded samples [deg].
    how : {"centre", "median", "kde"}
        Geographic centre (normalised mean of unit vectors, the paper's
        choice), spherical geometric median, or the densest sample under a
        Gaussian kernel density ``sum_j exp(-d_ij^2 / 2h^2)`` of the samples
        (see the module notes; ``"mode"`` is a deprecated alias of ``"kde"``).
    bandwidth_km : float
        ``h`` of the ``"kde"`` choice [km].

    Returns
    -------
    lat, lon : float or numpy.ndarray (B,) [deg]

    Examples
    --------
    >>> lat, lon = predict_from_samples([0.0, 0.0, 0.1, 40.0], [0.0, 0.2, 0.1, 40.0], how="kde")
    >>> float(lat), float(lon)
    (0.1, 0.1)
    """
    from ..metrics import geographic_centre, geometric_median

    how = check_point(how, HOW, "how")
    if how == "centre":
        return geographic_centre(lat, lon)
    if how == "median":
        return geometric_median(lat, lon)
    return _kde_densest(lat, lon, bandwidth_km)
