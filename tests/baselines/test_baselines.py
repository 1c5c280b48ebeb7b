"""Tests of shdd_geo.baselines on tiny synthetic data (CPU, seconds).

The data: embeddings are noisy one-hots of 8 cluster ids; each cluster sits at
one of 8 well-separated places (points jittered by ~10 km).  Every baseline
must learn the mapping.
"""

from __future__ import annotations

import numpy as np
import pytest

from shdd_geo.baselines import (
    CellClassifier,
    GeoCLIPRetrieval,
    KNNRetrieval,
    UnitVectorRegression,
    equal_earth,
)
from shdd_geo.baselines._fields import kappa_from_mean_cos, vmf_log_density
from shdd_geo.errors import NotFittedError
from shdd_geo.metrics import great_circle_km

CENTRES = np.array([
    [48.86, 2.35], [40.71, -74.01], [-33.87, 151.21], [35.68, 139.69],
    [-23.55, -46.63], [30.04, 31.24], [55.76, 37.62], [-1.29, 36.82],
])
D = 16


def make_data(n: int, seed: int, noise: float = 0.15):
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 8, n)
    X = np.zeros((n, D), np.float32)
    X[np.arange(n), c] = 1.0
    X += noise * rng.standard_normal((n, D)).astype(np.float32)
    lat = CENTRES[c, 0] + rng.normal(0, 0.1, n)
    lon = CENTRES[c, 1] + rng.normal(0, 0.1, n)
    return X, lat, lon, c


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/baselines/conftest.py


@pytest.fixture(scope="module")
def data():
    return make_data(400, 0), make_data(80, 1)


def _fast(cls, **kw):
    base = {"epochs": 25, "batch_size": 64, "lr": 3e-3, "hidden": (64,), "random_state": 0}
    if cls is GeoCLIPRetrieval:
        # Two scales: sigma = 2**8 needs far more data than 400 points to be useful.
        base.update(dim=32, n_fourier=32, queue_size=128, epochs=30, sigmas=(1.0, 16.0))
    return cls(**{**base, **kw})


ALL = [
    lambda: KNNRetrieval(k=5),
    lambda: KNNRetrieval(k=5, aggregate="centre"),
    lambda: KNNRetrieval(k=5, aggregate="mode"),
    lambda: _fast(GeoCLIPRetrieval),
    lambda: _fast(CellClassifier, nside=16),
    lambda: _fast(UnitVectorRegression, epochs=100, lr=1e-2),
]
IDS = ["knn-top1", "knn-centre", "knn-mode", "geoclip", "cells", "regression"]


@pytest.fixture(scope="module", params=range(len(ALL)), ids=IDS)
def fitted(request, data):
    (X, lat, lon, _), _ = data
    return ALL[request.param]().fit(X, lat, lon)


def test_each_baseline_learns_the_clusters(fitted, data):
    _, (Xt, _lat_t, _lon_t, c_t) = data
    plat, plon = fitted.predict(Xt)
    assert plat.dtype == np.float64 and plat.shape == (len(Xt),)
    d_centre = great_circle_km(plat, plon, CENTRES[c_t, 0], CENTRES[c_t, 1])
    # regression averages unit vectors, so a few points land between clusters: 4 of 64 beyond
    # 400 km on a machine of 2026-11-26 (torch 2.13 CPU), 0 of 64 on earlier ones
    reg = isinstance(fitted, UnitVectorRegression)
    limit, share = (400.0, 0.9) if reg else (150.0, 0.95)
    assert np.mean(d_centre < limit) >= share, np.sort(d_centre)[-5:]


def test_predict_field_puts_mass_at_the_truth(fitted, data):
    _, (Xt, lat_t, lon_t, c_t) = data
    f = fitted.predict_field(Xt[:4], nside=16)
    assert f.is_batch and len(f) == 4
    np.testing.assert_allclose(f.integral(), 1.0, atol=1e-9)
    ll_true = f.log_likelihood(lat_t[:4], lon_t[:4])
    ll_far = f.log_likelihood(-CENTRES[c_t[:4], 0], CENTRES[c_t[:4], 1] + 180.0)
    assert np.all(ll_true > ll_far + 3.0)


def test_not_fitted_errors():
    X = np.zeros((2, 3), np.float32)
    for make in ALL:
        est = make()
        with pytest.raises(NotFittedError, match="fit"):
            est.predict(X)
        with pytest.raises(NotFittedError):
            est.predict_field(X)


