"""Evaluation harness: the same metrics for every method, side by side.

Any object with ``predict(X) -> (lat, lon)`` can be evaluated; objects that
also have ``predict_field(X, nside=...)`` (LocDiffusion, the classification
and retrieval baselines) get density metrics too: the log-likelihood of the
truth and the coverage and area of highest-density credible regions.

See :func:`evaluate_predictor` and :func:`compare` for examples.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._progress import check_progress, progress_bar, quiet_kwargs
from .metrics import DEFAULT_THRESHOLDS_KM, summarize

__all__ = ["compare", "evaluate_predictor", "markdown_table", "reliability_curve"]


def _batched_fields(predictor, X, nside: int, batch_size: int, field_kwargs: Mapping, progress: bool | None):
    """Fields batch by batch (a generator: one batch of fields in memory at a time), with a bar over the rows."""
    kwargs = {**quiet_kwargs(predictor.predict_field), **field_kwargs}  # one bar: the rows'
    with progress_bar(len(X), "maps", unit="row", progress=progress) as bar:
        for i in range(0, len(X), batch_size):
            f = predictor.predict_field(X[i : i + batch_size], nside=nside, **kwargs)
            bar.update(len(f))
            yield f


def evaluate_predictor(predictor, X, lat, lon, *, fields: bool = False, nside: int = 64,
                       levels=(0.5, 0.8, 0.9, 0.95), predict_kwargs: Mapping | None = None,
                       field_kwargs: Mapping | None = None, batch_size: int = 256,
                       thresholds_km=DEFAULT_THRESHOLDS_KM, progress: bool | None = None) -> dict[str, Any]:
    """Point metrics (and optionally density metrics) of one predictor.

    Parameters
    ----------
    predictor : object
        Has ``predict(X, **predict_kwargs) -> (lat, lon)``; with
        ``fields=True`` also ``predict_field(X, nside=..., **field_kwargs)``
        returning a :class:`~shdd_geo.SphericalField` batch.
    X : array (n, d)
        Conditions (embeddings).
    lat, lon : array_like (n,)
        True locations [deg].
    fields : bool
        Also compute ``loglik`` (mean log-density of the truth [log sr^-1]),
        ``coverage_<level>`` and ``area_<level>_km2``.
    progress : bool, optional
        Progress bars: the predictor's own for the point predictions (when
        its ``predict`` takes ``progress``), one over the rows for the maps.
        Default: only when a step runs longer than a few seconds.

    Returns
    -------
    dict
        ``acc_<t>km``, ``median_km``, ``mean_km``, ``geoscore``, ``n``,
        ``seconds`` (prediction time) and the density metrics.

    Examples
    --------
    >>> import numpy as np
    >>> class Const:
    ...     def predict(self, X):
    ...         return np.zeros(len(X)), np.zeros(len(X))
    >>> r = evaluate_predictor(Const(), np.zeros((3, 2)), [0, 0, 10], [0, 1, 0])
    >>> r["acc_200km"], r["n"]
    (0.6666666666666666, 3)
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"`X` must be a non-empty 2-D array, got shape {X.shape}")
    if len(np.atleast_1d(lat)) != X.shape[0]:
        raise ValueError(f"`X` has {X.shape[0]} rows but {len(np.atleast_1d(lat))} locations were given")
    progress = check_progress(progress)
    t0 = time.perf_counter()
    shown = {"progress": progress} if quiet_kwargs(predictor.predict) else {}
    pl, po = predictor.predict(X, **{**shown, **dict(predict_kwargs or {})})
    out = summarize(pl, po, lat, lon, thresholds_km)
    out["seconds"] = time.perf_counter() - t0
    if fields:
        if not hasattr(predictor, "predict_field"):
            raise TypeError(f"{type(predictor).__name__} has no `predict_field`; use fields=False")
        from .calibration import coverage, mean_area_km2

        lat, lon = np.asarray(lat, float), np.asarray(lon, float)
        ll, cov, area = [], {lv: [] for lv in levels}, {lv: [] for lv in levels}
        batches = _batched_fields(predictor, X, nside, batch_size, dict(field_kwargs or {}), progress)
        for i, f in enumerate(batches):
            sl = slice(i * batch_size, i * batch_size + len(f))
            ll.append(np.atleast_1d(f.log_likelihood(lat[sl], lon[sl])))
            c, a = coverage(f, lat[sl], lon[sl], levels), mean_area_km2(f, levels)
            for lv in levels:
                cov[lv].append(c[lv] * len(f))
                area[lv].append(a[lv] * len(f))
        n = X.shape[0]
        out["loglik"] = float(np.mean(np.concatenate(ll)))
        for lv in levels:
            out[f"coverage_{lv:g}"] = float(np.sum(cov[lv]) / n)
            out[f"area_{lv:g}_km2"] = float(np.sum(area[lv]) / n)
    return out


