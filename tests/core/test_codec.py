"""Tests of shdd_geo.codec: KL loss, log-densities, L1/L2/cosine, torch/NumPy agreement, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from shdd_geo import anchors as A
from shdd_geo.codec import LOSSES, encode, evaluate, kl_loss, log_density, loss, shdd_kl
from shdd_geo.coords import latlon_to_xyz
from shdd_geo.sh import zonal_kernel


def _pts(n, seed):
    rng = np.random.default_rng(seed)
    return np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(-180, 180, n)


def test_evaluate_is_the_zonal_kernel():
    lat, lon = _pts(20, 0)
    e = encode(lat[:5], lon[:5], 12)
    cos = latlon_to_xyz(lat[:5], lon[:5]) @ latlon_to_xyz(lat, lon).T
    np.testing.assert_allclose(evaluate(e, lat, lon), zonal_kernel(cos, 12), atol=1e-11)


@pytest.mark.parametrize("L", [5, 15])
def test_kl_nonnegative_and_zero_at_truth(L):
    rng = np.random.default_rng(L)
    an = A.fibonacci(2048)
    lat, lon = _pts(50, L)
    noisy = encode(lat, lon, L) + rng.normal(0, 0.5, (50, (L + 1) ** 2))
    assert np.all(shdd_kl(noisy, lat, lon, an) > 0)
    assert np.all(shdd_kl(rng.normal(size=(50, (L + 1) ** 2)), lat, lon, an) > 0)
    np.testing.assert_allclose(shdd_kl(encode(lat, lon, L), lat, lon, an), 0, atol=1e-12)
    # the KL grows with the distance to the truth
    d = [float(shdd_kl(encode([0.0], [x], L), [0.0], [0.0], an)[0]) for x in (1, 5, 20)]
    assert d[0] < d[1] < d[2]


def test_log_density_normalised_and_matches_brute_force():
    an = A.grid(10.0)  # unequal weights
    e = encode([10.0, -50.0], [20.0, 170.0], 6)
    lq = log_density(e, an)
    np.testing.assert_allclose(np.exp(lq).sum(1), 1.0, rtol=1e-12)
    logits = evaluate(e, an.lat, an.lon) + np.log(an.weights)
    brute = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    np.testing.assert_allclose(lq, brute, rtol=1e-12)
    # never overflows: L = 100 peaks at f = 813
    assert np.isfinite(log_density(encode([0.0], [0.0], 100), A.fibonacci(500))).all()


def test_kl_loss_brute_force_with_weights():
    rng = np.random.default_rng(3)
    an = A.grid(15.0)
    basis = an.basis(4)
    p, t = rng.normal(size=(3, 25)), rng.normal(size=(3, 25))
    q = np.exp(p @ basis.T) * an.weights
    q /= q.sum(1, keepdims=True)
    r = np.exp(t @ basis.T) * an.weights
    r /= r.sum(1, keepdims=True)
    np.testing.assert_allclose(kl_loss(p, t, basis, an.log_weights), (q * np.log(q / r)).sum(1), rtol=1e-10)


def test_l1_l2_cosine():
    a = np.array([[1.0, 2.0, 3.0, 4.0]])
    b = np.array([[1.0, 0.0, 3.0, 0.0]])
    assert loss(a, b, "l1")[0] == pytest.approx(1.5)
    assert loss(a, b, "l2")[0] == pytest.approx(5.0)
    assert loss(a, b, "cosine")[0] == pytest.approx(1 - 10 / (np.sqrt(30) * np.sqrt(10)))
    assert loss(a, -a, "cosine")[0] == pytest.approx(2.0)
    assert loss(a, a, "cosine")[0] == pytest.approx(0.0, abs=1e-15)
    assert set(LOSSES) == {"kl", "l1", "l2", "cosine"}


@pytest.mark.parametrize("kind", LOSSES)
def test_torch_float32_matches_numpy(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    L = 10
    an = A.fibonacci(1024)
    basis = an.basis(L)
    p = encode(*_pts(8, 5), L) + rng.normal(0, 0.3, (8, (L + 1) ** 2))
    t = encode(*_pts(8, 6), L)
    ref = loss(p, t, kind, basis=basis)
    f32 = lambda x: torch.tensor(x, dtype=torch.float32)
    got = loss(f32(p), f32(t), kind, basis=f32(basis)).numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def test_torch_evaluate_and_log_density_match_numpy():
    torch = pytest.importorskip("torch")
    e = encode([10.0, 20.0], [30.0, -40.0], 8)
    an = A.fibonacci(300)
    np.testing.assert_allclose(
        log_density(torch.tensor(e, dtype=torch.float32), an).numpy(), log_density(e, an), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        evaluate(torch.tensor(e), [0.0, 1.0], [2.0, 3.0]).numpy(), evaluate(e, [0.0, 1.0], [2.0, 3.0]), rtol=1e-12
    )


def test_gradients_flow_through_torch_loss():
    torch = pytest.importorskip("torch")
    L = 4
    an = A.fibonacci(256)
    basis = torch.tensor(an.basis(L))
    target = torch.tensor(encode([10.0], [20.0], L))
    pred = torch.tensor(np.random.default_rng(0).normal(size=(1, 25)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: kl_loss(x, target, basis).sum(), (pred,))
    for kind in LOSSES:
        x = pred.detach().clone().requires_grad_(True)
        loss(x, target, kind, basis=basis).sum().backward()
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # shdd_kl on tensors too
    x = pred.detach().clone().requires_grad_(True)
    shdd_kl(x, [10.0], [20.0], an).sum().backward()
    assert x.grad.abs().sum() > 0


def test_bad_input():
    an = A.fibonacci(100)
    with pytest.raises(ValueError, match="`kind`"):
        loss(np.zeros((1, 4)), np.zeros((1, 4)), "huber")
    with pytest.raises(ValueError, match="`basis`"):
        loss(np.zeros((1, 4)), np.zeros((1, 4)), "kl")
    with pytest.raises(ValueError, match="`coeffs`"):
        shdd_kl(np.zeros((2, 4)), [0.0], [0.0], an)
    with pytest.raises(ValueError, match="`coeffs`"):
        log_density(np.full((1, 4), np.inf), an)
    with pytest.raises(ValueError, match=r"\(L\+1\)\*\*2"):
        evaluate(np.zeros(5), [0.0], [0.0])
    with pytest.raises(ValueError, match="`lat`"):
        encode([91.0], [0.0], 3)
    with pytest.raises(ValueError, match="`lat`"):
        encode([np.nan], [0.0], 3)
    with pytest.raises(ValueError, match="`L`"):
        encode([0.0], [0.0], -1)
    with pytest.raises(ValueError):
        encode([0.0, 1.0], [0.0, 1.0, 2.0], 3)
    with pytest.raises(ValueError, match="empty"):
        encode([], [], 3)
    with pytest.raises(ValueError, match="`coeffs`"):
        evaluate(np.zeros((0, 4)), [0.0], [0.0])