@pytest.mark.parametrize("make", ALL[:1] + ALL[3:], ids=["knn", "geoclip", "cells", "regression"])
def test_input_errors(make):
    est = make()
    X, lat, lon, _ = make_data(20, 2)
    with pytest.raises(ValueError, match="`X`.*2-D"):
        est.fit(X[0], lat, lon)
    with pytest.raises(ValueError, match="rows"):
        est.fit(X, lat[:-1], lon[:-1])
    with pytest.raises(ValueError, match="`lat`"):
        est.fit(X, lat + 100, lon)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad, lat, lon)
    with pytest.raises(TypeError, match="`X`"):
        est.fit(np.array([["a"] * D] * 20), lat, lon)
    if not isinstance(est, KNNRetrieval):
        est.set = None
        est.epochs = 1
    est.fit(X, lat, lon)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :5])
    with pytest.raises(ValueError, match="empty"):
        est.predict(X[:0])


@pytest.mark.parametrize(
    "est, match",
    [
        (KNNRetrieval(k=0), "`k`"),
        (KNNRetrieval(aggregate="mean"), "`aggregate`"),
        (KNNRetrieval(temperature=0), "`temperature`"),
        (CellClassifier(nside=3), "`nside`"),
        (CellClassifier(predict_location="median"), "`predict_location`"),
        (CellClassifier(dropout=1.0), "`dropout`"),
        (UnitVectorRegression(loss="l1"), "`loss`"),
        (UnitVectorRegression(epochs=0), "`epochs`"),
        (GeoCLIPRetrieval(sigmas=()), "`sigmas`"),
        (GeoCLIPRetrieval(queue_size=-1), "`queue_size`"),
    ],
)
def test_bad_hyper_parameters(est, match):
    X, lat, lon, _ = make_data(10, 3)
    with pytest.raises(ValueError, match=match):
        est.fit(X, lat, lon)


def test_fit_returns_self_and_keeps_params(data):
    (X, lat, lon, _), _ = data
    est = KNNRetrieval(k=3, aggregate="centre")
    assert est.fit(X, lat, lon) is est
    assert est.get_params()["k"] == 3 and "KNNRetrieval(k=3" in repr(est)


# ---------------------------------------------------------------- kNN ----
def test_kneighbors_matches_brute_force(data):
    (X, lat, lon, _), (Xt, *_) = data
    knn = KNNRetrieval(k=7, batch_size=13).fit(X, lat, lon)
    sim, idx = knn.kneighbors(Xt)
    G = X / np.linalg.norm(X, axis=1, keepdims=True)
    Q = Xt / np.linalg.norm(Xt, axis=1, keepdims=True)
    full = Q @ G.T
    brute = np.argsort(-full, axis=1, kind="stable")[:, :7]
    np.testing.assert_array_equal(idx, brute)
    np.testing.assert_allclose(sim, np.take_along_axis(full, brute, 1), rtol=1e-5)


def test_knn_ties_break_to_lower_index():
    X = np.array([[1, 0], [1, 0], [0, 1], [1, 0]], np.float32)
    knn = KNNRetrieval(k=3).fit(X, [0.0, 1.0, 2.0, 3.0], [0.0] * 4)
    assert knn.kneighbors([[1.0, 0.0]])[1].tolist() == [[0, 1, 3]]


def test_knn_mode_versus_centre_on_an_ambiguous_name():
    """Same embedding at two far places (3 vs 2 copies): the centre lands between, the mode on the majority."""
    X = np.tile([[1.0, 0.0]], (5, 1))
    lat = np.array([0.0, 0.0, 0.0, 0.0, 0.0])
    lon = np.array([-60.0, -60.0, -60.0, 60.0, 60.0])
    q = [[1.0, 0.0]]
    centre = KNNRetrieval(k=5, aggregate="centre").fit(X, lat, lon).predict(q)
    mode = KNNRetrieval(k=5, aggregate="mode").fit(X, lat, lon).predict(q)
    assert abs(float(centre[1][0]) + 12.0) < 15.0  # pulled towards the middle
    assert float(great_circle_km(mode[0], mode[1], 0.0, -60.0)[0]) < 1.0


def test_knn_candidates_and_proba(data):
    (X, lat, lon, _), (Xt, *_) = data
    knn = KNNRetrieval(k=4).fit(X, lat, lon)
    clat, _clon, w = knn.candidates(Xt[:3])
    p, idx = knn.predict_proba(Xt[:3])
    assert clat.shape == (3, 4) and np.allclose(w, p) and np.allclose(p.sum(1), 1.0)
    np.testing.assert_array_equal(clat, lat[idx])
    assert np.all(np.diff(p, axis=1) <= 1e-12)


