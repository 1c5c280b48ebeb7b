"""Tests of shdd_geo.decoding.points: one point from many decoded samples."""

from __future__ import annotations

import numpy as np
import pytest

from shdd_geo.decoding import points as P
from shdd_geo.metrics import great_circle_km

LAT = np.array([[0.0, 0.0, 0.1, 40.0], [10.0, 10.0, 10.0, 10.0]])
LON = np.array([[0.0, 0.2, 0.1, 40.0], [0.0, 0.0, 0.0, 0.0]])


def test_predict_from_samples():
    la, _ = P.predict_from_samples(LAT, LON, how="kde")
    np.testing.assert_allclose(la, [0.1, 10.0])
    la_c, _ = P.predict_from_samples(LAT, LON)
    assert la_c[0] > 5  # the centre is pulled by the outlier, the densest sample and median are not
    la_m, lo_m = P.predict_from_samples(LAT, LON, how="median")
    assert great_circle_km(la_m[0], lo_m[0], 0.0, 0.1) < 20
    with pytest.raises(ValueError, match="`how`"):
        P.predict_from_samples(LAT, LON, how="mean")
    with pytest.raises(ValueError, match="`bandwidth_km`"):
        P.predict_from_samples(LAT, LON, how="kde", bandwidth_km=-1)


def test_kde_is_the_brute_force_densest_sample():
    """Brute-force twin: loop over samples, sum Gaussian kernels of the great-circle distances."""
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(-60, 60, (5, 12)), rng.uniform(-180, 180, (5, 12))
    h = 900.0
    got_lat, got_lon = P.predict_from_samples(lat, lon, how="kde", bandwidth_km=h)
    for b in range(5):
        dens = [sum(np.exp(-0.5 * (great_circle_km(lat[b, i], lon[b, i], lat[b, j], lon[b, j]) / h) ** 2)
                    for j in range(12)) for i in range(12)]
        i = int(np.argmax(dens))
        assert (got_lat[b], got_lon[b]) == (lat[b, i], lon[b, i])


def test_mode_is_a_deprecated_alias_of_kde():
    with pytest.warns(DeprecationWarning, match="how='kde'"):
        old = P.predict_from_samples(LAT, LON, how="mode")
    np.testing.assert_array_equal(old, P.predict_from_samples(LAT, LON, how="kde"))


def test_check_point_maps_mode_for_each_caller():
    """``"mode"`` meant the KDE choice here and the mixture-densest sample in LocDiffusion.predict."""
    with pytest.warns(DeprecationWarning, match="point='densest'"):
        assert P.check_point("mode", ("centre", "densest", "median")) == "densest"
    with pytest.warns(DeprecationWarning, match="how='kde'"):
        assert P.check_point("mode", P.HOW, "how") == "kde"
    with pytest.raises(ValueError, match="`point` must be one of"):
        P.check_point("modal", ("centre", "densest", "median"))
