"""Great-circle metrics, centres, medians; Hypothesis properties of the distance."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shdd_geo import metrics
from shdd_geo.coords import EARTH_RADIUS_KM, latlon_to_xyz, xyz_to_latlon
from shdd_geo.metrics import (
    accuracy_within,
    central_angle,
    geographic_centre,
    geometric_median,
    geoscore,
    great_circle_km,
    median_error_km,
    summarize,
)

lats = st.floats(-90, 90, allow_nan=False)
lons = st.floats(-180, 180, allow_nan=False, exclude_max=True)


def test_known_distances():
    assert great_circle_km(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_KM, rel=1e-12)
    assert great_circle_km(90, 0, -90, 0) == pytest.approx(math.pi * EARTH_RADIUS_KM, rel=1e-12)
    assert great_circle_km(0, 0, 0, 1) == pytest.approx(math.radians(1) * EARTH_RADIUS_KM, rel=1e-12)
    # tiny distances keep relative precision (a naive acos would return 0 here)
    assert great_circle_km(0, 0, 0, 1e-9) == pytest.approx(math.radians(1e-9) * EARTH_RADIUS_KM, rel=1e-6)
    # near-antipodal points
    d = great_circle_km(0, 0, 1e-7, 180)
    assert d == pytest.approx(math.pi * EARTH_RADIUS_KM, abs=1e-4)
    # Paris - London ~ 343.5 km
    assert great_circle_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, abs=1.0)


def test_broadcasting_and_brute_force_twin():
    rng = np.random.default_rng(0)
    a = rng.uniform(-90, 90, 50), rng.uniform(-180, 180, 50)
    b = rng.uniform(-90, 90, 7), rng.uniform(-180, 180, 7)
    d = great_circle_km(a[0][:, None], a[1][:, None], b[0][None], b[1][None])
    assert d.shape == (50, 7)
    ref = central_angle(latlon_to_xyz(a[0], a[1])[:, None], latlon_to_xyz(b[0], b[1])[None]) * EARTH_RADIUS_KM
    np.testing.assert_allclose(d, ref, atol=1e-8)


@settings(max_examples=200, deadline=None)
@given(lats, lons, lats, lons)
def test_symmetry_and_lon_periodicity(la1, lo1, la2, lo2):
    d = float(great_circle_km(la1, lo1, la2, lo2))
    assert d == pytest.approx(float(great_circle_km(la2, lo2, la1, lo1)), abs=1e-9)
    assert d == pytest.approx(float(great_circle_km(la1, lo1 + 360.0, la2, lo2 - 360.0)), abs=1e-6)
    assert 0.0 <= d <= math.pi * EARTH_RADIUS_KM + 1e-6


@settings(max_examples=200, deadline=None)
@given(lats, lons, lats, lons, lats, lons)
def test_triangle_inequality(la1, lo1, la2, lo2, la3, lo3):
    d12 = float(great_circle_km(la1, lo1, la2, lo2))
    d23 = float(great_circle_km(la2, lo2, la3, lo3))
    d13 = float(great_circle_km(la1, lo1, la3, lo3))
    assert d13 <= d12 + d23 + 1e-6


@settings(max_examples=100, deadline=None)
@given(lats, lons, lats, lons, st.floats(-math.pi, math.pi), st.floats(-math.pi, math.pi))
def test_rotation_invariance(la1, lo1, la2, lo2, a, b):
    from scipy.spatial.transform import Rotation

    R = Rotation.from_euler("zy", [a, b]).as_matrix()
    p = latlon_to_xyz(np.array([la1, la2]), np.array([lo1, lo2])) @ R.T
    rl, ro = xyz_to_latlon(p)
    assert float(great_circle_km(rl[0], ro[0], rl[1], ro[1])) == pytest.approx(
        float(great_circle_km(la1, lo1, la2, lo2)), abs=1e-6
    )


def test_accuracy_and_summaries():
    true_lat, true_lon = np.zeros(4), np.zeros(4)
    pred_lat, pred_lon = np.zeros(4), np.array([0.0, 0.1, 1.0, 10.0])  # 0, 11, 111, 1112 km
    acc = accuracy_within(pred_lat, pred_lon, true_lat, true_lon)
    assert acc == {1: 0.25, 25: 0.5, 200: 0.75, 750: 0.75, 2500: 1.0}
    assert median_error_km(pred_lat, pred_lon, true_lat, true_lon) == pytest.approx(
        0.5 * (11.119 + 111.195), abs=0.01
    )
    s = summarize(pred_lat, pred_lon, true_lat, true_lon)
    assert s["acc_200km"] == 0.75 and s["n"] == 4
    assert s["geoscore"] == pytest.approx(np.mean(geoscore(great_circle_km(pred_lat, pred_lon, true_lat, true_lon))))
    assert geoscore(1492.7) == pytest.approx(5000 / math.e)
    with pytest.raises(ValueError, match="same length"):
        accuracy_within([0], [0], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="`thresholds_km`"):
        accuracy_within([0], [0], [0], [0], thresholds_km=(0,))
    with pytest.raises(ValueError, match="`pred_lat` must be within"):
        accuracy_within([95], [0], [0], [0])
    with pytest.raises(ValueError, match="`distance_km`"):
        geoscore(-1.0)


def test_geographic_centre():
    lat, lon = geographic_centre([10, -10], [179, -179])
    assert float(lat) == pytest.approx(0, abs=1e-12) and abs(float(lon)) == pytest.approx(180)
    lat, lon = geographic_centre(np.array([[0, 0], [80, 80]]), np.array([[0, 90], [0, 180]]))
    np.testing.assert_allclose(lat, [0, 90], atol=1e-9)
    np.testing.assert_allclose(lon[0], 45, atol=1e-9)
    # weights pull the centre
    lat, _ = geographic_centre([0, 10], [0, 0], weights=[1, 3])
    assert 5 < float(lat) < 10
    # antipodal pair: falls back to the heaviest point instead of NaN
    lat, lon = geographic_centre([0, 0], [0, 180], weights=[1, 2])
    assert float(lon) == pytest.approx(-180) and np.isfinite(lat)


def test_geometric_median_brute_force_twin():
    rng = np.random.default_rng(1)
    la = rng.uniform(-10, 10, (3, 16))
    lo = rng.uniform(-10, 10, (3, 16))
    ml, mo = geometric_median(la, lo)
    g_lat, g_lon = np.meshgrid(np.linspace(-10, 10, 201), np.linspace(-10, 10, 201))
    for i in range(3):
        cost = lambda a, b: great_circle_km(a[:, None], b[:, None], la[i][None], lo[i][None]).sum(1)
        brute = cost(g_lat.ravel(), g_lon.ravel()).min()
        assert cost(np.array([ml[i]]), np.array([mo[i]]))[0] <= brute + 1e-6
    # robust to an outlier, unlike the centre
    lat, lon = geometric_median([0, 0, 0, 0, 60], [0, 0.1, -0.1, 0.05, 0])
    assert float(great_circle_km(lat, lon, 0, 0)) < 20
    with pytest.raises(ValueError, match="non-empty"):
        geometric_median([], [])


def test_geometric_median_zero_weights_leave_points_out():
    """Rows of 0/1 weights give each subset's own median (the mode refinement of ``locate`` relies on it)."""
    rng = np.random.default_rng(2)
    la, lo = rng.uniform(-10, 10, 20), rng.uniform(-10, 10, 20)
    mask = np.zeros((3, 20))
    mask[0, :5], mask[1, 5:12], mask[2, [0, 19]] = 1, 1, 1
    ml, mo = geometric_median(np.broadcast_to(la, mask.shape), np.broadcast_to(lo, mask.shape), weights=mask)
    for i in range(3):
        keep = mask[i] > 0
        sl, so = geometric_median(la[keep], lo[keep])
        assert float(great_circle_km(ml[i], mo[i], sl, so)) < 1e-2
    # two points: any point between them is a median, and a left-out point is never the answer
    far = great_circle_km(ml[2], mo[2], la[1:19], lo[1:19])
    assert np.all(far > 1e-6)


def test_module_exports():
    for name in metrics.__all__:
        assert hasattr(metrics, name)
