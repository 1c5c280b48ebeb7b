"""Credible regions and modes as vector data: shapely, GeoDataFrames, GeoJSON and OGR files.

One builder, :func:`feature_records`, makes the (properties, geometry) pairs
of a field; :func:`to_geodataframe`, :func:`to_geojson` and :func:`to_file`
all go through it, so a GeoPackage, a GeoJSON file and a GeoDataFrame of the
same field hold the same rows.

Geometry is in (lon, lat) [deg] on EPSG:4326 (RFC 7946 order).  Region
polygons are the union of their HEALPix pixels (pixel edges sampled at
``step`` points), cut at the antimeridian (+-180) and closed along the pole
line (+-90) when a region holds a pole, so they are valid planar polygons.

Every row carries ``kind`` (``"credible_region"`` or ``"mode"``), ``field``
(index in a batch; 0 for a single field), ``query`` (the batch label, or the
field's ``attrs["text"]``) and ``model`` (``attrs["model"]``), None where
unknown; regions add ``level``, ``mass``, ``area_km2``, ``n_pixels``; modes
add ``rank``, ``mass`` (the basin's probability, see
:meth:`~shdd_geo.SphericalField.modes`) and ``log_density``.

Examples
--------
>>> import shdd_geo as sg
>>> f = sg.SphericalField.from_shdd(sg.encode([60.0], [179.0], L=10)[0], nside=16)
>>> gdf = to_geodataframe(f, levels=0.9, modes=1)
>>> list(gdf["kind"]), gdf.crs.to_string()
(['credible_region', 'mode'], 'EPSG:4326')
"""

from __future__ import annotations

import json
import os

import numpy as np

from .._atomic import atomic_write, temp_dir_beside
from .._validation import check_int
from .geojson import mask_to_geometry
from ..fields.regions import check_level
from .._optional import attempt_import

__all__ = ["feature_records", "region_geometry", "to_file", "to_geodataframe", "to_geojson"]

_COLUMNS = ("kind", "field", "query", "model", "level", "rank", "mass", "area_km2", "n_pixels", "log_density")
# Single-file formats only: a multi-file format (Shapefile) cannot be renamed into place atomically.
_DRIVERS = {".gpkg": "GPKG", ".fgb": "FlatGeobuf", ".geojson": "GeoJSON", ".json": "GeoJSON", ".kml": "KML"}
_MULTI_FILE = {"ESRI Shapefile", "MapInfo File", "GML"}


def region_geometry(region, *, step: int = 2, grid_size: float = 1e-6):
    """Shapely MultiPolygon(s) in (lon, lat) [deg] of a :class:`~shdd_geo.fields.CredibleRegion`.

    One MultiPolygon for a single region, an object array ``(B,)`` of them
    for a batch; an empty MultiPolygon for an empty mask.

    Parameters
    ----------
    step : int
        Points per pixel edge (pixel edges are curves in lon/lat).
    grid_size : float
        Precision grid of the union [deg] (1e-6 deg is about 0.1 m).

    Examples
    --------
    >>> import shdd_geo as sg
    >>> f = sg.SphericalField.from_shdd(sg.encode([-89.0], [0.0], L=6)[0], nside=16)
    >>> g = region_geometry(f.credible_region(0.5))
    >>> g.geom_type, g.is_valid, g.bounds[1]        # holds the south pole: closed along lat -90
    ('MultiPolygon', True, -90.0)
    """
    shapely = attempt_import("shapely", "credible-region geometry")
    step = check_int(step, "step", low=1)

    def one(mask):
        g = mask_to_geometry(mask, region.nside, region.nest, step=step, grid_size=grid_size)
        return g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g])

    if region.mask.ndim == 1:
        return one(region.mask)
    out = np.empty(region.mask.shape[0], dtype=object)
    for i, m in enumerate(region.mask):
        out[i] = one(m)
    return out


def _item(x):
    return x.item() if hasattr(x, "item") else x


def _identity(field, i: int) -> dict:
    """``field``, ``query`` and ``model`` of member ``i``."""
    if field.is_batch and field.labels is not None:
        query = _item(field.labels[i])
    else:
        query = field.attrs.get("text")
    return {"field": i, "query": None if query is None else str(query), "model": field.attrs.get("model")}


