"""Tests of shdd_geo.decoding.decoders (and its _caps): mode / KL / argmax decoders, refinement, coarse-to-fine."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shdd_geo import anchors as A
from shdd_geo.decoding import _caps as C
from shdd_geo.decoding import decoders as D
from shdd_geo.codec import encode, evaluate, shdd_kl
from shdd_geo.coords import EARTH_RADIUS_KM, latlon_to_xyz
from shdd_geo.metrics import great_circle_km
from shdd_geo.sh import zonal_kernel


def _points(n, rng):
    """Uniform points plus the poles and the antimeridian."""
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    lat[:6] = [90.0, -90.0, 89.999, -89.9999, 0.0, 45.0]
    lon[4 : min(n, 10)] = [-180.0, 179.99999, -179.99999, 180.0 - 1e-9, -180.0 + 1e-7, 179.5][: max(0, min(n, 10) - 4)]
    return lat, lon


@pytest.mark.parametrize("L", [15, 23, 47])
def test_round_trip_refined_within_1km(L):
    rng = np.random.default_rng(L)
    lat, lon = _points(1000, rng)
    la, lo = D.decode(encode(lat, lon, L))
    d = great_circle_km(la, lo, lat, lon)
    assert d.max() < 1.0, d.max()
    assert np.median(d) < 1e-3  # Newton converges to round-off, not just to 1 km


@pytest.mark.parametrize("L", [15, 23])
def test_round_trip_without_refinement_within_anchor_spacing(L):
    import healpy as hp

    rng = np.random.default_rng(100 + L)
    lat, lon = _points(1000, rng)
    anchors = D.default_anchors(L)
    la, lo = D.decode(encode(lat, lon, L), refine=False)
    d = great_circle_km(la, lo, lat, lon)
    assert d.max() <= hp.max_pixrad(anchors.meta["nside"]) * EARTH_RADIUS_KM
    # the result is an anchor
    assert np.isin(np.round(la, 7), np.round(anchors.lat, 7)).all()


def _cap_scores_brute(c, anchors, rho):
    """Eq. 18 by brute force: all pairwise distances."""
    from scipy.special import logsumexp

    g = evaluate(c, anchors.lat, anchors.lon) + anchors.log_weights
    ang = np.arccos(np.clip(anchors.xyz @ anchors.xyz.T, -1, 1))
    inside = ang <= rho
    return np.stack([logsumexp(np.where(inside, row[None, :], -np.inf), axis=1) for row in g])


@pytest.mark.parametrize("L", [3, 12])
def test_cap_scores_match_brute_force(L):
    rng = np.random.default_rng(L)
    an = A.uniform(600, rng=rng)
    c = encode(*_points(8, rng), L) + rng.normal(0, 0.3, (8, (L + 1) ** 2))
    rho = D.kernel_hwhm(L)
    brute = _cap_scores_brute(c, an, rho)
    for caps in (C.caps_dense, C.caps_pruned):
        score, idx, start = caps(c, an, L, rho, "matmul", 4, 1)
        np.testing.assert_allclose(score[:, 0], brute.max(1), rtol=1e-12)
        np.testing.assert_array_equal(idx[:, 0], brute.argmax(1))
        # the start point is the largest f inside the winning cap
        ang = np.arccos(np.clip(an.xyz[idx[:, 0]] @ an.xyz.T, -1, 1))
        f = evaluate(c, an.lat, an.lon)
        np.testing.assert_array_equal(start[:, 0], np.where(ang <= rho, f, -np.inf).argmax(1))


@pytest.mark.parametrize("L", [10, 47])
def test_pruned_path_equals_sparse_matrix_path(L):
    rng = np.random.default_rng(7)
    an = A.fibonacci(2048)
    c = encode(*_points(40, rng), L) + rng.normal(0, 0.1, (40, (L + 1) ** 2))
    rho = D.kernel_hwhm(L)
    dense = C.caps_dense(c, an, L, rho, "matmul", 16, 3)
    pruned = C.caps_pruned(c, an, L, rho, "matmul", 16, 3, margin=1e9)  # everything is a candidate
    for a, b in zip(dense, pruned):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    top1 = C.caps_pruned(c, an, L, rho, "matmul", 16, 1)  # the default, heavily pruned
    for a, b in zip(dense, top1):
        np.testing.assert_allclose(a[:, 0], b[:, 0], rtol=1e-12)


@pytest.mark.parametrize("anchors", [A.healpix(16), A.healpix(8, nest=True), A.grid(5.0)], ids=["ring", "nest", "grid"])
def test_ring_synthesis_matches_matmul(anchors):
    rng = np.random.default_rng(3)
    L = 12
    c = rng.normal(size=(4, (L + 1) ** 2))
    np.testing.assert_allclose(C._ring_values(c, anchors, L), c @ anchors.basis(L).T, atol=1e-12)


def test_synthesis_options_agree():
    rng = np.random.default_rng(4)
    L = 23
    lat, lon = _points(30, rng)
    c = encode(lat, lon, L) + rng.normal(0, 0.1, (30, (L + 1) ** 2))
    an = A.healpix(32)
    out = [D.decode(c, anchors=an, synthesis=s, refine=False) for s in ("matmul", "rings", "healpy")]
    for la, lo in out[1:]:
        np.testing.assert_array_equal(la, out[0][0])
        np.testing.assert_array_equal(lo, out[0][1])
    with pytest.raises(ValueError, match="`synthesis`"):
        D.decode(c, anchors=A.fibonacci(100), synthesis="healpy")


def test_kl_decoder_matches_brute_force():
    rng = np.random.default_rng(5)
    L = 8
    an = A.fibonacci(400)
    lat, lon = _points(6, rng)
    c = encode(lat, lon, L) + rng.normal(0, 0.2, (6, (L + 1) ** 2))
    la, lo, kl = D.decode(c, anchors=an, method="kl", refine=False, return_score=True)
    for r in range(6):
        brute = shdd_kl(np.repeat(c[r : r + 1], an.n, 0), an.lat, an.lon, an)
        assert np.argmin(brute) == np.argmin(great_circle_km(an.lat, an.lon, la[r], lo[r]))
        np.testing.assert_allclose(kl[r], brute.min(), rtol=1e-9, atol=1e-12)


def test_kl_decoder_refined_recovers_points_with_fine_anchors():
    rng = np.random.default_rng(6)
    L = 10
    lat, lon = _points(20, rng)
    la, lo = D.decode(encode(lat, lon, L), method="kl")
    # the discretised KL blurs by about the anchor spacing (~140 km here), far below the kernel (1300 km)
    assert great_circle_km(la, lo, lat, lon).max() < D.default_anchors(L).spacing_km


def test_argmax_decoder_matches_brute_force_and_refines():
    rng = np.random.default_rng(8)
    L = 20
    an = A.fibonacci(3000)
    lat, lon = _points(10, rng)
    c = encode(lat, lon, L) + rng.normal(0, 0.1, (10, (L + 1) ** 2))
    la, lo = D.decode(c, anchors=an, method="argmax", refine=False)
    best = evaluate(c, an.lat, an.lon).argmax(1)
    assert great_circle_km(la, lo, an.lat[best], an.lon[best]).max() < 1e-6
    *_, f = D.decode(c, anchors=an, method="argmax", return_score=True)
    assert np.all(f >= evaluate(c, an.lat, an.lon).max(1))


def test_refined_point_is_local_maximum_of_noisy_f():
    rng = np.random.default_rng(9)
    L = 31
    lat, lon = _points(50, rng)
    c = encode(lat, lon, L) + rng.normal(0, 0.1, (50, (L + 1) ** 2))
    la, lo = D.decode(c)
    x = latlon_to_xyz(la, lo)
    e1, e2 = D._frame(x)
    h = 0.05 / EARTH_RADIUS_KM  # 50 m
    ang = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    ring = D._expmap(x, e1, e2, h * np.cos(ang)[None].repeat(50, 0), h * np.sin(ang)[None].repeat(50, 0))
    f0 = np.einsum("bd,bd->b", c, encode(la, lo, L))
    assert np.all(D._f_at(c, ring, L) <= f0[:, None] + 1e-9)


def test_drift_matches_cramer_rao_bound():
    """Noise N(0, 0.01) on E(p): the refined decode is the MLE; its drift is ~0.1/sqrt(S) rad per axis."""
    rng = np.random.default_rng(10)
    L, n = 31, 400
    lat, lon = _points(n, rng)
    la, lo = D.decode(encode(lat, lon, L) + rng.normal(0, 0.1, (n, (L + 1) ** 2)))
    ls = np.arange(L + 1)
    sigma_km = 0.1 / math.sqrt(np.sum((2 * ls + 1) * ls * (ls + 1)) / (8 * math.pi)) * EARTH_RADIUS_KM
    med = np.median(great_circle_km(la, lo, lat, lon))
    assert abs(med / (sigma_km * math.sqrt(2 * math.log(2))) - 1) < 0.15  # Rayleigh median, ~5/sqrt(n)


def test_coarse_to_fine_agrees_with_fine_dense_decode():
    rng = np.random.default_rng(11)
    L = 23
    lat, lon = _points(60, rng)
    c = encode(lat, lon, L) + rng.normal(0, 0.1, (60, (L + 1) ** 2))
    w = rng.uniform(0.2, 0.8, 20)[:, None]
    c[:20] = w * encode(lat[:20], lon[:20], L) + (1 - w) * encode(lat[20:40], lon[20:40], L)
    fast = D.decode(c)
    ref = D.decode(c, anchors=D.default_anchors(L))
    assert np.quantile(great_circle_km(*fast, *ref), 0.99) < 1.0


def test_mixture_decodes_to_heavier_component():
    L = 23
    c = 0.7 * encode([10.0], [10.0], L) + 0.3 * encode([-30.0], [100.0], L)
    lat, lon = D.decode(c[0])
    assert isinstance(lat, float) and great_circle_km(lat, lon, 10.0, 10.0) < 1.0
    # the mode decoder prefers mass over height: a broad bump (degree 8) beats a slightly higher
    # spike at L = 47 unless the cap is much narrower than the broad bump
    from shdd_geo.filters import lowpass

    e = 0.51 * encode([0.0], [0.0], 47) + 14.0 * lowpass(encode([40.0], [-60.0], 47), degrees=8)
    f_spike, f_broad = evaluate(e, [0.0, 40.0], [0.0, -60.0])[0]
    assert f_spike > f_broad + 1  # the spike is higher ...
    assert great_circle_km(*D.decode(e), 40.0, -60.0)[0] < 100  # ... but the broad bump holds more mass
    assert great_circle_km(*D.decode(e, anchors=A.fibonacci(20_000)), 40.0, -60.0)[0] < 100
    # a tiny cap sees the spike (continuous cap masses of the two refined modes)
    x = latlon_to_xyz(np.array([0.0, 40.0]), np.array([0.0, -60.0]))
    x, _ = D.refine_points(np.repeat(e, 2, 0), x, 47)
    small, large = (D._cap_logmass(np.repeat(e, 2, 0), x, 47, km / EARTH_RADIUS_KM) for km in (20.0, 294.0))
    assert small[0] > small[1] and large[1] > large[0]


def test_torch_input_and_degree_truncation():
    torch = pytest.importorskip("torch")
    e = encode([12.0, -33.0], [45.0, -170.0], 20)
    la, lo = D.decode(torch.tensor(e, dtype=torch.float32))
    assert great_circle_km(la, lo, [12.0, -33.0], [45.0, -170.0]).max() < 1.0
    la, lo = D.decode(e, L=10)  # truncation of E_20(p) is E_10(p)
    assert great_circle_km(la, lo, [12.0, -33.0], [45.0, -170.0]).max() < 1e-3


def test_kernel_hwhm_and_defaults():
    for L in (1, 15, 47, 100):
        h = D.kernel_hwhm(L)
        k0 = zonal_kernel(1.0, L)
        assert abs(zonal_kernel(math.cos(h), L) - k0 / 2) < 1e-9 * k0
        assert zonal_kernel(math.cos(h / 2), L) > k0 / 2
    assert 2.1 < D.kernel_hwhm(47) * 47 < 2.2
    assert D.default_anchors(47).spacing_km < D.default_rho_km(47) / 4
    assert D.default_anchors(47, coarse=True).spacing_km < D.default_rho_km(47)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rho_km": 0.0}, "`rho_km`"),
        ({"rho_km": float("nan")}, "`rho_km`"),
        ({"method": "mean"}, "`method`"),
        ({"batch_size": 0}, "`batch_size`"),
        ({"top_k": 0}, "`top_k`"),
        ({"synthesis": "fft"}, "`synthesis`"),
        ({"L": 30}, "`L`"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        D.decode(encode([0.0], [0.0], 5), **kwargs)


def test_bad_coefficients_and_anchors():
    with pytest.raises(ValueError, match="`coeffs`"):
        D.decode(np.full((2, 16), np.nan))
    with pytest.raises(ValueError, match=r"\(L\+1\)\*\*2"):
        D.decode(np.zeros((2, 15)))
    with pytest.raises(ValueError, match="`coeffs`"):
        D.decode(np.zeros((0, 16)))
    with pytest.raises(TypeError, match="`anchors`"):
        D.decode(np.zeros(16), anchors=np.zeros((5, 2)))
    with pytest.raises(TypeError, match="`L`"):
        D.decode(np.zeros(16), L=2.5)


@pytest.mark.slow
def test_dense_path_one_million_anchors_stays_under_2gb():
    import tracemalloc

    rng = np.random.default_rng(12)
    an = A.uniform(1_000_000, rng=rng)
    L = 47
    lat, lon = _points(64, rng)
    c = encode(lat, lon, L) + rng.normal(0, 0.1, (64, (L + 1) ** 2))
    tracemalloc.start()
    la, lo = D.decode(c, anchors=an, rho_km=150.0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 * 2**30, peak / 2**30
    assert great_circle_km(la, lo, lat, lon).max() < 20
