"""Tests of the C-Siren module and the CS-UNet (shdd_geo.model.nn)."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shdd_geo.model.nn import CSiren, CSUNet, sinusoidal_embedding, unet_widths  # noqa: E402


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_sinusoidal_embedding_matches_formula():
    t = torch.tensor([0, 3, 999])
    emb = sinusoidal_embedding(t, 10)
    half = 5
    for i, tv in enumerate([0, 3, 999]):
        freqs = [10000.0 ** (-k / half) for k in range(half)]
        expect = [math.cos(tv * f) for f in freqs] + [math.sin(tv * f) for f in freqs]
        np.testing.assert_allclose(emb[i].numpy(), expect, rtol=1e-5, atol=1e-5)
    assert sinusoidal_embedding(t, 7).shape == (3, 7)


def test_csiren_shapes_and_formula():
    torch.manual_seed(0)
    m = CSiren(12, 6, d_cond=5, d_time=4, omega_0=30.0)
    x, c, te = torch.randn(3, 12, generator=_gen(1)), torch.randn(3, 5, generator=_gen(2)), torch.randn(3, 4, generator=_gen(3))
    out = m(x, c, te)
    assert out.shape == (3, 6)
    # brute-force twin of Figure 2a
    h_x = x @ m.w_x.weight.T + m.w_x.bias
    ab = te @ m.time.weight.T + m.time.bias
    alpha, shift = ab[:, :6], ab[:, 6:]
    h_x = (1 + alpha) * h_x + shift
    h = (h_x + c @ m.w_i.weight.T + m.w_i.bias) @ m.w_o.weight.T + m.w_o.bias
    torch.testing.assert_close(out, torch.sin(30.0 * h), rtol=1e-5, atol=1e-5)
    assert out.abs().max() <= 1.0


def test_csiren_gradcheck():
    torch.manual_seed(0)
    m = CSiren(4, 3, d_cond=2, d_time=3, omega_0=2.0).double()
    x = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    c = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    te = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, d: m(a, b, d), (x, c, te))


def test_siren_initialisation_bounds():
    torch.manual_seed(0)
    net = CSUNet(256, 8, bottleneck=32, depth=3, omega_0=30.0)
    first = net.down[0].w_o.weight
    n = first.shape[1]
    assert first.abs().max() <= 1.0 / n and first.abs().max() > 0.95 / n
    for mod in list(net.down[1:]) + list(net.up):
        w = mod.w_o.weight
        bound = math.sqrt(6.0 / w.shape[1]) / 30.0
        assert w.abs().max() <= bound and w.abs().max() > 0.95 * bound
    assert all(m.w_o.bias.abs().max() == 0 for m in net.down)


def test_activation_scale_is_stable_through_depth():
    torch.manual_seed(0)
    net = CSUNet(576, 64, bottleneck=64, depth=3, dropout=0.0)
    x, c = torch.randn(512, 576, generator=_gen(1)), torch.randn(512, 64, generator=_gen(2))
    temb = net.time_mlp(sinusoidal_embedding(torch.randint(0, 1000, (512,), generator=_gen(3)), net.time_dim))
    h, skips, stds = x, [], []
    for m in net.down:
        stds.append(m.pre_activation(h, c, temb).std().item())
        h = m(h, c, temb)
        skips.append(h)
    for m, s in zip(net.up, reversed(skips)):
        stds.append(m.pre_activation(torch.cat([h, s], -1), c, temb).std().item())
        h = m(torch.cat([h, s], -1), c, temb)
    # pre-activations of order 1 (neither vanishing nor saturating) at every level
    assert all(0.5 < s < 4.0 for s in stds), stds


def test_unet_shapes_widths_and_skips():
    assert unet_widths(1024, 32, 3) == [323, 102, 32]
    assert unet_widths(100, 10, 1) == [10]
    with pytest.raises(ValueError, match="depth"):
        unet_widths(10, 2, 0)
    net = CSUNet(64, 5, bottleneck=8, depth=3, time_dim=16, dropout=0.0)
    assert [m.w_o.out_features for m in net.down] == unet_widths(64, 8, 3)
    # widening modules take previous width + mirrored skip width
    assert [m.w_x.in_features for m in net.up] == [8 + 8, 16 + 16, 32 + 32]
    out = net(torch.randn(7, 64), torch.randint(0, 100, (7,)), torch.randn(7, 5))
    assert out.shape == (7, 64) and out.dtype == torch.float32


def test_unet_uses_time_and_condition_and_null_embedding():
    torch.manual_seed(0)
    net = CSUNet(16, 3, bottleneck=4, depth=2, time_dim=8, dropout=0.0)
    x, c = torch.randn(4, 16, generator=_gen(1)), torch.randn(4, 3, generator=_gen(2))
    t = torch.tensor([1, 1, 1, 1])
    base = net(x, t, c)
    assert not torch.allclose(base, net(x, t + 500, c))
    assert not torch.allclose(base, net(x, t, c + 1.0))
    drop = torch.tensor([True, False, True, False])
    out = net(x, t, c, drop)
    torch.testing.assert_close(out[1::2], base[1::2])
    assert not torch.allclose(out[0::2], base[0::2])
    # dropped rows do not depend on the condition at all
    torch.testing.assert_close(net(x, t, c + 5.0, drop)[0::2], out[0::2])


def test_dropout_train_vs_eval():
    torch.manual_seed(0)
    net = CSUNet(16, 3, bottleneck=4, depth=2, time_dim=8, dropout=0.5)
    x, c, t = torch.randn(4, 16), torch.randn(4, 3), torch.tensor([0, 1, 2, 3])
    net.train()
    assert not torch.equal(net(x, t, c), net(x, t, c))
    net.eval()
    assert torch.equal(net(x, t, c), net(x, t, c))


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    net = CSUNet(25, 3, bottleneck=4, depth=2, time_dim=8, dropout=0.0)
    out = net(torch.randn(5, 25), torch.randint(0, 10, (5,)), torch.randn(5, 3), torch.tensor([True, False] * 2 + [False]))
    out.square().sum().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing


def test_inference_shortcuts_equal_the_plain_forward():
    """One row of time features for a step whose rows share t, and the condition's projections computed
    once per chain (fixed_condition): the same outputs as the row-by-row forward (float64, so that
    rounding is not amplified), with and without dropped conditions and retrieval residual."""
    torch.manual_seed(0)
    for prior_dim in (0, 16):
        net = CSUNet(16, 24, bottleneck=6, depth=2, time_dim=8, prior_dim=prior_dim).double().eval()
        x, c = torch.randn(5, 16, dtype=torch.float64), torch.randn(5, 24, dtype=torch.float64)
        same, mixed = torch.full((5,), 7), torch.tensor([7, 7, 7, 7, 8])
        drop = torch.tensor([True, False, True, False, False])
        with torch.no_grad():
            plain = torch.stack([net(x[i : i + 1], same[i : i + 1], c[i : i + 1])[0] for i in range(5)])
            torch.testing.assert_close(net(x, same, c), plain, rtol=0, atol=1e-12)
            with net.fixed_condition(c):
                torch.testing.assert_close(net(x, same, c), plain, rtol=0, atol=1e-12)
                # a dropped condition or another tensor never uses the cached projections
                dropped = torch.stack([net(x[i : i + 1], same[i : i + 1], c[i : i + 1], drop[i : i + 1])[0]
                                       for i in range(5)])
                torch.testing.assert_close(net(x, same, c, drop), dropped, rtol=0, atol=1e-12)
                other = c + 1.0
                torch.testing.assert_close(net(x, same, other),
                                           torch.stack([net(x[i : i + 1], same[i : i + 1], other[i : i + 1])[0]
                                                        for i in range(5)]), rtol=0, atol=1e-12)
            assert net._fixed is None  # released on exit
            torch.testing.assert_close(net(x, mixed, c)[:4], plain[:4], rtol=0, atol=1e-12)
