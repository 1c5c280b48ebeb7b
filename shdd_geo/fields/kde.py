"""Kernel density estimates on HEALPix: von Mises-Fisher KDE, histograms, bandwidths.

All results are log-densities per steradian, shape ``(npix,)``, computed in
log space so that peaked fields never underflow.  Used by
:meth:`SphericalField.from_samples <shdd_geo.fields.SphericalField.from_samples>`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._arrays import logsumexp
from .._validation import check_real
from ..coords import EARTH_RADIUS_KM, latlon_to_xyz
from .grid import import_healpy, pixel_area_sr, pixel_xyz

__all__ = ["check_bandwidth", "histogram_log_density", "rot_bandwidth_rad", "vmf_kde_log_density"]


def _kappa_from_resultant(rbar: float) -> float:
    """vMF concentration on S^2 from the mean resultant length (Banerjee et al. 2005)."""
    rbar = min(max(rbar, 0.0), 1.0 - 1e-12)
    return rbar * (3.0 - rbar * rbar) / (1.0 - rbar * rbar)


def rot_bandwidth_rad(xyz: np.ndarray, w: np.ndarray) -> float:
    """Rule-of-thumb bandwidth [rad] of a vMF kernel on S^2.

    García-Portugués (2013, "Exact risk improvement of bandwidth selectors for
    kernel density estimation with directional data", eq. 6 with q = 2)::

        h = (8 sinh(k)^2 / (k n [(1 + 4k^2) sinh(2k) - 2k cosh(2k)]))^(1/6)

    with ``k`` the vMF concentration fitted to the data and ``n`` the
    effective sample size ``1 / sum(w^2)``.  Written with ``E = exp(-2k)`` so
    it neither overflows for concentrated data nor cancels badly (k >= 0.01).

    Examples
    --------
    >>> xyz = np.array([[1.0, 0, 0], [0.99, 0.1, 0]]); w = np.full(2, 0.5)
    >>> 0 < rot_bandwidth_rad(xyz, w) < math.pi / 2
    True
    """
    n_eff = 1.0 / float(np.sum(w * w))
    k = max(_kappa_from_resultant(float(np.linalg.norm(w @ xyz))), 1e-2)
    e = math.exp(-2.0 * k)
    den = (1.0 + 4.0 * k * k) * (1.0 - e * e) - 2.0 * k * (1.0 + e * e)
    ratio = 4.0 * (1.0 - e) ** 2 / (k * n_eff * den)
    return min(ratio ** (1.0 / 6.0), math.pi / 2)


def _log_vmf_norm(kappa: float) -> float:
    """log of the vMF normalising constant on S^2 (density per sr), times exp(-kappa)."""
    return math.log(kappa) - math.log(2.0 * math.pi) - math.log1p(-math.exp(-2.0 * kappa))


def vmf_kde_log_density(
    lat: np.ndarray, lon: np.ndarray, w: np.ndarray, nside: int, nest: bool, h_rad: float
) -> np.ndarray:
    """log of ``sum_i w_i vMF(u; x_i, kappa = 1/h^2)`` at every pixel centre, shape (npix,).

    Examples
    --------
    >>> v = vmf_kde_log_density(np.array([10.0]), np.array([20.0]), np.ones(1), 8, False, 0.1)
    >>> round(float(np.exp(v).sum() * pixel_area_sr(8)), 3)   # integrates to 1
    1.0
    """
    kappa = 1.0 / (h_rad * h_rad)
    u = pixel_xyz(nside, nest)
    x = latlon_to_xyz(lat, lon)
    with np.errstate(divide="ignore"):
        logw = np.log(w)  # zero weights drop out
    out = np.full(u.shape[0], -np.inf)
    step = max(1, (1 << 22) // u.shape[0])
    for lo in range(0, x.shape[0], step):
        t = kappa * (u @ x[lo : lo + step].T - 1.0) + logw[lo : lo + step]
        out = np.logaddexp(out, logsumexp(t, axis=1))  # NumPy fast path (shdd_geo._arrays)
    return out + _log_vmf_norm(kappa)


def histogram_log_density(lat, lon, w, nside: int, nest: bool) -> np.ndarray:
    """log of the weighted histogram density per sr (``-inf`` in empty pixels).

    Examples
    --------
    >>> v = histogram_log_density(np.array([0.0, 0.0]), np.array([0.0, 0.0]), np.full(2, 0.5), 2, False)
    >>> int(np.isfinite(v).sum())                                # one occupied pixel
    1
    """
    hp = import_healpy()
    pix = hp.ang2pix(nside, lon, lat, nest=nest, lonlat=True)
    mass = np.bincount(pix, weights=w, minlength=12 * nside * nside)
    with np.errstate(divide="ignore"):
        return np.log(mass) - math.log(pixel_area_sr(nside))


def check_bandwidth(bandwidth_km, nside: int, xyz, w) -> float:
    """Bandwidth [rad]: explicit, or the rule of thumb floored at the pixel size.

    Examples
    --------
    >>> round(check_bandwidth(637.10088, 8, None, None), 6)      # 637 km = 0.1 rad
    0.1
    """
    hp = import_healpy()
    resol = hp.nside2resol(nside)
    if bandwidth_km is None:
        return max(rot_bandwidth_rad(xyz, w), resol)
    h = check_real(bandwidth_km, "bandwidth_km", low=0.0, closed="neither", unit=" [km]",
                   what="a finite number > 0 or None (the rule of thumb)") / EARTH_RADIUS_KM
    if h < 1e-3 * resol:  # the kernel falls between pixel centres: no normalisable density on this grid
        raise ValueError(f"`bandwidth_km`={bandwidth_km} is far below the pixel size ({resol * EARTH_RADIUS_KM:.3g} km "
                         f"at nside={nside}); use at least {1e-3 * resol * EARTH_RADIUS_KM:.3g} km or method='histogram'")
    if h < 0.5 * resol:
        warnings.warn(
            f"`bandwidth_km`={bandwidth_km} is below half the pixel size "
            f"({resol * EARTH_RADIUS_KM:.0f} km at nside={nside}); the estimate will be "
            "aliased. Increase `nside` or the bandwidth.",
            UserWarning,
            stacklevel=4,
        )
    return h