def test_predict_near_matches_brute_force(data):
    (X, lat, lon, _), (Xt, *_) = data
    knn = KNNRetrieval(batch_size=7).fit(X, lat, lon)
    rng = np.random.default_rng(5)
    cand_lat = rng.choice(CENTRES[:, 0], (len(Xt), 3)) + rng.normal(0, 0.5, (len(Xt), 3))
    cand_lon = rng.choice(CENTRES[:, 1], (len(Xt), 3)) + rng.normal(0, 0.5, (len(Xt), 3))
    plat, plon = knn.predict_near(Xt, cand_lat, cand_lon, radius_km=200.0)
    G = X / np.linalg.norm(X, axis=1, keepdims=True)
    for i in range(len(Xt)):
        sim = G @ (Xt[i] / np.linalg.norm(Xt[i]))
        d = great_circle_km(lat[:, None], lon[:, None], cand_lat[i][None], cand_lon[i][None]).min(1)
        ok = d < 200.0
        j = np.flatnonzero(ok)[np.argmax(sim[ok])] if ok.any() else np.argmax(sim)
        assert (plat[i], plon[i]) == (lat[j], lon[j])


# ------------------------------------------------------------- GeoCLIP ----
def test_equal_earth_matches_pyproj_and_torch():
    pyproj = pytest.importorskip("pyproj")
    import torch

    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-90, 90, 200), rng.uniform(-180, 180, 200)
    x, y = pyproj.Proj(proj="eqearth", R=1.0)(lon, lat)
    ref = np.stack([x, y], 1) * 66.50336 / 180.0
    np.testing.assert_allclose(equal_earth(lat, lon), ref, atol=1e-9)
    t = equal_earth(torch.tensor(lat), torch.tensor(lon)).numpy()
    np.testing.assert_allclose(t, ref, atol=1e-9)


def test_geoclip_gallery_and_proba(data):
    (X, lat, lon, _), (Xt, *_) = data
    m = _fast(GeoCLIPRetrieval, epochs=2).fit(X, lat, lon)
    assert len(m.gallery_lat_) == len(np.unique(np.round(np.c_[lat, lon], 5), axis=0))
    p = m.predict_proba(Xt[:5])
    assert p.shape == (5, len(m.gallery_lat_)) and np.allclose(p.sum(1), 1.0)
    plat, _plon = m.predict(Xt[:5])
    best = np.argmax(p, axis=1)
    np.testing.assert_array_equal(plat, m.gallery_lat_[best])
    clat, _, cp = m.candidates(Xt[:5], k=3)
    np.testing.assert_array_equal(clat[:, 0], plat)
    assert np.all(np.diff(cp, axis=1) <= 0)
    g = _fast(GeoCLIPRetrieval, epochs=1, gallery=(CENTRES[:, 0], CENTRES[:, 1])).fit(X, lat, lon)
    assert set(g.predict(Xt)[0]) <= set(CENTRES[:, 0])


def test_geoclip_is_reproducible_and_leaves_global_rng_alone(data):
    import torch

    (X, lat, lon, _), (Xt, *_) = data
    state = torch.random.get_rng_state()
    a = _fast(GeoCLIPRetrieval, epochs=2).fit(X, lat, lon)
    assert torch.equal(state, torch.random.get_rng_state())
    b = _fast(GeoCLIPRetrieval, epochs=2).fit(X, lat, lon)
    assert a.loss_history_ == b.loss_history_
    np.testing.assert_array_equal(a.encode_queries(Xt), b.encode_queries(Xt))
    c = _fast(GeoCLIPRetrieval, epochs=2, random_state=1).fit(X, lat, lon)
    assert a.loss_history_ != c.loss_history_


def test_geoclip_default_scales_learn(data):
    """GeoCLIP's own scales (2**0, 2**4, 2**8) also learn the clusters, given more epochs."""
    (X, lat, lon, _), (Xt, _, _, c_t) = data
    m = _fast(GeoCLIPRetrieval, epochs=60, sigmas=(1.0, 16.0, 256.0)).fit(X, lat, lon)
    d = great_circle_km(*m.predict(Xt), CENTRES[c_t, 0], CENTRES[c_t, 1])
    assert np.mean(d < 150) >= 0.9


def test_geoclip_loss_decreases(data):
    (X, lat, lon, _), _ = data
    m = _fast(GeoCLIPRetrieval, epochs=8).fit(X, lat, lon)
    # Floor: ~log(24), as a batch+queue of 192 holds ~24 near-identical positives per cluster.
    assert m.loss_history_[-1] < m.loss_history_[0] - 1.0
    assert m.loss_history_[-1] < np.log(24) + 0.3


