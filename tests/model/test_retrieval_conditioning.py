"""Retrieval-conditioned LocDiffusion: the prior it sees, leave-one-out, save/load, resume, prior start."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shdd_geo.baselines import RetrievalGallery  # noqa: E402
from shdd_geo.model import LocDiffusion  # noqa: E402
from shdd_geo.model.data import ArrayData, NpyShards  # noqa: E402

TINY = dict(L=4, bottleneck=8, depth=2, time_dim=16, dropout=0.1, batch_size=16, n_anchors=128,
            num_train_timesteps=30, cond_drop=0.2, warmup_steps=2, retrieval_k=4, random_state=1, verbose=False)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(64, 6)).astype(np.float32)
    lat, lon = rng.uniform(-70, 70, 64), rng.uniform(-180, 180, 64)
    X[48:], lat[48:], lon[48:] = X[:16] + 0.01, lat[:16], lon[:16]  # copies of the first 16 places
    return X, lat, lon


@pytest.fixture(scope="module")
def model(data):
    X, lat, lon = data
    return LocDiffusion(**TINY).fit(X, lat, lon, epochs=2)


def _same_weights(a, b):
    sa, sb = a.net_.state_dict(), b.net_.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def test_network_sees_embedding_and_prior(model, data):
    X, _, _ = data
    D = (TINY["L"] + 1) ** 2
    assert model.net_.cond_dim == X.shape[1] + D and model.net_.prior_dim == D
    cond = model._cond_tensor(X[:5]).numpy()
    g = RetrievalGallery(4, 0.05).fit(X, *data[1:])
    want = g.prior(X[:5], TINY["L"]) * np.sqrt(4 * np.pi) / np.sqrt(D)
    np.testing.assert_allclose(cond[:, 6:], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cond[:, :6], X[:5], rtol=1e-6)


def test_training_rows_never_retrieve_their_own_place(model, data):
    X, lat, lon = data
    rc = model._retrieval_data(ArrayData(X, lat, lon), fresh=False)
    got = rc.read(0, np.arange(16))[0][:, 6:].astype(np.float64)
    g = model.retrieval_
    loo = g.prior(X[:16], TINY["L"], exclude=(lat[:16], lon[:16])) * np.sqrt(4 * np.pi) / 5.0
    np.testing.assert_allclose(got, loo, atol=2e-3)  # float16 table
    _, idx = g.neighbours(X[:16], exclude=(lat[:16], lon[:16]))
    own = np.c_[np.arange(16), np.arange(48, 64)]  # each of these places has two rows
    assert not any(np.isin(idx[i], own[i]).any() for i in range(16))
    assert np.isin(model.retrieval_.neighbours(X[:16])[1][:, 0], own).all()  # without leave-one-out they would


def test_without_retrieval_the_paper_network_is_unchanged(data):
    X, lat, lon = data
    m = LocDiffusion(**{**TINY, "retrieval_k": 0}).fit(X, lat, lon, epochs=1)
    assert m.net_.cond_dim == 6 and m.net_.prior_dim == 0 and not hasattr(m, "retrieval_")
    with pytest.raises(ValueError, match="init"):
        m.sample(X[:2], 2, steps=3, init="prior")


def test_save_load_keeps_the_gallery_and_the_samples(tmp_path, model, data):
    X, _, _ = data
    path = model.save(tmp_path / "rc.safetensors")
    back = LocDiffusion.load(path, device="cpu")
    assert back.retrieval_k == 4 and back.retrieval_.X_.shape == (64, 6)
    for init in ("noise", "prior"):
        np.testing.assert_array_equal(model.sample(X[:3], 2, steps=4, generator=5, init=init),
                                      back.sample(X[:3], 2, steps=4, generator=5, init=init))


def test_resume_is_bit_for_bit(tmp_path, data):
    X, lat, lon = data
    full = LocDiffusion(**TINY).fit(X, lat, lon, epochs=2)
    ckpt = tmp_path / "run.safetensors"
    LocDiffusion(**TINY).fit(X, lat, lon, epochs=2, checkpoint=ckpt, checkpoint_every=1, max_steps=5)
    resumed = LocDiffusion(**TINY).fit(X, lat, lon, epochs=2, resume=ckpt)
    assert _same_weights(full, resumed)


def test_streamed_shards_train_like_arrays(tmp_path, data):
    X, lat, lon = data
    paths = []
    for i, sl in enumerate((slice(0, 40), slice(40, 64))):
        e, p = tmp_path / f"e{i}.npy", tmp_path / f"p{i}.npy"
        np.save(e, X[sl]), np.save(p, np.c_[lat[sl], lon[sl]])
        paths.append((e, p))
    shards = NpyShards([p[0] for p in paths], [p[1] for p in paths])
    a = LocDiffusion(**TINY).fit(shards, epochs=1)
    np.testing.assert_array_equal(a.retrieval_.X_, RetrievalGallery().fit(X, lat, lon).X_)
    assert np.isfinite(a.sample(X[:2], 2, steps=3, generator=0)).all()


def test_prior_start_uses_fewer_noisier_steps_and_differs(model, data):
    X, _, _ = data
    a = model.sample(X[:3], 2, steps=6, generator=0, init="noise")
    b = model.sample(X[:3], 2, steps=6, generator=0, init="prior", init_strength=0.3)
    assert a.shape == b.shape and not np.allclose(a, b)
    with pytest.raises(ValueError, match="init_strength"):
        model.sample(X[:3], 2, steps=6, init="prior", init_strength=0.0)


def test_auto_schedule_warms_up_and_decays_over_the_planned_run(tmp_path, data):
    X, lat, lon = data
    lrs = []
    kw = {**TINY, "warmup_steps": "auto", "decay_steps": "auto", "lr": 1e-3}
    LocDiffusion(**kw).fit(X, lat, lon, epochs=5, callbacks=[lambda r: lrs.append(getattr(r, "lr", None))])
    lrs = [v for v in lrs if v is not None]
    assert len(lrs) == 20                      # 5 epochs of 4 batches
    assert lrs[0] == pytest.approx(1e-3 / 2)   # warm-up: min(200, 20 // 10) = 2 steps
    assert max(lrs) == pytest.approx(1e-3) and lrs[-1] < 0.1 * 1e-3  # cosine decay towards lr / 20
    # max_steps stops early without changing the schedule: stop + resume equals the uninterrupted run
    full = LocDiffusion(**kw).fit(X, lat, lon, epochs=5)
    ckpt = tmp_path / "auto.safetensors"
    LocDiffusion(**kw).fit(X, lat, lon, epochs=5, checkpoint=ckpt, checkpoint_every=1, max_steps=7)
    assert _same_weights(full, LocDiffusion(**kw).fit(X, lat, lon, epochs=5, resume=ckpt))


def test_defaults_are_the_measured_recipe_and_paper_is_a_preset():
    m = LocDiffusion()
    assert (m.lr, m.dropout, m.warmup_steps, m.decay_steps, m.retrieval_k) == (3e-4, 0.1, "auto", "auto", 32)
    p = LocDiffusion.paper()
    assert (p.lr, p.dropout, p.warmup_steps, p.decay_steps, p.retrieval_k, p.bottleneck) == (1e-4, 0.3, 0, None, 0, 32)
    assert LocDiffusion.paper(L=31).L == 31


def test_hybrid_searches_the_models_own_gallery(model, data):
    from shdd_geo import RetrievalHybrid
    from shdd_geo.baselines import KNNRetrieval

    X, lat, lon = data
    own = RetrievalHybrid(model, n_samples=4, sample_kwargs={"generator": 0, "steps": 4})
    knn = KNNRetrieval().fit(X, lat, lon)
    other = RetrievalHybrid(model, knn, n_samples=4, sample_kwargs={"generator": 0, "steps": 4})
    a, b = own.predict(X[:8]), other.predict(X[:8])
    np.testing.assert_allclose(a[0], b[0], atol=1e-4)  # the same gallery (locations stored as float32)
    with pytest.raises(ValueError, match="retriever"):
        RetrievalHybrid(LocDiffusion(**{**TINY, "retrieval_k": 0}))


def test_files_from_before_retrieval_load_as_embedding_only(tmp_path, data):
    from shdd_geo.model import checkpoint as ck

    X, lat, lon = data
    m = LocDiffusion(**{**TINY, "retrieval_k": 0}).fit(X, lat, lon, epochs=1)
    path = m.save(tmp_path / "old.safetensors")
    meta, tensors = ck.read_checkpoint(path)
    del meta["params"]["retrieval_k"], meta["params"]["retrieval_temperature"]
    ck.write_checkpoint(path, meta, tensors)
    back = LocDiffusion.load(path, device="cpu")
    assert back.retrieval_k == 0 and back.net_.cond_dim == 6
    np.testing.assert_array_equal(m.sample(X[:2], 2, steps=3, generator=0), back.sample(X[:2], 2, steps=3, generator=0))
