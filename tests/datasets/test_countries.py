"""Tests of shdd_geo.datasets.countries: the bundled Natural Earth admin-0 layer."""

from __future__ import annotations

import numpy as np
import pytest

gpd = pytest.importorskip("geopandas")

import shdd_geo as sg
from shdd_geo.coords import EARTH_RADIUS_KM


def test_countries_layer():
    w = sg.datasets.countries()
    assert len(w) == 177 and w.crs.to_epsg() == 4326
    assert list(w.columns) == ["name", "iso_a3", "continent", "pop_est", "geometry"]
    assert w.is_valid.all() and set(w.geom_type) <= {"Polygon", "MultiPolygon"}
    assert w["name"].is_unique and w["name"].is_monotonic_increasing
    codes = w["iso_a3"].dropna()
    assert codes.is_unique and (codes.str.fullmatch("[A-Z]{3}")).all() and len(codes) == 175
    assert w.loc[w["name"] == "France", "iso_a3"].item() == "FRA"
    minx, miny, maxx, maxy = w.total_bounds
    assert (minx, miny, maxx) == (-180.0, -90.0, 180.0)


def test_countries_is_a_fresh_copy():
    a = sg.datasets.countries()
    a.loc[0, "name"] = "changed"
    assert sg.datasets.countries().loc[0, "name"] != "changed"


def test_land_area_is_earths():
    """Land in the layer (incl. Antarctica) is ~29 % of Earth's surface (1.49e8 km^2)."""
    pyproj = pytest.importorskip("pyproj")
    geod = pyproj.Geod(a=EARTH_RADIUS_KM * 1000, b=EARTH_RADIUS_KM * 1000)
    area = sum(abs(geod.geometry_area_perimeter(g)[0]) for g in sg.datasets.countries().geometry) / 1e6
    assert area == pytest.approx(1.49e8, rel=0.03)
    assert np.isfinite(area)
