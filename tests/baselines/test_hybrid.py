"""The LocDiffusion + retrieval hybrid (paper A.4)."""

import numpy as np
import pytest

from shdd_geo.baselines import KNNRetrieval
from shdd_geo.baselines.hybrid import RetrievalHybrid
from shdd_geo.metrics import great_circle_km


class StubDiffusion:
    def __init__(self, lat, lon):
        self.lat, self.lon = np.asarray(lat, float), np.asarray(lon, float)
        self.calls = []

    def predict_samples(self, X, n_samples, **kw):
        self.calls.append((n_samples, kw))
        return np.repeat(self.lat[: len(X), None], n_samples, 1), np.repeat(self.lon[: len(X), None], n_samples, 1)


def test_restricts_retrieval_to_candidates_brute_force():
    rng = np.random.default_rng(0)
    g_lat, g_lon = rng.uniform(-60, 60, 300), rng.uniform(-180, 180, 300)
    G = rng.normal(size=(300, 16))
    knn = KNNRetrieval(k=1).fit(G, g_lat, g_lon)
    Q = rng.normal(size=(20, 16))
    c_lat, c_lon = rng.uniform(-60, 60, 20), rng.uniform(-180, 180, 20)
    diff = StubDiffusion(c_lat, c_lon)
    hyb = RetrievalHybrid(diff, knn, radius_km=1500.0, n_samples=3, sample_kwargs={"generator": 7})
    lat, lon = hyb.predict(Q)
    assert diff.calls[0] == (3, {"generator": 7})
    sim = (Q / np.linalg.norm(Q, axis=1, keepdims=True)) @ (G / np.linalg.norm(G, axis=1, keepdims=True)).T
    for i in range(20):
        near = great_circle_km(g_lat, g_lon, c_lat[i], c_lon[i]) <= 1500.0
        j = np.flatnonzero(near)[np.argmax(sim[i, near])] if near.any() else np.argmax(sim[i])
        assert (lat[i], lon[i]) == pytest.approx((g_lat[j], g_lon[j]))


def test_bad_parameters():
    knn = KNNRetrieval().fit(np.eye(2), [0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="`radius_km`"):
        RetrievalHybrid(StubDiffusion([0], [0]), knn, radius_km=0)
    with pytest.raises(ValueError, match="`n_samples`"):
        RetrievalHybrid(StubDiffusion([0], [0]), knn, n_samples=0)
    with pytest.raises(TypeError, match="predict_near"):
        RetrievalHybrid(StubDiffusion([0], [0]), object())
