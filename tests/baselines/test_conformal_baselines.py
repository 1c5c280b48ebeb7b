"""Every baseline that draws maps has a conformal calibrate path (issue 24): shared by BaseGeolocator."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("torch")

from shdd_geo.baselines import CellClassifier, GeoCLIPRetrieval, KNNRetrieval, UnitVectorRegression  # noqa: E402
from shdd_geo.baselines._base import BaseGeolocator  # noqa: E402
from shdd_geo.calibration import LEVEL_MAP_ATTR, ConformalLevels, coverage  # noqa: E402

CENTRES = np.array([[48.86, 2.35], [40.71, -74.01], [-33.87, 151.21], [35.68, 139.69],
                    [-23.55, -46.63], [30.04, 31.24], [55.76, 37.62], [-1.29, 36.82]])


def make_data(n: int, seed: int, spread_deg: float):
    """One-hot-ish embeddings of 8 cities; truths scattered ``spread_deg`` around them (maps are too sharp)."""
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 8, n)
    X = np.eye(16, dtype=np.float32)[c] + 0.15 * rng.standard_normal((n, 16)).astype(np.float32)
    lat = np.clip(CENTRES[c, 0] + rng.normal(0, spread_deg, n), -89, 89)
    lon = CENTRES[c, 1] + rng.normal(0, spread_deg, n)
    return X, lat, lon


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/baselines/conftest.py


@pytest.fixture(scope="module")
def data():
    return make_data(300, 0, 0.5), make_data(300, 1, 4.0), make_data(400, 2, 4.0)


FAST = {"epochs": 15, "batch_size": 64, "lr": 3e-3, "hidden": (32,), "random_state": 0}
MODELS = {
    "knn": lambda: KNNRetrieval(k=5),
    "geoclip": lambda: GeoCLIPRetrieval(**FAST, dim=16, n_fourier=16, queue_size=64, sigmas=(1.0, 16.0)),
    "cells": lambda: CellClassifier(nside=16, **FAST),
    "regression": lambda: UnitVectorRegression(**FAST),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_calibrated_regions_cover_what_they_say(name, data):
    (X, lat, lon), (Xc, lat_c, lon_c), (Xt, lat_t, lon_t) = data
    m = MODELS[name]().fit(X, lat, lon)
    # cells without training data have no density unless mixed with a uniform map; no region reaches them
    kw = {"uniform_weight": 0.01} if name == "cells" else {}
    m.calibrate(Xc, lat_c, lon_c, nside=16, **kw)
    assert isinstance(m.conformal_, ConformalLevels) and m.conformal_.n == 300
    f = m.predict_field(Xt, nside=16, **kw)
    assert LEVEL_MAP_ATTR in f.attrs
    cov = coverage(f, lat_t, lon_t)
    tol = 3.5 * np.sqrt(0.9 * 0.1 / 400) + 3.5 * np.sqrt(0.9 * 0.1 / 300) + 1 / 301
    for level in (0.5, 0.8, 0.9):
        assert cov[level] > level - tol, (name, cov)  # the conformal promise
        if name != "cells":  # piecewise-constant maps tie whole cells: coverage moves in steps
            assert cov[level] < level + tol, (name, cov)


def test_levels_attach_only_to_maps_drawn_as_calibrated(data):
    (X, lat, lon), (Xc, lat_c, lon_c), (Xt, _, _) = data
    knn = KNNRetrieval(k=5).fit(X, lat, lon)
    assert LEVEL_MAP_ATTR not in knn.predict_field(Xt[:2], nside=8).attrs  # not calibrated yet
    knn.calibrate(Xc[:50], lat_c[:50], lon_c[:50], nside=8, bandwidth_km=1000.0)
    assert LEVEL_MAP_ATTR in knn.predict_field(Xt[:2], nside=16, bandwidth_km=1000.0).attrs  # any nside
    assert LEVEL_MAP_ATTR in knn.predict_field(Xt[:2], 8, bandwidth_km=1000.0).attrs  # nside by position
    assert LEVEL_MAP_ATTR not in knn.predict_field(Xt[:2], nside=8).attrs  # the default bandwidth: another map
    # the fit scored the raw maps, not maps carrying an earlier calibration
    again = ConformalLevels.fit(knn.predict_field(Xc[:50], nside=8, bandwidth_km=1000.0), lat_c[:50], lon_c[:50])
    knn.calibrate(Xc[:50], lat_c[:50], lon_c[:50], nside=8, bandwidth_km=1000.0)
    np.testing.assert_array_equal(knn.conformal_.scores, again.scores)
    back = pickle.loads(pickle.dumps(knn))  # no file format: the levels travel with the object
    np.testing.assert_array_equal(back.conformal_.scores, knn.conformal_.scores)


def test_regression_calibrate_sets_kappa_and_levels(data):
    (X, lat, lon), (Xc, lat_c, lon_c), _ = data
    m = UnitVectorRegression(**FAST).fit(X, lat, lon)
    assert getattr(m, "conformal_", None) is None  # fit sets kappa_ only
    k_train = m.kappa_
    m.calibrate(Xc, lat_c, lon_c, conformal=False)
    assert m.kappa_ < k_train and m.conformal_ is None
    m.calibrate(Xc, lat_c, lon_c, nside=8)
    assert m.conformal_.n == len(Xc)
    with pytest.raises(TypeError, match="conformal"):
        m.calibrate(Xc, lat_c, lon_c, conformal="yes")


def test_calibrate_errors(data):
    (X, lat, lon), (Xc, lat_c, lon_c), _ = data
    with pytest.raises(Exception, match="not fitted"):
        KNNRetrieval().calibrate(Xc, lat_c, lon_c)
    knn = KNNRetrieval().fit(X, lat, lon)
    with pytest.raises(ValueError, match="rows"):
        knn.calibrate(Xc, lat_c[:10], lon_c[:10])

    class PointsOnly(BaseGeolocator):
        def __init__(self):
            pass

        def _fit(self, X, lat, lon):
            pass

    with pytest.raises(TypeError, match="predict_field"):
        PointsOnly().fit(X, lat, lon).calibrate(Xc, lat_c, lon_c)
