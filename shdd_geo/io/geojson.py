"""GeoJSON (RFC 7946) of fields: credible-region polygons and mode points, in (lon, lat).

:func:`to_geojson` (reached as ``field.to_geojson()``) writes a
FeatureCollection; :func:`mask_to_geometry` turns a HEALPix pixel mask into
a shapely (Multi)Polygon.

Each selected pixel becomes a polygon from its ``healpy.boundaries``; its
longitudes are unwrapped around the pixel centre, pixels across the
antimeridian are cut at +-180 and a pixel corner at a pole becomes an edge
along latitude +-90 (so a region around a pole is a valid polygon bounded by
the pole line).  The pixels are merged with ``shapely.unary_union`` on a
fixed precision grid, slivers from round-off are dropped and rings are
oriented by the right-hand rule (RFC 7946 section 3.1.6).
"""

from __future__ import annotations

import json

import numpy as np

from .._atomic import atomic_write
from .._optional import attempt_import
from ..fields.grid import import_healpy
from ..fields.regions import check_level

__all__ = ["mask_to_geometry", "orient_rfc7946", "pixel_polygons", "to_geojson"]

_POLE_EPS = 1e-12


def _pixel_rings(nside: int, pix: np.ndarray, nest: bool, step: int) -> list[np.ndarray]:
    """(lon, lat) vertex rings [deg] of pixels, lon unwrapped around each centre."""
    hp = import_healpy()
    b = hp.boundaries(nside, pix, step=step, nest=nest)
    if b.ndim == 2:
        b = b[None]
    x, y, z = b[:, 0], b[:, 1], b[:, 2]
    lat = np.degrees(np.arcsin(np.clip(z, -1, 1)))
    lon_c = np.degrees(hp.pix2ang(nside, pix, nest=nest)[1])[:, None]
    lon = lon_c + (np.mod(np.degrees(np.arctan2(y, x)) - lon_c + 180.0, 360.0) - 180.0)
    at_pole = np.abs(z) > 1 - _POLE_EPS
    rings = []
    for i in range(pix.size):
        if not at_pole[i].any():
            rings.append(np.stack([lon[i], lat[i]], axis=1))
            continue
        pts = []
        n = lon.shape[1]
        for j in range(n):  # a pole corner becomes an edge along the pole line
            if at_pole[i, j]:
                pole = 90.0 if z[i, j] > 0 else -90.0
                pts += [(lon[i, (j - 1) % n], pole), (lon[i, (j + 1) % n], pole)]
            else:
                pts.append((lon[i, j], lat[i, j]))
        rings.append(np.asarray(pts))
    return rings


def _quadtree(mask_nest: np.ndarray, nside: int) -> list[tuple[int, np.ndarray]]:
    """Cover a NESTED mask with the fewest pixels of any level: [(nside_l, pixels)]."""
    out = []
    cur = mask_nest
    while nside > 1:
        full = cur.reshape(-1, 4).all(axis=1)
        leaves = np.flatnonzero(cur & ~np.repeat(full, 4))
        if leaves.size:
            out.append((nside, leaves))
        cur, nside = full, nside // 2
    if cur.any():
        out.append((nside, np.flatnonzero(cur)))
    return out


def _cut_antimeridian(shapely, ring: np.ndarray, world) -> list:
    """Polygon pieces of one unwrapped ring inside [-180, 180]."""
    poly = shapely.Polygon(ring)
    if -180.0 <= ring[:, 0].min() and ring[:, 0].max() <= 180.0:
        return [poly]
    pieces = []
    for shift in (-360.0, 0.0, 360.0):
        piece = shapely.intersection(shapely.affinity.translate(poly, xoff=shift), world)
        if not piece.is_empty and piece.area > 0:
            pieces.append(piece)
    return pieces


def _drop_slivers(shapely, geom, min_area: float):
    """Remove round-off holes and specks smaller than ``min_area`` [deg^2]."""
    polys = []
    for p in getattr(geom, "geoms", [geom]):
        if p.geom_type != "Polygon" or p.area < min_area:
            continue
        holes = [h for h in p.interiors if shapely.Polygon(h).area >= min_area]
        polys.append(shapely.Polygon(p.exterior, holes))
    return shapely.MultiPolygon(polys) if len(polys) != 1 else polys[0]


def orient_rfc7946(geom):
    """Exterior rings counter-clockwise, holes clockwise (RFC 7946 right-hand rule).

    Examples
    --------
    >>> import shapely
    >>> orient_rfc7946(shapely.box(0, 0, 1, 1)).exterior.is_ccw
    True
    """
    shapely = attempt_import("shapely", "GeoJSON export")
    from shapely.geometry.polygon import orient

    if geom.geom_type == "Polygon":
        return orient(geom, sign=1.0)
    return shapely.MultiPolygon([orient(p, sign=1.0) for p in geom.geoms])


