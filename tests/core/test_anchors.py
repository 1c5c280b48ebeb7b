"""Anchor sets: sizes, weights, quadrature accuracy, thinning, errors."""

import math

import numpy as np
import pytest

from shdd_geo import anchors
from shdd_geo.metrics import great_circle_km
from shdd_geo.sh import sh_basis


@pytest.mark.parametrize(
    "aset",
    [anchors.healpix(16), anchors.healpix(8, nest=True), anchors.fibonacci(3001), anchors.uniform(500, rng=1), anchors.grid(2.0)],
    ids=["healpix", "healpix-nest", "fibonacci", "uniform", "grid"],
)
def test_common_properties(aset):
    assert aset.weights.sum() == pytest.approx(4 * math.pi, rel=1e-12)
    assert aset.xyz.shape == (aset.n, 3)
    np.testing.assert_allclose(np.linalg.norm(aset.xyz, axis=1), 1.0, atol=1e-14)
    assert np.all((aset.lat >= -90) & (aset.lat <= 90))
    assert np.all((aset.lon >= -180) & (aset.lon < 180))
    assert len(aset) == aset.n
    with pytest.raises(ValueError):
        aset.lat[0] = 0.0  # immutable


@pytest.mark.parametrize("aset", [anchors.healpix(32), anchors.fibonacci(12288), anchors.grid(1.0)], ids=str)
def test_quadrature_integrates_low_degree_harmonics(aset):
    # sum_i w_i Y_lm(a_i) = sqrt(4 pi) delta_{l0} for smooth integrands (l <= 8).
    integral = aset.weights @ aset.basis(8)
    expected = np.zeros(81)
    expected[0] = math.sqrt(4 * math.pi)
    np.testing.assert_allclose(integral, expected, atol=2e-3)


def test_grid_weights_are_cell_areas():
    g = anchors.grid(1.0)
    # integral of cos^2(lat) over the sphere = 8 pi / 3
    assert (g.weights * np.cos(np.radians(g.lat)) ** 2).sum() == pytest.approx(8 * math.pi / 3, rel=1e-4)
    assert not g.equal_area and anchors.healpix(4).equal_area
    with pytest.raises(ValueError, match="must divide 180"):
        anchors.grid(7.0)


def test_uniform_is_uniform_and_seeded():
    a = anchors.uniform(20000, rng=np.random.default_rng(3))
    b = anchors.uniform(20000, rng=3)
    np.testing.assert_array_equal(a.lat, b.lat)
    # fraction in the northern cap above 30 deg is (1 - sin 30)/2 = 0.25
    frac = np.mean(a.lat > 30)
    assert abs(frac - 0.25) < 5 * math.sqrt(0.25 * 0.75 / 20000)


def test_fibonacci_spacing_is_even():
    f = anchors.fibonacci(2000)
    from scipy.spatial import cKDTree

    d, _ = cKDTree(f.xyz).query(f.xyz, k=2)
    nn = d[:, 1]
    assert nn.max() / nn.min() < 2.0


def test_gallery_thinning():
    rng = np.random.default_rng(0)
    lat = np.r_[0.0, rng.normal(0, 0.01, 50), 45.0]
    lon = np.r_[0.0, rng.normal(0, 0.01, 50), 45.0]
    g = anchors.gallery(lat, lon, thin_km=50)
    assert 2 <= g.n <= 6
    full = anchors.gallery(lat, lon)
    assert full.n == 52 and full.kind == "gallery"
    # every removed point is close to a kept one
    d = great_circle_km(lat[:, None], lon[:, None], g.lat[None], g.lon[None]).min(1)
    assert d.max() < 200


def test_nside_for_spacing():
    assert anchors.nside_for_spacing(10000) == 1
    n = anchors.nside_for_spacing(25)
    assert anchors.healpix(n).spacing_km <= 25 < anchors.healpix(n // 2).spacing_km


def test_subset_and_custom_weights():
    a = anchors.AnchorSet([0, 10, 20], [0, 0, 0], weights=[1, 1, 2])
    assert a.weights.tolist() == pytest.approx([math.pi, math.pi, 2 * math.pi])
    s = a.subset([0, 2])
    assert s.n == 2 and s.weights.sum() == pytest.approx(4 * math.pi)
    with pytest.raises(ValueError, match="`weights` must have shape"):
        anchors.AnchorSet([0, 1], [0, 1], weights=[1.0])
    with pytest.raises(ValueError, match="`weights` must be finite and > 0"):
        anchors.AnchorSet([0, 1], [0, 1], weights=[1.0, -1.0])


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: anchors.healpix(3), ValueError, "power of two"),
        (lambda: anchors.healpix(0), ValueError, "`nside` must be a positive integer"),
        (lambda: anchors.fibonacci(2.5), TypeError, "`n` must be a positive integer"),
        (lambda: anchors.uniform(10, rng="x"), TypeError, "`rng`"),
        (lambda: anchors.grid(-1), ValueError, "`res_deg`"),
        (lambda: anchors.gallery([95.0], [0.0]), ValueError, "`lat` must be within"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_basis_matches_sh_basis():
    a = anchors.fibonacci(50)
    np.testing.assert_array_equal(a.basis(5), sh_basis(a.lat, a.lon, 5))
