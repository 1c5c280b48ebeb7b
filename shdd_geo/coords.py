"""Coordinate conventions: the one module that converts between units and frames.

Public API speaks degrees in ``(lat, lon)`` order (lat in [-90, 90], lon wrapped
to [-180, 180)).  Internally the sphere is parametrised by colatitude
``theta = pi/2 - lat`` [rad] and longitude ``phi = lon`` [rad], or by unit
vectors ``(x, y, z)`` with ``z`` towards the north pole and ``x`` towards
(0 N, 0 E).  Every conversion between these lives here; nothing else converts.

All functions accept NumPy arrays (computed in float64) and, where noted,
torch tensors (dtype and device preserved, autograd-friendly).
"""

from __future__ import annotations

import math

import numpy as np

from ._arrays import array_namespace as _xp
from ._arrays import is_torch as _is_torch
from ._validation import as_real_array

__all__ = [
    "EARTH_RADIUS_KM",
    "as_latlon",
    "deg2rad",
    "km_to_rad",
    "latlon_to_thetaphi",
    "latlon_to_xyz",
    "rad2deg",
    "rad_to_km",
    "thetaphi_to_latlon",
    "wrap_lon",
    "xyz_to_latlon",
]

#: Mean Earth radius [km] (IUGG R1), used for every great-circle distance.
EARTH_RADIUS_KM = 6371.0088

_DEG = math.pi / 180.0


def deg2rad(x):
    """Degrees to radians (NumPy or torch).

    Examples
    --------
    >>> deg2rad(180.0) == math.pi
    True
    """
    return x * _DEG


def rad2deg(x):
    """Radians to degrees (NumPy or torch).

    Examples
    --------
    >>> rad2deg(math.pi)
    180.0
    """
    return x / _DEG


def km_to_rad(km):
    """Great-circle distance [km] to central angle [rad].

    Examples
    --------
    >>> km_to_rad(EARTH_RADIUS_KM)
    1.0
    """
    return km / EARTH_RADIUS_KM


def rad_to_km(rad):
    """Central angle [rad] to great-circle distance [km].

    Examples
    --------
    >>> rad_to_km(1.0)
    6371.0088
    """
    return rad * EARTH_RADIUS_KM


def wrap_lon(lon):
    """Wrap longitudes [deg] into [-180, 180) (NumPy or torch).

    Examples
    --------
    >>> wrap_lon(np.array([180.0, 190.0, -540.0, 12.5])).tolist()
    [-180.0, -170.0, -180.0, 12.5]
    """
    xp = _xp(lon)
    # Values already in range are returned untouched (bit-exact), so tiny
    # longitudes keep their relative precision.
    if xp is np:
        lon = np.asarray(lon, dtype=np.float64)
        out = np.mod(lon + 180.0, 360.0) - 180.0
        # mod round-off can give exactly 180 for tiny negative inputs.
        out = np.where(out >= 180.0, out - 360.0, out)
        return np.where((lon >= -180.0) & (lon < 180.0), lon, out)
    out = xp.remainder(lon + 180.0, 360.0) - 180.0
    out = xp.where(out >= 180.0, out - 360.0, out)
    return xp.where((lon >= -180.0) & (lon < 180.0), lon, out)


def _as_float_array(x, name: str) -> np.ndarray:
    if isinstance(x, (str, bytes)):
        raise TypeError(f"`{name}` must be numeric (degrees), got {type(x).__name__}")
    return as_real_array(x, name, finite=False)  # complex and text refused