# ---------------------------------------------------------- classifier ----
def test_cell_classifier_classes_and_locations(data):
    import healpy as hp

    (X, lat, lon, _c), (Xt, lat_t, lon_t, _c_t) = data
    m = _fast(CellClassifier, nside=4).fit(X, lat, lon)
    pix = hp.ang2pix(4, np.radians(90 - lat), np.radians(lon))
    np.testing.assert_array_equal(m.classes_, np.unique(pix))
    assert m.class_counts_.sum() == len(X)
    p = m.predict_proba(Xt)
    assert p.shape == (len(Xt), len(m.classes_)) and np.allclose(p.sum(1), 1.0)
    full = m.cell_probabilities(Xt)
    np.testing.assert_allclose(full[:, m.classes_], p)
    assert full.shape == (len(Xt), 192) and np.allclose(full.sum(1), 1.0)
    # "centre" answers the HEALPix centre of the argmax cell.
    mc = _fast(CellClassifier, nside=4, predict_location="centre").fit(X, lat, lon)
    plat, plon = mc.predict(Xt)
    th, _ph = hp.pix2ang(4, mc.classes_[np.argmax(mc.predict_proba(Xt), 1)])
    np.testing.assert_allclose(plat, 90 - np.degrees(th), atol=1e-9)
    assert np.median(great_circle_km(plat, plon, lat_t, lon_t)) < 1500


def test_cell_field_matches_probabilities(data):
    import healpy as hp

    (X, lat, lon, _), (Xt, *_) = data
    m = _fast(CellClassifier, nside=4).fit(X, lat, lon)
    f = m.predict_field(Xt[:2])
    assert f.nside == 4
    np.testing.assert_allclose(f.density * hp.nside2pixarea(4), m.cell_probabilities(Xt[:2]), atol=1e-12)
    fu = m.predict_field(Xt[:2], nside=16, uniform_weight=0.1)
    assert np.all(np.isfinite(fu.log_density)) and np.allclose(fu.integral(), 1.0)
    with pytest.raises(ValueError, match="`uniform_weight`"):
        m.predict_field(Xt[:2], uniform_weight=1.0)


# ---------------------------------------------------------- regression ----
def test_regression_outputs_unit_vectors_and_losses(data):
    (X, lat, lon, _), (Xt, lat_t, lon_t, _) = data
    for loss in ("cosine", "chord", "angle"):
        m = _fast(UnitVectorRegression, loss=loss, epochs=60, lr=1e-2, hidden=(128, 128)).fit(X, lat, lon)
        np.testing.assert_allclose(np.linalg.norm(m.predict_xyz(Xt), axis=1), 1.0, atol=1e-12)
        assert np.median(great_circle_km(*m.predict(Xt), lat_t, lon_t)) < 500, loss


def test_regression_averages_an_ambiguous_name():
    """The failure mode a density avoids: one input at two places is predicted in between."""
    X = np.tile([[1.0, 0.0]], (64, 1)).astype(np.float32)
    lon = np.repeat([-40.0, 40.0], 32)
    m = UnitVectorRegression(loss="cosine", hidden=(16,), epochs=150, lr=1e-2, batch_size=64)
    plat, plon = m.fit(X, np.zeros(64), lon).predict(X[:1])
    assert abs(float(plon[0])) < 5 and abs(float(plat[0])) < 5  # the mean direction, (0, 0)
    assert great_circle_km(plat, plon, [0.0, 0.0], [-40.0, 40.0]).min() > 4000


def test_vmf_helpers():
    import healpy as hp

    for k in (0.5, 3.0, 50.0, 3000.0):
        a = 1 / np.tanh(k) - 1 / k
        assert kappa_from_mean_cos(a) == pytest.approx(k, rel=1e-6)
    nside = 64
    th, ph = hp.pix2ang(nside, np.arange(12 * nside**2))
    lat, lon = 90 - np.degrees(th), np.degrees(ph)
    mu = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    for k, tol in ((2.0, 1e-4), (50.0, 1e-3)):  # quadrature error grows with the peak's sharpness
        logp = vmf_log_density(mu, k, lat, lon)
        np.testing.assert_allclose(np.exp(logp).sum(1) * hp.nside2pixarea(nside), 1.0, rtol=tol)


def test_regression_calibrate_widens_field(data):
    (X, lat, lon, _), (Xt, lat_t, lon_t, _) = data
    m = _fast(UnitVectorRegression, epochs=40).fit(X, lat, lon)
    k_train = m.kappa_
    noisy_lat = np.clip(lat_t + np.random.default_rng(0).normal(0, 10, len(lat_t)), -90, 90)
    m.calibrate(Xt, noisy_lat, lon_t)
    assert m.kappa_ < k_train


def test_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys, shdd_geo.baselines\n"
        "print(sorted({'torch', 'pandas', 'healpy', 'sentence_transformers'} & set(sys.modules)))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
