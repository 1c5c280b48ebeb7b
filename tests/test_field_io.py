"""Tests of shdd_geo.field_io: xarray, NetCDF and GeoJSON (RFC 7946)."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
shapely = pytest.importorskip("shapely")

from shdd_geo import codec
from shdd_geo.coords import EARTH_RADIUS_KM
from shdd_geo.field import SphericalField, open_field
from shdd_geo.field_io import to_geojson, to_netcdf, to_xarray


@pytest.fixture(scope="module")
def batch():
    e = codec.encode([48.86, -33.9, 89.5], [2.35, 151.2, 0.0], 15)
    return SphericalField.from_shdd(e, nside=16, labels=["paris", "sydney", "pole"])


def leftovers(d):
    return sorted(os.listdir(d))


# ------------------------------------------------------------------ xarray ----
def test_to_xarray_healpix(batch):
    da = batch.to_xarray()
    assert da.dims == ("query", "cell") and da.name == "density"
    assert da.attrs["grid_name"] == "healpix" and da.attrs["nside"] == 16
    assert da.attrs["indexing_scheme"] == "ring" and da.attrs["units"] == "sr-1"
    np.testing.assert_array_equal(da["lat"].values, batch.lat)
    assert da["lat"].attrs["units"] == "degrees_north" and da["lon"].attrs["standard_name"] == "longitude"
    assert list(da["query"].values) == ["paris", "sydney", "pole"]
    np.testing.assert_allclose(da.values, np.exp(batch.log_density))
    back = da.shdd.to_field()
    np.testing.assert_allclose(back.log_density, batch.log_density, rtol=1e-13)
    assert back.labels == batch.labels
    log = batch[0].reorder(True).to_xarray(log=True)
    assert log.dims == ("cell",) and log.attrs["indexing_scheme"] == "nested"
    f = log.shdd.to_field()
    assert f.nest and np.array_equal(f.log_density, batch[0].reorder(True).log_density)


def test_to_xarray_latlon_conserves_mass(batch):
    da = batch[1].to_xarray("latlon", resolution_deg=2.0)
    assert da.dims == ("lat", "lon") and da.shape == (90, 180)
    assert np.all(np.diff(da["lat"].values) > 0) and np.all(np.diff(da["lon"].values) > 0)
    assert da["lat"].values[0] == -89.0 and da["lon"].values[-1] == 179.0
    assert da.attrs["units"] == "sr-1" and da["lat"].attrs["axis"] == "Y"
    r = math.radians(2.0)
    lat = np.radians(da["lat"].values)
    cell = r * (np.sin(lat + r / 2) - np.sin(lat - r / 2))
    assert float((da.values * cell[:, None]).sum()) == pytest.approx(1.0, rel=1e-10)
    for res, method, tol in ((10.0, "conservative", 1e-10), (0.5, "bilinear", 5e-3), (10.0, "bilinear", 2e-2)):
        g = batch[1].to_xarray("latlon", resolution_deg=res, method=method)
        lat, r = np.radians(g["lat"].values), math.radians(res)
        cell = r * (np.sin(lat + r / 2) - np.sin(lat - r / 2))
        assert float((g.values * cell[:, None]).sum()) == pytest.approx(1.0, rel=tol)
    # brute-force twin of the conservative cell mean: sample each cell finely
    fine = batch[1].to_xarray("latlon", resolution_deg=30.0)
    la, lo = np.meshgrid(np.linspace(30.05, 59.95, 300), np.linspace(-179.95, -150.05, 300), indexing="ij")
    w = np.cos(np.radians(la))
    twin = np.sum(batch[1].density_at(la.ravel(), lo.ravel(), interpolation="nearest") * w.ravel()) / w.sum()
    assert float(fine.sel(lat=45.0, lon=-165.0)) == pytest.approx(twin, rel=0.02)
    field = da.shdd.to_field(nside=16)
    assert field.modes(k=1)["lat"][0] == pytest.approx(-33.9, abs=4)
    assert batch.to_xarray("latlon", resolution_deg=10.0).dims == ("query", "lat", "lon")


def test_to_xarray_errors(batch):
    with pytest.raises(ValueError, match="grid"):
        batch.to_xarray("mollweide")
    with pytest.raises(ValueError, match="resolution_deg"):
        batch.to_xarray("latlon", resolution_deg=0.7)
    with pytest.raises(ValueError, match="resolution_deg"):
        batch.to_xarray("latlon", resolution_deg=-1)
    with pytest.raises(ValueError, match="method"):
        batch.to_xarray("latlon", method="nearest")
    with pytest.raises(ValueError, match="cell"):
        xr.DataArray(np.zeros((2, 2)), dims=("a", "b")).shdd.to_field()


# ------------------------------------------------------------------ NetCDF ----
def test_netcdf_round_trip_is_exact(tmp_path, batch):
    v = batch.log_density.copy()
    v[0, :5] = -np.inf  # zero density survives
    f = SphericalField(v, nest=False, labels=["paris", "sydney", "pole"], attrs={"L": 15, "model": "x", "w": [1.5, 2]})
    path = tmp_path / "fields.nc"
    f.to_netcdf(path)
    assert leftovers(tmp_path) == ["fields.nc"]
    g = open_field(path)
    np.testing.assert_array_equal(g.log_density, f.log_density)
    assert g.labels == f.labels and g.nest == f.nest and g.nside == f.nside
    assert dict(g.attrs) == {"L": 15, "model": "x", "w": [1.5, 2.0]}
    with xr.open_dataset(path) as ds:
        assert ds.attrs["Conventions"].startswith("CF-1.")
        assert ds["log_density"].dims == ("query", "cell")
    single = batch[2].reorder(True)
    to_netcdf(single, str(tmp_path / "one.nc"))
    h = open_field(str(tmp_path / "one.nc"))
    assert not h.is_batch and h.nest and np.array_equal(h.log_density, single.log_density)
    with xr.open_dataset(path) as ds:  # the Dataset accessor reads the same field
        np.testing.assert_array_equal(ds.shdd.to_field().log_density, f.log_density)
    ints = SphericalField(batch.log_density, labels=[3, 1, 2])
    ints.to_netcdf(tmp_path / "ints.nc")
    assert open_field(tmp_path / "ints.nc").labels == (3, 1, 2)


def test_netcdf_bad_paths_leave_nothing(tmp_path, batch):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        batch.to_netcdf(tmp_path / "missing_dir" / "f.nc")
    with pytest.raises(IsADirectoryError, match="path"):
        batch.to_netcdf(tmp_path)
    with pytest.raises(TypeError, match="path"):
        batch.to_netcdf(3)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(FileNotFoundError):
        batch.to_netcdf(blocker / "f.nc")
    assert leftovers(tmp_path) == ["file"]


def test_netcdf_failure_mid_write_keeps_old_file(tmp_path, batch, monkeypatch):
    path = tmp_path / "f.nc"
    batch[0].to_netcdf(path)
    before = path.read_bytes()

    def broken(self, target, **kw):
        with open(target, "wb") as fh:
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(OSError, match="disk full"):
        batch.to_netcdf(path)
    assert leftovers(tmp_path) == ["f.nc"] and path.read_bytes() == before


def test_netcdf_unstorable_attrs(tmp_path):
    for attrs, err in (({"d": {"a": 1}}, TypeError), ({"flag": True}, TypeError), ({"units": "x"}, ValueError)):
        f = SphericalField(np.zeros(48), attrs=attrs)
        with pytest.raises(err):
            f.to_netcdf(tmp_path / "a.nc")
    assert leftovers(tmp_path) == []


def test_open_field_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_field(tmp_path / "nope.nc")
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"not a netcdf file at all")
    with pytest.raises(ValueError, match="NetCDF"):
        open_field(bad)
    other = tmp_path / "other.nc"
    xr.Dataset({"t": ("x", np.arange(3.0))}).to_netcdf(other)
    with pytest.raises(ValueError, match="shdd_geo field"):
        open_field(other)


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


def test_to_xarray_module_function_equals_method(batch):
    a = to_xarray(batch[0], "healpix")
    b = batch[0].to_xarray()
    xr.testing.assert_identical(a, b)
