"""Mode finding on HEALPix log-density rows: the engine of :meth:`SphericalField.modes <shdd_geo.fields.SphericalField.modes>`.

A *mode* is a local maximum of a density field: a pixel at least as dense as
its 8 neighbours.  (Choosing one point among decoded samples is a different
question, answered by :mod:`shdd_geo.decoding.points`.)
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_int
from ..coords import EARTH_RADIUS_KM
from .grid import import_healpy, neighbours, pixel_area_sr, pixel_latlon, pixel_xyz

__all__ = ["ascent_roots", "field_modes", "find_modes"]

_COLUMNS = ("field", "rank", "pixel", "lat", "lon", "log_density", "mass")


def _neighbour_values(row: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """``row`` at the 8 neighbours of every pixel ``(8, npix)``, ``-inf`` where there is none."""
    return np.where(nb >= 0, row[np.maximum(nb, 0)], -np.inf)


def _local_maxima(row: np.ndarray, nb: np.ndarray, nv: np.ndarray | None = None) -> np.ndarray:
    """Pixels at least as dense as all their neighbours, sorted by density (desc)."""
    nv = _neighbour_values(row, nb) if nv is None else nv
    cand = np.flatnonzero((row >= nv.max(axis=0)) & np.isfinite(row))
    return cand[np.argsort(-row[cand], kind="stable")]


def _greedy_separated(cand: np.ndarray, xyz: np.ndarray, k: int | None, min_cos: float) -> tuple[list[int], dict]:
    """Walk candidates by density; keep those farther than the separation from all kept.

    Returns the kept pixels and ``{candidate: index into kept}`` for every candidate
    that is kept or was passed over for being too near a kept one (the first, densest,
    such mode); candidates left when ``k`` modes are kept belong to none (``k=None``:
    no limit, every candidate is owned).
    """
    kept: list[int] = []
    owner: dict[int, int] = {}
    while cand.size and (k is None or len(kept) < k):
        kept.append(int(cand[0]))
        near = xyz[cand] @ xyz[cand[0]] >= min_cos
        near[0] = True  # the mode itself, also when the separation is 0
        owner.update((int(c), len(kept) - 1) for c in cand[near])
        cand = cand[~near]
    return kept, owner


def ascent_roots(row: np.ndarray, nb: np.ndarray, nv: np.ndarray | None = None) -> np.ndarray:
    """For every pixel, the local maximum that steepest ascent over the 8 neighbours reaches.

    Each pixel points to its densest neighbour if that one is strictly denser, else to itself
    (ties go to the lowest neighbour slot, as ``argmax`` picks); the pointers are followed to
    their ends by repeated doubling.  ``nv``: the neighbours' values, if already at hand.

    Examples
    --------
    >>> row = np.zeros(48); row[5] = 1.0
    >>> int(ascent_roots(row, neighbours(2, False))[5])
    5
    """
    nv = _neighbour_values(row, nb) if nv is None else nv
    best = nv.argmax(axis=0)
    cols = np.arange(row.size)
    up = nb[best, cols]
    parent = np.where(nv[best, cols] > row, up, cols)
    while True:
        nxt = parent[parent]
        if np.array_equal(nxt, parent):
            return parent
        parent = nxt


def find_modes(rows: np.ndarray, nside: int, nest: bool, k: int, sep_km: float, radius_km: float | None,
               order: str = "mass") -> dict:
    """Modes of normalised log-density rows ``(B, npix)``; see ``SphericalField.modes``.

    ``radius_km=None``: each mode's mass is its basin (the pixels whose steepest ascent ends at
    the mode or at a lower local maximum it suppressed); else the mass within ``radius_km``.
    ``order="mass"``: every separated maximum is found, then the ``k`` with the most mass are
    kept, most first; ``order="density"``: the ``k`` densest separated maxima, densest first.

    Examples
    --------
    >>> row = np.log(np.full((1, 48), 1 / (4 * np.pi)))
    >>> row[0, 7] += 1.0
    >>> t = find_modes(row, 2, False, 1, 500.0, None)
    >>> int(t["pixel"][0]), sorted(t)[:3]
    (7, ['field', 'lat', 'log_density'])
    """
    hp = import_healpy()
    nb = neighbours(nside, nest)
    xyz = pixel_xyz(nside, nest)
    lat, lon = pixel_latlon(nside, nest)
    min_cos = np.cos(min(sep_km / EARTH_RADIUS_KM, np.pi)) if sep_km > 0 else 2.0
    area = pixel_area_sr(nside)
    out: dict[str, list] = {c: [] for c in _COLUMNS}
    by_mass = order == "mass"
    for b, row in enumerate(rows):
        nv = _neighbour_values(row, nb)
        kept, owner = _greedy_separated(_local_maxima(row, nb, nv), xyz, None if by_mass else k, min_cos)
        p = np.exp(row) * area
        if radius_km is None and kept:
            roots = ascent_roots(row, nb, nv)
            label = np.full(row.size, -1)
            for pix, i in owner.items():
                label[pix] = i
            basin = np.bincount(label[roots] + 1, weights=p, minlength=len(kept) + 1)[1:]
        masses = []
        for i, pix in enumerate(kept):
            if radius_km is None:
                masses.append(float(basin[i]))
            elif radius_km > 0:
                disc = hp.query_disc(nside, xyz[pix], radius_km / EARTH_RADIUS_KM, nest=nest)
                masses.append(float(p[disc].sum()))
            else:
                masses.append(float(p[pix]))
        # kept is in density order; a stable sort by mass keeps the denser of equal masses first
        pick = np.argsort(-np.asarray(masses), kind="stable")[:k] if by_mass else range(len(kept))
        for rank, i in enumerate(pick):
            pix = kept[i]
            for c, v in zip(_COLUMNS, (b, rank, pix, lat[pix], lon[pix], row[pix], masses[i])):
                out[c].append(v)
    dtypes = {"field": np.int64, "rank": np.int64, "pixel": np.int64}
    return {c: np.asarray(v, dtype=dtypes.get(c, np.float64)) for c, v in out.items()}


def field_modes(field, k: int = 5, min_separation_km: float = 500.0, radius_km: float | None = None,
                order: str = "mass") -> dict:
    """Validated :func:`find_modes` of a field: the engine of ``SphericalField.modes``.

    Examples
    --------
    >>> from shdd_geo.fields import SphericalField
    >>> import shdd_geo as sg
    >>> f = SphericalField.from_shdd(sg.encode([40.0], [-3.0], L=20)[0], nside=32)
    >>> int(field_modes(f, k=1)["rank"][0]), "field" in field_modes(f, k=1)
    (0, False)
    """
    k = check_int(k, "k", low=1, what="a positive integer")
    sep = float(min_separation_km)
    if not (math.isfinite(sep) and sep >= 0):
        raise ValueError(f"`min_separation_km` must be finite and >= 0, got {min_separation_km}")
    rad = None if radius_km is None else float(radius_km)
    if rad is not None and not (math.isfinite(rad) and rad >= 0):
        raise ValueError(f"`radius_km` must be finite and >= 0 (or None for the basin), got {radius_km}")
    if order not in ("mass", "density"):
        raise ValueError(f"`order` must be 'mass' or 'density', got {order!r}")
    rows = np.atleast_2d(field.normalize().log_density)
    table = find_modes(rows, field.nside, field.nest, int(k), sep, rad, order)
    if not field.is_batch:
        table.pop("field")
    return table
