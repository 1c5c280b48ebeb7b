"""Tests of shdd_geo.io.vector: region geometry, GeoDataFrames, GeoJSON and OGR files."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

gpd = pytest.importorskip("geopandas")
shapely = pytest.importorskip("shapely")
pyogrio = pytest.importorskip("pyogrio")

from shdd_geo import codec
from shdd_geo.fields import SphericalField
from shdd_geo.io.vector import feature_records, region_geometry, to_file, to_geodataframe, to_geojson


@pytest.fixture(scope="module")
def batch():
    e = codec.encode([48.86, -16.5, 89.5], [2.35, 179.9, 0.0], 12)
    f = SphericalField.from_shdd(e, nside=16)
    return SphericalField(f.log_density, labels=["paris", "fiji", "pole"], attrs={"model": "toy"})


def agreement(region, geom, n=20000, seed=0):
    """Share of uniform random points on which the polygon and the pixel mask agree."""
    rng = np.random.default_rng(seed)
    lat, lon = np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(-180, 180, n)
    return np.mean(shapely.contains_xy(geom, lon, lat) == region.contains(lat, lon))


@pytest.mark.parametrize("p", [(48.86, 2.35), (-16.5, 179.9), (88.0, 40.0), (-89.0, -100.0)])
def test_region_geometry_matches_the_mask(p):
    f = SphericalField.from_shdd(codec.encode([p[0]], [p[1]], 10)[0], nside=16)
    r = f.credible_region(0.9)
    g = r.geometry
    assert g.geom_type == "MultiPolygon" and g.is_valid
    minx, miny, maxx, maxy = g.bounds
    assert -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90
    assert agreement(r, g) > 0.995  # pixel edges are curves: tiny differences at the border
    if abs(p[0]) > 85:  # a polar region is closed along the pole line
        assert shapely.contains_xy(g, 0.0, math.copysign(89.999, p[0]))
    if abs(p[1]) > 179:  # split at the antimeridian
        assert minx == -180.0 and maxx == 180.0
    back = shapely.geometry.shape(r.__geo_interface__)
    assert back.equals(g)


def test_batch_region_geometry_and_geo_interface(batch):
    r = batch.credible_region(0.5)
    g = r.geometry
    assert g.shape == (3,) and all(x.geom_type == "MultiPolygon" for x in g)
    for i in range(3):
        assert g[i].equals(batch[i].credible_region(0.5).geometry)
    fc = r.__geo_interface__
    assert fc["type"] == "FeatureCollection" and [ft["properties"]["field"] for ft in fc["features"]] == [0, 1, 2]
    s = gpd.GeoSeries(list(g), crs="EPSG:4326")  # geopandas takes the geometries as they are
    assert s.is_valid.all()


def test_empty_mask_gives_empty_multipolygon():
    from shdd_geo.fields import CredibleRegion

    r = CredibleRegion(level=0.5, mask=np.zeros(48, bool), mass=0.0, area_km2=0.0, log_threshold=0.0,
                       nside=2, nest=False)
    assert r.geometry.is_empty and r.geometry.geom_type == "MultiPolygon"


def test_geodataframe_rows_columns_and_crs(batch):
    gdf = batch.to_geodataframe(levels=(0.5, 0.9), modes=2)
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf.columns) == ["kind", "field", "query", "model", "level", "rank", "mass", "area_km2",
                                 "n_pixels", "log_density", "geometry"]
    assert set(gdf["query"]) == {"paris", "fiji", "pole"} and set(gdf["model"]) == {"toy"}
    for i in range(3):
        rows = gdf[gdf["field"] == i]
        regions = rows[rows["kind"] == "credible_region"]
        assert list(regions["level"]) == [0.9, 0.5]
        for _, row in regions.iterrows():
            r = batch[i].credible_region(row["level"])
            assert row["mass"] == pytest.approx(r.mass) and row["area_km2"] == pytest.approx(r.area_km2)
            assert row["geometry"].equals(r.geometry)
        modes = rows[rows["kind"] == "mode"]
        table = batch[i].modes(k=2)
        assert list(modes["rank"]) == list(table["rank"])
        np.testing.assert_allclose(modes.geometry.x, table["lon"], atol=1e-12)
        np.testing.assert_allclose(modes.geometry.y, table["lat"], atol=1e-12)
        np.testing.assert_allclose(modes["mass"], table["mass"], rtol=1e-12)


def test_single_field_takes_query_and_model_from_attrs():
    f = SphericalField(SphericalField.from_shdd(codec.encode([35.0], [135.7], 10)[0], nside=16).log_density,
                       attrs={"text": "Kyoto", "model": "geonames-minilm"})
    gdf = to_geodataframe(f, levels=0.9, modes=1)
    assert list(gdf["query"]) == ["Kyoto", "Kyoto"] and list(gdf["model"]) == ["geonames-minilm"] * 2
    anon = to_geodataframe(SphericalField.from_shdd(codec.encode([0.0], [0.0], 8)[0], nside=8), modes=0)
    assert anon["query"].isna().all() and anon["model"].isna().all()


def test_geojson_and_geodataframe_come_from_one_builder(batch):
    gj = to_geojson(batch, levels=(0.5, 0.9), modes=2)
    gdf = to_geodataframe(batch, levels=(0.5, 0.9), modes=2)
    assert len(gj["features"]) == len(gdf) == len(feature_records(batch, (0.5, 0.9), 2))
    for ft, (_, row) in zip(gj["features"], gdf.iterrows()):
        assert ft["properties"]["kind"] == row["kind"] and ft["properties"]["query"] == row["query"]
        assert ft["properties"]["mass"] == pytest.approx(row["mass"])
        # GeoJSON coordinates are rounded to 6 decimals (0.1 m): same shape within that
        assert shapely.geometry.shape(ft["geometry"]).equals_exact(row["geometry"], 1e-6)


@pytest.mark.parametrize("name, driver", [("r.gpkg", "GPKG"), ("r.fgb", "FlatGeobuf"), ("r.geojson", "GeoJSON")])
def test_to_file_round_trip(tmp_path, batch, name, driver):
    path = tmp_path / name
    assert batch.to_file(path, modes=2) == str(path)
    assert sorted(os.listdir(tmp_path)) == [name]  # nothing left beside it
    info = pyogrio.read_info(path)
    assert info["driver"] == driver and info["crs"] == "EPSG:4326"
    key = ["field", "kind", "level", "rank"]  # FlatGeobuf stores features in its spatial index's order
    back = gpd.read_file(path).sort_values(key, ignore_index=True)
    ref = to_geodataframe(batch, modes=2).sort_values(key, ignore_index=True)
    assert len(back) == len(ref)
    assert list(back["kind"]) == list(ref["kind"]) and list(back["query"]) == list(ref["query"])
    np.testing.assert_allclose(back["mass"], ref["mass"], rtol=1e-12)
    for a, b in zip(back.geometry, ref.geometry):
        assert a.equals_exact(b, 1e-9)


def test_to_file_errors_leave_nothing(tmp_path, batch):
    with pytest.raises(ValueError, match="driver"):
        to_file(batch, tmp_path / "r.xyz")
    with pytest.raises(ValueError, match="atomically"):
        to_file(batch, tmp_path / "r.shp", driver="ESRI Shapefile")
    with pytest.raises(TypeError, match="driver"):
        to_file(batch, tmp_path / "r.gpkg", driver=3)
    with pytest.raises(FileNotFoundError):
        to_file(batch, tmp_path / "missing" / "r.gpkg")
    with pytest.raises(ValueError, match="modes"):
        to_geodataframe(batch, modes=-1)
    with pytest.raises(ValueError, match="step"):
        region_geometry(batch.credible_region(0.5), step=0)
    assert os.listdir(tmp_path) == []