def reliability_curve(predictor, X, lat, lon, *, nside: int = 64, levels=None,
                      field_kwargs: Mapping | None = None, batch_size: int = 256,
                      progress: bool | None = None) -> dict[str, Any]:
    """:func:`shdd_geo.calibration.reliability` of a predictor's maps, batch by batch.

    ``predictor.predict_field(X, nside=nside, **field_kwargs)`` draws the
    maps (one batch of ``batch_size`` rows in memory at a time); the result
    is the weighted mean of the batches' curves, the curve of all rows at once.
    ``progress``: a bar over the rows (default: only after a few seconds).
    Plot it with :func:`shdd_geo.plotting.plot_reliability`.

    Examples
    --------
    >>> import shdd_geo as sg
    >>> class Fixed:                         # one map for every row
    ...     def predict_field(self, X, nside):
    ...         return sg.SphericalField.from_shdd(sg.encode([30.0] * len(X), [10.0] * len(X), L=4), nside=nside)
    >>> lat, lon = Fixed().predict_field([0], 16)[0].sample(500, rng=0)
    >>> r = reliability_curve(Fixed(), np.zeros((500, 1)), lat, lon, nside=16, levels=(0.5,), batch_size=200)
    >>> r["n"], bool(abs(r["coverage_raw"][0] - 0.5) < 0.07)
    (500, True)
    """
    from .calibration import RELIABILITY_LEVELS, reliability

    X = np.asarray(X)
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    if X.ndim != 2 or X.shape[0] != lat.size:
        raise ValueError(f"`X` must be 2-D with one row per location, got shape {X.shape} for {lat.size} locations")
    parts = []
    batches = _batched_fields(predictor, X, nside, batch_size, dict(field_kwargs or {}), check_progress(progress))
    for i, f in enumerate(batches):
        sl = slice(i * batch_size, i * batch_size + len(f))
        parts.append(reliability(f, lat[sl], lon[sl], RELIABILITY_LEVELS if levels is None else levels))
    w = np.array([p["n"] for p in parts], dtype=float)
    out = {k: np.average([p[k] for p in parts], axis=0, weights=w)
           for k in ("coverage_raw", "area_km2_raw", "coverage", "area_km2")}
    return {"level": parts[0]["level"], **out, "calibrated": any(p["calibrated"] for p in parts), "n": int(w.sum())}


def compare(predictors: Mapping[str, Any], X, lat, lon, **kwargs) -> list[dict[str, Any]]:
    """:func:`evaluate_predictor` for several named predictors; one row each (``method`` first).

    ``kwargs`` go to every call (``progress`` included); a per-method
    ``fields`` flag can be given as ``fields={"knn": False, ...}``.

    Examples
    --------
    >>> class Const:
    ...     def __init__(self, lat):
    ...         self.lat = lat
    ...     def predict(self, X):
    ...         return np.full(len(X), self.lat), np.zeros(len(X))
    >>> rows = compare({"a": Const(0.0), "b": Const(10.0)}, np.zeros((2, 1)), [0, 0], [0, 0])
    >>> [(r["method"], r["acc_25km"]) for r in rows]
    [('a', 1.0), ('b', 0.0)]
    """
    rows = []
    fields = kwargs.pop("fields", False)
    for name, p in predictors.items():
        f = fields.get(name, False) if isinstance(fields, Mapping) else fields
        rows.append({"method": name, **evaluate_predictor(p, X, lat, lon, fields=f, **kwargs)})
    return rows


def markdown_table(rows: list[Mapping[str, Any]], columns: list[str] | None = None, digits: int = 1) -> str:
    """Rows of metrics as a Markdown table (fractions shown as percentages).

    Examples
    --------
    >>> print(markdown_table([{"method": "a", "acc_25km": 0.5, "median_km": 12.34}]))
    | method | acc_25km | median_km |
    |---|---|---|
    | a | 50.0 | 12.3 |
    """
    if not rows:
        raise ValueError("`rows` is empty")
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            if isinstance(v, float):
                pct = c.startswith(("acc_", "coverage_"))
                v = f"{100 * v:.{digits}f}" if pct else f"{v:.{digits}f}"
            cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