def mask_to_geometry(mask: np.ndarray, nside: int, nest: bool, *, step: int = 2, grid_size: float = 1e-7):
    """(Multi)Polygon in (lon, lat) [deg] covering the pixels where ``mask`` is True.

    Examples
    --------
    >>> mask = np.zeros(48, bool); mask[0] = True
    >>> mask_to_geometry(mask, 2, False).geom_type
    'Polygon'
    """
    shapely = attempt_import("shapely", "GeoJSON export")
    attempt_import("shapely.affinity", "GeoJSON export")  # loads shapely.affinity.translate

    pix = np.flatnonzero(mask)
    world = shapely.box(-180.0, -90.0, 180.0, 90.0)
    if pix.size == mask.size:
        return orient_rfc7946(world)
    if pix.size == 0:
        return shapely.MultiPolygon()
    if not nest:
        mask = mask[import_healpy().nest2ring(nside, np.arange(mask.size))]
    polys = []
    for ns, cells in _quadtree(np.asarray(mask, bool), nside):
        # Coarser cells sample their edges at the finest cells' vertices, so
        # shared edges carry the same points (HEALPix face coordinates nest).
        for ring in _pixel_rings(ns, cells, True, step * (nside // ns)):
            polys += _cut_antimeridian(shapely, np.round(ring, 9), world)
    merged = shapely.unary_union(polys, grid_size=grid_size)
    if not merged.is_valid:  # pragma: no cover - snap rounding keeps it valid
        merged = shapely.make_valid(merged)
    # Real holes and antimeridian pieces are >= half a pixel; round-off slivers
    # are ~grid_size wide: 1 % of a pixel's area separates them at any nside.
    pixel_deg2 = 41252.96 / (12 * nside * nside)
    merged = _drop_slivers(shapely, merged, 0.01 * pixel_deg2)
    return orient_rfc7946(merged)


def pixel_polygons(nside: int, pix: np.ndarray, nest: bool, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Polygons in (lon, lat) [deg] of pixels, cut at the antimeridian: ``(pieces, pixel of each piece)``.

    Examples
    --------
    >>> pieces, owner = pixel_polygons(1, np.arange(12), False, 2)
    >>> len(pieces) >= 12, sorted(set(owner.tolist())) == list(range(12))
    (True, True)
    """
    shapely = attempt_import("shapely", "pixel polygons")
    attempt_import("shapely.affinity", "pixel polygons")
    pix = np.asarray(pix, dtype=np.int64).ravel()
    world = shapely.box(-180.0, -90.0, 180.0, 90.0)
    rings = _pixel_rings(nside, pix, nest, step)
    pieces = np.empty(pix.size, dtype=object)
    inside = np.zeros(pix.size, dtype=bool)
    for i, ring in enumerate(rings):  # centres in [-180, 180): most pixels then need no cut
        if ring[:, 0].mean() >= 180.0:
            ring[:, 0] -= 360.0
        inside[i] = ring[:, 0].min() >= -180.0 and ring[:, 0].max() <= 180.0
    for n in {len(r) for r in rings}:  # whole pixels, built in bulk per vertex count
        idx = np.flatnonzero(inside & (np.array([len(r) for r in rings]) == n))
        if idx.size:
            pieces[idx] = shapely.polygons(np.stack([rings[i] for i in idx]))
    out, owner = list(pieces[inside]), list(pix[inside])
    for i in np.flatnonzero(~inside):
        cut = _cut_antimeridian(shapely, rings[i], world)
        out += cut
        owner += [pix[i]] * len(cut)
    arr = np.empty(len(out), dtype=object)
    arr[:] = out
    return arr, np.asarray(owner, dtype=np.int64)


def to_geojson(field, path=None, levels=(0.5, 0.9), *, modes: int | list = 3,
               min_separation_km: float = 500.0, step: int = 2, precision: int = 6) -> dict:
    """RFC 7946 FeatureCollection of credible regions and modes, in (lon, lat).

    Parameters
    ----------
    path : str or os.PathLike, optional
        Also write the JSON there (atomically).
    levels : float or sequence of float
        Credible levels in (0, 1); one (Multi)Polygon feature each, largest
        first, properties ``level``, ``mass``, ``area_km2``, ``n_pixels``.
    modes : int or list of dict
        Number of mode Point features (properties ``rank``, ``mass`` -- the
        probability of the mode's basin, :meth:`SphericalField.modes <shdd_geo.fields.SphericalField.modes>` --,
        ``log_density``); 0 for none.  Or the modes themselves (dicts with
        ``lat``, ``lon``, ``mass`` and more properties, e.g. ``Geolocator.locate``'s
        ``modes``), so that the file lists exactly those.
    step : int
        Points per pixel edge (pixel edges are curves in lon/lat).
    precision : int
        Decimal places of the coordinates (6 is about 0.1 m).

    Returns
    -------
    dict
        The FeatureCollection, built by :func:`shdd_geo.io.vector.feature_records`:
        every feature carries ``kind`` and ``field`` (index in a batch), and
        ``query`` (the batch label or ``attrs["text"]``) and ``model`` when known.

    Examples
    --------
    >>> import shdd_geo as sg
    >>> f = sg.SphericalField.from_shdd(sg.encode([60.0], [179.0], L=10)[0], nside=16)
    >>> gj = to_geojson(f, levels=0.9, modes=1)
    >>> [feat["geometry"]["type"] for feat in gj["features"]]
    ['MultiPolygon', 'Point']
    """
    from .vector import to_geojson as _to_geojson  # the one builder of region/mode features

    return _to_geojson(field, path, levels, modes=modes, min_separation_km=min_separation_km, step=step,
                       precision=precision)
