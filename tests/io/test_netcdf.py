"""Tests of shdd_geo.io.netcdf: fields to and from xarray and NetCDF."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

from shdd_geo import codec
from shdd_geo.fields import SphericalField, open_field
from shdd_geo.io.netcdf import to_netcdf, to_xarray


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


def test_to_xarray_module_function_equals_method(batch):
    a = to_xarray(batch[0], "healpix")
    b = batch[0].to_xarray()
    xr.testing.assert_identical(a, b)
