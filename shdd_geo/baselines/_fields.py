"""Turn baseline outputs (weighted points, cell probabilities, a vMF) into SphericalFields."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._optional import attempt_import
from ..coords import EARTH_RADIUS_KM, latlon_to_xyz

__all__ = ["cells_field", "points_field", "vmf_field"]

#: Default kernel bandwidth for retrieval fields [km] (floored at the pixel size).
DEFAULT_BANDWIDTH_KM = 100.0


def _field_cls() -> Any:
    from ..fields import SphericalField

    return SphericalField


def default_bandwidth_km(nside: int) -> float:
    """``max(100 km, pixel size)`` at ``nside``."""
    hp = attempt_import("healpy", "HEALPix fields")
    return max(DEFAULT_BANDWIDTH_KM, float(hp.nside2resol(int(nside))) * EARTH_RADIUS_KM)


def points_field(lat: np.ndarray, lon: np.ndarray, w: np.ndarray, nside: int, bandwidth_km: float | None) -> Any:
    """Batch field: row ``i`` is a vMF kernel density of points ``(lat[i], lon[i])`` weighted by ``w[i]``."""
    SphericalField = _field_cls()
    h = default_bandwidth_km(nside) if bandwidth_km is None else bandwidth_km
    rows = [
        SphericalField.from_samples(la, lo, nside, method="kde", bandwidth_km=h, weights=ww).log_density
        for la, lo, ww in zip(lat, lon, w)
    ]
    return SphericalField(np.stack(rows), attrs={"source": "baseline:points"})


def cells_field(prob: np.ndarray, cell_nside: int, nside: int, uniform_weight: float) -> Any:
    """Batch field from per-cell probabilities on a RING map at ``cell_nside``, regridded to ``nside``."""
    SphericalField = _field_cls()
    npix = prob.shape[1]
    p = (1.0 - uniform_weight) * prob + uniform_weight / npix
    density = p / (4.0 * math.pi / npix)
    with np.errstate(divide="ignore"):
        field = SphericalField(np.log(density), attrs={"source": "baseline:cells"})
    return field.ud_grade(nside) if nside != cell_nside else field


def vmf_log_density(mu: np.ndarray, kappa: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """log of the von Mises-Fisher density [sr^-1] with means ``mu`` (B, 3) at points -> (B, n)."""
    u = latlon_to_xyz(lat, lon)
    log_c = math.log(kappa) - math.log(2 * math.pi) - math.log1p(-math.exp(-2 * kappa))
    return log_c + kappa * (mu @ u.T - 1.0)


def vmf_field(mu: np.ndarray, kappa: float, nside: int) -> Any:
    """Batch field of vMF densities with unit mean vectors ``mu`` (B, 3) and concentration ``kappa``."""
    SphericalField = _field_cls()
    f = SphericalField.from_function(lambda la, lo: vmf_log_density(mu, kappa, la, lo), nside)
    return f if f.is_batch else SphericalField(f.log_density[None], attrs=dict(f.attrs))


def kappa_from_mean_cos(mean_cos: float) -> float:
    """vMF concentration on S² whose mean ``cos`` of the error angle is ``mean_cos``.

    Solves ``coth(k) - 1/k = mean_cos`` by bisection in log k.
    """
    r = float(np.clip(mean_cos, 1e-6, 1 - 1e-12))
    lo, hi = -10.0, 30.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        k = math.exp(mid)
        a = 1.0 / math.tanh(k) - 1.0 / k if k > 1e-4 else k / 3.0
        lo, hi = (mid, hi) if a < r else (lo, mid)
    return math.exp(0.5 * (lo + hi))
