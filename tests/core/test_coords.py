"""Coordinate conversions and validation."""

import numpy as np
import pytest

from shdd_geo.coords import (
    as_latlon,
    latlon_to_thetaphi,
    latlon_to_xyz,
    thetaphi_to_latlon,
    wrap_lon,
    xyz_to_latlon,
)


def test_wrap_lon():
    lon = np.array([-540.0, -180.0, -0.0, 179.999, 180.0, 360.0, 725.0])
    np.testing.assert_allclose(wrap_lon(lon), [-180.0, -180.0, 0.0, 179.999, -180.0, 0.0, 5.0], atol=1e-12)
    assert np.all(wrap_lon(np.array([-1e-17, 1e-17])) < 180.0)


def test_round_trips():
    rng = np.random.default_rng(0)
    lat = np.r_[90.0, -90.0, rng.uniform(-90, 90, 100)]
    lon = np.r_[0.0, 0.0, rng.uniform(-180, 180, 100)]
    la, lo = xyz_to_latlon(latlon_to_xyz(lat, lon))
    np.testing.assert_allclose(la, lat, atol=1e-12)
    np.testing.assert_allclose(lo[2:], lon[2:], atol=1e-10)
    la, lo = thetaphi_to_latlon(*latlon_to_thetaphi(lat, lon))
    np.testing.assert_allclose(la, lat, atol=1e-12)
    np.testing.assert_allclose(lo, wrap_lon(lon), atol=1e-12)


def test_xyz_axes():
    np.testing.assert_allclose(latlon_to_xyz(0.0, 0.0), [1, 0, 0], atol=1e-15)
    np.testing.assert_allclose(latlon_to_xyz(0.0, 90.0), [0, 1, 0], atol=1e-15)
    np.testing.assert_allclose(latlon_to_xyz(90.0, 0.0), [0, 0, 1], atol=1e-15)


def test_torch_conversions():
    torch = pytest.importorskip("torch")
    lat = torch.tensor([10.0, -45.0], dtype=torch.float64)
    lon = torch.tensor([190.0, 20.0], dtype=torch.float64)
    xyz = latlon_to_xyz(lat, lon)
    np.testing.assert_allclose(xyz.numpy(), latlon_to_xyz(lat.numpy(), lon.numpy()), atol=1e-14)
    la, lo = xyz_to_latlon(xyz)
    np.testing.assert_allclose(lo.numpy(), [-170.0, 20.0], atol=1e-12)


def test_as_latlon_validation():
    lat, lon = as_latlon(5.0, 370.0)
    assert lat.shape == (1,) and lon[0] == pytest.approx(10.0)
    with pytest.raises(ValueError, match="`lat` must be within"):
        as_latlon([-90.5], [0.0])
    with pytest.raises(ValueError, match="`lon` must be finite"):
        as_latlon([0.0], [np.nan])
    with pytest.raises(ValueError, match="must be 1-D"):
        as_latlon(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="`true_lat`"):
        as_latlon([100.0], [0.0], names=("true_lat", "true_lon"))
    with pytest.raises(ValueError, match="xyz"):
        xyz_to_latlon(np.zeros((1, 3)))
