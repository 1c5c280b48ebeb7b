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
from .fields.regions import LEVEL_MAP_ATTR
from .fields.regions import WHOLE_LEVEL as _WHOLE
from .fields.regions import check_level as _check_level

__all__ = ["DEFAULT_LEVELS", "LEVEL_MAP_ATTR", "RELIABILITY_LEVELS", "ConformalLevels", "calibration_report",
           "coverage", "hpd_levels", "map_level", "mean_area_km2", "reliability"]

#: Credible levels reported by default.
DEFAULT_LEVELS = (0.5, 0.8, 0.9, 0.95)
#: Requested levels of a reliability curve: 0.05, 0.10, ..., 0.95 and 0.99.
RELIABILITY_LEVELS = tuple(round(0.05 * i, 2) for i in range(1, 20)) + (0.99,)

_MAP_STEPS = 1000  # the level map is tabulated at requested levels 0, 0.001, ..., 1


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


def coverage(fields, lat, lon, levels=DEFAULT_LEVELS, *, calibrated: bool = True) -> dict:
    """Fraction of truths inside the HPD credible region at each level.

    A truth is inside the level-``alpha`` region exactly when the mass of the
    pixels denser than its own is below ``alpha`` (pixels exactly as dense as
    the region's boundary count as inside, whereas
    :meth:`SphericalField.credible_region` keeps only as many as it needs).
    Fields that carry a conformal level map (:class:`ConformalLevels`) are
    measured at their calibrated nominal levels, as their
    ``credible_region`` draws them; ``calibrated=False`` measures the raw
    levels.

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
    f = _check_fields(fields)
    denser, _ = _mass_denser(f, lat, lon)
    table = f.attrs.get(LEVEL_MAP_ATTR) if calibrated else None  # per-field tables pair with their points
    nominal = (lambda lv: lv) if table is None else (lambda lv: map_level(lv, table))
    return {lv: float(np.mean(_inside(denser, nominal(lv)))) for lv in _levels(levels)}


def _inside(denser, nominal):
    """Truths inside the region drawn at ``nominal``: fewer than ``nominal`` denser mass, or the whole sphere."""
    nominal = np.asarray(nominal, dtype=float)
    return (denser < nominal) | (nominal > _WHOLE)


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


def reliability(fields, lat, lon, levels=RELIABILITY_LEVELS) -> dict:
    """Coverage and mean region area at each requested level, raw and as the fields draw their regions.

    The data of a reliability diagram (:func:`shdd_geo.plotting.plot_reliability`):
    a calibrated model's coverage follows the diagonal.  ``coverage_raw`` and
    ``area_km2_raw`` cut the regions at the requested level itself;
    ``coverage`` and ``area_km2`` at the fields' conformal nominal level
    when they carry a level map (:class:`ConformalLevels`; else the same as
    raw).  Areas are exact pixel sums, as :meth:`SphericalField.credible_region`
    draws them; every value is a mean over the truths, so results for
    batches of rows combine by a weighted mean with weights ``n``.

    Returns
    -------
    dict
        ``level``, ``coverage_raw``, ``area_km2_raw``, ``coverage``,
        ``area_km2`` (float arrays, one entry per level), ``calibrated``
        (whether the fields carry a level map) and ``n`` (number of truths).

    Examples
    --------
    >>> import shdd_geo as sg
    >>> f = sg.SphericalField.from_shdd(sg.encode([30.0], [10.0], L=4)[0], nside=16)
    >>> r = reliability(f, *f.sample(2000, rng=0), levels=(0.5, 0.9))   # truths drawn from the field
    >>> r["coverage_raw"].round(1).tolist(), r["calibrated"]
    ([0.5, 0.9], False)
    >>> bool(abs(r["area_km2"][0] - f.credible_region(0.5).area_km2) < 1.0)
    True
    """
    f = _check_fields(fields)
    lv = np.asarray(_levels(levels))
    denser, _ = _mass_denser(f, lat, lon)
    table = f.attrs.get(LEVEL_MAP_ATTR)
    rows = len(f) if f.is_batch else 1
    if table is None:
        nominal = np.broadcast_to(lv, (rows, lv.size))
    else:  # one table for all fields, or one per field: (rows, levels)
        nominal = np.stack([np.broadcast_to(map_level(x, table), (rows,)) for x in lv], axis=1)
    return {
        "level": lv,
        "coverage_raw": np.mean(denser[:, None] < lv[None, :], axis=0),
        "area_km2_raw": _region_areas(f, np.broadcast_to(lv, (rows, lv.size))),
        "coverage": np.mean(_inside(denser[:, None], nominal), axis=0),
        "area_km2": _region_areas(f, nominal),
        "calibrated": table is not None,
        "n": int(denser.size),
    }


def _region_areas(f: SphericalField, nominal: np.ndarray) -> np.ndarray:
    """Mean area [km^2] of the smallest HPD regions holding ``nominal[i, j]`` of field ``i``'s mass."""
    v = f.normalize()._rows()
    p = np.exp(v) * f.pixel_area
    cum = np.cumsum(-np.sort(-p, axis=1), axis=1)
    n_in = np.stack([np.searchsorted(c, np.minimum(t, _WHOLE), side="left") + 1 for c, t in zip(cum, nominal)])
    n_in = np.where(nominal > 0, np.minimum(n_in, cum.shape[1]), 0)
    n_in = np.where(nominal > _WHOLE, cum.shape[1], n_in)  # the whole sphere
    return np.mean(n_in, axis=0) * f.pixel_area_km2


