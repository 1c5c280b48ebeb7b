"""Tests of shdd_geo.io.geojson: credible regions and modes as GeoJSON (RFC 7946)."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

shapely = pytest.importorskip("shapely")

from shdd_geo import codec
from shdd_geo.coords import EARTH_RADIUS_KM
from shdd_geo.fields import SphericalField
from shdd_geo.io.geojson import to_geojson


def leftovers(d):
    return sorted(os.listdir(d))


# ----------------------------------------------------------------- GeoJSON ----
def ring_is_ccw(ring) -> bool:
    x, y = np.asarray(ring).T
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1])) > 0


def check_rfc7946(gj: dict) -> list:
    """RFC 7946 checks; returns the shapely geometries of the region features."""
    assert gj["type"] == "FeatureCollection"
    geoms = []
    for feat in gj["features"]:
        assert feat["type"] == "Feature" and isinstance(feat["properties"], dict)
        geom = feat["geometry"]
        if geom["type"] == "Point":
            lon, lat = geom["coordinates"]
            assert -180 <= lon <= 180 and -90 <= lat <= 90
            continue
        assert geom["type"] in ("Polygon", "MultiPolygon")
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        for poly in polys:
            for i, ring in enumerate(poly):
                r = np.asarray(ring)
                assert r.shape[0] >= 4 and np.array_equal(r[0], r[-1])  # closed linear ring
                assert np.all(np.abs(r[:, 0]) <= 180) and np.all(np.abs(r[:, 1]) <= 90)
                on_pole_line = (np.abs(r[:-1, 1]) == 90) & (r[:-1, 1] == r[1:, 1])
                # never jumps across the antimeridian (edges along a pole line are points on the sphere)
                assert np.all((np.abs(np.diff(r[:, 0])) < 180) | on_pole_line)
                assert ring_is_ccw(ring) == (i == 0)  # right-hand rule: exterior CCW, holes CW
        shp = shapely.geometry.shape(geom)
        assert shp.is_valid, shapely.validation.explain_validity(shp)
        geoms.append((feat["properties"], shp))
    return geoms


def agreement(region, geom, rng, n=20000):
    z = rng.uniform(-1, 1, n)
    lat, lon = np.degrees(np.arcsin(z)), rng.uniform(-180, 180, n)
    return np.mean(shapely.contains_xy(geom, lon, lat) == region.contains(lat, lon))


@pytest.mark.parametrize(
    "p, L, nside",
    [((48.86, 2.35), 15, 32), ((-16.5, 179.9), 10, 32), ((88.0, 40.0), 6, 16), ((-89.0, -100.0), 4, 16)],
)
@pytest.mark.parametrize("nest", [False, True])
def test_geojson_regions_are_valid_and_match_the_mask(p, L, nside, nest):
    f = SphericalField.from_shdd(codec.encode([p[0]], [p[1]], L)[0], nside=nside, nest=nest)
    gj = f.to_geojson(levels=(0.5, 0.9), modes=2)
    regions = check_rfc7946(gj)
    assert [props["level"] for props, _ in regions] == [0.9, 0.5]
    rng = np.random.default_rng(0)
    for props, geom in regions:
        r = f.credible_region(props["level"])
        assert props["mass"] == pytest.approx(r.mass) and props["area_km2"] == pytest.approx(r.area_km2)
        assert agreement(r, geom, rng) > 0.995  # pixel edges are curves: tiny differences at the border
        if abs(p[0]) > 85:  # a region around a pole reaches the pole line and contains the pole
            assert shapely.contains_xy(geom, 0.0, math.copysign(89.999, p[0]))
    points = [ft for ft in gj["features"] if ft["geometry"]["type"] == "Point"]
    assert len(points) >= 1 and points[0]["properties"]["kind"] == "mode"
    _, lat = points[0]["geometry"]["coordinates"]  # RFC 7946: (lon, lat)
    assert lat == pytest.approx(p[0], abs=5) and points[0]["properties"]["mass"] > 0


def test_geojson_antimeridian_is_split():
    f = SphericalField.from_shdd(codec.encode([10.0], [180.0], 12)[0], nside=32)
    ((_, geom),) = check_rfc7946(f.to_geojson(levels=0.9, modes=0))
    xmin, _, xmax, _ = geom.bounds
    assert xmin == -180.0 and xmax == 180.0
    assert geom.geom_type == "MultiPolygon"
    west = [g for g in geom.geoms if g.bounds[2] <= -170]
    east = [g for g in geom.geoms if g.bounds[0] >= 170]
    assert west and east


def test_geojson_spherical_area(tmp_path):
    pyproj = pytest.importorskip("pyproj")
    f = SphericalField.from_shdd(codec.encode([30.0], [60.0], 8)[0], nside=32)
    (props, geom), = check_rfc7946(f.to_geojson(levels=0.9, modes=0))
    geod = pyproj.Geod(a=EARTH_RADIUS_KM * 1000, b=EARTH_RADIUS_KM * 1000)
    area = abs(geod.geometry_area_perimeter(geom)[0]) / 1e6
    assert area == pytest.approx(props["area_km2"], rel=0.01)


def test_geojson_file_and_batch(tmp_path, batch):
    path = tmp_path / "regions.geojson"
    gj = to_geojson(batch, path, levels=(0.9,), modes=1)
    assert leftovers(tmp_path) == ["regions.geojson"]
    assert json.loads(path.read_text()) == gj
    check_rfc7946(gj)
    conds = {ft["properties"]["query"] for ft in gj["features"]}
    assert conds == {"paris", "sydney", "pole"}
    assert {ft["properties"]["field"] for ft in gj["features"]} == {0, 1, 2}


def test_geojson_errors_leave_nothing(tmp_path, batch):
    with pytest.raises(ValueError, match="level"):
        batch[0].to_geojson(tmp_path / "a.geojson", levels=(0.5, 1.0))
    with pytest.raises(FileNotFoundError):
        batch[0].to_geojson(tmp_path / "no" / "a.geojson")
    with pytest.raises(ValueError, match="step"):
        batch[0].to_geojson(levels=0.5, step=0)
    assert leftovers(tmp_path) == []


def test_whole_sphere_region():
    gj = SphericalField.uniform(2).to_geojson(levels=0.999, modes=0)
    ((_, geom),) = check_rfc7946(gj)
    assert geom.area == pytest.approx(360 * 180)
