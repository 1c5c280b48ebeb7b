"""Tests of the training-timestep distribution (``LocDiffusion(timestep_power=...)``)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shdd_geo.model import LocDiffusion  # noqa: E402
from shdd_geo.model import training  # noqa: E402
from shdd_geo.model.training import draw_timesteps  # noqa: E402


def _small(**kw):
    return LocDiffusion(L=4, bottleneck=8, depth=2, time_dim=16, batch_size=16, n_anchors=64,
                        num_train_timesteps=30, random_state=0, verbose=False, **kw)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(40, 5)).astype(np.float32), rng.uniform(-60, 60, 40), rng.uniform(-180, 180, 40)


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
    kind = TypeError if isinstance(bad, (bool, str)) else ValueError  # wrong type vs wrong value
    with pytest.raises(kind, match="timestep_power"):
        _small(timestep_power=bad).fit(X, lat, lon, epochs=1)


def test_training_draws_with_the_models_power(data, monkeypatch):
    X, lat, lon = data
    seen = []
    real = training.draw_timesteps

    def spy(n, T, power, g):
        seen.append((n, T, power))
        return real(n, T, power, g)

    monkeypatch.setattr(training, "draw_timesteps", spy)
    _small(timestep_power=2.0).fit(X, lat, lon, epochs=1)
    assert seen and all(T == 30 and p == 2.0 for _, T, p in seen)
    assert [n for n, _, _ in seen] == [16, 16, 8]  # 40 rows in batches of 16
