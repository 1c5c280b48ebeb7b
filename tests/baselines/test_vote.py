"""Tests of the retrieval gallery and the k-NN vote baseline (brute-force twins)."""

import numpy as np
import pytest

from shdd_geo.baselines import KNNVote, RetrievalGallery
from shdd_geo.codec import encode
from shdd_geo.metrics import great_circle_km


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 8)).astype(np.float32)
    lat, lon = rng.uniform(-70, 70, 300), rng.uniform(-180, 180, 300)
    # ten places with three copies each (alternate names): identical locations, similar embeddings
    X[200:230] = np.repeat(X[200:210], 3, axis=0) + 0.01 * rng.normal(size=(30, 8)).astype(np.float32)
    lat[200:230], lon[200:230] = np.repeat(lat[200:210], 3), np.repeat(lon[200:210], 3)
    return X, lat, lon


def _brute(X, lat, lon, Q, k, T, own=None, exclude_km=1.0):
    """Neighbours, weights and prior by sorting every similarity (no blocks, no partitions)."""
    G = X  # the gallery as stored (unit rows rounded to float16)
    q = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    out_idx, out_w = [], []
    for i in range(len(q)):
        sim = G @ q[i]
        order = sorted(range(len(G)), key=lambda j: (-sim[j], j))
        if own is not None:
            order = [j for j in order if great_circle_km(lat[j], lon[j], own[0][i], own[1][i]) >= exclude_km]
        order = order[:k]
        z = sim[order] / T
        w = np.exp(z - z.max())
        out_idx.append(order)
        out_w.append(w / w.sum())
    return np.array(out_idx), np.array(out_w)


def test_neighbours_weights_and_prior_match_brute_force(data):
    X, lat, lon = data
    g = RetrievalGallery(k=7, temperature=0.1, batch_size=13).fit(X, lat, lon)
    Q = X[:40] + 0.05
    sim, idx = g.neighbours(Q)
    bidx, bw = _brute(g.X_, g.lat_, g.lon_, Q, 7, 0.1)
    np.testing.assert_array_equal(idx, bidx)
    np.testing.assert_allclose(g.weights(sim), bw, rtol=1e-5)
    prior = g.prior(Q, 4)
    want = np.einsum("mk,mkd->md", bw, encode(g.lat_[bidx].ravel(), g.lon_[bidx].ravel(), 4).reshape(40, 7, -1))
    np.testing.assert_allclose(prior, want, rtol=1e-4, atol=1e-5)


def test_leave_one_out_skips_every_copy_of_the_own_place(data):
    X, lat, lon = data
    g = RetrievalGallery(k=5).fit(X, lat, lon)
    rows = np.arange(200, 230)
    plain = g.neighbours(X[rows])[1]
    assert all(r in plain[i] for i, r in enumerate(rows))  # without leave-one-out a row finds itself first
    sim, idx = g.neighbours(X[rows], exclude=(lat[rows], lon[rows]))
    d = great_circle_km(g.lat_[idx], g.lon_[idx], lat[rows][:, None], lon[rows][:, None])
    assert (d > 1.0).all() and np.isfinite(sim).all()
    bidx, _ = _brute(g.X_, g.lat_, g.lon_, X[rows], 5, g.temperature, own=(lat[rows], lon[rows]))
    np.testing.assert_array_equal(idx, bidx)


def test_vote_answers_the_best_supported_neighbour():
    # neighbours: two near Paris (weights high), one in Sydney with the top similarity
    X = np.array([[1.0, 0.0, 0.0], [0.95, 0.3, 0.0], [0.94, 0.0, 0.3], [0.0, 0.0, 1.0]])
    lat, lon = [-33.87, 48.85, 48.80, 0.0], [151.2, 2.35, 2.30, 0.0]
    vote = KNNVote(k=3, temperature=1.0, radius_km=500).fit(X, lat, lon)
    plat, _ = vote.predict([[1.0, 0.0, 0.0]])
    assert round(float(plat[0]), 2) in (48.85, 48.80)  # the Paris pair outweighs the single best match
    top1 = KNNVote(k=1).fit(X, lat, lon).predict([[1.0, 0.0, 0.0]])[0]
    assert float(top1[0]) == pytest.approx(-33.87)


def test_vote_fields_are_normalised_and_peak_at_the_neighbours(data):
    X, lat, lon = data
    for field in ("kde", "shdd"):
        vote = KNNVote(k=4, field=field, L=8).fit(X, lat, lon)
        f = vote.predict_field(X[:3], nside=16)
        np.testing.assert_allclose(f.integral(), 1.0, rtol=1e-6)
        w, idx = vote.predict_proba(X[:3])
        best = idx[np.arange(3), np.argmax(w, axis=1)]
        at_best = np.array([float(np.ravel(f[i].log_density_at(lat[best[i]], lon[best[i]]))[0]) for i in range(3)])
        assert f.is_batch and len(f) == 3
        assert (at_best > np.log(1 / (4 * np.pi))).all()  # the heaviest neighbour sits above the uniform level


def test_bad_arguments_name_themselves(data):
    X, lat, lon = data
    with pytest.raises(ValueError, match="k"):
        KNNVote(k=0).fit(X, lat, lon)
    with pytest.raises(ValueError, match="field"):
        KNNVote(field="nope").fit(X, lat, lon)
    with pytest.raises(ValueError, match="temperature"):
        RetrievalGallery(temperature=0)
    with pytest.raises(ValueError, match="exclude"):
        RetrievalGallery(k=2).fit(X, lat, lon).neighbours(X[:3], exclude=([0.0], [0.0]))


def test_stored_gallery_is_the_gallery_used(data):
    X, lat, lon = data
    g = RetrievalGallery(k=6).fit(X, lat, lon)
    back = RetrievalGallery.from_arrays(g.to_arrays(), k=6)
    np.testing.assert_array_equal(g.prior(X[:20], 5), back.prior(X[:20], 5))
    assert g.nbytes_stored == 300 * (8 * 2 + 8)


def test_graded_tail_is_the_stated_mixture_and_never_underflows(data):
    """Issue 24: ``tail_weight`` w gives (1 - w) kde + w shdd, pixel by pixel, and density everywhere."""
    X, lat, lon = data
    kde = KNNVote(k=4, L=8, tail_weight=0.0).fit(X, lat, lon)
    shdd = KNNVote(k=4, L=8, field="shdd").fit(X, lat, lon)
    mixed = KNNVote(k=4, L=8, tail_weight=0.2).fit(X, lat, lon)
    fk, fs, fm = (m.predict_field(X[:3], nside=8, bandwidth_km=100.0) if m.field == "kde"
                  else m.predict_field(X[:3], nside=8) for m in (kde, shdd, mixed))
    pk, ps, pm = (np.exp(np.asarray(f.log_density)) for f in (fk, fs, fm))
    pk /= pk.sum(axis=1, keepdims=True)
    ps /= ps.sum(axis=1, keepdims=True)
    pm /= pm.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(pm, 0.8 * pk + 0.2 * ps, rtol=1e-9, atol=1e-300)
    assert (pk < 1e-30).any() and (pm > 1e-30).all()  # the plain kde underflows somewhere, the tail never
    with pytest.raises(ValueError, match="tail_weight"):
        KNNVote(tail_weight=1.0).fit(X, lat, lon)
