"""Tests of shdd_geo.calibration with calibrated and miscalibrated synthetic models."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shdd_geo import codec
from shdd_geo.calibration import (
    DEFAULT_LEVELS,
    calibration_report,
    coverage,
    hpd_levels,
    mean_area_km2,
)
from shdd_geo.coords import EARTH_RADIUS_KM
from shdd_geo.fields import SphericalField


@pytest.fixture(scope="module")
def model():
    """2,000 'conditions': each prediction is a random SHDD density, the truth is drawn from it."""
    rng = np.random.default_rng(42)
    n = 2000
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    scale = rng.uniform(0.3, 1.0, n)[:, None]  # different concentrations per condition
    fields = SphericalField.from_shdd(scale * codec.encode(lat, lon, 8), nside=16)
    t_lat, t_lon = fields.sample(1, rng=rng)
    return fields, t_lat[:, 0], t_lon[:, 0]


def test_calibrated_model_has_nominal_coverage(model):
    fields, lat, lon = model
    cov = coverage(fields, lat, lon)
    assert list(cov) == list(DEFAULT_LEVELS)
    for level, frac in cov.items():
        assert abs(frac - level) <= 0.03, (level, frac)


def test_calibrated_single_field_many_truths():
    f = SphericalField.from_shdd(0.7 * codec.encode([20.0], [-60.0], 6)[0], nside=32)
    lat, lon = f.sample(2000, rng=7)
    rep = calibration_report(f, lat, lon, rng=8)
    for level, frac in rep["coverage"].items():
        assert abs(frac - level) <= 0.03
    assert abs(rep["pit_mean"] - 0.5) < 0.03
    assert rep["pit_ks"] < 0.04  # ~ 1.36 / sqrt(2000) = 0.030 at the 5 % level
    assert rep["n"] == 2000 and rep["pit"].shape == (2000,)


def test_overconfident_model_under_covers(model):
    fields, lat, lon = model
    sharp = SphericalField(3.0 * fields.log_density)  # q**3: too peaked for the truths
    cov = coverage(sharp, lat, lon)
    assert cov[0.9] < 0.8 and cov[0.5] < 0.4
    broad = SphericalField(0.3 * fields.log_density)  # too flat: over-covers
    assert coverage(broad, lat, lon)[0.5] > 0.6
    assert np.mean(hpd_levels(sharp, lat, lon, rng=0)) > 0.6


def test_coverage_brute_force_twin(model):
    fields, lat, lon = model
    sub, la, lo = fields[:200], lat[:200], lon[:200]
    for level in (0.3, 0.9):
        twin = np.mean([sub[i].credible_region(level).contains(la[i], lo[i])[0] for i in range(200)])
        assert coverage(sub, la, lo, levels=(level,))[level] == pytest.approx(twin)
    single = sub[0]
    pts = single.sample(300, rng=1)
    twin = single.credible_region(0.8).contains(*pts).mean()
    assert coverage(single, *pts, levels=0.8)[0.8] == pytest.approx(twin)


def test_hpd_levels_brute_force(model):
    fields, lat, lon = model
    f = fields[3]
    p = np.exp(f.log_density) * f.pixel_area
    own = f.log_density_at(lat[:50], lon[:50], interpolation="nearest")
    denser = np.array([p[f.log_density > v].sum() for v in own])
    u = hpd_levels(f, lat[:50], lon[:50], rng=0)
    assert np.all(u >= denser - 1e-12)
    assert np.all(u <= denser + p.max() + 1e-12)
    # ties (a flat field) are spread over [0, 1], not piled up at 0
    flat = SphericalField.uniform(8)
    u = hpd_levels(flat, *flat.sample(2000, rng=1), rng=2)
    assert abs(u.mean() - 0.5) < 0.03 and u.max() > 0.95


def test_mean_area(model):
    fields, _, _ = model
    a = mean_area_km2(fields[:20], levels=(0.5, 0.9))
    assert a[0.5] < a[0.9]
    twin = np.mean([fields[i].credible_region(0.9).area_km2 for i in range(20)])
    assert a[0.9] == pytest.approx(twin)
    u = mean_area_km2(SphericalField.uniform(8), levels=0.25)
    assert u[0.25] == pytest.approx(0.25 * 4 * math.pi * EARTH_RADIUS_KM**2, rel=0.01)


def test_errors(model):
    fields, lat, lon = model
    with pytest.raises(ValueError, match="points"):
        coverage(fields, lat[:10], lon[:10])
    with pytest.raises(ValueError, match="level"):
        coverage(fields[0], lat, lon, levels=(0.5, 1.0))
    with pytest.raises(ValueError, match="levels"):
        coverage(fields[0], lat, lon, levels=())
    with pytest.raises(TypeError, match="fields"):
        coverage(np.zeros(48), lat, lon)
    with pytest.raises(ValueError, match="lat"):
        hpd_levels(fields[0], [95.0], [0.0])
