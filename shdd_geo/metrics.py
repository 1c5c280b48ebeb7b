"""Great-circle geometry and geolocation metrics.

Distances use the mean Earth radius ``EARTH_RADIUS_KM`` and Vincenty's
``atan2(|a x b|, a . b)`` form, accurate for coincident points, for antipodal
points and everywhere between.

Examples
--------
>>> round(float(great_circle_km(0, 0, 0, 180)), 3) == round(3.141592653589793 * 6371.0088, 3)
True
"""

from __future__ import annotations

import numpy as np

from ._validation import as_real_array, check_int, check_real
from .coords import EARTH_RADIUS_KM, as_latlon, latlon_to_xyz, xyz_to_latlon

__all__ = [
    "DEFAULT_THRESHOLDS_KM",
    "accuracy_within",
    "central_angle",
    "geographic_centre",
    "geometric_median",
    "geoscore",
    "great_circle_km",
    "median_error_km",
    "summarize",
]

#: The distance thresholds of the geolocation literature [km].
DEFAULT_THRESHOLDS_KM = (1, 25, 200, 750, 2500)


def great_circle_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance [km] between points given in degrees (broadcasting).

    Vincenty's form ``atan2(|a x b|, a . b)``: accurate to ~1e-12 km at 0,
    at the antipodes and everywhere between (haversine is not near antipodes).

    Examples
    --------
    >>> float(great_circle_km(48.8566, 2.3522, 48.8566, 2.3522))
    0.0
    """
    la1, lo1 = as_latlon(lat1, lon1, names=("lat1", "lon1"), ndim=None)
    la2, lo2 = as_latlon(lat2, lon2, names=("lat2", "lon2"), ndim=None)
    try:
        np.broadcast_shapes(la1.shape, la2.shape)
    except ValueError:
        raise ValueError(f"the two sets of points must broadcast, got shapes {la1.shape} and {la2.shape}") from None
    # Vincenty's formula on the sphere: atan2(|a x b|, a . b) in latitude/longitude terms,
    # well conditioned everywhere (haversine loses ~sqrt(eps) near antipodes).
    p1, p2 = np.radians(la1), np.radians(la2)
    dlon = np.radians(lo2 - lo1)
    s1, c1, s2, c2 = np.sin(p1), np.cos(p1), np.sin(p2), np.cos(p2)
    sd, cd = np.sin(dlon), np.cos(dlon)
    cross = np.hypot(c2 * sd, c1 * s2 - s1 * c2 * cd)
    return EARTH_RADIUS_KM * np.arctan2(cross, s1 * s2 + c1 * c2 * cd)


def central_angle(xyz1, xyz2) -> np.ndarray:
    """Angle [rad] between unit vectors ``(..., 3)``: ``atan2(|a x b|, a . b)``.

    Examples
    --------
    >>> float(central_angle([1.0, 0.0, 0.0], [0.0, 1.0, 0.0])) == np.pi / 2
    True
    """
    a = np.asarray(xyz1, dtype=np.float64)
    b = np.asarray(xyz2, dtype=np.float64)
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    return np.arctan2(cross, np.sum(a * b, axis=-1))


def _errors(pred_lat, pred_lon, true_lat, true_lon) -> np.ndarray:
    pl, po = as_latlon(pred_lat, pred_lon, names=("pred_lat", "pred_lon"))
    tl, to = as_latlon(true_lat, true_lon, names=("true_lat", "true_lon"))
    if pl.shape != tl.shape:
        raise ValueError(f"predictions and truths must have the same length, got {pl.shape[0]} and {tl.shape[0]}")
    return great_circle_km(pl, po, tl, to)


def accuracy_within(
    pred_lat, pred_lon, true_lat, true_lon, thresholds_km=DEFAULT_THRESHOLDS_KM
) -> dict:
    """Fraction of predictions within each distance threshold.

    Returns
    -------
    dict
        ``{threshold_km: fraction}`` in the order given.

    Examples
    --------
    >>> accuracy_within([0, 0], [0, 10], [0, 0], [0, 0], thresholds_km=(25, 2500))
    {25: 0.5, 2500: 1.0}
    """
    d = _errors(pred_lat, pred_lon, true_lat, true_lon)
    return {t: float(np.mean(d <= t)) for t in _thresholds(thresholds_km)}


def _thresholds(thresholds_km) -> tuple:
    """Distance thresholds [km] as a non-empty tuple of positive numbers (a scalar is one threshold)."""
    thr = (thresholds_km,) if np.isscalar(thresholds_km) and not isinstance(thresholds_km, str) else thresholds_km
    try:
        thr = tuple(thr)
    except TypeError:
        raise TypeError(f"`thresholds_km` must be a number or a sequence of numbers [km], got {thresholds_km!r}") from None
    if not thr:
        raise ValueError("`thresholds_km` is empty; pass at least one distance [km]")
    for t in thr:
        check_real(t, "thresholds_km", low=0, closed="neither", unit=" [km]")
    return thr


def median_error_km(pred_lat, pred_lon, true_lat, true_lon) -> float:
    """Median great-circle error [km].

    Examples
    --------
    >>> median_error_km([0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0])
    0.0
    """
    return float(np.median(_errors(pred_lat, pred_lon, true_lat, true_lon)))


def geoscore(distance_km) -> np.ndarray:
    """GeoGuessr score ``5000 exp(-d / 1492.7)`` of distances [km].

    Examples
    --------
    >>> float(geoscore(0.0))
    5000.0
    """
    d = as_real_array(distance_km, "distance_km", finite=False)
    if np.any(~np.isfinite(d)) or np.any(d < 0):
        raise ValueError("`distance_km` must be finite and >= 0")
    return 5000.0 * np.exp(-d / 1492.7)


def summarize(pred_lat, pred_lon, true_lat, true_lon, thresholds_km=DEFAULT_THRESHOLDS_KM) -> dict:
    """All point metrics at once: ``acc_<t>km``, ``median_km``, ``mean_km``, ``geoscore``, ``n``.

    Examples
    --------
    >>> summarize([0], [0], [0], [0])["median_km"]
    0.0
    """
    d = _errors(pred_lat, pred_lon, true_lat, true_lon)
    out = {f"acc_{t:g}km": float(np.mean(d <= t)) for t in _thresholds(thresholds_km)}
    out.update(
        median_km=float(np.median(d)),
        mean_km=float(np.mean(d)),
        geoscore=float(np.mean(geoscore(d))),
        n=int(d.size),
    )
    return out


def _points(lat, lon, weights):
    lat = as_real_array(lat, "lat", finite=False)
    lon = as_real_array(lon, "lon", finite=False)
    if lat.shape != lon.shape or lat.ndim not in (1, 2) or lat.shape[-1] == 0:
        raise ValueError(
            f"`lat` and `lon` must be non-empty arrays of shape (k,) or (batch, k), got {lat.shape} and {lon.shape}"
        )
    as_latlon(lat.ravel(), lon.ravel())  # validation only
    if weights is None:
        w = np.ones_like(lat)
    else:
        w = as_real_array(weights, "weights", finite=False)
        try:
            w = np.broadcast_to(w, lat.shape)
        except ValueError:
            raise ValueError(f"`weights` must have the shape of `lat` {lat.shape}, got {w.shape}") from None
    if np.any(~np.isfinite(w)) or np.any(w < 0) or np.any(w.sum(-1) <= 0):
        raise ValueError("`weights` must be finite, >= 0 and not all zero")
    return latlon_to_xyz(lat, lon), w


def geographic_centre(lat, lon, weights=None):
    """Normalised (weighted) mean of unit vectors, per row for 2-D input.

    If the mean vector vanishes (e.g. two antipodal points) the heaviest point
    is returned instead.

    Examples
    --------
    >>> [round(float(v), 6) for v in geographic_centre([0, 0], [-10, 10])]
    [0.0, 0.0]
    """
    xyz, w = _points(lat, lon, weights)
    m = np.sum(w[..., None] * xyz, axis=-2)
    norm = np.linalg.norm(m, axis=-1)
    bad = norm < 1e-12
    if np.any(bad):
        heaviest = np.take_along_axis(xyz, np.argmax(w, -1)[..., None, None], -2)[..., 0, :]
        m = np.where(bad[..., None], heaviest, m)
    lat_c, lon_c = xyz_to_latlon(m)
    return lat_c, lon_c


def geometric_median(lat, lon, weights=None, *, max_iter: int = 100, tol_km: float = 1e-3):
    """Spherical geometric median (minimiser of the summed great-circle distance).

    Weiszfeld's algorithm on the sphere (Fletcher et al. 2009): starting from
    the geographic centre, move along the weighted mean of the log-map
    directions until the step is below ``tol_km``.  Per row for 2-D input.

    Examples
    --------
    >>> lat, lon = geometric_median([0, 0, 0, 1], [0, 1, 2, 1])
    >>> round(float(lat), 3), round(float(lon), 3)
    (0.0, 1.0)
    """
    max_iter = check_int(max_iter, "max_iter", low=1)
    tol = check_real(tol_km, "tol_km", low=0, closed="neither", unit=" [km]") / EARTH_RADIUS_KM
    xyz, w = _points(lat, lon, weights)
    x = latlon_to_xyz(*geographic_centre(lat, lon, weights))
    for _ in range(max_iter):
        c = np.clip(np.sum(xyz * x[..., None, :], -1), -1.0, 1.0)  # (..., k)
        d = central_angle(xyz, x[..., None, :])
        tang = xyz - c[..., None] * x[..., None, :]
        tnorm = np.linalg.norm(tang, axis=-1)
        log = np.where(tnorm[..., None] > 0, tang * (d / np.where(tnorm > 0, tnorm, 1))[..., None], 0.0)
        inv = np.where(d > 1e-12, w / np.maximum(d, 1e-12), 0.0)
        denom = inv.sum(-1)
        v = np.where(denom[..., None] > 0, (inv[..., None] * log).sum(-2) / np.maximum(denom, 1e-300)[..., None], 0.0)
        step = np.linalg.norm(v, axis=-1)
        x = np.cos(step)[..., None] * x + np.where(
            step[..., None] > 0, np.sin(step)[..., None] * v / np.maximum(step, 1e-300)[..., None], 0.0
        )
        x = x / np.linalg.norm(x, axis=-1, keepdims=True)
        if np.all(step < tol):
            break
    # Weiszfeld converges slowly when the median sits on a data point: compare
    # the objective with every data point's and keep the best.
    cand = np.concatenate([x[..., None, :], xyz], -2)  # (..., k+1, 3)
    cost = (w[..., None, :] * central_angle(cand[..., :, None, :], xyz[..., None, :, :])).sum(-1)
    cost[..., 1:] = np.where(w > 0, cost[..., 1:], np.inf)  # points of weight 0 are not data
    best = np.argmin(cost, -1)
    x = np.take_along_axis(cand, best[..., None, None], -2)[..., 0, :]
    return xyz_to_latlon(x)
