"""Tests of the LocDiffusion estimator and its training loop (CPU, tiny)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shdd_geo.anchors import fibonacci  # noqa: E402
from shdd_geo.errors import NotFittedError  # noqa: E402
from shdd_geo.metrics import great_circle_km  # noqa: E402
from shdd_geo.model import ArrayData, LocDiffusion, NpyShards, densest_sample  # noqa: E402
from shdd_geo.model.training import iter_batches, random_anchor_basis  # noqa: E402
from shdd_geo.sh import sh_basis  # noqa: E402

TINY = dict(L=6, bottleneck=8, depth=2, time_dim=16, dropout=0.1, batch_size=32, n_anchors=256,
            num_train_timesteps=50, random_state=0, verbose=False)


def clusters(n_cond=8, d=16, n_per=64, seed=0, jitter_km=30.0):
    """Each condition (a Gaussian embedding) has 4 locations >= 3000 km apart; rows pick one."""
    rng = np.random.default_rng(seed)
    cands = fibonacci(2000)
    locs = []
    for _ in range(n_cond):
        pick = []
        while len(pick) < 4:
            j = int(rng.integers(cands.n))
            if all(great_circle_km(cands.lat[j], cands.lon[j], cands.lat[k], cands.lon[k]) > 3000 for k in pick):
                pick.append(j)
        locs.append((cands.lat[pick], cands.lon[pick]))
    emb = rng.normal(size=(n_cond, d)).astype(np.float32)
    cid = np.repeat(np.arange(n_cond), n_per)
    which = rng.integers(4, size=cid.size)
    lat = np.array([locs[c][0][w] for c, w in zip(cid, which)])
    lon = np.array([locs[c][1][w] for c, w in zip(cid, which)])
    lat = np.clip(lat + rng.normal(0, jitter_km / 111, lat.size), -90, 90)
    lon = lon + rng.normal(0, jitter_km / 111, lat.size)
    X = emb[cid] + 0.05 * rng.normal(size=(cid.size, d)).astype(np.float32)
    return X, lat, lon, emb, locs


def near_one_of(plat, plon, loc, km=750.0):
    return great_circle_km(np.asarray(plat)[..., None], np.asarray(plon)[..., None], loc[0], loc[1]).min(-1) <= km


@pytest.fixture(scope="module")
def data():
    return clusters()


@pytest.fixture(scope="module")
def tiny(data):
    X, lat, lon, _, _ = data
    return LocDiffusion(**TINY).fit(X[:128], lat[:128], lon[:128], epochs=1)


@pytest.mark.parametrize("prediction", ["sample", "v"])
def test_four_cluster_learning(data, prediction):
    """A tiny model learns 4 separated locations per condition (measured accuracy at 750 km)."""
    torch.set_num_threads(1)
    X, lat, lon, emb, locs = data
    m = LocDiffusion(L=10, bottleneck=32, depth=2, time_dim=32, dropout=0.0, batch_size=64, n_anchors=1024,
                     lr=3e-4, num_train_timesteps=100, cond_drop=0.0, prediction=prediction,
                     omega_0=30.0 if prediction == "sample" else 1.0, random_state=0, verbose=False)
    m.fit(X, lat, lon, epochs=40)  # 320 steps
    assert m.history_[-1]["train_loss"] < 0.6 * m.history_[0]["train_loss"]
    coeffs = m.sample(emb, n_samples=32, sampler="ddim", steps=20, generator=1)
    slat, slon = m._decode(coeffs, None)
    sample_acc = np.mean([near_one_of(slat[c], slon[c], locs[c]).mean() for c in range(len(locs))])
    plat, plon = m.predict(emb, n_samples=16, point="densest", generator=2)
    mode_acc = np.mean([near_one_of(plat[c], plon[c], locs[c]) for c in range(len(locs))])
    # measured: 1.000 and 1.000 (DDPM-100: samples 1.000) for "sample" and for "v" (omega_0 = 1);
    # a model ignoring the condition scores ~0.25
    assert sample_acc >= 0.9, sample_acc
    assert mode_acc >= 0.9, mode_acc
    # the samples spread over several of the 4 locations, not one
    hits = [(great_circle_km(slat[c][:, None], slon[c][:, None], locs[c][0], locs[c][1]) <= 750).any(0).sum()
            for c in range(len(locs))]
    assert np.mean(hits) >= 2.5, hits


def test_not_fitted_errors():
    m = LocDiffusion(L=4)
    for call in (lambda: m.sample(np.zeros((1, 3))), lambda: m.predict(np.zeros((1, 3))), lambda: m.save("x")):
        with pytest.raises(NotFittedError, match="fit"):
            call()


def test_hyperparameters_stored_unchanged_and_validated():
    m = LocDiffusion(L=5, betas=(0.8, 0.9), coeff_scale=2.0)
    assert m.get_params()["betas"] == (0.8, 0.9) and m.coeff_scale == 2.0
    assert "L=5" in repr(m)
    X, lat, lon = np.zeros((4, 2)), np.zeros(4), np.zeros(4)
    for bad, match in ((dict(loss="huber"), "loss"), (dict(L=0), "`L`"), (dict(coeff_scale=-1.0), "coeff_scale"),
                       (dict(dropout=1.0), "dropout"), (dict(batch_size=0), "batch_size"),
                       (dict(prediction="epsilon"), "`prediction` must be one of")):
        with pytest.raises(ValueError, match=match):
            LocDiffusion(**{**TINY, **bad}).fit(X, lat, lon, epochs=1)
    with pytest.raises(ValueError, match="unknown parameter"):
        m.set_params(foo=1)
    with pytest.raises(TypeError):
        LocDiffusion(5)  # keyword-only


def test_bad_training_inputs(data):
    X, lat, lon, _, _ = data
    m = LocDiffusion(**TINY)
    Xn = X[:40].copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"`X` must be finite.*row 3"):
        m.fit(Xn, lat[:40], lon[:40])
    with pytest.raises(ValueError, match="`X` is empty"):
        m.fit(X[:0], lat[:0], lon[:0])
    with pytest.raises(ValueError, match="2-D"):
        m.fit(X[0], lat[:1], lon[:1])
    with pytest.raises(ValueError, match="rows"):
        m.fit(X[:40], lat[:39], lon[:39])
    with pytest.raises(ValueError, match="`lat` must be within"):
        m.fit(X[:2], [95.0, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="epochs"):
        m.fit(X[:40], lat[:40], lon[:40], epochs=0)
    with pytest.raises(ValueError, match="X_val"):
        m.fit(X[:40], lat[:40], lon[:40], X_val=X[:5, :3], lat_val=lat[:5], lon_val=lon[:5])
    with pytest.raises(TypeError, match="numeric"):
        m.fit(np.array([["a", "b"]]), [0.0], [0.0])


def test_bad_prediction_inputs(tiny, data):
    X = data[0]
    with pytest.raises(ValueError, match="has 5 features but the model was fitted with 16"):
        tiny.sample(X[:2, :5])
    bad = X[:2].copy()
    bad[1, 0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        tiny.predict(bad)
    with pytest.raises(ValueError, match="empty"):
        tiny.sample(X[:0])
    with pytest.raises(ValueError, match="point"):
        tiny.predict(X[:1], point="mean")
    with pytest.raises(ValueError, match="sampler"):
        tiny.sample(X[:1], sampler="euler")
    with pytest.raises(ValueError, match="n_samples"):
        tiny.sample(X[:1], n_samples=0)
    with pytest.raises(TypeError, match="generator"):
        tiny.sample(X[:1], generator="seed")
    m = LocDiffusion(**{**TINY, "cond_drop": 0.0}).fit(X[:32], data[1][:32], data[2][:32], epochs=1)
    with pytest.raises(ValueError, match="cond_drop"):
        m.sample(X[:1], guidance_scale=2.0)


def test_sample_shapes_determinism_and_guidance(tiny, data):
    X = data[0][:3]
    a = tiny.sample(X, n_samples=4, steps=5, generator=7)
    assert a.shape == (3, 4, 49) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, tiny.sample(X, n_samples=4, steps=5, generator=7))
    assert not np.array_equal(a, tiny.sample(X, n_samples=4, steps=5, generator=8))
    b = tiny.sample(X, n_samples=4, steps=5, sampler="ddpm", generator=7)
    assert b.shape == a.shape and not np.array_equal(a, b)
    g = tiny.sample(X, n_samples=4, steps=5, generator=7, guidance_scale=3.0)
    assert g.shape == a.shape and not np.allclose(a, g)
    # chunked denoising: same shape, reproducible for a given chunk size
    c = tiny.sample(X, n_samples=4, steps=5, generator=7, max_batch=5)
    assert c.shape == a.shape
    np.testing.assert_array_equal(c, tiny.sample(X, n_samples=4, steps=5, generator=7, max_batch=5))


@pytest.mark.parametrize("kw", [{}, {"sampler": "ddpm"}, {"eta": 0.5}, {"max_batch": 3}, {"init": "noise"}])
def test_one_generator_per_condition_gives_each_condition_its_solo_samples(tiny, data, kw):
    """A sequence of seeds: condition i's samples are those of sample(X[i:i+1], generator=seed_i), up to
    float rounding (the network and the retrieval prior see bigger batches), whether the chains run as one
    batch (DDIM, eta 0) or one condition at a time (stochastic steps)."""
    X = data[0][:4]
    seeds = [3, 3, 11, 0]
    tol = 1e-4
    many = tiny.sample(X, n_samples=5, steps=4, generator=seeds, **kw)
    for i, s in enumerate(seeds):
        solo = tiny.sample(X[i : i + 1], n_samples=5, steps=4, generator=s, **kw)[0]
        np.testing.assert_allclose(many[i], solo, rtol=0, atol=tol)
    assert not np.allclose(many[0], tiny.sample(X[:1], n_samples=5, steps=4, generator=4, **kw)[0])
    gens = tiny.sample(X, n_samples=5, steps=4, generator=[torch.Generator().manual_seed(s) for s in seeds], **kw)
    for i, s in enumerate(seeds):
        solo = tiny.sample(X[i : i + 1], n_samples=5, steps=4, generator=torch.Generator().manual_seed(s), **kw)
        np.testing.assert_allclose(gens[i], solo[0], rtol=0, atol=tol)
    with pytest.raises(ValueError, match="`generator` has 3 entries but `X` has 4 rows"):
        tiny.sample(X, n_samples=2, steps=2, generator=[1, 2, 3])
    with pytest.raises(TypeError, match="`generator` must be"):
        tiny.sample(X, n_samples=2, steps=2, generator="seed")
    with pytest.raises(TypeError, match="`generator` must be"):
        tiny.sample(X, n_samples=2, steps=2, generator=[1, 2.5, 3, 4])


@pytest.mark.parametrize("point", ["centre", "densest", "median"])
def test_predict_points(tiny, data, point):
    lat, lon = tiny.predict(data[0][:3], n_samples=4, point=point, steps=5, generator=0)
    assert lat.shape == lon.shape == (3,)
    assert np.all(np.abs(lat) <= 90) and np.all((lon >= -180) & (lon < 180))


def test_predict_point_mode_is_a_deprecated_alias_of_densest(tiny, data):
    with pytest.warns(DeprecationWarning, match="point='densest'"):
        old = tiny.predict(data[0][:3], n_samples=4, point="mode", steps=5, generator=0)
    new = tiny.predict(data[0][:3], n_samples=4, point="densest", steps=5, generator=0)
    np.testing.assert_array_equal(old, new)


def test_fit_is_seeded_and_leaves_global_rng_alone(data):
    X, lat, lon, _, _ = data
    torch.manual_seed(123)
    before = torch.get_rng_state()
    m1 = LocDiffusion(**TINY).fit(X[:64], lat[:64], lon[:64], epochs=2)
    assert torch.equal(torch.get_rng_state(), before)
    m2 = LocDiffusion(**TINY).fit(X[:64], lat[:64], lon[:64], epochs=2)
    m3 = LocDiffusion(**{**TINY, "random_state": 1}).fit(X[:64], lat[:64], lon[:64], epochs=2)
    for (k, p1), p2, p3 in zip(m1.net_.state_dict().items(), m2.net_.state_dict().values(), m3.net_.state_dict().values()):
        assert torch.equal(p1, p2), k
    assert not all(torch.equal(p1, p3) for p1, p3 in zip(m1.net_.parameters(), m3.net_.parameters()))
    assert [h["train_loss"] for h in m1.history_] == [h["train_loss"] for h in m2.history_]


@pytest.mark.parametrize("loss", ["l1", "l2", "cosine"])
def test_ablation_losses_train(data, loss):
    X, lat, lon, _, _ = data
    m = LocDiffusion(**{**TINY, "loss": loss}).fit(X[:64], lat[:64], lon[:64], epochs=2)
    assert all(np.isfinite(h["train_loss"]) for h in m.history_)


def test_validation_metrics_each_epoch(data):
    X, lat, lon, _, _ = data
    m = LocDiffusion(**TINY).fit(X[:64], lat[:64], lon[:64], X_val=X[64:70], lat_val=lat[64:70],
                                 lon_val=lon[64:70], epochs=2)
    assert len(m.history_) == 2
    for h in m.history_:
        assert 0.0 <= h["val_acc_750km"] <= 1.0 and h["val_median_km"] >= 0 and h["val_n"] == 6


def test_iter_batches_visit_every_row_once():
    rng = np.random.default_rng(0)
    sizes = [5, 0, 13, 7]
    got = list(iter_batches(sizes, 4, rng))
    assert [s.size for s, _ in got] == [4] * 6 + [1]
    pairs = sorted(zip(np.concatenate([s for s, _ in got]).tolist(), np.concatenate([r for _, r in got]).tolist()))
    assert pairs == sorted((s, r) for s, n in enumerate(sizes) for r in range(n))


def test_npy_shards_stream_and_match_arrays(tmp_path, data):
    X, lat, lon, _, _ = data
    X, lat, lon = X[:96], lat[:96], lon[:96]
    np.save(tmp_path / "emb.npy", X)
    np.save(tmp_path / "pts.npy", np.stack([lat, lon], 1))
    one = NpyShards([tmp_path / "emb.npy"], [tmp_path / "pts.npy"])
    assert isinstance(one._emb[0], np.memmap)
    a = LocDiffusion(**TINY).fit(X, lat, lon, epochs=2)
    b = LocDiffusion(**TINY).fit(one, epochs=2)
    for p, q in zip(a.net_.parameters(), b.net_.parameters()):
        assert torch.equal(p, q)
    paths = []
    for i, sl in enumerate((slice(0, 40), slice(40, 96))):
        np.save(tmp_path / f"e{i}.npy", X[sl])
        np.save(tmp_path / f"p{i}.npy", np.stack([lat[sl], lon[sl]], 1))
        paths.append((tmp_path / f"e{i}.npy", tmp_path / f"p{i}.npy"))
    two = NpyShards([e for e, _ in paths], [p for _, p in paths])
    assert two.shard_sizes == [40, 56] and two.n_features == 16
    m = LocDiffusion(**TINY).fit(two, epochs=1)
    assert m.history_[0]["step"] == 3
    with pytest.raises(ValueError, match="inside the data source"):
        LocDiffusion(**TINY).fit(two, lat, lon)
    with pytest.raises(ValueError, match=r"shape \(40, 2\)"):
        NpyShards([paths[0][0]], [paths[1][1]])
    with pytest.raises(TypeError, match="sequences"):
        NpyShards(paths[0][0], paths[0][1])
    bad = X[:8].copy()
    bad[2] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    np.save(tmp_path / "badp.npy", np.zeros((8, 2)))
    with pytest.raises(ValueError, match="bad.npy"):
        LocDiffusion(**TINY).fit(NpyShards([tmp_path / "bad.npy"], [tmp_path / "badp.npy"]), epochs=1)


def test_random_anchor_basis_is_uniform_and_exact():
    g = torch.Generator().manual_seed(0)
    A = random_anchor_basis(20000, 3, g, "cpu", dtype=torch.float64)
    # uniform on the sphere: every non-constant Y_lm averages to 0 (bound 5/sqrt(n) * sd)
    means = A.mean(0).numpy()
    sd = 1 / np.sqrt(4 * np.pi)
    assert abs(means[0] - sd) < 1e-12
    assert np.all(np.abs(means[1:]) < 5 * sd * 2 / np.sqrt(20000))
    g = torch.Generator().manual_seed(0)
    u = torch.rand(2, 20000, generator=g, dtype=torch.float64)
    lat = np.degrees(np.arcsin(2 * u[0].numpy() - 1))
    lon = 360 * u[1].numpy() - 180
    np.testing.assert_allclose(A.numpy(), sh_basis(lat, lon, 3), atol=1e-12)


def test_densest_sample_brute_force():
    rng = np.random.default_rng(0)
    L = 6
    lat = rng.uniform(-60, 60, (3, 5))
    lon = rng.uniform(-180, 180, (3, 5))
    coeffs = sh_basis(lat.ravel(), lon.ravel(), L).reshape(3, 5, -1) * rng.uniform(0.5, 1.5, (3, 5, 1))
    got = densest_sample(coeffs, lat, lon, n_anchors=4000)
    grid = fibonacci(4000)
    A = sh_basis(grid.lat, grid.lon, L)
    for b in range(3):
        score = []
        for j in range(5):
            tot = 0.0
            for k in range(5):
                z = np.sum(np.exp(A @ coeffs[b, k]) * grid.weights)
                tot += np.exp(sh_basis([lat[b, j]], [lon[b, j]], L)[0] @ coeffs[b, k]) / z
            score.append(tot)
        assert got[b] == int(np.argmax(score))


def test_densest_sample_chunks_equal_one_batch():
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(-60, 60, (7, 4)), rng.uniform(-180, 180, (7, 4))
    coeffs = sh_basis(lat.ravel(), lon.ravel(), 5).reshape(7, 4, -1) * rng.uniform(0.5, 1.5, (7, 4, 1))
    coeffs += 0.3 * rng.standard_normal(coeffs.shape)
    whole = densest_sample(coeffs, lat, lon)
    for max_floats in (1, 2048 * 4 * 3):  # one row per chunk, then chunks of 3 rows and a remainder
        np.testing.assert_array_equal(densest_sample(coeffs, lat, lon, max_floats=max_floats), whole)
    assert len(set(whole.tolist())) > 1  # not a constant answer that any chunking would reproduce


def test_array_data_accepts_memmap(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 2), np.float32))
    d = ArrayData(np.load(tmp_path / "x.npy", mmap_mode="r"), [0, 1, 2], [0, 0, 0])
    assert isinstance(d.X, np.memmap) and d.read(0, np.array([0, 2]))[0].shape == (2, 2)


def test_predict_field_mixture_and_mean(tiny, data):
    pytest.importorskip("healpy")
    from shdd_geo.fields import SphericalField
    from shdd_geo.codec import log_density
    from shdd_geo.anchors import healpix

    X = data[0][:2]
    f = tiny.predict_field(X, nside=8, n_samples=3, steps=4, generator=0)
    assert isinstance(f, SphericalField) and len(f) == 2 and f.nside == 8
    np.testing.assert_allclose(f.integral(), 1.0, atol=1e-9)
    # brute-force twin: mean over samples of the normalised sample densities at the pixels
    coeffs = tiny.sample(X, 3, steps=4, generator=0).astype(np.float64)
    pix = healpix(8)
    dens = np.exp(log_density(coeffs.reshape(6, -1), pix)).reshape(2, 3, -1).mean(1) / pix.weights
    np.testing.assert_allclose(f.density, dens, rtol=1e-6)
    g = tiny.predict_field(X, nside=8, n_samples=3, kind="mean", steps=4, generator=0)
    assert len(g) == 2 and not np.allclose(g.density, f.density)
    with pytest.raises(ValueError, match="kind"):
        tiny.predict_field(X, kind="max")


def test_temperature_calibration_widens_and_round_trips(tiny, data, tmp_path):
    import copy

    X, lat, lon = data[0], data[1], data[2]
    m = copy.deepcopy(tiny)
    f1 = m.predict_field(X[:3], nside=16, n_samples=4, steps=5, generator=0, temperature=1.0)
    f4 = m.predict_field(X[:3], nside=16, n_samples=4, steps=5, generator=0, temperature=4.0)
    assert np.all(f4.entropy() > f1.entropy())  # a hotter density is wider
    assert f4.attrs["temperature"] == 4.0
    m.calibrate(X[:40], lat[:40], lon[:40], temperatures=(0.5, 1.0, 4.0), n_samples=4, nside=16)
    assert set(m.calibration_) == {0.5, 1.0, 4.0}
    assert m.temperature_ == max(m.calibration_, key=m.calibration_.get)
    assert m.predict_field(X[:1], nside=16, n_samples=2, steps=5).attrs["temperature"] == m.temperature_
    path = m.save(tmp_path / "m.safetensors")
    assert type(m).load(path).temperature_ == m.temperature_
    with pytest.raises(ValueError, match="`temperatures`"):
        m.calibrate(X[:4], lat[:4], lon[:4], temperatures=(0.0,))
    with pytest.raises(ValueError, match="`temperature`"):
        m.predict_field(X[:1], nside=16, n_samples=2, steps=5, temperature=-1.0)


def test_lr_schedule_warmup_and_cosine_decay():
    from shdd_geo.model.training import lr_factor

    assert lr_factor(0, warmup=10, decay=None) == pytest.approx(0.1)
    assert lr_factor(9, warmup=10, decay=100) == 1.0
    assert lr_factor(10, warmup=10, decay=100) == pytest.approx(1.0)
    assert lr_factor(60, warmup=10, decay=100) == pytest.approx(0.525)
    assert lr_factor(110, warmup=10, decay=100) == pytest.approx(0.05)
    assert lr_factor(10**6, warmup=10, decay=100) == pytest.approx(0.05)
    assert lr_factor(500, warmup=0, decay=None) == 1.0
    with pytest.raises(ValueError, match="`decay_steps`"):
        LocDiffusion(decay_steps=0).fit(np.zeros((4, 2), np.float32), [0, 0, 0, 0], [0, 0, 0, 0], epochs=1)


def test_parquet_shards_stream_and_match_arrays(tmp_path, data):
    from shdd_geo.model import ParquetShards

    X, lat, lon, _, _ = data
    X, lat, lon = X[:96], lat[:96], lon[:96]
    one = ParquetShards.write(tmp_path / "one", X, lat, lon)
    a = LocDiffusion(**TINY).fit(X, lat, lon, epochs=2)
    b = LocDiffusion(**TINY).fit(one, epochs=2)
    for p, q in zip(a.net_.parameters(), b.net_.parameters()):
        assert torch.equal(p, q)  # same rows, same order, same model as the in-memory arrays
    three = ParquetShards.write(tmp_path / "three", X, lat, lon, rows_per_shard=40)
    assert three.shard_sizes == [40, 40, 16] and three.n_features == 16
    three.read(0, np.arange(3)), three.read(2, np.arange(3))
    assert len(three._decoded) == 1  # only `cache` decoded shards stay in memory
    m = LocDiffusion(**TINY).fit(three, epochs=1)
    assert m.history_[0]["step"] == 3
    # a list column (what pandas/pyarrow write by default) works too, with other column names
    import pandas as pd

    pd.DataFrame({"clip": list(X[:8].astype(np.float64)), "LAT": lat[:8], "LON": lon[:8]}).to_parquet(tmp_path / "l.parquet")
    d = ParquetShards([tmp_path / "l.parquet"], embedding="clip", lat="LAT", lon="LON")
    np.testing.assert_array_equal(d.read(0, np.arange(8))[0], X[:8])
    with pytest.raises(ValueError, match=r"no column\(s\) \['embedding', 'lat', 'lon'\]"):
        ParquetShards([tmp_path / "l.parquet"])
    with pytest.raises(TypeError, match="sequence"):
        ParquetShards(tmp_path / "l.parquet")
    with pytest.raises(ValueError, match="inside the data source"):
        LocDiffusion(**TINY).fit(three, lat, lon)
    bad = X[:8].copy()
    bad[2] = np.nan
    with pytest.raises(ValueError, match="must be finite"):  # write() validates
        ParquetShards.write(tmp_path / "bad", bad, lat[:8], lon[:8])
    pd.DataFrame({"embedding": list(bad), "lat": lat[:8], "lon": lon[:8]}).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="NaN/inf embeddings"):  # read() checks what others wrote
        LocDiffusion(**TINY).fit(ParquetShards([tmp_path / "bad.parquet"]), epochs=1)


def test_calibration_with_a_coverage_floor(tiny, data):
    """min_coverage keeps only temperatures whose 90 % regions cover enough truths (brute-force
    check with calibration.coverage on the same samples)."""
    import copy

    from shdd_geo.calibration import coverage

    X, lat, lon = data[0][:40], data[1][:40], data[2][:40]
    m = copy.deepcopy(tiny)
    temps = (0.25, 1.0, 4.0, 16.0)
    m.calibrate(X, lat, lon, temperatures=temps, n_samples=4, nside=16, min_coverage=0.8, steps=5,
                conformal=False)  # every row chooses the temperature (the brute force uses them all)
    coeffs = m.sample(X, 4, generator=0, steps=5)
    cov = {t: coverage(m.field_from_samples(coeffs, nside=16, temperature=t), lat, lon, levels=(0.9,))[0.9]
           for t in temps}
    assert m.calibration_coverage_ == pytest.approx(cov)
    ok = [t for t in temps if cov[t] >= 0.8]
    expected = max(ok, key=m.calibration_.get) if ok else max(cov, key=cov.get)
    assert m.temperature_ == expected
    assert cov[16.0] >= cov[0.25]  # hotter regions are wider and cover more
    with pytest.raises(ValueError, match="`min_coverage`"):
        m.calibrate(X, lat, lon, min_coverage=1.5)


def test_field_from_samples_in_chunks_equals_one_batch(monkeypatch):
    """Maps of many conditions are built a chunk of conditions at a time (bounded memory): same values."""
    import shdd_geo.model.locdiffusion as ld
    from shdd_geo import encode

    rng = np.random.default_rng(0)
    c = encode(rng.uniform(-80, 80, 30), rng.uniform(-180, 180, 30), L=6).reshape(5, 6, -1)
    whole = LocDiffusion.field_from_samples(c, nside=8).log_density
    monkeypatch.setattr(ld, "_FIELD_CHUNK_VALUES", 6 * 768 * 2)  # two conditions per chunk
    np.testing.assert_array_equal(LocDiffusion.field_from_samples(c, nside=8).log_density, whole)
