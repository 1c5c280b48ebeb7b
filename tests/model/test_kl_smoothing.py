"""The KL curriculum (``kl_smoothing_km`` / ``kl_smoothing_steps``): weights, loss, training, resume."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shdd_geo import anchors, codec
from shdd_geo.coords import EARTH_RADIUS_KM
from shdd_geo.filters import lowpass
from shdd_geo.model import LocDiffusion
from shdd_geo.model import checkpoint as ck
from shdd_geo.model.training import kl_smoothing_weights

TINY = {"L": 5, "bottleneck": 8, "depth": 2, "time_dim": 16, "dropout": 0.2, "batch_size": 16, "n_anchors": 128,
        "random_state": 0, "verbose": False, "device": "cpu", "kl_smoothing_km": 1500.0, "kl_smoothing_steps": 8}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(80, 6)).astype(np.float32), rng.uniform(-70, 70, 80), rng.uniform(-180, 180, 80)


def test_weights_follow_the_heat_kernel_and_vanish_at_the_end():
    L, km, n = 7, 2000.0, 10
    ls = np.concatenate([np.full(2 * l + 1, l) for l in range(L + 1)])
    for step in (0, 3, 9):
        sigma = km / EARTH_RADIUS_KM * (1 - step / n)
        expect = np.exp(-ls * (ls + 1) * sigma**2 / 2)  # written out per coefficient, no helper
        np.testing.assert_allclose(kl_smoothing_weights(L, km, step, n).numpy(), expect, rtol=1e-12)
    np.testing.assert_array_equal(kl_smoothing_weights(L, km, n, n).numpy(), np.ones((L + 1) ** 2))
    w = [kl_smoothing_weights(L, km, s, n).numpy()[-1] for s in range(n + 1)]
    assert np.all(np.diff(w) > 0) and w[0] < 0.1  # sharpens step by step


def test_windowed_basis_equals_kl_of_lowpass_filtered_densities():
    """Brute-force twin: weighting the anchor basis is the KL of both vectors low-passed by the taper."""
    L = 8
    rng = np.random.default_rng(1)
    pred = rng.normal(size=(5, (L + 1) ** 2))
    target = codec.encode(rng.uniform(-80, 80, 5), rng.uniform(-180, 180, 5), L)
    basis = anchors.fibonacci(3000).basis(L)
    w = kl_smoothing_weights(L, 1200.0, 2, 10).numpy()
    per_degree = w[[l * l for l in range(L + 1)]]
    fast = codec.kl_loss(pred, target, basis * w)
    twin = codec.kl_loss(lowpass(pred, taper=per_degree), lowpass(target, taper=per_degree), basis)
    np.testing.assert_allclose(fast, twin, rtol=1e-10, atol=1e-12)
    assert np.all(fast < codec.kl_loss(pred, target, basis))  # smoothing brings the densities closer


def test_training_uses_the_smoothed_loss_only_early(data, monkeypatch):
    X, lat, lon = data
    one = {**TINY, "batch_size": len(X)}  # one step per epoch
    plain = {**one, "kl_smoothing_km": 0.0, "kl_smoothing_steps": 0}
    one_s = LocDiffusion(**one).fit(X, lat, lon, epochs=1).history_[-1]["train_loss"]
    one_p = LocDiffusion(**plain).fit(X, lat, lon, epochs=1).history_[-1]["train_loss"]
    assert one_s < 0.5 * one_p  # same weights, same batch: only the comparison was smoothed
    # the weights are applied at steps 0 and 1 of a 2-step curriculum, then never again
    from shdd_geo.model import training

    seen = []
    real = training.kl_smoothing_weights
    monkeypatch.setattr(training, "kl_smoothing_weights", lambda *a: seen.append(a[2]) or real(*a))
    h = LocDiffusion(**{**one, "kl_smoothing_steps": 2}).fit(X, lat, lon, epochs=4).history_
    assert seen == [0, 1] and len(h) == 4 and np.all(np.isfinite([r["train_loss"] for r in h]))


def test_resume_inside_the_curriculum_is_bit_for_bit(tmp_path, data):
    X, lat, lon = data
    full = LocDiffusion(**TINY).fit(X, lat, lon, epochs=3)  # 15 steps, smoothing over the first 8
    ckpt = tmp_path / "run.safetensors"
    LocDiffusion(**TINY).fit(X, lat, lon, epochs=3, checkpoint=ckpt, checkpoint_every=1, max_steps=4)
    assert ck.read_checkpoint(ckpt)[0]["train"]["state"]["step"] == 4
    resumed = LocDiffusion(**TINY).fit(X, lat, lon, epochs=3, resume=ckpt)
    for a, b in zip(full.net_.state_dict().values(), resumed.net_.state_dict().values()):
        assert torch.equal(a, b)
    assert resumed.get_params()["kl_smoothing_km"] == 1500.0


@pytest.mark.parametrize("kw, match", [
    ({"kl_smoothing_km": -1.0, "kl_smoothing_steps": 5}, "kl_smoothing_km"),
    ({"kl_smoothing_km": float("nan"), "kl_smoothing_steps": 5}, "kl_smoothing_km"),
    ({"kl_smoothing_km": 500.0, "kl_smoothing_steps": 2.5}, "kl_smoothing_steps"),  # TypeError (a float)
    ({"kl_smoothing_km": 500.0, "kl_smoothing_steps": 0}, "set both"),
    ({"kl_smoothing_km": 0.0, "kl_smoothing_steps": 10}, "set both"),
    ({"kl_smoothing_km": 500.0, "kl_smoothing_steps": 10, "loss": "l2"}, "only applies"),
])
def test_bad_curriculum_settings_name_the_argument(data, kw, match):
    X, lat, lon = data
    kind = TypeError if isinstance(kw["kl_smoothing_steps"], float) else ValueError
    with pytest.raises(kind, match=match):
        LocDiffusion(**{**TINY, **kw}).fit(X, lat, lon, epochs=1)