class ConformalLevels:
    """Split-conformal credible levels: which nominal HPD level covers a requested share of truths.

    A model's "90 %" highest-density region covers 90 % of the truths only if
    the model is calibrated.  Split conformal prediction fixes that for any
    model (Vovk et al. 2005; Angelopoulos & Bates 2021): score each
    calibration truth by the mass of the smallest highest-density region that
    contains it (the mass of the pixels at least as dense as the truth's
    pixel, :func:`hpd_levels` without randomisation); for a requested level
    ``alpha`` use the ``ceil((n + 1) alpha)``-th smallest score as the nominal
    level.  On exchangeable data the region at that nominal level contains a
    new truth with probability at least ``alpha`` (and at most
    ``alpha + 1/(n + 1)`` plus one pixel's mass), whatever the model.  When the
    test places come from regions absent from calibration (a spatial
    hold-out) exchangeability fails: calibrate on held-out regions then (see
    :func:`shdd_geo.datasets.spatial_split`).

    Parameters
    ----------
    scores : array-like
        Conformity scores of the calibration truths, in [0, 1] (any order).

    Attributes
    ----------
    scores : numpy.ndarray
        The scores, sorted.
    n : int
        Number of calibration truths.

    Examples
    --------
    >>> import shdd_geo as sg
    >>> f = sg.SphericalField.from_shdd(sg.encode([30.0], [10.0], L=6)[0], nside=16)
    >>> lat, lon = f.sample(400, rng=0)
    >>> wide = sg.SphericalField.from_shdd(0.5 * sg.encode([30.0], [10.0], L=6)[0], nside=16)
    >>> cal = ConformalLevels.fit(f, lat[:200], lon[:200])  # truths drawn from f itself
    >>> bool(abs(cal.nominal(0.9) - 0.9) < 0.05)          # calibrated: nominal ~ requested
    True
    >>> over = ConformalLevels.fit(wide, lat[:200], lon[:200])   # the wide model is under-confident
    >>> bool(over.nominal(0.9) < 0.9)
    True
    >>> fields = over.apply(wide)                           # regions now mean what they say
    >>> r = fields.credible_region(0.9)
    >>> bool(abs(r.contains(lat[200:], lon[200:]).mean() - 0.9) < 0.06)
    True
    """

    def __init__(self, scores) -> None:
        s = np.asarray(scores, dtype=float).ravel()
        if s.size == 0:
            raise ValueError("`scores` is empty: calibrate on at least one truth (hundreds for useful regions)")
        if not np.all(np.isfinite(s)) or s.min() < 0.0 or s.max() > 1.0 + 1e-9:
            raise ValueError(f"`scores` must be HPD masses in [0, 1], got min={s.min()}, max={s.max()}")
        self.scores = np.sort(np.minimum(s, 1.0))
        self.scores.setflags(write=False)

    @classmethod
    def fit(cls, fields, lat, lon) -> ConformalLevels:
        """Scores of the truths ``(lat, lon)`` [deg] under ``fields`` (a batch paired with them, or one field).

        Examples
        --------
        >>> f = SphericalField.uniform(8)
        >>> ConformalLevels.fit(f, [0.0, 10.0], [5.0, 20.0]).n
        2
        """
        denser, tied = _mass_denser(_check_fields(fields), lat, lon)
        return cls(np.clip(denser + tied, 0.0, 1.0))  # conservative: the truth's own pixel counts as inside

    @property
    def n(self) -> int:
        """Number of calibration truths."""
        return int(self.scores.size)

    def nominal(self, level):
        """The nominal HPD level to use for a requested ``level`` (float, or an array for array input).

        ``1.0`` (the whole sphere) where ``ceil((n + 1) level) > n``: too few
        calibration truths to promise that level.

        Examples
        --------
        >>> cal = ConformalLevels([0.1, 0.2, 0.3, 0.4])
        >>> cal.nominal(0.5), cal.nominal(0.8), cal.nominal(0.9)
        (0.3, 0.4, 1.0)
        """
        lv = np.asarray(level, dtype=float)
        if np.any(~np.isfinite(lv)) or np.any(lv < 0) or np.any(lv > 1):
            raise ValueError(f"`level` must be within [0, 1], got {level!r}")
        k = np.ceil((self.n + 1) * lv - 1e-9).astype(np.int64)  # rank, 1-based; tolerance for 0.9 * 1000 etc.
        out = np.where(k > self.n, 1.0, self.scores[np.clip(k, 1, self.n) - 1])
        out = np.where(k <= 0, 0.0, out)
        return float(out) if out.ndim == 0 else out

    def level_map(self) -> np.ndarray:
        """``nominal`` tabulated at requested levels ``0, 0.001, ..., 1`` (1,001 floats).

        This table is what fields carry (attribute :data:`LEVEL_MAP_ATTR`) and
        model files store; :func:`map_level` reads it, rounding a requested
        level up to the next table entry (never below the conformal level).

        Examples
        --------
        >>> ConformalLevels([0.1, 0.2, 0.3, 0.4]).level_map().shape
        (1001,)
        """
        return np.asarray(self.nominal(np.arange(_MAP_STEPS + 1) / _MAP_STEPS), dtype=float)

    def apply(self, fields):
        """``fields`` with this level map attached: their ``credible_region(level)`` is then calibrated.

        Examples
        --------
        >>> f = ConformalLevels([0.2, 0.4, 0.6, 0.8]).apply(SphericalField.uniform(4))
        >>> LEVEL_MAP_ATTR in f.attrs
        True
        """
        f = _check_fields(fields)
        return f.with_attrs({LEVEL_MAP_ATTR: self.level_map()})

    def to_dict(self) -> dict:
        """A JSON-ready description (method, n, the sorted scores rounded up to 1e-6).

        Examples
        --------
        >>> d = ConformalLevels([0.25, 0.5]).to_dict()
        >>> d["method"], d["n"], d["scores"]
        ('split-conformal-hpd', 2, [0.25, 0.5])
        """
        return {"method": "split-conformal-hpd", "n": self.n,
                "scores": [float(x) for x in np.minimum(np.ceil(self.scores * 1e6) / 1e6, 1.0)]}

    @classmethod
    def from_dict(cls, d) -> ConformalLevels:
        """Inverse of :meth:`to_dict`.

        Examples
        --------
        >>> ConformalLevels.from_dict(ConformalLevels([0.3, 0.1]).to_dict()).n
        2
        """
        if not isinstance(d, dict) or d.get("method") != "split-conformal-hpd" or "scores" not in d:
            raise ValueError("not a conformal level description (expected the output of ConformalLevels.to_dict)")
        return cls(d["scores"])

    def report(self, fields, lat, lon, levels=DEFAULT_LEVELS) -> dict:
        """Coverage and mean area on held-out truths, raw and calibrated, by requested level.

        Returns
        -------
        dict
            ``{level: {"nominal", "coverage_raw", "area_km2_raw", "coverage", "area_km2"}}``.

        Examples
        --------
        >>> f = SphericalField.uniform(8)
        >>> rep = ConformalLevels(np.linspace(0, 1, 99)).report(f, [0.0], [0.0], levels=(0.5,))
        >>> sorted(rep[0.5])
        ['area_km2', 'area_km2_raw', 'coverage', 'coverage_raw', 'nominal']
        """
        f = _check_fields(fields)
        denser, _ = _mass_denser(f, lat, lon)
        out = {}
        for lv in _levels(levels):
            nom = self.nominal(lv)
            whole = nom > _WHOLE  # the whole sphere: every truth, every pixel
            cal = f.credible_region(nom, calibrated=False) if 0 < nom and not whole else None
            out[lv] = {
                "nominal": nom,
                "coverage_raw": float(np.mean(denser < lv)),
                "area_km2_raw": float(np.mean(f.credible_region(lv, calibrated=False).area_km2)),
                "coverage": float(np.mean(_inside(denser, nom))),
                "area_km2": (f.npix * f.pixel_area_km2 if whole else
                             float(np.mean(cal.area_km2)) if cal is not None else 0.0),
            }
        return out

    def __repr__(self) -> str:
        q = self.nominal(np.array([0.5, 0.9]))
        return f"ConformalLevels(n={self.n}, nominal(0.5)={q[0]:.3f}, nominal(0.9)={q[1]:.3f})"


