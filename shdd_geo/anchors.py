"""Anchor sets: points on the sphere with area weights (sum 4*pi).

Anchors are where densities are evaluated for the SHDD-KL loss and where
decoders look for modes.  Every set carries latitude/longitude [deg], unit
vectors and quadrature weights [sr] that sum to ``4*pi``, so that
``sum_i w_i g(a_i)`` approximates the integral of ``g`` over the sphere.

Examples
--------
>>> from shdd_geo import anchors
>>> a = anchors.healpix(8)
>>> a.n, round(float(a.weights.sum()), 12) == round(4 * 3.141592653589793, 12)
(768, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._validation import as_real_array, check_bool, check_int, check_nbytes, check_real
from .coords import as_latlon, latlon_to_xyz, rad2deg, wrap_lon

__all__ = ["AnchorSet", "as_rng", "fibonacci", "gallery", "grid", "healpix", "nside_for_spacing", "uniform"]

_FOUR_PI = 4.0 * math.pi


def as_rng(rng) -> np.random.Generator:
    """Turn ``None``, an int seed or a Generator into a ``numpy.random.Generator``.

    Examples
    --------
    >>> as_rng(0).integers(10) == np.random.default_rng(0).integers(10)
    np.True_
    """
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    return np.random.default_rng(check_int(rng, "rng", low=0, what="None, an int seed >= 0 or a numpy Generator"))


@dataclass(frozen=True, eq=False)
class AnchorSet:
    """Points on the sphere with quadrature weights.

    Parameters
    ----------
    lat, lon : numpy.ndarray
        Coordinates [deg], validated and wrapped.
    weights : numpy.ndarray, optional
        Area weights [sr]; default equal weights ``4*pi/n``.  Rescaled to sum
        to ``4*pi``.
    kind : str
        How the set was made (``"healpix"``, ``"fibonacci"``, ...).
    meta : dict
        Construction parameters (``nside``, ``res_deg``, ...).

    Examples
    --------
    >>> a = AnchorSet([0.0, 10.0], [0.0, 20.0])
    >>> a.xyz.shape, a.weights.tolist() == [2 * np.pi, 2 * np.pi]
    ((2, 3), True)
    """

    lat: np.ndarray
    lon: np.ndarray
    weights: np.ndarray | None = None
    kind: str = "custom"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        lat, lon = as_latlon(self.lat, self.lon)
        n = lat.shape[0]
        if self.weights is None:
            w = np.full(n, _FOUR_PI / n)
        else:
            w = as_real_array(self.weights, "weights", finite=False)
            if w.shape != (n,):
                raise ValueError(f"`weights` must have shape ({n},), got {w.shape}")
            if not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise ValueError("`weights` must be finite and > 0")
            w = w * (_FOUR_PI / w.sum())
        for name, val in (("lat", lat), ("lon", lon), ("weights", w)):
            val.setflags(write=False)
            object.__setattr__(self, name, val)

    @property
    def n(self) -> int:
        """Number of anchors."""
        return int(self.lat.shape[0])

    def __len__(self) -> int:
        return self.n

    @property
    def xyz(self) -> np.ndarray:
        """Unit vectors, shape ``(n, 3)`` (computed once)."""
        cached = self.__dict__.get("_xyz")
        if cached is None:
            cached = latlon_to_xyz(self.lat, self.lon)
            cached.setflags(write=False)
            object.__setattr__(self, "_xyz", cached)
        return cached

    @property
    def log_weights(self) -> np.ndarray:
        """``log(weights)``."""
        return np.log(self.weights)

    @property
    def equal_area(self) -> bool:
        """True when all weights are equal."""
        return bool(np.ptp(self.weights) <= 1e-12 * self.weights.max())

    @property
    def spacing_km(self) -> float:
        """Typical anchor spacing: the side of a square with the mean cell area [km]."""
        from .coords import EARTH_RADIUS_KM

        return float(math.sqrt(_FOUR_PI / self.n) * EARTH_RADIUS_KM)

    def basis(self, L: int, dtype=np.float64) -> np.ndarray:
        """Real SH basis at the anchors, shape ``(n, (L+1)**2)``."""
        from .sh import sh_basis

        return sh_basis(self.lat, self.lon, L, dtype=dtype)

    def subset(self, index) -> AnchorSet:
        """Anchors at ``index`` (weights renormalised to ``4*pi``)."""
        index = np.asarray(index)
        return AnchorSet(self.lat[index], self.lon[index], self.weights[index], self.kind, dict(self.meta))

    def __repr__(self) -> str:
        return f"AnchorSet(kind={self.kind!r}, n={self.n}, spacing_km={self.spacing_km:.1f})"


#: bytes per anchor while building a set: lat, lon, weights and two temporaries (float64)
_BYTES_PER_ANCHOR = 40


def _check_count(value, name: str, n_points=lambda v: v) -> int:
    """A positive int whose anchor set (``n_points(value)`` points) fits in memory."""
    value = check_int(value, name, low=1, what="a positive integer")
    n = n_points(value)
    check_nbytes(float(n) * _BYTES_PER_ANCHOR, name, value, what=f"{n:.3g} anchors")
    return value


def healpix(nside: int, nest: bool = False) -> AnchorSet:
    """HEALPix pixel centres at ``nside`` (``12 nside**2`` equal-area anchors).

    Examples
    --------
    >>> healpix(1).n
    12
    """
    import healpy as hp

    nside = _check_count(nside, "nside", lambda v: 12 * v * v)
    nest = check_bool(nest, "nest")
    if nside & (nside - 1):
        raise ValueError(f"`nside` must be a power of two for HEALPix, got {nside}")
    theta, phi = hp.pix2ang(nside, np.arange(12 * nside * nside), nest=nest)
    lat, lon = 90.0 - rad2deg(theta), wrap_lon(rad2deg(phi))
    return AnchorSet(lat, lon, None, "healpix", {"nside": nside, "nest": bool(nest)})


def nside_for_spacing(spacing_km: float) -> int:
    """Smallest power-of-two ``nside`` whose pixel side is at most ``spacing_km``.

    Examples
    --------
    >>> nside_for_spacing(100.0)
    128
    """
    from .coords import EARTH_RADIUS_KM

    spacing_km = check_real(spacing_km, "spacing_km", low=0, closed="neither", unit=" [km]")
    nside = 1
    while math.sqrt(math.pi / 3) / nside * EARTH_RADIUS_KM > spacing_km and nside < 2**20:
        nside *= 2
    return nside


def fibonacci(n: int) -> AnchorSet:
    """``n`` points on a Fibonacci (golden-angle) lattice: near equal-area.

    Examples
    --------
    >>> fibonacci(1000).n
    1000
    """
    n = _check_count(n, "n")
    i = np.arange(n, dtype=np.float64)
    z = 1.0 - (2.0 * i + 1.0) / n
    lon = wrap_lon(rad2deg(i * math.pi * (3.0 - math.sqrt(5.0))))
    lat = rad2deg(np.arcsin(z))
    return AnchorSet(lat, lon, None, "fibonacci", {"n": n})


def uniform(n: int, rng=None) -> AnchorSet:
    """``n`` independent uniform random points on the sphere.

    Parameters
    ----------
    n : int
        Number of points.
    rng : None, int or numpy.random.Generator
        Source of randomness (explicit; nothing global is seeded).

    Examples
    --------
    >>> uniform(5, rng=0).n
    5
    """
    n = _check_count(n, "n")
    g = as_rng(rng)
    z = g.uniform(-1.0, 1.0, n)
    lon = g.uniform(-180.0, 180.0, n)
    return AnchorSet(rad2deg(np.arcsin(z)), lon, None, "uniform", {"n": n})


def grid(res_deg: float) -> AnchorSet:
    """Cell centres of a regular lat/lon grid with exact cell-area weights.

    ``180 / res_deg`` must be an integer.  Weights are
    ``res * (sin(lat + res/2) - sin(lat - res/2))`` [sr], so polar cells
    count less.

    Examples
    --------
    >>> grid(30.0).n
    72
    """
    res = check_real(res_deg, "res_deg", low=0, high=180, closed="right", unit=" [deg]")
    nlat = round(180.0 / res)
    check_nbytes(2.0 * nlat * nlat * _BYTES_PER_ANCHOR, "res_deg", res_deg, what=f"{2.0 * nlat * nlat:.3g} grid cells")
    if abs(nlat * res - 180.0) > 1e-9:
        raise ValueError(f"`res_deg` must divide 180 exactly, got {res_deg} (try {180 / max(nlat, 1):.6g})")
    lat_edges = np.linspace(-90.0, 90.0, nlat + 1)
    lat_c = 0.5 * (lat_edges[:-1] + lat_edges[1:])
    lon_c = -180.0 + res * (np.arange(2 * nlat) + 0.5)
    band = math.radians(res) * np.diff(np.sin(np.radians(lat_edges)))
    lat, lon = np.meshgrid(lat_c, lon_c, indexing="ij")
    w = np.repeat(band, lon_c.size)
    return AnchorSet(lat.ravel(), lon.ravel(), w, "grid", {"res_deg": res})


def gallery(lat, lon, thin_km: float | None = None, weights=None) -> AnchorSet:
    """Anchors at user locations (e.g. the training data), optionally thinned.

    Parameters
    ----------
    lat, lon : array_like
        Gallery coordinates [deg].
    thin_km : float, optional
        Keep at most one point per HEALPix cell of side ~``thin_km`` (the
        first point met in each cell), which removes near-duplicates.
    weights : array_like, optional
        Weights of the kept points; default equal.  A gallery is not an
        area quadrature: use it as decoding candidates, not for integrals.

    Examples
    --------
    >>> gallery([0.0, 0.001, 45.0], [0.0, 0.0, 45.0], thin_km=10).n
    2
    """
    lat, lon = as_latlon(lat, lon)
    w = None if weights is None else as_real_array(weights, "weights", finite=False)
    if thin_km is not None:
        import healpy as hp

        nside = nside_for_spacing(check_real(thin_km, "thin_km", low=0, closed="neither", unit=" [km]"))
        pix = hp.ang2pix(nside, lon, lat, lonlat=True)
        _, keep = np.unique(pix, return_index=True)
        keep.sort()
        lat, lon = lat[keep], lon[keep]
        w = None if w is None else w[keep]
    return AnchorSet(lat, lon, w, "gallery", {"thin_km": thin_km})
