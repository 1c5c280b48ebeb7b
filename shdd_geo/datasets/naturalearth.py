"""Bundled Natural Earth 1:110m admin-0 country polygons (public domain).

177 countries and territories in EPSG:4326, cut at the antimeridian
(Fiji, Russia) and closed along lat -90 (Antarctica), derived by
``docs/dev/make_countries.py`` from the Natural Earth layer that pyogrio ships
as a test fixture; the file is ``shdd_geo/data/naturalearth/
ne_110m_admin_0_countries.geojson`` (284 KiB).  Made with Natural Earth:
free vector and raster map data at naturalearthdata.com.

Examples
--------
>>> world = countries()
>>> len(world), world.crs.to_string(), list(world.columns)
(177, 'EPSG:4326', ['name', 'iso_a3', 'continent', 'pop_est', 'geometry'])
"""

from __future__ import annotations

import functools
from pathlib import Path

from .._optional import attempt_import

__all__ = ["countries"]

_PATH = Path(__file__).resolve().parents[1] / "data" / "naturalearth" / "ne_110m_admin_0_countries.geojson"


@functools.lru_cache(maxsize=1)
def _read():
    gpd = attempt_import("geopandas", "the bundled country polygons")
    return gpd.read_file(_PATH, engine="pyogrio")


def countries():
    """Natural Earth 1:110m admin-0 countries: a GeoDataFrame in EPSG:4326 (a fresh copy).

    Columns: ``name``, ``iso_a3`` (ISO 3166-1 alpha-3; null for N. Cyprus
    and Somaliland, ``XKX`` for Kosovo), ``continent``, ``pop_est`` and the
    (Multi)Polygon ``geometry`` in (lon, lat) [deg], sorted by name.  Use it
    with :meth:`shdd_geo.SphericalField.mass_in` for the probability per country.

    Examples
    --------
    >>> world = countries()
    >>> world.loc[world["iso_a3"] == "JPN", ["name", "continent"]].values.tolist()
    [['Japan', 'Asia']]
    """
    return _read().copy()
