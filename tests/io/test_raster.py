"""Tests of shdd_geo.io.raster: CF lat/lon grids with a grid mapping, and Cloud-Optimised GeoTIFFs."""

from __future__ import annotations

import os

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
rasterio = pytest.importorskip("rasterio")
pytest.importorskip("rioxarray")

from shdd_geo import codec
from shdd_geo.coords import EARTH_RADIUS_KM
from shdd_geo.fields import SphericalField
from shdd_geo.io.raster import cell_area_sr, to_raster


@pytest.fixture(scope="module")
def batch():
    e = codec.encode([35.0, -33.9, 89.0], [135.7, 151.2, 0.0], 12)
    f = SphericalField.from_shdd(e, nside=32)
    return SphericalField(f.log_density, labels=["Kyoto", "Sydney", "pole"], attrs={"model": "toy"})


def test_latlon_grid_mapping_and_attrs(batch, tmp_path):
    f = SphericalField(batch[0].log_density, attrs={"text": "Kyoto", "model": "toy"})
    da = f.to_xarray("latlon", resolution_deg=2.0)
    assert da.attrs["text"] == "Kyoto" and da.attrs["model"] == "toy"  # attrs survive the regridding
    assert da.attrs["grid_mapping"] == "crs" and da["crs"].attrs["grid_mapping_name"] == "latitude_longitude"
    assert np.all(np.diff(da["lat"].values) > 0)
    north = f.to_xarray("latlon", resolution_deg=2.0, descending_lat=True)
    assert np.all(np.diff(north["lat"].values) < 0)
    np.testing.assert_array_equal(north.values, da.values[::-1])
    path = tmp_path / "ll.nc"
    north.to_netcdf(path)
    with rasterio.open(f"netcdf:{path}:density") as src:  # GDAL finds the CRS and a north-up transform
        assert src.crs.to_epsg() == 4326
        assert (src.transform.a, src.transform.e, src.transform.c, src.transform.f) == (2.0, -2.0, -180.0, 90.0)
    back = north.shdd.to_field(nside=32)  # a north-up grid converts back the same
    np.testing.assert_allclose(back.log_density, da.shdd.to_field(nside=32).log_density, rtol=1e-12)


def test_geotiff_transform_crs_units_and_mass(batch, tmp_path):
    """Total mass = sum(density * cell area on the sphere) = 1 to 1e-6 (float32 storage;
    the conservative regridding itself conserves mass to 1e-10)."""
    path = tmp_path / "maps.tif"
    assert batch.to_raster(path, resolution_deg=1.0) == str(path)
    assert sorted(os.listdir(tmp_path)) == ["maps.tif"]
    with rasterio.open(path) as src:
        assert src.driver == "GTiff" and src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.crs.to_epsg() == 4326 and src.count == 3 and src.shape == (180, 360)
        t = src.transform
        assert (t.a, t.b, t.c, t.d, t.e, t.f) == (1.0, 0.0, -180.0, 0.0, -1.0, 90.0)  # north-up
        assert src.units == ("sr-1",) * 3 and src.descriptions == ("Kyoto", "Sydney", "pole")
        assert np.isnan(src.nodata) and src.tags()["model"] == "toy"
        a = src.read()
        lat = np.array([src.xy(r, 0)[1] for r in range(src.height)])
    assert lat[0] == 89.5 and lat[-1] == -89.5
    mass = (a.astype(np.float64) * cell_area_sr(lat, 1.0)[None, :, None]).sum(axis=(1, 2))
    np.testing.assert_allclose(mass, 1.0, atol=1e-6)
    row, col = np.unravel_index(a[0].argmax(), a[0].shape)  # the Kyoto peak where it belongs
    x, y = rasterio.transform.xy(t, row, col)
    assert abs(y - 35.0) < 3 and abs(x - 135.7) < 3


def test_geotiff_km2_unit(batch, tmp_path):
    p = to_raster(batch[1], tmp_path / "s.tif", resolution_deg=2.0, unit="km-2")
    with rasterio.open(p) as src:
        assert src.units == ("km-2",) and src.count == 1
        a = src.read(1).astype(np.float64)
        lat = np.array([src.xy(r, 0)[1] for r in range(src.height)])
    mass = (a * cell_area_sr(lat, 2.0)[:, None]).sum() * EARTH_RADIUS_KM**2
    assert mass == pytest.approx(1.0, abs=1e-6)


def test_geotiff_errors_leave_nothing(batch, tmp_path):
    with pytest.raises(ValueError, match="crs"):
        batch.to_raster(tmp_path / "a.tif", crs="EPSG:3857")
    with pytest.raises(ValueError, match="unit"):
        batch.to_raster(tmp_path / "a.tif", unit="m-2")
    with pytest.raises(ValueError, match="resolution_deg"):
        batch.to_raster(tmp_path / "a.tif", resolution_deg=0.7)
    with pytest.raises(FileNotFoundError):
        batch.to_raster(tmp_path / "no" / "a.tif", resolution_deg=10.0)
    with pytest.raises(TypeError, match="path"):
        batch.to_raster(3)
    assert os.listdir(tmp_path) == []
