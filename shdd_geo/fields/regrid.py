"""Regridding between HEALPix and regular lat/lon grids, and interpolation.

All values are log-densities per steradian, rows ``(B, npix)`` or grids
``(B, nlat, nlon)``, computed in log space so that peaked fields never
underflow.  Used by :class:`~shdd_geo.fields.SphericalField`, its xarray/NetCDF
export and its maps.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from .._arrays import logsumexp as fast_logsumexp
from .._validation import check_nbytes, check_real
from ..coords import wrap_lon
from .grid import import_healpy, pixel_area_sr

__all__ = ["check_regular_axis", "grid_axes", "grid_to_healpix", "healpix_to_grid", "interp_log"]


def check_regular_axis(c, name: str, period: float | None) -> float:
    """Validate ascending, evenly spaced cell centres; return the spacing [deg].

    Examples
    --------
    >>> check_regular_axis([-0.5, 0.5, 1.5], "lat", 180.0)
    1.0
    """
    c = np.asarray(c, dtype=np.float64)
    if c.ndim != 1 or c.size < 2:
        raise ValueError(f"`{name}` must be a 1-D array of at least 2 cell centres, got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError(f"`{name}` must be finite")
    d = np.diff(c)
    step = float(d.mean())
    if step <= 0 or np.ptp(d) > 1e-6 * step:
        raise ValueError(
            f"`{name}` must be strictly ascending with a constant spacing (a regular grid), "
            f"got spacings between {d.min():.6g} and {d.max():.6g} degrees"
        )
    if period is not None and step * c.size > period + 1e-6:
        raise ValueError(f"`{name}` spans more than {period} degrees ({c.size} cells of {step:.6g})")
    return step


def _sub_centres(centres: np.ndarray, step: float, s: int) -> np.ndarray:
    off = (np.arange(s) + 0.5) / s - 0.5
    return (centres[:, None] + step * off[None, :]).ravel()


def grid_to_healpix(
    log_q: np.ndarray, lat: np.ndarray, lon: np.ndarray, nside: int, nest: bool
) -> np.ndarray:
    """Area-weighted average of a regular lat/lon grid of log-densities on HEALPix.

    Every grid cell is split into sub-cells under a quarter pixel; each
    sub-cell (weighted by its exact spherical area) is assigned to the pixel
    holding its centre and the pixel value is the area-weighted mean density.
    Pixels outside the grid get ``-inf`` (zero density).

    Examples
    --------
    >>> lat, lon = grid_axes(10.0)
    >>> rows = grid_to_healpix(np.zeros((1, lat.size, lon.size)), lat, lon, 4, False)
    >>> rows.shape, bool(np.allclose(rows, 0.0))
    ((1, 192), True)
    """
    hp = import_healpy()
    dlat = check_regular_axis(lat, "lat", 180.0)
    dlon = check_regular_axis(lon, "lon", 360.0)
    resol = math.degrees(hp.nside2resol(nside))
    s_lat, s_lon = math.ceil(dlat / (resol / 4)), math.ceil(dlon / (resol / 4))
    sub_lat = np.clip(_sub_centres(lat, dlat, s_lat), -90.0, 90.0)
    top = np.clip(sub_lat + dlat / (2 * s_lat), -90.0, 90.0)
    bottom = np.clip(sub_lat - dlat / (2 * s_lat), -90.0, 90.0)
    area_row = np.sin(np.radians(top)) - np.sin(np.radians(bottom))  # times dlon
    sub_lon = wrap_lon(_sub_centres(lon, dlon, s_lon))
    npix = 12 * nside * nside
    B = log_q.shape[0]
    mass = np.zeros((B, npix))
    area = np.zeros(npix)
    shift = log_q.max(axis=(1, 2))
    shift = np.where(np.isfinite(shift), shift, 0.0)
    q = np.exp(log_q - shift[:, None, None])  # (B, nlat, nlon), max 1
    q_sub = np.repeat(q, s_lon, axis=2)
    for i in range(sub_lat.size):
        pix = hp.ang2pix(nside, sub_lon, np.full(sub_lon.size, sub_lat[i]), nest=nest, lonlat=True)
        area += np.bincount(pix, minlength=npix) * area_row[i]
        row = q_sub[:, i // s_lat, :] * area_row[i]
        for b in range(B):
            mass[b] += np.bincount(pix, weights=row[b], minlength=npix)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(mass) - np.log(area) + shift[:, None]
    out[:, area == 0] = -np.inf
    return out


def grid_axes(resolution_deg) -> tuple[np.ndarray, np.ndarray]:
    """Ascending cell centres of a global regular grid at ``resolution_deg``.

    Examples
    --------
    >>> lat, lon = grid_axes(45.0)
    >>> lat.tolist(), lon.size
    ([-67.5, -22.5, 22.5, 67.5], 8)
    """
    r = check_real(resolution_deg, "resolution_deg", unit=" [deg]")
    n_lat = round(180.0 / r) if math.isfinite(r) and r > 0 else 0
    if n_lat < 1 or abs(n_lat * r - 180.0) > 1e-9 * 180:
        raise ValueError(
            f"`resolution_deg` must be > 0 and divide 180 exactly (e.g. 0.25, 0.5, 1, 2), "
            f"got {resolution_deg}"
        )
    check_nbytes(16.0 * n_lat * n_lat, "resolution_deg", resolution_deg, what=f"a {n_lat} x {2 * n_lat} float64 grid")
    lat = -90.0 + r * (np.arange(n_lat) + 0.5)
    lon = -180.0 + r * (np.arange(2 * n_lat) + 0.5)
    return lat, lon


def interp_log(rows: np.ndarray, nside: int, nest: bool, lat, lon) -> np.ndarray:
    """Bilinear (linear in density) interpolation of log rows ``(B, npix)`` at points -> ``(B, n)``.

    Examples
    --------
    >>> rows = np.zeros((1, 48))
    >>> interp_log(rows, 2, False, np.array([10.0]), np.array([20.0])).round(12).tolist()
    [[0.0]]
    """
    hp = import_healpy()
    pix, w = hp.get_interp_weights(nside, lon, lat, nest=nest, lonlat=True)
    with np.errstate(divide="ignore"):
        logw = np.log(np.maximum(w, 0.0))  # healpy can return -1e-16
    return fast_logsumexp(rows[:, pix] + logw[None], axis=1)


def _sub_row_areas(sub_lat: np.ndarray, step: float) -> np.ndarray:
    """Relative areas of sub-cells per sub-row: sin(top) - sin(bottom) [per rad of lon]."""
    top = np.radians(np.clip(sub_lat + step / 2, -90.0, 90.0))
    bottom = np.radians(np.clip(sub_lat - step / 2, -90.0, 90.0))
    return np.sin(top) - np.sin(bottom)


def _conservative(rows, nside, nest, lat, lon, r, s) -> np.ndarray:
    """Cell means of the piecewise-constant pixel density; exact total mass.

    1. sub-samples a quarter pixel apart are assigned to pixels and each pixel's
       sampled area is summed;  2. a pixel's mass is shared among its samples in
       proportion to their areas (so the sampled areas add up to the true pixel
       area);  3. each cell holds the mass of its samples over its area.
    """
    hp = import_healpy()
    sub_lat = _sub_centres(lat, r, s)
    sub_lon = wrap_lon(_sub_centres(lon, r, s))
    a_row = _sub_row_areas(sub_lat, r / s) * math.radians(r / s)
    pix_of = [hp.ang2pix(nside, sub_lon, np.full(sub_lon.size, la), nest=nest, lonlat=True) for la in sub_lat]
    sampled = np.zeros(rows.shape[1])
    for a, pix in zip(a_row, pix_of):
        sampled += np.bincount(pix, minlength=rows.shape[1]) * a
    with np.errstate(divide="ignore"):
        log_corr = math.log(pixel_area_sr(nside)) - np.log(sampled)
    out = np.empty((rows.shape[0], lat.size, lon.size))
    for i in range(lat.size):
        rs = slice(i * s, (i + 1) * s)
        pix = np.stack(pix_of[rs])  # (s, nlon*s)
        v = rows[:, pix] + log_corr[pix] + np.log(a_row[rs])[None, :, None]
        cell_area = a_row[rs].sum() * s
        out[:, i, :] = logsumexp(v.reshape(rows.shape[0], s, lon.size, s), axis=(1, 3)) - math.log(cell_area)
    return out


def _bilinear(rows, nside, nest, lat, lon, r, s) -> np.ndarray:
    """Bilinear density at sub-samples, averaged over each cell by area."""
    sub_lat = _sub_centres(lat, r, s)
    sub_lon = wrap_lon(_sub_centres(lon, r, s))
    logw_lat = np.log(_sub_row_areas(sub_lat, r / s)).reshape(lat.size, s)
    logw_lat = logw_lat - logsumexp(logw_lat, axis=1, keepdims=True) - math.log(s)
    out = np.empty((rows.shape[0], lat.size, lon.size))
    step = max(1, (1 << 16) // (s * sub_lon.size))  # cell rows per call: ~65k sub-samples (bounded memory)
    for i in range(0, lat.size, step):
        n = min(step, lat.size - i)
        la = np.repeat(sub_lat[i * s : (i + n) * s], sub_lon.size)
        v = interp_log(rows, nside, nest, la, np.tile(sub_lon, n * s)).reshape(rows.shape[0], n, s, lon.size, s)
        out[:, i : i + n, :] = fast_logsumexp(v + logw_lat[i : i + n][None, :, :, None, None], axis=(2, 4))
    return out


def healpix_to_grid(rows: np.ndarray, nside: int, nest: bool, resolution_deg, method: str = "conservative") -> tuple:
    """Log-density rows on a regular global lat/lon grid -> (lat, lon, (B, nlat, nlon)).

    ``"conservative"``: cell means of the piecewise-constant pixel density
    (total mass exact).  ``"bilinear"``: the bilinear density at the cell
    centre (smooth, for maps), averaged over sub-samples for cells larger
    than a pixel.

    Examples
    --------
    >>> lat, lon, v = healpix_to_grid(np.zeros((1, 192)), 4, False, 30.0)
    >>> v.shape, bool(np.allclose(v, 0.0, atol=0.1))              # ~ the uniform log-density
    ((1, 6, 12), True)
    """
    hp = import_healpy()
    lat, lon = grid_axes(resolution_deg)
    r = lat[1] - lat[0] if lat.size > 1 else 180.0
    resol = math.degrees(hp.nside2resol(nside))
    if method == "conservative":
        return lat, lon, _conservative(rows, nside, nest, lat, lon, r, max(1, math.ceil(r / (resol / 4))))
    if method == "bilinear":
        s = max(1, math.ceil(r / (resol / 2))) if r > resol else 1
        return lat, lon, _bilinear(rows, nside, nest, lat, lon, r, s)
    raise ValueError(f"`method` must be 'conservative' or 'bilinear', got {method!r}")
