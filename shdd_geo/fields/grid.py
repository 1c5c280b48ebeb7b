"""HEALPix grid helpers of :class:`~shdd_geo.fields.SphericalField`.

Everything here is a thin, cached layer over healpy: validation of ``nside``,
pixel centres in degrees, neighbour tables, RING <-> NESTED permutations and
exact uniform sampling inside pixels.  healpy is imported lazily.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .._validation import check_int, check_nbytes
from ..coords import EARTH_RADIUS_KM, wrap_lon

__all__ = [
    "check_nside",
    "import_healpy",
    "neighbours",
    "nside_from_npix",
    "pixel_area_km2",
    "pixel_area_sr",
    "pixel_latlon",
    "pixel_xyz",
    "reorder_index",
    "uniform_in_pixels",
]

_MAX_NSIDE = 2**29


def import_healpy():
    """The ``healpy`` module, or an error naming the ``pip install`` that provides it.

    Examples
    --------
    >>> import_healpy().nside2npix(4)
    192
    """
    from .._optional import attempt_import

    return attempt_import("healpy", "HEALPix fields")


def check_nside(nside, name: str = "nside") -> int:
    """Validate a HEALPix ``nside``: a power of two in [1, 2**29].

    Examples
    --------
    >>> check_nside(64)
    64
    """
    nside = check_int(nside, name, what="an integer power of two")
    if nside < 1 or nside > _MAX_NSIDE or nside & (nside - 1):
        raise ValueError(
            f"`{name}` must be a power of two between 1 and 2**29 (e.g. 32, 64, 128), got {nside}"
        )
    check_nbytes(96.0 * nside * nside, name, nside, what=f"one map of {12 * nside * nside} float64 pixels")
    return nside


def nside_from_npix(npix: int, name: str = "values") -> int:
    """``nside`` with ``12 * nside**2 == npix``; a clear error otherwise.

    Examples
    --------
    >>> nside_from_npix(49152)
    64
    """
    nside = math.isqrt(max(int(npix) // 12, 0))
    if npix < 12 or 12 * nside * nside != npix or nside & (nside - 1):
        raise ValueError(
            f"`{name}` has {npix} pixels along its last axis, which is not a HEALPix map "
            "size 12 * nside**2 with nside a power of two (e.g. 49152 for nside=64)"
        )
    return nside


def pixel_area_sr(nside: int) -> float:
    """Area of one pixel [sr].

    Examples
    --------
    >>> round(pixel_area_sr(1) * 12, 12) == round(4 * math.pi, 12)
    True
    """
    return 4.0 * math.pi / (12 * nside * nside)


def pixel_area_km2(nside: int) -> float:
    """Area of one pixel [km^2].

    Examples
    --------
    >>> round(pixel_area_km2(1) * 12 / 1e6)   # the Earth's area in million km^2
    510
    """
    return pixel_area_sr(nside) * EARTH_RADIUS_KM**2


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=4)
def pixel_latlon(nside: int, nest: bool) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre latitude and longitude [deg] (read-only, lon in [-180, 180)).

    Examples
    --------
    >>> lat, lon = pixel_latlon(1, False)
    >>> lat.shape, bool(lon.min() >= -180)
    ((12,), True)
    """
    hp = import_healpy()
    lon, lat = hp.pix2ang(nside, np.arange(12 * nside * nside), nest=nest, lonlat=True)
    return _readonly(np.asarray(lat, dtype=np.float64)), _readonly(wrap_lon(lon))


@functools.lru_cache(maxsize=4)
def pixel_xyz(nside: int, nest: bool) -> np.ndarray:
    """Pixel-centre unit vectors ``(npix, 3)`` (read-only).

    Examples
    --------
    >>> bool(np.allclose(np.linalg.norm(pixel_xyz(2, False), axis=1), 1.0))
    True
    """
    hp = import_healpy()
    x, y, z = hp.pix2vec(nside, np.arange(12 * nside * nside), nest=nest)
    return _readonly(np.stack([x, y, z], axis=1))


@functools.lru_cache(maxsize=2)
def neighbours(nside: int, nest: bool) -> np.ndarray:
    """The 8 neighbours of every pixel, ``(8, npix)``; -1 where there is none.

    Examples
    --------
    >>> neighbours(2, False).shape
    (8, 48)
    """
    hp = import_healpy()
    return _readonly(hp.get_all_neighbours(nside, np.arange(12 * nside * nside), nest=nest))