def _listed_modes(modes, field) -> list | None:
    """``modes`` given as a list of dicts (``lat``, ``lon``, ``mass``, more properties): checked; else None."""
    if isinstance(modes, (int, np.integer)) or not isinstance(modes, (list, tuple)):
        return None
    if field.is_batch:
        raise ValueError("`modes` as a list of dicts applies to a single field, not a batch")
    for j, m in enumerate(modes):
        if not isinstance(m, dict) or not {"lat", "lon", "mass"} <= set(m):
            raise ValueError(f"`modes`[{j}] must be a dict with 'lat', 'lon' and 'mass', got {m!r}")
        if not all(np.isfinite(float(m[k])) for k in ("lat", "lon", "mass")) or abs(float(m["lat"])) > 90:
            raise ValueError(f"`modes`[{j}] needs finite 'lat' in [-90, 90], 'lon' and 'mass', got {m!r}")
    return list(modes)


def feature_records(field, levels=(0.5, 0.9), modes: int = 5, *, min_separation_km: float = 500.0,
                    step: int = 2, grid_size: float = 1e-6) -> list[tuple[dict, object]]:
    """``(properties, shapely geometry)`` per credible region and mode of a field or batch.

    Regions come largest level first, then the modes by rank, for each
    member of a batch in turn; the properties are the columns listed in the
    module docstring.  ``modes`` is the number of the field's own modes, or,
    for a single field, a list of modes already found (dicts with ``lat``,
    ``lon``, ``mass`` and any further properties, such as the ``place`` and
    ``country`` that ``Geolocator.locate`` lists), written in that order.

    Examples
    --------
    >>> import shdd_geo as sg
    >>> f = sg.SphericalField.from_shdd(sg.encode([10.0], [20.0], L=8)[0], nside=16)
    >>> [(p["kind"], p["level"]) for p, _ in feature_records(f, levels=(0.5, 0.9), modes=0)]
    [('credible_region', 0.9), ('credible_region', 0.5)]
    """
    shapely = attempt_import("shapely", "credible-region geometry")
    levels = sorted((check_level(lv) for lv in np.atleast_1d(levels).tolist()), reverse=True)
    listed = _listed_modes(modes, field)
    modes = 0 if listed is not None else check_int(modes, "modes", low=0)
    step = check_int(step, "step", low=1)
    members = list(field) if field.is_batch else [field]
    records = []
    for i, member in enumerate(members):
        ident = _identity(field, i)
        for lv in levels:
            r = member.credible_region(lv)
            props = {"kind": "credible_region", **ident, "level": r.level, "mass": float(r.mass),
                     "area_km2": float(r.area_km2), "n_pixels": r.n_pixels}
            records.append((props, region_geometry(r, step=step, grid_size=grid_size)))
        for j, mode in enumerate(listed or []):  # given modes: their own properties (place names...)
            extra = {k: _item(v) for k, v in mode.items() if k not in ("lat", "lon", "mass") and v is not None}
            props = {"kind": "mode", **ident, "rank": j, "mass": float(mode["mass"]), **extra}
            records.append((props, shapely.Point(float(mode["lon"]), float(mode["lat"]))))
        if modes:
            m = member.modes(k=modes, min_separation_km=min_separation_km)
            for j in range(m["lat"].size):
                props = {"kind": "mode", **ident, "rank": int(m["rank"][j]), "mass": float(m["mass"][j]),
                         "log_density": float(m["log_density"][j])}
                records.append((props, shapely.Point(float(m["lon"][j]), float(m["lat"][j]))))
    return records


def to_geodataframe(field, levels=(0.5, 0.9), modes: int = 5, *, min_separation_km: float = 500.0,
                    step: int = 2):
    """A ``geopandas.GeoDataFrame`` (EPSG:4326) with one row per credible region and mode.

    Columns: ``kind``, ``field``, ``query``, ``model``, ``level`` (NaN for
    modes), ``rank`` (-1 for regions), ``mass``, ``area_km2`` [km^2] (NaN
    for modes), ``n_pixels`` (-1 for modes), ``log_density`` [log sr^-1]
    (NaN for regions), ``geometry`` (MultiPolygon or Point, lon/lat).

    Examples
    --------
    >>> import shdd_geo as sg
    >>> f = sg.SphericalField.from_shdd(sg.encode([48.9], [2.4], L=12)[0], nside=32)
    >>> gdf = to_geodataframe(f, levels=(0.5, 0.9), modes=1)
    >>> gdf[["kind", "level", "rank"]].values.tolist()
    [['credible_region', 0.9, -1], ['credible_region', 0.5, -1], ['mode', nan, 0]]
    """
    gpd = attempt_import("geopandas", "GeoDataFrame export")
    records = feature_records(field, levels, modes, min_separation_km=min_separation_km, step=step)
    defaults = {"level": np.nan, "rank": -1, "area_km2": np.nan, "n_pixels": -1, "log_density": np.nan}
    cols = {c: [p.get(c, defaults.get(c)) for p, _ in records] for c in _COLUMNS}
    dtypes = {"field": np.int64, "rank": np.int64, "n_pixels": np.int64, "level": np.float64,
              "mass": np.float64, "area_km2": np.float64, "log_density": np.float64}
    data = {c: (np.asarray(v, dtype=dtypes[c]) if c in dtypes else np.asarray(v, dtype=object))
            for c, v in cols.items()}
    return gpd.GeoDataFrame(data, geometry=[g for _, g in records], crs="EPSG:4326")


