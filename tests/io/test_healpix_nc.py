"""Tests of shdd_geo.io.healpix_nc: CF-1.10 HEALPix NetCDF, xdggs and healpy FITS interop."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

from shdd_geo import codec
from shdd_geo.fields import SphericalField, open_field
from shdd_geo.io.healpix_nc import XDGGS_KEYS, open_xdggs, to_fits


@pytest.fixture(scope="module")
def batch():
    e = codec.encode([35.0, -33.9, 89.0], [135.7, 151.2, 0.0], 12)
    f = SphericalField.from_shdd(e, nside=32)
    return SphericalField(f.log_density, labels=["Kyoto", "Sydney", "pole"], attrs={"model": "toy"})


def test_cf_attributes_and_compression(batch, tmp_path):
    path = tmp_path / "f.nc"
    batch.to_netcdf(path)
    with xr.open_dataset(path) as ds:
        assert ds.attrs["Conventions"] == "CF-1.10" and "shdd_geo" in ds.attrs["history"]
        cell = ds["cell_ids"]
        assert cell.attrs["long_name"].startswith("HEALPix cell index") and cell.attrs["level"] == 5
        assert ds["log_density"].dims == ("query", "cell") and list(ds["query"].values) == ["Kyoto", "Sydney", "pole"]
        enc = ds["log_density"].encoding
        assert enc["zlib"] and enc["shuffle"] and enc["dtype"] == np.float64
    plain = tmp_path / "plain.nc"
    batch.to_netcdf(plain, compress=False)
    small = tmp_path / "small.nc"
    batch.to_netcdf(small, dtype="float32")
    assert os.path.getsize(path) < 0.8 * os.path.getsize(plain)
    assert os.path.getsize(small) < 0.7 * os.path.getsize(path)
    np.testing.assert_array_equal(open_field(path).log_density, batch.log_density)  # float64: exact
    np.testing.assert_allclose(open_field(small).log_density, batch.log_density, rtol=1e-6)
    with pytest.raises(ValueError, match="dtype"):
        batch.to_netcdf(tmp_path / "x.nc", dtype="int8")
    with pytest.raises(TypeError, match="compress"):
        batch.to_netcdf(tmp_path / "x.nc", compress="yes")
    assert "x.nc" not in os.listdir(tmp_path)


def test_old_condition_files_still_open(batch, tmp_path):
    ds = batch.to_xarray(log=True).rename(query="condition").to_dataset()
    ds.attrs = {"grid_name": "healpix"}
    ds.to_netcdf(tmp_path / "old.nc")
    f = open_field(tmp_path / "old.nc")
    assert f.labels == batch.labels and np.array_equal(f.log_density, batch.log_density)


@pytest.mark.skipif(importlib.util.find_spec("xdggs") is None, reason="xdggs not installed")
@pytest.mark.parametrize("nest", [False, True])
def test_xdggs_reads_the_file_and_the_dataarray(batch, tmp_path, nest):
    import xdggs

    f = batch.reorder(nest)
    path = tmp_path / "f.nc"
    f.to_netcdf(path)
    ds = open_xdggs(path)
    info = ds.dggs.grid_info
    assert info.level == 5 and info.nside == 32 and info.indexing_scheme == ("nested" if nest else "ring")
    lon, lat = info.cell_ids2geographic(ds["cell_ids"].values)  # xdggs' cell centres = ours
    np.testing.assert_allclose(lat, f.lat, atol=1e-9)
    np.testing.assert_allclose(np.mod(lon - f.lon + 180, 360) - 180, 0, atol=1e-9)
    da = xdggs.decode(f.to_xarray())  # in memory: the plain decode works
    assert set(da["cell_ids"].attrs) >= set(XDGGS_KEYS) or da.dggs.grid_info.level == 5


@pytest.mark.skipif(importlib.util.find_spec("compliance_checker") is None, reason="compliance-checker not installed")
@pytest.mark.parametrize("which", ["healpix", "latlon"])
def test_compliance_checker_cf_1_10_reports_no_errors(batch, tmp_path, which):
    from compliance_checker.runner import CheckSuite, ComplianceChecker

    path = tmp_path / f"{which}.nc"
    if which == "healpix":
        batch[0].to_netcdf(path)
    else:
        batch[0].to_xarray("latlon", resolution_deg=5.0, descending_lat=True).to_netcdf(path)
    CheckSuite.load_all_available_checkers()
    out = tmp_path / "report.json"
    ok, errors = ComplianceChecker.run_checker(str(path), ["cf:1.10"], verbose=0, criteria="strict",
                                               output_filename=str(out), output_format="json")
    import json

    report = json.loads(out.read_text())["cf:1.10"]
    failed = [(c["name"], c["msgs"]) for c in report["high_priorities"] if c["value"][0] < c["value"][1]]
    assert failed == []  # the "Errors" section of the checker's text report is empty
    assert not errors


def test_fits_map(batch, tmp_path):
    hp = pytest.importorskip("healpy")
    pytest.importorskip("astropy")
    p = to_fits(batch[0].reorder(True), tmp_path / "k.fits")
    m = hp.read_map(p, nest=True)
    np.testing.assert_allclose(m, batch[0].reorder(True).normalize().density, rtol=1e-12)
    ms = hp.read_map(batch.to_fits(tmp_path / "b.fits", unit="km-2"), field=None)
    assert ms.shape == (3, batch.npix)
    header = dict(hp.read_map(tmp_path / "b.fits", h=True)[1])
    assert header["ORDERING"] == "RING" and header["TTYPE2"] == "Sydney" and header["MODEL"] == "toy"
    with pytest.raises(ValueError, match="unit"):
        to_fits(batch, tmp_path / "x.fits", unit="m")
    assert sorted(os.listdir(tmp_path)) == ["b.fits", "k.fits"]