@functools.lru_cache(maxsize=8)
def reorder_index(nside: int, to_nest: bool) -> np.ndarray:
    """Index ``i`` such that ``values_new = values_old[..., i]`` changes the ordering.

    Examples
    --------
    >>> ring = np.arange(48.0)
    >>> bool(np.array_equal(ring[reorder_index(2, True)][reorder_index(2, False)], ring))
    True
    """
    hp = import_healpy()
    pix = np.arange(12 * nside * nside)
    return _readonly(hp.nest2ring(nside, pix) if to_nest else hp.ring2nest(nside, pix))


def _pixel_boxes(nside: int, pix: np.ndarray, nest: bool):
    """Bounding boxes in (z, phi) of pixels: zmin, zmax, phi_lo, phi_width [rad].

    Pixel edges are monotone in z and in phi between vertices, so the sampled
    boundary gives the exact extent; phi is measured relative to the centre
    and boundary points at a pole (undefined phi) are ignored.
    """
    hp = import_healpy()
    b = hp.boundaries(nside, pix, step=2, nest=nest)  # (m, 3, 8)
    if b.ndim == 2:
        b = b[None]
    z = b[:, 2, :]
    _, phi_c = hp.pix2ang(nside, pix, nest=nest)
    phi_b = np.arctan2(b[:, 1, :], b[:, 0, :])
    dphi = np.mod(phi_b - phi_c[:, None] + np.pi, 2 * np.pi) - np.pi
    at_pole = np.abs(z) > 1.0 - 1e-12
    lo = np.where(at_pole, np.inf, dphi).min(axis=1)
    hi = np.where(at_pole, -np.inf, dphi).max(axis=1)
    pad = 0.02 * (hi - lo)
    zmin = np.maximum(z.min(axis=1) - 1e-12, -1.0)
    zmax = np.minimum(z.max(axis=1) + 1e-12, 1.0)
    return zmin, zmax, phi_c + lo - pad, (hi - lo) + 2 * pad


def uniform_in_pixels(nside: int, pix: np.ndarray, nest: bool, rng: np.random.Generator):
    """One point uniformly distributed (by area) inside each pixel of ``pix``.

    Exact: proposals are uniform in area in a (z, phi) box around the pixel and
    rejected unless they fall in the pixel.  Returns (lat, lon) [deg].
    
    Examples
    --------
    >>> lat, lon = uniform_in_pixels(4, np.array([0, 100]), False, np.random.default_rng(0))
    >>> bool(np.array_equal(import_healpy().ang2pix(4, lon, lat, lonlat=True), [0, 100]))
    True
    """
    hp = import_healpy()
    pix = np.asarray(pix, dtype=np.int64).ravel()
    z_out = np.empty(pix.size)
    phi_out = np.empty(pix.size)
    todo = np.arange(pix.size)
    chunk = 1 << 16
    for lo_i in range(0, pix.size, chunk):
        idx = todo[lo_i : lo_i + chunk]
        zmin, zmax, plo, pw = _pixel_boxes(nside, pix[idx], nest)
        pending = np.arange(idx.size)
        for _ in range(200):
            if pending.size == 0:
                break
            z = zmin[pending] + (zmax[pending] - zmin[pending]) * rng.random(pending.size)
            phi = plo[pending] + pw[pending] * rng.random(pending.size)
            ok = hp.vec2pix(
                nside,
                np.sqrt(np.maximum(1 - z * z, 0)) * np.cos(phi),
                np.sqrt(np.maximum(1 - z * z, 0)) * np.sin(phi),
                z,
                nest=nest,
            ) == pix[idx[pending]]
            z_out[idx[pending[ok]]] = z[ok]
            phi_out[idx[pending[ok]]] = phi[ok]
            pending = pending[~ok]
        if pending.size:  # pragma: no cover - acceptance is ~50 %, 200 rounds never fail
            theta, phi = hp.pix2ang(nside, pix[idx[pending]], nest=nest)
            z_out[idx[pending]], phi_out[idx[pending]] = np.cos(theta), phi
    lat = np.degrees(np.arcsin(np.clip(z_out, -1.0, 1.0)))
    return lat, wrap_lon(np.degrees(phi_out))
