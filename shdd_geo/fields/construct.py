"""Constructors of :class:`~shdd_geo.fields.SphericalField`.

``from_shdd``, ``from_samples``, ``from_function``, ``from_latlon_grid`` and
``uniform`` are plain functions here; the classmethods
``SphericalField.from_...`` are thin wrappers that import this module on first
use (geopandas' pattern: the core object stays small).  Each takes ``cls``,
the class to build (a subclass of ``SphericalField``; default the class itself).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_real_values
from ..coords import as_latlon, latlon_to_xyz
from . import grid as _grid
from . import kde as _kde
from . import regrid as _regrid

if TYPE_CHECKING:  # pragma: no cover
    from .field import SphericalField

__all__ = ["as_log_rows", "check_labels", "from_function", "from_latlon_grid", "from_samples", "from_shdd", "uniform"]

_KINDS = ("log_density", "density")


def as_log_rows(values, kind: str) -> np.ndarray:
    """Validate values ``(npix,)`` or ``(B, npix)`` and return log-density rows (copy).

    Examples
    --------
    >>> as_log_rows([1.0, np.e], "density").tolist()
    [0.0, 1.0]
    """
    if kind not in _KINDS:
        raise ValueError(f"`kind` must be one of {_KINDS}, got {kind!r}")
    check_real_values(values, "values")  # a complex array would lose its imaginary part silently
    if type(values).__module__.startswith("torch"):
        values = values.detach().cpu().numpy()
    try:
        v = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`values` must be a numeric array, got {type(values).__name__}") from exc
    if v.ndim not in (1, 2) or v.shape[-1] == 0 or (v.ndim == 2 and v.shape[0] == 0):
        raise ValueError(f"`values` must have shape (npix,) or (batch, npix), got {v.shape}")
    if np.isnan(v).any():
        raise ValueError(f"`values` contains {int(np.isnan(v).sum())} NaN value(s)")
    if kind == "density":
        if np.isinf(v).any() or (v < 0).any():
            raise ValueError("`values` with kind='density' must be finite and >= 0")
        with np.errstate(divide="ignore"):
            v = np.log(v)
    elif np.isposinf(v).any():
        raise ValueError("`values` with kind='log_density' must not contain +inf (-inf means zero density)")
    return v


def check_labels(labels, n_fields: int | None) -> tuple | None:
    """Labels as a tuple with one entry per field of a batch (``n_fields=None``: single field).

    Examples
    --------
    >>> check_labels(["a", "b"], 2)
    ('a', 'b')
    """
    if labels is None:
        return None
    if n_fields is None:
        raise ValueError("`labels` can only be given for a batch (2-D `values`)")
    labels = tuple(labels)
    if len(labels) != n_fields:
        raise ValueError(f"`labels` must have one entry per field ({n_fields}), got {len(labels)}")
    return labels


def _coeff_rows(coeffs) -> np.ndarray:
    if type(coeffs).__module__.startswith("torch"):
        coeffs = coeffs.detach().cpu().numpy()
    c = np.asarray(coeffs, dtype=np.float64)
    if c.ndim not in (1, 2) or c.shape[-1] == 0 or c.size == 0:
        raise ValueError(f"`coeffs` must have shape (D,) or (batch, D), got {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("`coeffs` must be finite, got NaN/inf values")
    return np.atleast_2d(c)


def _cls(cls):
    """The class to build: ``SphericalField`` unless a subclass is given."""
    if cls is None:
        from .field import SphericalField

        return SphericalField
    return cls


def from_shdd(coeffs, nside: int = 64, *, nest: bool = False, normalize: bool = True,
              method: str = "healpy", labels=None, cls=None) -> SphericalField:
    """Field ``exp(f_e)`` of SHDD coefficients (SPEC §2), synthesised on HEALPix.

    Parameters
    ----------
    coeffs : array_like, shape (D,) or (B, D)
        Real SH coefficients, ``D = (L+1)**2``; a 2-D array gives a batch.
    nside : int
        HEALPix resolution (power of two).
    nest : bool
        NESTED ordering of the result.
    normalize : bool
        Normalise to a probability density (log-space); otherwise the
        values are ``f_e`` itself.
    method : {"healpy", "direct"}
        ``"healpy"``: ``healpy.alm2map`` through :func:`shdd_geo.sh.real_to_alm`
        (fast).  ``"direct"``: ``sh_basis(pixels) @ coeffs`` (the
        brute-force twin; same values to ~1e-11).

    Examples
    --------
    >>> import numpy as np; from shdd_geo.fields import SphericalField
    >>> import shdd_geo as sg
    >>> e = sg.encode([10.0, -30.0], [20.0, 150.0], L=8)
    >>> f = SphericalField.from_shdd(e, nside=8)
    >>> len(f), f.npix
    (2, 768)
    """
    from ..sh import degree_from_dim, real_to_alm, sh_basis

    cls = _cls(cls)
    nside = _grid.check_nside(nside)
    check_real_values(coeffs, "coeffs")
    c = _coeff_rows(coeffs)
    L = degree_from_dim(c.shape[1])
    if method == "healpy":
        hp = _grid.import_healpy()
        rows = np.empty((c.shape[0], 12 * nside * nside))
        idx = _grid.reorder_index(nside, True) if nest else slice(None)
        for i, alm in enumerate(real_to_alm(c)):  # one map at a time: no batch-sized temporaries
            rows[i] = hp.alm2map(alm, nside, lmax=L, mmax=L)[idx]
    elif method == "direct":
        lat, lon = _grid.pixel_latlon(nside, nest)
        rows = np.empty((c.shape[0], lat.size))
        step = max(1, (1 << 23) // c.shape[1])
        for lo in range(0, lat.size, step):
            rows[:, lo : lo + step] = c @ sh_basis(lat[lo : lo + step], lon[lo : lo + step], L).T
    else:
        raise ValueError(f"`method` must be 'healpy' or 'direct', got {method!r}")
    labels = check_labels(labels, rows.shape[0] if np.ndim(coeffs) == 2 else None)
    field = cls._wrap(rows if np.ndim(coeffs) == 2 else rows[0], nest, labels,
                      MappingProxyType({"source": "shdd", "L": L}))
    return field.normalize() if normalize else field


def from_samples(lat, lon, nside: int = 64, *, method: str = "kde", bandwidth_km=None,
                 weights=None, nest: bool = False, cls=None) -> SphericalField:
    """Density estimate from points [deg].

    Parameters
    ----------
    lat, lon : array_like, shape (n,)
        Sample locations.
    method : {"kde", "histogram"}
        ``"kde"``: von Mises-Fisher kernel density (kernel concentration
        ``1 / h**2``); ``"histogram"``: counts per pixel (``-inf`` where empty).
    bandwidth_km : float, optional
        Kernel bandwidth ``h`` [km].  Default: the rule of thumb of
        García-Portugués (2013) for the vMF kernel on the sphere, floored
        at the pixel size.
    weights : array_like, optional
        Non-negative sample weights.

    Examples
    --------
    >>> import numpy as np; from shdd_geo.fields import SphericalField
    >>> rng = np.random.default_rng(0)
    >>> f = SphericalField.from_samples(rng.normal(45, 2, 200), rng.normal(5, 2, 200), nside=16)
    >>> round(f.integral(), 10)
    1.0
    """
    cls = _cls(cls)
    nside = _grid.check_nside(nside)
    la, lo = as_latlon(lat, lon)
    w = np.ones(la.size) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != la.shape or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"`weights` must be finite, >= 0, not all 0, with shape {la.shape}")
    w = w / w.sum()
    if method == "histogram":
        rows = _kde.histogram_log_density(la, lo, w, nside, nest)
    elif method == "kde":
        h = _kde.check_bandwidth(bandwidth_km, nside, latlon_to_xyz(la, lo), w)
        rows = _kde.vmf_kde_log_density(la, lo, w, nside, nest, h)
    else:
        raise ValueError(f"`method` must be 'kde' or 'histogram', got {method!r}")
    return cls(rows, nest=nest, attrs={"source": f"samples:{method}"}).normalize()


def from_function(func: Callable, nside: int = 64, *, kind: str = "log_density",
                  nest: bool = False, normalize: bool = True, cls=None) -> SphericalField:
    """Evaluate ``func(lat, lon)`` [deg] at the pixel centres.

    ``func`` receives two ``(npix,)`` arrays and returns ``(npix,)`` or
    ``(B, npix)`` log-densities (or densities with ``kind="density"``).

    Examples
    --------
    >>> import numpy as np; from shdd_geo.fields import SphericalField
    >>> f = SphericalField.from_function(lambda lat, lon: np.zeros_like(lat), nside=4)
    >>> bool(np.isclose(f.log_density[0], -np.log(4 * np.pi)))
    True
    """
    cls = _cls(cls)
    nside = _grid.check_nside(nside)
    if not callable(func):
        raise TypeError(f"`func` must be callable as func(lat, lon), got {type(func).__name__}")
    lat, lon = _grid.pixel_latlon(nside, nest)
    field = cls(func(lat.copy(), lon.copy()), kind=kind, nest=nest, attrs={"source": "function"})
    return field.normalize() if normalize else field


def from_latlon_grid(values, lat, lon, nside: int = 64, *, kind: str = "density",
                     nest: bool = False, normalize: bool = False, cls=None) -> SphericalField:
    """Area-weighted regridding of a regular lat/lon grid onto HEALPix.

    Parameters
    ----------
    values : array_like, shape (nlat, nlon) or (B, nlat, nlon)
        Densities (or log-densities with ``kind="log_density"``) [sr^-1].
    lat, lon : array_like
        Ascending, evenly spaced cell centres [deg].  Pixels the grid does
        not cover get zero density.

    Examples
    --------
    >>> import numpy as np; from shdd_geo.fields import SphericalField
    >>> lat = np.arange(-89.5, 90); lon = np.arange(-179.5, 180)
    >>> f = SphericalField.from_latlon_grid(np.ones((180, 360)), lat, lon, nside=16)
    >>> round(f.integral() / (4 * np.pi), 6)
    1.0
    """
    cls = _cls(cls)
    nside = _grid.check_nside(nside)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim not in (2, 3) or v.shape[-2:] != (np.size(lat), np.size(lon)):
        raise ValueError(
            f"`values` must have shape (nlat, nlon) or (B, nlat, nlon) matching `lat` and "
            f"`lon` ({np.size(lat)}, {np.size(lon)}), got {v.shape}"
        )
    logv = as_log_rows(v.reshape(-1, v.shape[-1]), kind).reshape((-1,) + v.shape[-2:])
    rows = _regrid.grid_to_healpix(logv, np.asarray(lat, float), np.asarray(lon, float), nside, nest)
    field = cls(rows if v.ndim == 3 else rows[0], nest=nest, attrs={"source": "latlon_grid"})
    return field.normalize() if normalize else field


def uniform(nside: int = 64, *, nest: bool = False, cls=None) -> SphericalField:
    """The uniform density ``1 / (4 pi)`` [sr^-1].

    Examples
    --------
    >>> import numpy as np; from shdd_geo.fields import SphericalField
    >>> bool(np.isclose(SphericalField.uniform(4).entropy(), np.log(4 * np.pi)))
    True
    """
    cls = _cls(cls)
    nside = _grid.check_nside(nside)
    return cls(np.full(12 * nside**2, -math.log(4 * math.pi)), nest=nest)
