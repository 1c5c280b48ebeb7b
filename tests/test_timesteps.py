"""Tests of the training-timestep distribution (``LocDiffusion(timestep_power=...)``)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shdd_geo.model import LocDiffusion  # noqa: E402
from shdd_geo.model import checkpoint as ck  # noqa: E402
from shdd_geo.model import training  # noqa: E402
from shdd_geo.model.training import draw_timesteps  # noqa: E402

TINY = dict(L=5, bottleneck=8, depth=2, time_dim=16, dropout=0.2, batch_size=16, n_anchors=128,
            num_train_timesteps=30, cond_drop=0.2, warmup_steps=3, random_state=3, verbose=False)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(72, 6)).astype(np.float32)
    return X, rng.uniform(-70, 70, 72), rng.uniform(-180, 180, 72)


def _same_weights(a, b):
    sa, sb = a.net_.state_dict(), b.net_.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_power_one_is_the_uniform_draw_bit_for_bit():
    a = draw_timesteps(1000, 50, 1.0, torch.Generator().manual_seed(7))
    b = torch.randint(0, 50, (1000,), generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


@pytest.mark.parametrize("power", [0.5, 2.0, 3.0])
def test_draws_follow_the_density_t_to_the_power_minus_one(power):
    T, n = 40, 400_000
    t = draw_timesteps(n, T, power, torch.Generator().manual_seed(0)).numpy()
    assert t.dtype == np.int64 and t.min() >= 0 and t.max() <= T - 1
    # brute force: P(t = k) = ((k + 1) / T) ** p - (k / T) ** p, term by term
    k = np.arange(T, dtype=np.float64)
    exact = np.array([((kk + 1) / T) ** power - (kk / T) ** power for kk in k])
    assert exact.sum() == pytest.approx(1.0)
    freq = np.bincount(t, minlength=T) / n
    # binomial standard error of each frequency; 5 sigma leaves no room for a wrong law
    se = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(freq - exact) < 5 * se + 1e-12), np.max(np.abs(freq - exact) / se)
    # and the density really rises (power > 1) or falls (power < 1) with t
    assert (freq[-5:].mean() > freq[:5].mean()) == (power > 1)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "2"])
def test_bad_power_is_refused_naming_the_argument(data, bad):
    X, lat, lon = data
    with pytest.raises(ValueError, match="timestep_power"):
        LocDiffusion(**{**TINY, "timestep_power": bad}).fit(X, lat, lon, epochs=1)


def test_training_draws_with_the_models_power(data, monkeypatch):
    X, lat, lon = data
    seen = []
    real = training.draw_timesteps

    def spy(n, T, power, g):
        seen.append((n, T, power))
        return real(n, T, power, g)

    monkeypatch.setattr(training, "draw_timesteps", spy)
    LocDiffusion(**{**TINY, "timestep_power": 2.0}).fit(X, lat, lon, epochs=1)
    assert seen and all(T == 30 and p == 2.0 for _, T, p in seen)
    assert [n for n, _, _ in seen] == [16, 16, 16, 16, 8]


def test_power_round_trips_resumes_and_old_files_mean_uniform(tmp_path, data):
    X, lat, lon = data
    kw = {**TINY, "timestep_power": 2.0}
    full = LocDiffusion(**kw).fit(X, lat, lon, epochs=2)
    assert not _same_weights(full, LocDiffusion(**TINY).fit(X, lat, lon, epochs=2))  # it changes training
    ckpt = tmp_path / "p2.safetensors"
    LocDiffusion(**kw).fit(X, lat, lon, epochs=2, checkpoint=ckpt, checkpoint_every=1, max_steps=6)
    assert _same_weights(full, LocDiffusion(**kw).fit(X, lat, lon, epochs=2, resume=ckpt))
    assert LocDiffusion.load(full.save(tmp_path / "m.safetensors"), device="cpu").timestep_power == 2.0
    with pytest.raises(ValueError, match="timestep_power"):  # resumed with another law: refused
        LocDiffusion(**TINY).fit(X, lat, lon, epochs=2, resume=ckpt)
    # files written before the option hold no key: they were trained with uniform timesteps
    old = tmp_path / "old.safetensors"
    uniform = LocDiffusion(**TINY).fit(X, lat, lon, epochs=2)
    LocDiffusion(**TINY).fit(X, lat, lon, epochs=2, checkpoint=old, checkpoint_every=1, max_steps=6)
    meta, tensors = ck.read_checkpoint(old)
    del meta["params"]["timestep_power"]
    ck.write_checkpoint(old, meta, tensors)
    assert LocDiffusion.load(old, device="cpu").timestep_power == 1.0
    assert _same_weights(uniform, LocDiffusion(**TINY).fit(X, lat, lon, epochs=2, resume=old))
