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
    :func:`densest_sample`; needs the coefficients).

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

__all__ = ["HOW", "check_point", "densest_sample", "predict_from_samples"]

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


def densest_sample(coeffs: np.ndarray, lat: np.ndarray, lon: np.ndarray, n_anchors: int | None = None,
                   *, max_floats: int = 2 ** 26) -> np.ndarray:
    """Index of the decoded sample with the highest mixture density, per condition.

    For samples ``e_1..e_K`` decoded at ``u_1..u_K``, returns
    ``argmax_j sum_k q_{e_k}(u_j)`` with ``log q_e(u) = f_e(u) - log Z(e)``
    and ``log Z`` by quadrature over a Fibonacci set of ``max(4 D, 2048)`` points.
    Conditions are processed in chunks whose largest temporary holds about
    ``max_floats`` float64 values (512 MiB by default), so memory does not
    grow with the number of conditions.

    Examples
    --------
    >>> from shdd_geo.codec import encode
    >>> e = encode([0, 0, 50], [0, 1, 90], L=10)[None]      # two samples near (0, 0), one far
    >>> int(densest_sample(e, np.array([[0.0, 0, 50]]), np.array([[0.0, 1, 90]]))[0]) in (0, 1)
    True
    """
    from scipy.special import logsumexp

    from .._validation import as_real_array
    from ..anchors import fibonacci
    from ..sh import degree_from_dim, sh_basis

    coeffs = as_real_array(coeffs, "coeffs", dtype=None)
    if coeffs.ndim != 3:
        raise ValueError(f"`coeffs` must have shape (batch, n_samples, D), got {coeffs.shape}")
    B, K, D = coeffs.shape
    L = degree_from_dim(D)
    if np.size(lat) != B * K or np.size(lon) != B * K:
        raise ValueError(f"`lat` and `lon` must hold batch x n_samples = {B * K} decoded points, "
                         f"got {np.size(lat)} and {np.size(lon)}")
    anchors = fibonacci(n_anchors or max(4 * D, 2048))
    A = anchors.basis(L)
    lat, lon = np.asarray(lat).reshape(B, K), np.asarray(lon).reshape(B, K)
    rows = max(1, int(max_floats) // (K * max(len(A), K, D)))
    out = np.empty(B, dtype=np.int64)
    for i in range(0, B, rows):
        c = coeffs[i:i + rows].astype(np.float64)
        n = len(c)
        log_z = logsumexp(c @ A.T + anchors.log_weights, axis=-1)        # (n, K)
        Y = sh_basis(lat[i:i + n].ravel(), lon[i:i + n].ravel(), L).reshape(n, K, D)  # decoded points
        f = np.einsum("bkd,bjd->bkj", c, Y) - log_z[:, :, None]          # log q_k(u_j)
        out[i:i + n] = np.argmax(logsumexp(f, axis=1), axis=-1)
    return out