def map_level(level: float, level_map):
    """The nominal level for a requested ``level`` from a tabulated map (rounded up to the table's step).

    ``level_map`` is one table of 1,001 entries (:meth:`ConformalLevels.level_map`),
    or ``B`` such tables one after the other (a batch whose fields have their
    own maps, e.g. an identity table ``linspace(0, 1, 1001)`` for a field that
    keeps its raw levels); then the result is a ``(B,)`` array.

    Examples
    --------
    >>> m = ConformalLevels([0.1, 0.2, 0.3, 0.4]).level_map()
    >>> map_level(0.5, m), map_level(0.45, m), map_level(0.9, m) > 0.999
    (0.3, 0.3, True)
    >>> map_level(0.5, np.concatenate([m, np.linspace(0, 1, 1001)])).tolist()
    [0.3, 0.5]
    """
    flat = np.asarray(level_map, dtype=float).ravel()
    n = _MAP_STEPS + 1
    tables = flat.reshape(-1, n) if flat.size % n == 0 and flat.size > n else flat[None]
    if tables.shape[1] < 2 or np.any(np.diff(tables, axis=1) < -1e-12):
        raise ValueError("a conformal level map must be a non-decreasing table of at least two levels")
    i = int(np.ceil(level * (tables.shape[1] - 1) - 1e-9))
    out = tables[:, min(max(i, 0), tables.shape[1] - 1)]  # 1.0 stays 1.0: the whole sphere
    return float(out[0]) if tables.shape[0] == 1 else out