def _round(coords, precision: int):
    if isinstance(coords, (list, tuple)):
        return [_round(c, precision) for c in coords]
    return round(float(coords), precision)


def to_geojson(field, path=None, levels=(0.5, 0.9), *, modes: int = 3, min_separation_km: float = 500.0,
               step: int = 2, precision: int = 6) -> dict:
    """RFC 7946 FeatureCollection of the :func:`feature_records`, written atomically to ``path``.

    Properties are the records' columns without the null ones; coordinates
    are rounded to ``precision`` decimals (6 is about 0.1 m), which is also
    the precision grid of the region polygons.

    Examples
    --------
    >>> import shdd_geo as sg
    >>> f = sg.SphericalField.from_shdd(sg.encode([60.0], [179.0], L=10)[0], nside=16)
    >>> [ft["geometry"]["type"] for ft in to_geojson(f, levels=0.9, modes=1)["features"]]
    ['MultiPolygon', 'Point']
    """
    shapely = attempt_import("shapely", "GeoJSON export")
    precision = check_int(precision, "precision", low=0)
    records = feature_records(field, levels, modes, min_separation_km=min_separation_km, step=step,
                              grid_size=10.0**-precision)
    feats = []
    for props, geom in records:
        gj = shapely.geometry.mapping(geom)
        feats.append({"type": "Feature", "properties": {k: v for k, v in props.items() if v is not None},
                      "geometry": {"type": gj["type"], "coordinates": _round(gj["coordinates"], precision)}})
    out = {"type": "FeatureCollection", "features": feats}
    if path is not None:
        text = json.dumps(out, allow_nan=False)

        def write(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)

        atomic_write(path, write)
    return out


def _driver(path, driver):
    if driver is not None:
        if not isinstance(driver, str):
            raise TypeError(f"`driver` must be an OGR driver name (str) or None, got {type(driver).__name__}")
        if driver in _MULTI_FILE:
            raise ValueError(f"`driver` {driver!r} writes several files, which cannot be written atomically; "
                             "use 'GPKG' or 'FlatGeobuf'")
        return driver
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in _DRIVERS:
        raise ValueError(f"cannot infer the OGR driver from the extension {ext!r} of `path`; pass "
                         f"driver= (e.g. 'GPKG') or use one of {sorted(_DRIVERS)}")
    return _DRIVERS[ext]


def to_file(field, path, driver: str | None = None, *, levels=(0.5, 0.9), modes: int = 5,
            layer: str | None = None, **kwargs) -> str:
    """Write :func:`to_geodataframe` to any OGR format (GeoPackage, FlatGeobuf...) atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; written to a temporary file beside it and renamed.
    driver : str, optional
        OGR driver name; default from the extension (``.gpkg`` GeoPackage,
        ``.fgb`` FlatGeobuf, ``.geojson``, ``.kml``); single-file formats only.
    layer : str, optional
        Layer name (default: the file's stem).
    **kwargs
        Passed to :func:`to_geodataframe` (``min_separation_km``, ``step``).

    Examples
    --------
    >>> import os, tempfile, pyogrio, shdd_geo as sg
    >>> f = sg.SphericalField.from_shdd(sg.encode([35.0], [135.7], L=10)[0], nside=16)
    >>> p = to_file(f, os.path.join(tempfile.mkdtemp(), "kyoto.gpkg"), modes=2)
    >>> pyogrio.read_info(p)["crs"], pyogrio.read_info(p)["features"] >= 3
    ('EPSG:4326', True)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path).__name__}")
    pyogrio = attempt_import("pyogrio", "vector file export")
    drv = _driver(path, driver)
    gdf = to_geodataframe(field, levels, modes, **kwargs)
    name = layer or os.path.splitext(os.path.basename(os.fspath(path)))[0]

    def write(tmp: str) -> None:
        # OGR picks behaviour from the file name (FlatGeobuf makes a folder of a name without
        # ".fgb"), so write under the real name in a private folder beside it, then move it over.
        with temp_dir_beside(tmp) as folder:
            inner = os.path.join(folder, os.path.basename(os.fspath(path)))
            pyogrio.write_dataframe(gdf, inner, driver=drv, layer=name if drv != "GeoJSON" else None)
            os.replace(inner, tmp)

    return atomic_write(path, write)
