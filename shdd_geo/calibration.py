"""Calibration of predicted densities: credible-region coverage and PIT.

For predicted fields ``q_i`` and true locations ``p_i``, a calibrated model has
``P(p_i in HPD_alpha(q_i)) = alpha`` at every level, where ``HPD_alpha`` is the
highest-density credible region (:meth:`SphericalField.credible_region`).
Equivalently the *HPD level* of the truth -- the mass of the pixels denser than
the truth's pixel, randomised within that pixel -- is uniform on [0, 1] (a
probability integral transform, PIT).  Over-confident models put truths at high
HPD levels (coverage below nominal); under-confident ones at low levels.

``fields`` is either one field (compared with every point) or a batch of
``n`` fields paired with ``n`` points.

Examples
--------
>>> import shdd_geo as sg
>>> f = sg.SphericalField.from_shdd(sg.encode([30.0], [10.0], L=4)[0], nside=16)
>>> lat, lon = f.sample(2000, rng=0)              # truths drawn from the prediction itself
>>> cov = coverage(f, lat, lon, levels=(0.5, 0.9))
>>> bool(abs(cov[0.5] - 0.5) < 0.05 and abs(cov[0.9] - 0.9) < 0.05)
True
"""

from __future__ import annotations

import numpy as np

from .fields import SphericalField
from .fields.regions import check_level as _check_level

__all__ = ["DEFAULT_LEVELS", "calibration_report", "coverage", "hpd_levels", "mean_area_km2"]

#: Credible levels reported by default.
DEFAULT_LEVELS = (0.5, 0.8, 0.9, 0.95)


def _check_fields(fields) -> SphericalField:
    if not isinstance(fields, SphericalField):
        raise TypeError(f"`fields` must be a SphericalField (one field or a batch), got {type(fields).__name__}")
    return fields


def _levels(levels) -> list[float]:
    lv = [_check_level(x) for x in np.atleast_1d(np.asarray(levels, dtype=float)).tolist()]
    if not lv:
        raise ValueError("`levels` is empty; pass e.g. (0.5, 0.9)")
    return lv


def _mass_denser(fields: SphericalField, lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """Per point: mass of pixels strictly denser than the truth's pixel, and of those as dense."""
    from .fields.grid import import_healpy as _hp
    from .coords import as_latlon

    la, lo = as_latlon(lat, lon)
    if fields.is_batch and la.size != len(fields):
        raise ValueError(f"a batch of {len(fields)} fields needs {len(fields)} points, got {la.size}")
    pix = _hp().ang2pix(fields.nside, lo, la, nest=fields.nest, lonlat=True)
    v = fields.normalize()._rows()
    p = np.exp(v) * fields.pixel_area
    if not fields.is_batch:  # one field, many points: sort once
        order = np.argsort(-v[0], kind="stable")
        vs, cum = v[0][order], np.concatenate([[0.0], np.cumsum(p[0][order])])
        n_denser = np.searchsorted(-vs, -v[0][pix], side="left")
        n_tied = np.searchsorted(-vs, -v[0][pix], side="right")
        return cum[n_denser], cum[n_tied] - cum[n_denser]
    denser, tied = np.empty(la.size), np.empty(la.size)
    step = max(1, (1 << 22) // v.shape[1])
    for s in range(0, la.size, step):
        rows = np.arange(s, min(la.size, s + step))
        t = v[rows, pix[rows]][:, None]
        denser[rows] = np.where(v[rows] > t, p[rows], 0.0).sum(axis=1)
        tied[rows] = np.where(v[rows] == t, p[rows], 0.0).sum(axis=1)
    return denser, tied


def hpd_levels(fields, lat, lon, *, rng=None) -> np.ndarray:
    """PIT of the truths: their randomised highest-density level, shape (n,).

    ``u = mass(denser than the truth's pixel) + V * mass(as dense)`` with
    ``V ~ U(0, 1)`` from ``rng`` (``rng=None``: a fresh generator): the
    randomised PIT of a discrete distribution, uniform on [0, 1] for a
    calibrated model (ties, e.g. a flat field, are spread evenly).

    Examples
    --------
    >>> f = SphericalField.uniform(8)
    >>> u = hpd_levels(f, [0.0, 10.0], [0.0, 20.0], rng=0)
    >>> bool(((u >= 0) & (u <= 1)).all())
    True
    """
    from .anchors import as_rng

    denser, tied = _mass_denser(_check_fields(fields), lat, lon)
    return np.clip(denser + as_rng(rng).random(denser.size) * tied, 0.0, 1.0)


def coverage(fields, lat, lon, levels=DEFAULT_LEVELS) -> dict:
    """Fraction of truths inside the HPD credible region at each level.

    A truth is inside the level-``alpha`` region exactly when the mass of the
    pixels denser than its own is below ``alpha`` (pixels exactly as dense as
    the region's boundary count as inside, whereas
    :meth:`SphericalField.credible_region` keeps only as many as it needs).

    Returns
    -------
    dict
        ``{level: fraction}``.

    Examples
    --------
    >>> f = SphericalField.uniform(8)
    >>> coverage(f, [0.0, 50.0], [0.0, 60.0], levels=(0.5, 0.999))[0.999]
    1.0
    """
    denser, _ = _mass_denser(_check_fields(fields), lat, lon)
    return {lv: float(np.mean(denser < lv)) for lv in _levels(levels)}


def mean_area_km2(fields, levels=DEFAULT_LEVELS) -> dict:
    """Mean area [km^2] of the fields' credible regions: ``{level: km^2}``.

    Examples
    --------
    >>> a = mean_area_km2(SphericalField.uniform(4), levels=(0.5,))
    >>> bool(abs(a[0.5] / (4 * np.pi * 6371.0088**2) - 0.5) < 0.01)
    True
    """
    f = _check_fields(fields)
    return {lv: float(np.mean(f.credible_region(lv).area_km2)) for lv in _levels(levels)}


def calibration_report(fields, lat, lon, levels=DEFAULT_LEVELS, *, rng=None) -> dict:
    """Coverage, mean area and PIT summary in one dict.

    Returns
    -------
    dict
        ``coverage`` and ``mean_area_km2`` (dicts by level), ``pit`` (the
        ``(n,)`` HPD levels), ``pit_mean`` (0.5 when calibrated),
        ``pit_ks`` (Kolmogorov-Smirnov distance of the PIT to U(0, 1)) and ``n``.

    Examples
    --------
    >>> f = SphericalField.uniform(8)
    >>> rep = calibration_report(f, *f.sample(500, rng=0), rng=1)
    >>> sorted(rep), bool(rep["pit_ks"] < 0.1)
    (['coverage', 'mean_area_km2', 'n', 'pit', 'pit_ks', 'pit_mean'], True)
    """
    f = _check_fields(fields)
    pit = hpd_levels(f, lat, lon, rng=rng)
    s = np.sort(pit)
    n = s.size
    ks = float(max(np.max(np.arange(1, n + 1) / n - s), np.max(s - np.arange(n) / n)))
    return {
        "coverage": coverage(f, lat, lon, levels),
        "mean_area_km2": mean_area_km2(f, levels),
        "pit": pit,
        "pit_mean": float(pit.mean()),
        "pit_ks": ks,
        "n": int(n),
    }