def as_latlon(
    lat,
    lon,
    *,
    names: tuple[str, str] = ("lat", "lon"),
    allow_empty: bool = False,
    ndim: int | None = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate latitudes and longitudes [deg] and return float64 arrays.

    Parameters
    ----------
    lat, lon : array_like
        Latitudes in [-90, 90] and longitudes (any finite value; wrapped to
        [-180, 180)).  Scalars are accepted; both are broadcast together.
    names : tuple of str
        Argument names used in error messages.
    allow_empty : bool
        Accept zero points.
    ndim : int or None
        If 1 (default), return 1-D arrays (scalars become length 1).  ``None``
        keeps the broadcast shape.

    Returns
    -------
    lat, lon : numpy.ndarray
        float64 arrays of equal shape, ``lon`` wrapped.

    Raises
    ------
    ValueError
        On NaN/inf, latitudes outside [-90, 90], shape mismatch or empty input.
    TypeError
        On non-numeric input.

    Examples
    --------
    >>> lat, lon = as_latlon([10.0, -20.0], [190.0, -180.0])
    >>> lon.tolist()
    [-170.0, -180.0]
    """
    n_lat, n_lon = names
    lat_a = _as_float_array(lat, n_lat)
    lon_a = _as_float_array(lon, n_lon)
    if lat_a.shape != lon_a.shape:
        try:
            lat_a, lon_a = np.broadcast_arrays(lat_a, lon_a)
        except ValueError:
            raise ValueError(
                f"`{n_lat}` and `{n_lon}` must have the same shape, "
                f"got {lat_a.shape} and {lon_a.shape}"
            ) from None
    if ndim == 1:
        if lat_a.ndim > 1:
            raise ValueError(
                f"`{n_lat}` and `{n_lon}` must be 1-D, got shape {lat_a.shape}"
            )
        lat_a, lon_a = np.atleast_1d(lat_a), np.atleast_1d(lon_a)
    if lat_a.size == 0 and not allow_empty:
        raise ValueError(f"`{n_lat}` and `{n_lon}` are empty; pass at least one point")
    for name, arr in ((n_lat, lat_a), (n_lon, lon_a)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(
                f"`{name}` must be finite, got {int(bad.sum())} NaN/inf value(s) "
                f"(first at index {int(np.flatnonzero(bad.ravel())[0])})"
            )
    if lat_a.size and (lat_a.min() < -90.0 or lat_a.max() > 90.0):
        raise ValueError(
            f"`{n_lat}` must be within [-90, 90] degrees, got "
            f"min={lat_a.min():.6g}, max={lat_a.max():.6g}"
        )
    return np.array(lat_a, dtype=np.float64), wrap_lon(lon_a)


def latlon_to_thetaphi(lat, lon):
    """(lat, lon) [deg] to colatitude theta [rad] in [0, pi] and phi [rad].

    Examples
    --------
    >>> theta, phi = latlon_to_thetaphi(90.0, 0.0)
    >>> float(theta), float(phi)
    (0.0, 0.0)
    """
    if _xp(lat) is np:
        lat, lon = as_latlon(lat, lon, allow_empty=True, ndim=None)
    return math.pi / 2 - deg2rad(lat), deg2rad(lon)


def thetaphi_to_latlon(theta, phi):
    """Colatitude theta and longitude phi [rad] to (lat, lon) [deg], lon wrapped.

    Examples
    --------
    >>> lat, lon = thetaphi_to_latlon(np.pi / 2, 3 * np.pi / 2)
    >>> float(lat), float(lon)
    (0.0, -90.0)
    """
    return rad2deg(math.pi / 2 - theta), wrap_lon(rad2deg(phi))


def latlon_to_xyz(lat, lon):
    """(lat, lon) [deg] to unit vectors, shape ``(..., 3)`` (NumPy or torch).

    Examples
    --------
    >>> latlon_to_xyz(90.0, 0.0).round(12).tolist()
    [0.0, 0.0, 1.0]
    """
    xp = _xp(lat)
    if xp is np:  # validated like every NumPy entry point (finite, lat in range)
        lat, lon = as_latlon(lat, lon, allow_empty=True, ndim=None)
    la, lo = deg2rad(lat), deg2rad(lon)
    cl = xp.cos(la)
    return xp.stack([cl * xp.cos(lo), cl * xp.sin(lo), xp.sin(la)], -1)


def xyz_to_latlon(xyz):
    """Vectors ``(..., 3)`` (any non-zero length) to (lat, lon) [deg].

    Uses ``atan2`` for both angles, so it is accurate near the poles.
    Raises ``ValueError`` for zero-length or non-finite vectors (NumPy input).

    Examples
    --------
    >>> lat, lon = xyz_to_latlon(np.array([0.0, 2.0, 0.0]))
    >>> float(lat), float(lon)
    (0.0, 90.0)
    """
    xp = _xp(xyz)
    if xp is np:
        xyz = np.asarray(xyz, dtype=np.float64)
        if xyz.shape[-1:] != (3,):
            raise ValueError(f"`xyz` must have a last axis of length 3, got {xyz.shape}")
        norm = np.linalg.norm(xyz, axis=-1)
        if not np.all(np.isfinite(norm)) or np.any(norm == 0):
            raise ValueError("`xyz` must hold finite, non-zero vectors")
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    lat = rad2deg(xp.atan2(z, xp.sqrt(x * x + y * y)) if xp is not np else np.arctan2(z, np.hypot(x, y)))
    lon = rad2deg(xp.atan2(y, x) if xp is not np else np.arctan2(y, x))
    return lat, wrap_lon(lon)
