"""Reliability diagram of credible regions: coverage against the requested level.

A calibrated model's ``alpha`` credible regions hold the truth for a share
``alpha`` of the queries: its curve follows the diagonal.  Points below the
diagonal are over-confident regions (too small), above it under-confident
ones (too large).  The mean region area is written beside the curve at a few
levels, since coverage alone rewards covering the whole sphere.

Examples
--------
>>> import matplotlib; matplotlib.use("Agg")
>>> import shdd_geo as sg
>>> f = sg.SphericalField.from_shdd(sg.encode([30.0], [10.0], L=4)[0], nside=16)
>>> ax = plot_reliability(f, *f.sample(300, rng=0))
>>> ax.get_xlabel()
'requested credible level'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._optional import attempt_import

__all__ = ["plot_reliability"]

_AREA_LEVELS = (0.5, 0.8, 0.9, 0.95)


def plot_reliability(fields: Any, lat: Any = None, lon: Any = None, *, ax: Any = None,
                     area_levels: Sequence[float] = _AREA_LEVELS, title: str | None = None) -> Any:
    """Draw coverage against requested level, with the diagonal and mean region areas.

    Parameters
    ----------
    fields : SphericalField or dict
        Predicted fields (a batch paired with ``lat``/``lon``, or one field
        for every point), or the dict of :func:`shdd_geo.calibration.reliability`
        (then ``lat``/``lon`` are not used).
    lat, lon : array_like, optional
        True locations [deg].
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).
    area_levels : sequence of float
        Requested levels whose mean region area [M km^2] is written beside
        each curve (levels absent from the curve are skipped).
    title : str, optional
        Axes title (default: the number of truths).

    Returns
    -------
    matplotlib.axes.Axes
        Raw regions in one curve; regions cut at the fields' conformal levels
        (:class:`shdd_geo.calibration.ConformalLevels`) in a second when the
        fields carry a level map.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from shdd_geo.calibration import ConformalLevels, reliability
    >>> import shdd_geo as sg
    >>> wide = sg.SphericalField.from_shdd(0.5 * sg.encode([30.0], [10.0], L=6)[0], nside=16)
    >>> sharp = sg.SphericalField.from_shdd(sg.encode([30.0], [10.0], L=6)[0], nside=16)
    >>> lat, lon = sharp.sample(400, rng=0)
    >>> curve = reliability(ConformalLevels.fit(wide, lat[:200], lon[:200]).apply(wide), lat[200:], lon[200:])
    >>> [line.get_label() for line in plot_reliability(curve).get_lines()]
    ['ideal', 'raw', 'calibrated']
    """
    plt = attempt_import("matplotlib.pyplot", "reliability plots")
    curve = fields if isinstance(fields, Mapping) else _curve(fields, lat, lon)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 5.0))
    ax.plot([0, 1], [0, 1], ls="--", color="0.5", lw=1, label="ideal")
    kinds = [("raw", "coverage_raw", "area_km2_raw", "C0", "o")]
    if curve.get("calibrated"):
        kinds.append(("calibrated", "coverage", "area_km2", "C3", "s"))
    level = np.asarray(curve["level"], dtype=float)
    for k, (label, cov_key, area_key, colour, marker) in enumerate(kinds):
        cov, area = np.asarray(curve[cov_key], float), np.asarray(curve[area_key], float)
        ax.plot(level, cov, marker=marker, ms=4, color=colour, label=label)
        for lv in area_levels:
            i = np.flatnonzero(np.isclose(level, lv))
            if i.size:
                j = int(i[0])
                ax.annotate(f"{area[j] / 1e6:.3g} M km²", (level[j], cov[j]), color=colour, fontsize=7,
                            xytext=(6, -10 if k == 0 else 6), textcoords="offset points")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_aspect("equal")
    ax.set_xlabel("requested credible level")
    ax.set_ylabel("coverage of the truths")
    ax.set_title(title if title is not None else f"reliability of credible regions (n = {curve['n']})")
    ax.legend(loc="upper left", fontsize=8, title="mean area of the region", title_fontsize=7)
    ax.grid(alpha=0.3)
    return ax


def _curve(fields: Any, lat: Any, lon: Any) -> dict:
    from ..calibration import reliability

    if lat is None or lon is None:
        raise TypeError("pass `lat` and `lon` with fields (or a dict from shdd_geo.calibration.reliability)")
    return reliability(fields, lat, lon)
